# ruff: noqa: RUF001 - the badges are words with symbols, one of them an en dash
"""The step flows the domain screen drives through the modals, by keys, against loopback DNS:
add -> code -> records -> verify -> result; details; resend; delete; key rotation; report."""

from __future__ import annotations

from textual.widgets import Input

from mailauth_tui.demo.hooks import ZoneDemo
from mailauth_tui.registry.errors import NotFound
from mailauth_tui.registry.models import Ownership
from mailauth_tui.ui.app import MailauthApp
from mailauth_tui.ui.screens.add_domain import AddDomainScreen
from mailauth_tui.ui.screens.confirm import ConfirmScreen
from mailauth_tui.ui.screens.domain_detail import DomainDetailScreen
from mailauth_tui.ui.screens.enter_code import EnterCodeScreen
from mailauth_tui.ui.screens.records import RecordsScreen
from mailauth_tui.ui.screens.report import ReportScreen
from mailauth_tui.ui.screens.verify_result import VerifyResultScreen
from tests.fixtures.ui import UiWorld
from tests.ui.domains_helpers import (
    cell,
    collect_notifications,
    domains_screen,
    table_of,
    wait_until,
)


def _app(world: UiWorld) -> MailauthApp:
    demo = ZoneDemo(world.zone, world.settings.maildir)
    return MailauthApp(world.registry, demo=demo, clock=world.clock, recheck_every=None)


async def test_add_prove_publish_verify(ui_world: UiWorld) -> None:
    app = _app(ui_world)
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        seen = collect_notifications(app)
        await pilot.press("a")
        assert isinstance(app.screen, AddDomainScreen)
        app.screen.query_one("#address", Input).value = "admin@new.example"
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, EnterCodeScreen))
        # The row is there at once, waiting for its code; the user is told where the mail is.
        assert cell(app, "new.example", "owner") == "… pending"
        assert table_of(app).current_domain() == "new.example"
        assert any("ctrl+o" in text for text in seen)

        app.screen.query_one("#code", Input).value = ui_world.codes_sent()[-1]
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, RecordsScreen))
        assert cell(app, "new.example", "owner") == "✔ verified"
        records = app.screen
        await wait_until(pilot, lambda: records.check_action("verify", ()) is True)
        await pilot.press("1")
        assert app.clipboard.startswith("v=DKIM1; k=ed25519; p=")
        await pilot.press("p")  # demo: "publish" into the zone
        await pilot.press("v")
        await wait_until(pilot, lambda: isinstance(app.screen, VerifyResultScreen))
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is domains_screen(app))
        assert cell(app, "new.example", "dkim") == "✔ verified"
        assert cell(app, "new.example", "spf") == "✔ verified"
        assert cell(app, "new.example", "dmarc") == "DMARC configured"
        assert cell(app, "new.example", "next") == "in 48h"
    row = ui_world.registry.get("new.example")
    assert row.verified
    assert row.dmarc_policy == "none"


async def test_escape_in_a_step_leaves_the_row_as_it_is(ui_world: UiWorld) -> None:
    app = _app(ui_world)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("a")
        app.screen.query_one("#address", Input).value = "admin@later.example"
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, EnterCodeScreen))
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is domains_screen(app))
        assert cell(app, "later.example", "owner") == "… pending"
        # Later: c enters the code for the selected row, and goes on to the records.
        await pilot.press("c")
        assert isinstance(app.screen, EnterCodeScreen)
        app.screen.query_one("#code", Input).value = ui_world.codes_sent()[-1]
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, RecordsScreen))
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is domains_screen(app))
        assert cell(app, "later.example", "owner") == "✔ verified"
        assert cell(app, "later.example", "dkim") == "– unchecked"


async def test_enter_opens_the_detail_screen(ui_world: UiWorld) -> None:
    ui_world.add_verified("shop.example")
    app = _app(ui_world)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, DomainDetailScreen))
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is domains_screen(app))


async def test_resend_sends_a_new_code(ui_world: UiWorld) -> None:
    await ui_world.registry.add("admin@slow.example")
    ui_world.clock.advance(minutes=5)  # resending is allowed once a minute
    app = _app(ui_world)
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        seen = collect_notifications(app)
        await pilot.press("s")
        await wait_until(pilot, lambda: any("Demo" in text for text in seen))
    row = ui_world.registry.get("slow.example")
    assert row.code_sent_at == ui_world.clock()
    assert len(ui_world.codes_sent()) == 2


async def test_delete_asks_first(ui_world: UiWorld) -> None:
    ui_world.add_verified("gone.example")
    ui_world.add_verified("kept.example")
    app = _app(ui_world)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("escape")  # changed their mind
        await wait_until(pilot, lambda: app.screen is domains_screen(app))
        assert table_of(app).visible_domains() == ["gone.example", "kept.example"]
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_until(pilot, lambda: table_of(app).visible_domains() == ["kept.example"])
    try:
        ui_world.registry.get("gone.example")
    except NotFound:
        pass
    else:
        raise AssertionError("the domain is still in the registry")


async def test_rotate_dkim_key_after_confirmation(ui_world: UiWorld) -> None:
    ui_world.add_verified("shop.example")
    ui_world.clock.advance(days=40)  # a new month: a new dated selector
    app = _app(ui_world)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("k")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_until(pilot, lambda: len(ui_world.registry.get("shop.example").dkim_keys) == 2)
    keys = ui_world.registry.get("shop.example").dkim_keys
    assert [k.active for k in keys] == [True, False]  # the old key signs until the new is seen


async def test_report_action_shows_its_domains(ui_world: UiWorld) -> None:
    ui_world.add_verified("nodmarc.example", dmarc=None)
    ui_world.add_verified("ok.example")
    await ui_world.registry.add("admin@waiting.example")
    for domain in ("nodmarc.example", "ok.example"):
        await ui_world.registry.verify(domain)
    app = _app(ui_world)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(app.screen, ReportScreen))
        report = ui_world.registry.report()
        dmarc_index = next(i for i, a in enumerate(report) if "DMARC" in a.title)
        for _ in range(dmarc_index):
            await pilot.press("down")
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.screen is domains_screen(app))
        assert table_of(app).visible_domains() == list(report[dmarc_index].domains)
        await pilot.press("escape")
        assert len(table_of(app).visible_domains()) == 3
    assert ui_world.registry.get("waiting.example").ownership is Ownership.PENDING


async def test_a_reader_verifying_from_the_records_sees_a_dry_run(ui_world: UiWorld) -> None:
    ui_world.add_verified("shop.example")
    reader = ui_world.registry_for("bob")
    app = MailauthApp(reader, clock=ui_world.clock, recheck_every=None)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("r")
        await wait_until(pilot, lambda: isinstance(app.screen, RecordsScreen))
        records = app.screen
        await wait_until(pilot, lambda: records.check_action("verify", ()) is True)
        await pilot.press("v")
        await wait_until(pilot, lambda: isinstance(app.screen, VerifyResultScreen))
        assert "Dry run" in str(app.screen.query_one("#dialog").border_title)
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is domains_screen(app))
        # Every record is published, but nothing was recorded: the row says what is stored.
        assert cell(app, "shop.example", "dkim") == "– unchecked"
    assert reader.get("shop.example").last_check_at is None
