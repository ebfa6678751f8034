"""Toasts never cover a dialog: the main screen's toasts are cleared when a dialog opens (a
"Copied" toast does not follow into it), the ones told while a dialog is open wait for the main
screen, and a dialog says what its keys did in its own lines."""

from __future__ import annotations

from mailauth_tui.demo.session import DemoSession
from mailauth_tui.ui.app import MailauthApp
from mailauth_tui.ui.screens.help import HelpScreen
from mailauth_tui.ui.screens.records import RecordCard, RecordsScreen
from tests.ui.domains_helpers import domains_screen, table_of, wait_until


def _app(demo: DemoSession) -> MailauthApp:
    return MailauthApp(demo.registry, demo=demo.hooks, clock=demo.clock, recheck_every=None)


async def test_a_copied_toast_does_not_follow_into_a_dialog(ui_demo: DemoSession) -> None:
    app = _app(ui_demo)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await pilot.pause()
        table = table_of(app)
        table.move_cursor(row=table.get_row_index("blog.example"), animate=False)
        await pilot.press("b")  # copies the DMARC record, says so in a toast
        await wait_until(pilot, lambda: bool(app._notifications))
        await pilot.press("r")
        await wait_until(pilot, lambda: isinstance(app.screen, RecordsScreen))
        assert not app._notifications


async def test_toasts_told_over_a_dialog_wait_for_the_main_screen(ui_demo: DemoSession) -> None:
    app = _app(ui_demo)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await pilot.pause()
        screen = domains_screen(app)
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen))
        screen.tell("Re-checked 9 domains: no change.", "Re-check")
        await pilot.pause()
        assert not app._notifications  # not over the help
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is screen)
        await pilot.pause()
        assert [n.message for n in app._notifications] == ["Re-checked 9 domains: no change."]


async def test_the_records_dialog_says_what_a_copy_did_in_its_status_line(
    ui_demo: DemoSession,
) -> None:
    app = _app(ui_demo)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await pilot.pause()
        await pilot.press("r")  # acme.example
        await wait_until(pilot, lambda: isinstance(app.screen, RecordsScreen))
        await wait_until(pilot, lambda: bool(app.screen.query(RecordCard)))
        await pilot.press("1")
        await pilot.pause()
        assert not app._notifications
        from textual.widgets import Static

        status = str(app.screen.query_one("#status", Static).content)
        assert status.startswith("✔ Copied DKIM value")
