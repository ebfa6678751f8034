"""The keys people expect of a table and a console: home/end and g/G move the cursor to the
first and last domain, q quits from the main screen only (never from the filter box or a
dialog; ctrl+q everywhere), and ``o`` never sorts by a column that is not shown."""

from __future__ import annotations

import pytest
from textual.widgets import Input, Static

from mailauth_tui.demo.session import DemoSession
from mailauth_tui.ui.app import MailauthApp
from mailauth_tui.ui.screens.help import HelpScreen
from mailauth_tui.ui.widgets.domain_table import DomainTable, SortKey
from tests.ui.domains_helpers import domains_screen, table_of, wait_until


def sort_key_of(table: DomainTable) -> SortKey:
    """Read afresh: a resize changes it, which an ``is`` check before would hide from mypy."""
    return table.sort_key


def _app(demo: DemoSession) -> MailauthApp:
    return MailauthApp(demo.registry, demo=demo.hooks, clock=demo.clock, recheck_every=None)


@pytest.mark.parametrize(("last", "first"), [("end", "home"), ("G", "g")])
async def test_first_and_last_row_keys(ui_demo: DemoSession, last: str, first: str) -> None:
    app = _app(ui_demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        table = table_of(app)
        await pilot.press(last)
        assert table.cursor_row == table.row_count - 1
        assert table.current_domain() == "typo.example"
        await pilot.press(first)
        assert table.cursor_row == 0
        assert table.current_domain() == "acme.example"


async def test_q_quits_from_the_main_screen(ui_demo: DemoSession) -> None:
    app = _app(ui_demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("q")
        await pilot.pause()
        assert app._exit  # the app is on its way out


async def test_q_is_a_letter_in_the_filter_and_closes_help_only(ui_demo: DemoSession) -> None:
    app = _app(ui_demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("slash", "q")
        box = domains_screen(app).query_one("#filter", Input)
        assert box.value == "q"
        assert not app._exit
        await pilot.press("escape", "question_mark")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.press("q")  # closes the help, not the console
        await wait_until(pilot, lambda: not isinstance(app.screen, HelpScreen))
        assert not app._exit


@pytest.mark.parametrize("size", [(80, 24), (100, 30)])
async def test_sort_is_never_by_a_hidden_column(
    ui_demo: DemoSession, size: tuple[int, int]
) -> None:
    app = _app(ui_demo)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        table = table_of(app)
        seen = []
        for _ in range(4):
            await pilot.press("o")
            seen.append(table.sort_key)
            assert table.shows(table.sort_key.column), table.sort_key
        assert SortKey.STATUS in seen
        if size == (100, 30):
            assert SortKey.NEXT_CHECK in seen


async def test_narrowing_leaves_no_sort_by_a_hidden_column(ui_demo: DemoSession) -> None:
    app = _app(ui_demo)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        table = table_of(app)
        await pilot.press("o", "o")
        assert table.sort_key is SortKey.NEXT_CHECK
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert not table.shows("next")
        assert sort_key_of(table) is SortKey.DOMAIN
        await pilot.pause()
        status = str(domains_screen(app).query_one("#status", Static).content)
        assert "sorted by domain" in status
