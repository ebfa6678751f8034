"""What the console shows of the record engine (issue 16): the records screen's SPF card (no
sending source configured: the sources are needed, not 'v=spf1 ~all'; a published SPF record
with a syntax error: every record, SPF as a replacement saying what was wrong) and a
published BIMI record in the detail panel."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from textual.app import App, ComposeResult
from textual.pilot import Pilot

from mailauth_tui.demo.zoneserver import Zone
from mailauth_tui.registry.service import Registry
from mailauth_tui.services.settings import SendingSettings, Settings
from mailauth_tui.ui.screens.records import RecordCard, RecordsScreen
from mailauth_tui.ui.widgets.detail_panel import DetailPanel
from tests.fixtures.registry import SENDING_INCLUDE, FakeClock, MakeRegistry
from tests.fixtures.ui_modals import screen_text
from tests.integration.test_registry_checks import DOMAIN, owned
from tests.ui.domains_helpers import collect_notifications
from tests.ui.test_modals_keys import Host


async def open_records(app: Host, pilot: Pilot[None], registry: Registry) -> dict[str, Any]:
    """Open the records screen of DOMAIN and wait for its records: the records by kind."""
    app.open(RecordsScreen(registry, DOMAIN))
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()
    screen = app.screen
    assert isinstance(screen, RecordsScreen)
    return {c.record.kind: c.record for c in screen.query(RecordCard)}


async def test_records_screen_asks_for_the_sending_sources(
    make_registry: MakeRegistry, registry_settings: Settings, zone: Zone
) -> None:
    registry = make_registry(
        settings=replace(registry_settings, sending=SendingSettings(include=None, ips=()))
    )
    await owned(registry)
    app = Host()
    async with app.run_test(size=(100, 30)) as pilot:
        seen = collect_notifications(app)
        assert list(await open_records(app, pilot, registry)) == ["DKIM", "SPF", "DMARC"]
        await pilot.press("2")
        await pilot.pause()
        text = "\n".join(screen_text(app))
        assert "v=spf1 ~all" not in text
        assert "none yet: the sending sources are needed" in text
        assert "v=spf1" not in app.clipboard  # nothing copied for SPF
        assert any("no sending source is configured" in n for n in seen)


async def test_records_screen_with_a_broken_spf_record(registry: Registry, zone: Zone) -> None:
    await owned(registry)
    zone.set(DOMAIN, "TXT", "v=spf1 ipv4:192.0.2.1 -all")
    app = Host()
    async with app.run_test(size=(100, 30)) as pilot:
        cards = await open_records(app, pilot, registry)
        assert list(cards) == ["DKIM", "SPF", "DMARC"]
        assert cards["SPF"].value == f"v=spf1 ip4:192.0.2.1 include:{SENDING_INCLUDE} -all"
        await pilot.press("2")
        assert app.clipboard == cards["SPF"].value
        assert "'ipv4:192.0.2.1' is written 'ip4:192.0.2.1'" in cards["SPF"].note


async def test_detail_panel_shows_a_published_bimi_record(
    registry: Registry, zone: Zone, fake_clock: FakeClock
) -> None:
    await owned(registry)
    for record in await registry.records(DOMAIN):
        zone.set(record.host, "TXT", list(record.chunks))
    bimi = "v=BIMI1; l=https://mail.example.com/logo.svg"
    zone.set(f"default._bimi.{DOMAIN}", "TXT", bimi)
    await registry.verify(DOMAIN)

    class PanelApp(App[None]):
        CSS = "DetailPanel { height: 16; }"  # the domains screen's stylesheet gives it a height

        def compose(self) -> ComposeResult:
            yield DetailPanel(fake_clock, id="detail")

    app = PanelApp()
    async with app.run_test(size=(100, 30)) as pilot:
        app.query_one(DetailPanel).show(registry.get(DOMAIN))
        await pilot.pause()
        text = "\n".join(screen_text(app))
        assert "BIMI  v=BIMI1; l=https://mail.example.com/logo.svg" in text
