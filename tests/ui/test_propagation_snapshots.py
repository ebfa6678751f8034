"""The nameserver badges and the per-server table (issue 19), on two real loopback
authoritative servers: ns1 (the demo's zone server) serves shop.example's records, ns2 (a
second server on 127.0.0.2, same port) still has an older copy of the zone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable

from mailauth_tui.core.propagation import PropagationReport
from mailauth_tui.demo.session import DemoSession
from mailauth_tui.services.authoritative import DirectDns
from mailauth_tui.ui.app import MailauthApp
from mailauth_tui.ui.screens.domain_detail import DomainDetailScreen
from mailauth_tui.ui.screens.propagation import PropagationScreen
from mailauth_tui.ui.screens.records import RecordsScreen
from mailauth_tui.ui.widgets import propagation_badges
from mailauth_tui.ui.widgets.domain_table import DomainTable
from mailauth_tui.ui.widgets.propagation_badges import PropagationBadges
from tests.fixtures.nameservers import DOMAIN
from tests.fixtures.ui import open_test_demo, registry_as

SIZES = [(100, 30), (80, 24)]


def _app(session: DemoSession, port: int) -> MailauthApp:
    authoritative = DirectDns([f"127.0.0.1:{port}"], timeout=1.0, port=port)
    registry = registry_as(session, "alice", authoritative=authoritative)
    return MailauthApp(registry, demo=session.hooks, clock=session.clock, recheck_every=None)


async def _settled(pilot: Pilot[None]) -> None:
    """Every worker's round done and drawn."""
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def _open(pilot: Pilot[None], table: bool) -> None:
    app = pilot.app
    assert isinstance(app, MailauthApp)
    await pilot.pause()
    await app.workers.wait_for_complete()
    app.screen.query_one(DomainTable).rebuild()
    await pilot.pause()
    app.push_screen(RecordsScreen(app.registry, DOMAIN, app.demo))
    await _settled(pilot)
    if table:
        await pilot.press("n")
        await _settled(pilot)


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
        assert app.screen.query_one("#servers", DataTable).row_count == 2


async def _on_domain(pilot: Pilot[None]) -> None:
    """The main screen, the cursor on shop.example, its badges in the detail panel."""
    app = pilot.app
    await pilot.pause()
    await app.workers.wait_for_complete()
    table = app.screen.query_one(DomainTable)
    table.rebuild()
    await pilot.pause()
    table.move_cursor(row=table.get_row_index(DOMAIN), animate=False)
    await pilot.pause(propagation_badges.SETTLE + 0.2)  # the cursor rests: asked now
    await _settled(pilot)


@pytest.mark.parametrize("size", SIZES)
def test_the_detail_panel_shows_the_badges(
    snap_compare: Any, two_servers: tuple[DemoSession, int], size: tuple[int, int]
) -> None:
    async def run(pilot: Pilot[None]) -> None:
        await _on_domain(pilot)
        badges = pilot.app.screen.query_one("#detail-propagation", PropagationBadges)
        assert badges.report is not None and badges.report.domain == DOMAIN
        assert "DKIM at 1 of 2" in str(badges.content)

    assert snap_compare(_app(*two_servers), terminal_size=size, run_before=run)


async def test_the_detail_panel_asks_once_the_cursor_rests(
    two_servers: tuple[DemoSession, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A storm of cursor moves asks no nameserver; the domain the cursor stops on is asked
    once, and its report is kept: coming back within REFRESH asks nothing again."""
    monkeypatch.setattr(propagation_badges, "SETTLE", 1.0)  # wide margin on a busy machine
    app = _app(*two_servers)
    asked: list[str] = []
    real = app.registry.propagation

    async def counting(domain: str) -> PropagationReport:
        asked.append(domain)
        return await real(domain)

    monkeypatch.setattr(app.registry, "propagation", counting)
    async with app.run_test(size=(100, 30)) as pilot:
        await _on_domain(pilot)
        assert asked == [DOMAIN]
        badges = app.screen.query_one("#detail-propagation", PropagationBadges)
        table = app.screen.query_one(DomainTable)
        for _ in range(8):
            await pilot.press("up", "up", "down", "down", "down", "down", "up", "up")
        assert asked == [DOMAIN]  # nothing asked while the cursor moves
        table.move_cursor(row=table.get_row_index(DOMAIN), animate=False)
        await pilot.pause()  # back on shop.example: its kept report, at once
        assert "DKIM at 1 of 2" in str(badges.content)
        await pilot.pause(1.3)
        await app.workers.wait_for_complete()
        assert asked == [DOMAIN]


async def test_n_opens_the_per_server_table_from_the_main_screen(
    two_servers: tuple[DemoSession, int],
) -> None:
    app = _app(*two_servers)
    async with app.run_test(size=(80, 24)) as pilot:
        await _on_domain(pilot)
        await pilot.press("n")
        await _settled(pilot)
        assert isinstance(app.screen, PropagationScreen)
        assert app.screen.query_one("#servers", DataTable).row_count == 2
