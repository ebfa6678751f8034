"""Fixtures shared by every layer of tests, named one by one from the module that holds them."""

import pytest

from tests.fixtures.bind import bind_pair, bind_servers, bind_world, pytest_runtest_makereport
from tests.fixtures.dns import dns_server, resolver, zone
from tests.fixtures.keys import dkim_2048
from tests.fixtures.nameservers import two_servers
from tests.fixtures.postgres import pg_database, pg_server
from tests.fixtures.registry import (
    backend,
    fake_clock,
    make_registry,
    open_store,
    registry,
    registry_settings,
    registry_store,
)
from tests.fixtures.smtp import smtp_auth_server, smtp_server
from tests.fixtures.ui import frozen_codes, snapshot_demo, ui_demo, ui_world
from tests.fixtures.ui_modals import flow_world, modal_demo

__all__ = [
    "backend",
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
    "open_store",
    "pg_database",
    "pg_server",
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


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "sqlite_only: looks into the SQLite file itself: no PostgreSQL variant"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave out the PostgreSQL variant of a registry test that is about SQLite's file."""
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        callspec = getattr(item, "callspec", None)
        on_pg = callspec is not None and callspec.params.get("backend") == "postgresql"
        (dropped if on_pg and item.get_closest_marker("sqlite_only") else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
