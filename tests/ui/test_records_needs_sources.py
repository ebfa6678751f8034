"""The records screen when no sending source is configured (issue 16): where the SPF record
would be, it says the sources are needed instead of offering 'v=spf1 ~all'."""

from __future__ import annotations

from dataclasses import replace

from mailauth_tui.demo.zoneserver import Zone
from mailauth_tui.services.settings import SendingSettings, Settings
from mailauth_tui.ui.screens.records import RecordCard, RecordsScreen
from tests.fixtures.registry import MakeRegistry
from tests.fixtures.ui_modals import screen_text
from tests.integration.test_registry_checks import DOMAIN, owned
from tests.ui.domains_helpers import collect_notifications
from tests.ui.test_modals_keys import Host


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
        app.open(RecordsScreen(registry, DOMAIN))
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, RecordsScreen)
        cards = list(screen.query(RecordCard))
        assert [c.record.kind for c in cards] == ["DKIM", "SPF", "DMARC"]
        await pilot.press("2")
        await pilot.pause()
        text = "\n".join(screen_text(app))
        assert "v=spf1 ~all" not in text
        assert "none yet: the sending sources are needed" in text
        assert "v=spf1" not in app.clipboard  # nothing copied for SPF
        assert any("no sending source is configured" in n for n in seen)
