"""Fixtures shared by every layer of tests, named one by one from the module that holds them."""

from tests.fixtures.bind import bind_pair, bind_servers, bind_world, pytest_runtest_makereport
from tests.fixtures.dns import dns_server, resolver, zone
from tests.fixtures.keys import dkim_2048
from tests.fixtures.nameservers import two_servers
from tests.fixtures.registry import (
    fake_clock,
    make_registry,
    registry,
    registry_settings,
    registry_store,
)
from tests.fixtures.smtp import smtp_auth_server, smtp_server
from tests.fixtures.ui import frozen_codes, snapshot_demo, ui_demo, ui_world
from tests.fixtures.ui_modals import flow_world, modal_demo

__all__ = [
    "bind_pair",
    "bind_servers",
    "bind_world",
    "dkim_2048",
    "dns_server",
    "fake_clock",
    "flow_world",
    "frozen_codes",
    "make_registry",
    "modal_demo",
    "pytest_runtest_makereport",
    "registry",
    "registry_settings",
    "registry_store",
    "resolver",
    "smtp_auth_server",
    "smtp_server",
    "snapshot_demo",
    "two_servers",
    "ui_demo",
    "ui_world",
    "zone",
]
