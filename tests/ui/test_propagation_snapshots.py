"""The nameserver badges and the per-server table (issue 19), on two real loopback
authoritative servers: ns1 (the demo's zone server) serves shop.example's records, ns2 (a
second server on 127.0.0.2, same port) still has an older copy of the zone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from mailauth_tui.demo.session import DemoSession
from mailauth_tui.services.authoritative import DirectDns
from mailauth_tui.ui.app import MailauthApp
from mailauth_tui.ui.screens.domain_detail import DomainDetailScreen
from mailauth_tui.ui.screens.propagation import PropagationScreen
from mailauth_tui.ui.screens.records import RecordsScreen
from mailauth_tui.ui.widgets.domain_table import DomainTable
from mailauth_tui.ui.widgets.propagation_badges import PropagationBadges
from tests.fixtures.nameservers import DOMAIN
from tests.fixtures.ui import open_test_demo, registry_as

SIZES = [(100, 30), (80, 24)]


def _app(session: DemoSession, port: int) -> MailauthApp:
    authoritative = DirectDns([f"127.0.0.1:{port}"], timeout=1.0, port=port)
    registry = registry_as(session, "alice", authoritative=authoritative)
    return MailauthApp(registry, demo=session.hooks, clock=session.clock, recheck_every=None)


async def _open(pilot: Pilot[None], table: bool) -> None:
    app = pilot.app
    assert isinstance(app, MailauthApp)
    await pilot.pause()
    await app.workers.wait_for_complete()
    app.screen.query_one(DomainTable).rebuild()
    await pilot.pause()
    app.push_screen(RecordsScreen(app.registry, DOMAIN, app.demo))
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()
    if table:
        await pilot.press("n")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()


@pytest.mark.parametrize("size", SIZES)
def test_records_show_the_nameserver_badges(
    snap_compare: Any, two_servers: tuple[DemoSession, int], size: tuple[int, int]
) -> None:
    async def run(pilot: Pilot[None]) -> None:
        await _open(pilot, table=False)
        badges = pilot.app.screen.query_one(PropagationBadges)
        assert badges.report is not None
        assert badges.report.badge("DKIM") == "DKIM at 1 of 2 nameservers"
        assert badges.report.badge("SPF") == "SPF at 2 of 2 nameservers"
        assert badges.report.badge("BIMI") == "BIMI at 1 of 2 nameservers"  # it publishes one

    assert snap_compare(_app(*two_servers), terminal_size=size, run_before=run)


@pytest.mark.parametrize("size", SIZES)
def test_the_per_server_table(
    snap_compare: Any, two_servers: tuple[DemoSession, int], size: tuple[int, int]
) -> None:
    async def run(pilot: Pilot[None]) -> None:
        await _open(pilot, table=True)
        screen = pilot.app.screen
        assert isinstance(screen, PropagationScreen)
        report = screen.query_one(PropagationBadges).report
        assert report is not None
        assert report.summary() == (
            "published at ns1, not yet at ns2 (serial 2026120701 vs 2026120699)"
        )

    assert snap_compare(_app(*two_servers), terminal_size=size, run_before=run)


def test_without_direct_dns_the_badges_and_key_are_hidden(tmp_path: Path) -> None:
    session = open_test_demo(tmp_path / "demo")
    try:
        registry = session.registry
        assert not registry.can_probe_zones and not registry.can_publish
        screen = RecordsScreen(registry, DOMAIN)
        assert screen.check_action("nameservers", ()) is False
    finally:
        session.close()


async def test_the_domain_detail_shows_the_badges_and_opens_the_table(
    two_servers: tuple[DemoSession, int],
) -> None:
    app = _app(*two_servers)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        app.push_screen(DomainDetailScreen(app.registry, DOMAIN))
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        badges = app.screen.query_one(PropagationBadges)
        assert "DKIM at 1 of 2" in str(badges.content)
        await pilot.press("n")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, PropagationScreen)
        assert app.screen.query_one("#servers").row_count == 2
