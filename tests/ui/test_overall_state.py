"""One overall state per domain, the one the summary line counts: the Verified column says
which rows are counted, and for the others what holds them back, at 80x24 as at 100x30."""

from __future__ import annotations

import re

import pytest
from textual.widgets import Static

from mailauth_tui.demo.session import DemoSession
from mailauth_tui.ui.app import MailauthApp
from mailauth_tui.ui.widgets.detail_panel import DetailPanel
from tests.ui.domains_helpers import cell, domains_screen, table_of


@pytest.mark.parametrize("size", [(80, 24), (100, 30)])
async def test_the_verified_column_matches_the_summary(
    ui_demo: DemoSession, size: tuple[int, int]
) -> None:
    app = MailauthApp(ui_demo.registry, demo=ui_demo.hooks, clock=ui_demo.clock, recheck_every=None)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        table = table_of(app)
        assert "verified" in [spec.key for spec in table._layout]
        counted = [d for d in table.domains if cell(app, d, "verified") == "✔ yes"]
        assert sorted(counted) == sorted(d for d, r in table.domains.items() if r.verified)
        status = str(domains_screen(app).query_one("#status", Static).content)
        match = re.search(r"(\d+) verified", status)
        assert match is not None and int(match.group(1)) == len(counted) == 4
        # The others say what holds them back.
        assert cell(app, "legacy.example", "verified") == "✘ DKIM"
        assert cell(app, "newsletter.example", "verified") == "… code"
        assert cell(app, "oldshop.example", "verified") == "⚠ code"
        assert cell(app, "typo.example", "verified") == "⚠ locked"


async def test_the_details_say_why_a_domain_is_not_counted(ui_demo: DemoSession) -> None:
    app = MailauthApp(ui_demo.registry, demo=ui_demo.hooks, clock=ui_demo.clock, recheck_every=None)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        table = table_of(app)
        table.move_cursor(row=table.get_row_index("legacy.example"), animate=False)
        await pilot.pause()
        title = str(domains_screen(app).query_one(DetailPanel).border_title)
        assert title.endswith("not verified: DKIM is failing")
        table.move_cursor(row=table.get_row_index("acme.example"), animate=False)
        await pilot.pause()
        title = str(domains_screen(app).query_one(DetailPanel).border_title)
        assert title.endswith("verified: ownership and DKIM")
