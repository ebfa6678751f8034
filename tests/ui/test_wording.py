"""The console's wording: singular counts ("1 domain"), lists ("the DKIM, SPF and DMARC
records"), the demo's publish count (only what it published), one toast title (never the
title again as the text), and no troubleshooting tips on a successful verify."""

from __future__ import annotations

from dataclasses import replace

from textual.widgets import Static

from mailauth_tui.demo.session import DemoSession
from mailauth_tui.registry.models import RecordVerdict, VerifyOutcome
from mailauth_tui.ui.app import MailauthApp
from mailauth_tui.ui.screens.records import RecordCard, RecordsScreen, demo_published
from mailauth_tui.ui.screens.verify_result import VerifyResultScreen, overall
from tests.fixtures.ui import UiWorld
from tests.ui.domains_helpers import collect_notifications, domains_screen, table_of, wait_until


async def test_one_domain_is_singular(ui_world: UiWorld) -> None:
    ui_world.add_verified("shop.example")
    app = MailauthApp(ui_world.registry, clock=ui_world.clock, recheck_every=None)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        status = str(domains_screen(app).query_one("#status", Static).content)
        assert status.startswith("1 domain · 0 verified")


async def _verify(app: MailauthApp, pilot: object, domain: str) -> VerifyOutcome:
    table = table_of(app)
    table.move_cursor(row=table.get_row_index(domain), animate=False)
    await pilot.press("v")  # type: ignore[attr-defined]
    await wait_until(pilot, lambda: isinstance(app.screen, VerifyResultScreen))  # type: ignore[arg-type]
    await pilot.pause()  # type: ignore[attr-defined]
    screen = app.screen
    assert isinstance(screen, VerifyResultScreen)
    return screen._outcome


async def test_tips_only_when_something_does_not_verify(ui_demo: DemoSession) -> None:
    app = MailauthApp(ui_demo.registry, demo=ui_demo.hooks, clock=ui_demo.clock, recheck_every=None)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        outcome = await _verify(app, pilot, "acme.example")
        assert outcome.domain.verified
        assert not app.screen.query("#tips")
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is domains_screen(app))
        outcome = await _verify(app, pilot, "legacy.example")
        assert not outcome.domain.verified
        assert app.screen.query("#tips")


async def test_the_records_to_publish_are_a_list(ui_demo: DemoSession) -> None:
    result = await ui_demo.registry.verify("legacy.example")
    failing = tuple(
        RecordVerdict(kind, "failing" if kind != "DMARC" else "not_configured", None)
        for kind in ("DKIM", "SPF", "DMARC")
    )
    result = replace(result, verdicts=failing)
    assert overall(result).plain == (
        "… not verified yet: publish the DKIM, SPF and DMARC records, then verify again"
    )
    one = replace(result, verdicts=failing[:1])
    assert overall(one).plain == "… not verified yet: publish the DKIM record, then verify again"


def test_the_demo_publish_count_is_what_was_published() -> None:
    from mailauth_tui.core.results import PublishRecord

    def record(kind: str) -> PublishRecord:
        return PublishRecord(kind, f"{kind}.example", "TXT", "v", ("v",), "", required=False)

    assert demo_published([record("DKIM"), record("SPF")]) == (
        "✔ published the DKIM and SPF records into the demo zone: press v to verify"
    )
    assert demo_published([record("DKIM")]).startswith("✔ published the DKIM record into")
    assert demo_published([]) == "✔ every record is already in the demo zone: press v to verify"


async def test_the_demo_publishes_only_what_is_missing(ui_demo: DemoSession) -> None:
    app = MailauthApp(ui_demo.registry, demo=ui_demo.hooks, clock=ui_demo.clock, recheck_every=None)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        table = table_of(app)
        table.move_cursor(row=table.get_row_index("blog.example"), animate=False)
        await pilot.press("r")
        await wait_until(pilot, lambda: isinstance(app.screen, RecordsScreen))
        await wait_until(pilot, lambda: bool(app.screen.query(RecordCard)))
        records = [card.record for card in app.screen.query(RecordCard)]
        missing = [r.kind for r in records if not r.already_published]
        assert "DMARC" in missing and "DKIM" not in missing
        await pilot.press("p")
        await pilot.pause()
        status = str(app.screen.query_one("#status", Static).content)
        assert status == demo_published([r for r in records if not r.already_published])


async def test_a_toast_does_not_repeat_its_title(ui_world: UiWorld) -> None:
    app = MailauthApp(ui_world.registry, clock=ui_world.clock, recheck_every=None)
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await pilot.pause()
        await ui_world.registry.add("admin@later.example")
        ui_world.clock.advance(minutes=5)
        domains_screen(app).reload()
        seen = collect_notifications(app)
        await pilot.press("s")
        await wait_until(pilot, lambda: bool(seen))
        await pilot.pause()
        toasts = list(app._notifications)
        assert toasts[-1].title == "Code sent"
        assert not toasts[-1].message.startswith("Code sent")
        assert toasts[-1].message.startswith("To admin@later.example (Maildir ")
