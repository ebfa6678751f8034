"""Bulk sending in the console (the ``b`` key, the palette and the detail panel's "Bulk" line:
allowed, or the DMARC record to publish, from the same rule as ``bulk-check``), and the detail
panel at 80x24 keeping its essential text: the DMARC policy and every "In DNS" line."""

from __future__ import annotations

import pytest

from mailauth_tui.demo.session import DemoSession
from mailauth_tui.ui.app import MailauthApp
from tests.fixtures.ui_modals import screen_text
from tests.ui.domains_helpers import collect_notifications, table_of, wait_until


def _app(demo: DemoSession) -> MailauthApp:
    return MailauthApp(demo.registry, demo=demo.hooks, clock=demo.clock, recheck_every=None)


async def _select(app: MailauthApp, pilot: object, domain: str) -> None:
    table = table_of(app)
    table.move_cursor(row=table.get_row_index(domain), animate=False)
    await pilot.pause()  # type: ignore[attr-defined]


def _drawn(app: MailauthApp) -> str:
    return "\n".join(screen_text(app))


@pytest.mark.parametrize("size", [(80, 24), (100, 30)])
async def test_the_detail_panel_says_whether_bulk_sending_is_allowed(
    ui_demo: DemoSession, size: tuple[int, int]
) -> None:
    app = _app(ui_demo)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        await _select(app, pilot, "acme.example")
        assert " Bulk      ✔ allowed: acme.example has verified DKIM" in _drawn(app)
        await _select(app, pilot, "blog.example")
        decision = ui_demo.registry.bulk_check("blog.example")
        assert decision.record is not None
        assert " Bulk      ✘ refused: publish _dmarc.blog.example TXT v=DMARC1; p=none" in (
            _drawn(app)
        )


async def test_the_bulk_key_shows_and_copies_the_dmarc_record(ui_demo: DemoSession) -> None:
    app = _app(ui_demo)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        seen = collect_notifications(app)
        await pilot.pause()
        await _select(app, pilot, "blog.example")
        await pilot.press("b")
        await wait_until(pilot, lambda: bool(seen))
        record = ui_demo.registry.bulk_check("blog.example").record
        assert record is not None
        assert app.clipboard == record.value
        assert f"Publish at _dmarc.blog.example:\n{record.value}" in seen[-1]
        await _select(app, pilot, "acme.example")
        await pilot.press("b")
        await wait_until(pilot, lambda: len(seen) == 2)
        assert seen[-1].startswith("acme.example has verified DKIM and a DMARC record")


async def test_bulk_is_in_the_command_palette(ui_demo: DemoSession) -> None:
    from mailauth_tui.ui.commands import DomainCommands

    app = _app(ui_demo)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        provider = DomainCommands(app.screen)
        labels = [label for label, _action, _help in provider._entries()]
        assert "Bulk" in labels


async def test_at_80x24_the_details_keep_the_policy_and_every_in_dns_line(
    ui_demo: DemoSession,
) -> None:
    app = _app(ui_demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await _select(app, pilot, "legacy.example")  # four problems and three records
        drawn = _drawn(app)
        assert " DMARC     DMARC configured  p=none" in drawn
        assert " In DNS    DKIM  v=DKIM1; k=ed25519; p=" in drawn
        assert "           SPF   v=spf1 " in drawn
        assert "           DMARC v=DMARC1; p=none" in drawn
        assert " Problems  +3 more (⏎) ✘ DKIM:" in drawn


async def test_at_80x24_the_status_line_keeps_the_report_it_shows(ui_demo: DemoSession) -> None:
    from textual.widgets import Static

    from tests.ui.domains_helpers import domains_screen

    app = _app(ui_demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = domains_screen(app)
        title = "3 domains waiting for DMARC setup"
        screen.show_only(("blog.example", "acme.example", "shop.example"), title)
        await pilot.pause()
        status = screen.query_one("#status", Static)
        text = str(status.content)
        assert len(text) <= status.size.width
        assert text == f"3 of 9 domains · 4 verified · report: {title}"
        screen.show_only(("blog.example",), "1 domain")
        await pilot.pause()
        assert str(status.content) == "1 of 9 domains · 4 verified · report: 1 domain"
