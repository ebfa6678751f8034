"""The detail screen in words: the journal shows every reason whole (wrapped), and neither the
journal nor the evidence shows the registry's internal names (``not_checked -> pending``,
``look: bad``, ``-:``, ``code_ok``, problem codes)."""

from __future__ import annotations

import re

import pytest

from mailauth_tui.demo.session import DemoSession
from mailauth_tui.ui.app import MailauthApp
from mailauth_tui.ui.screens.domain_detail import DomainDetailScreen
from mailauth_tui.ui.widgets.evidence_words import detail_in_words
from tests.fixtures.ui_modals import screen_text
from tests.ui.domains_helpers import table_of, wait_until

INTERNAL = re.compile(
    r"not_checked|not_configured|\blook:|-:|code_ok|code_sent|dkim_key|\bbad\b|->|"
    r"(?<![\w.])(?:dkim|spf|dmarc)\.[a-z_]+|void_lookups|checked_at|source_domain"
)


@pytest.mark.parametrize("domain", ["legacy.example", "flaky.example", "acme.example"])
async def test_the_detail_screen_speaks_words_and_keeps_reasons_whole(
    ui_demo: DemoSession, domain: str
) -> None:
    app = MailauthApp(ui_demo.registry, demo=ui_demo.hooks, clock=ui_demo.clock, recheck_every=None)
    # Tall enough to draw the whole screen: what a user scrolls through.
    async with app.run_test(size=(80, 400)) as pilot:
        await pilot.pause()
        table = table_of(app)
        table.move_cursor(row=table.get_row_index(domain), animate=False)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, DomainDetailScreen))
        await pilot.pause()
        drawn = "\n".join(screen_text(app))
        found = INTERNAL.findall(drawn)
        assert not found, found
        # Every journal reason is there whole, wrapped over lines.
        frame = re.compile(r"[│▔▁▂▃▄▅▆▇]")
        # (spaces dropped: a long host name folds inside a word)
        flowing = "".join(frame.sub("", "".join(screen_text(app))).split())
        for entry in ui_demo.registry.journal(domain):
            assert "".join(detail_in_words(entry.detail).split()) in flowing


def test_journal_lines_in_words() -> None:
    assert detail_in_words("DKIM not_checked -> pending") == "DKIM not checked → pending"
    assert detail_in_words("DKIM bad, SPF good, DMARC unknown; next check x") == (
        "DKIM did not pass, SPF passed, DMARC no answer from DNS; next check x"
    )
    assert detail_in_words("DMARC not_configured -> configured") == (
        "DMARC not configured → configured"
    )
