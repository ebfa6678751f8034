"""A 2048-bit RSA DKIM value (~400 characters, two TXT strings) at 80x24: shown whole and
wrapped, scrollable inside the modal, copied whole, its zone line in 255-byte strings, and
verified once published."""

from __future__ import annotations

import io
from typing import Any

import pytest
from rich.console import Console
from textual.app import App
from textual.containers import VerticalScroll

from mailauth_tui.registry.models import RecordState, VerifyOutcome
from mailauth_tui.services.settings import DkimSettings
from mailauth_tui.ui.screens.records import RecordCard, RecordsScreen
from tests.fixtures.registry import code_from_message
from tests.fixtures.ui_modals import FlowWorld, OneRsaKeyStore, screen_text

DOMAIN = "mail.example.com"


class Host(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.results: list[Any] = []


@pytest.fixture(autouse=True)
def _no_local_clipboard(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("mailauth_tui.ui.clipboard.copy_local", lambda text: False)


def _shown(card: RecordCard) -> str:
    """The card's content as drawn at the card's own width, styles dropped."""
    out = io.StringIO()
    width = card.content_region.width
    Console(file=out, width=width, color_system=None).print(card.content)
    return out.getvalue()


async def test_rsa_2048_value_is_whole_wrapped_and_scrollable_at_80x24(
    flow_world: FlowWorld,
) -> None:
    registry = flow_world.registry_with(
        OneRsaKeyStore(), DkimSettings(key_type="rsa", key_bits=2048)
    )
    await registry.add(f"admin@{DOMAIN}")
    code = code_from_message(flow_world.smtp.messages[-1])
    assert (await registry.submit_code(DOMAIN, code)).ok

    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(RecordsScreen(registry, DOMAIN, demo=flow_world.demo), app.results.append)
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        card = app.screen.query(RecordCard).first()
        value = card.record.value
        assert len(value) > 255 and len(card.record.chunks) == 2

        # Whole: every character of the value is on the card, wrapped within 80 columns.
        shown = _shown(card)
        assert "".join(value.split()) in "".join(shown.split())
        assert all(len(line) <= 80 for line in screen_text(app))

        # The list scrolls inside the modal; the footer keys stay on screen.
        listing = app.screen.query_one("#record-list", VerticalScroll)
        assert listing.max_scroll_y > 0
        await pilot.press("pagedown")
        await pilot.pause()
        assert listing.scroll_y > 0
        assert "1-3 Copy" in screen_text(app)[-1]

        # Copied whole; the zone form quotes 255-byte strings.
        await pilot.press("1")
        assert app.clipboard == value
        await pilot.press("z", "1")
        first, second = card.record.chunks
        assert app.clipboard == f'{card.record.host}. 3600 IN TXT "{first}" "{second}"'
        assert len(first.encode()) == 255

        # Published as two strings, read back joined: DKIM verified.
        await pilot.press("p", "v")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        outcome = app.results.pop()
        assert isinstance(outcome, VerifyOutcome)
        assert flow_world.zone.txt_strings(card.record.host) == [card.record.chunks]
        assert outcome.domain.dkim_state is RecordState.VERIFIED
        dkim = next(v for v in outcome.verdicts if v.kind == "DKIM")
        assert dkim.found == value
