"""DNS text is shown as text: a TXT record holding Rich/Textual markup and terminal control
characters reaches the result and detail screens literally, never as styles, links or escape
sequences."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import App
from textual.widgets import Static

from mailauth_tui.registry.models import VerifyOutcome
from mailauth_tui.ui.screens.domain_detail import DomainDetailScreen
from mailauth_tui.ui.screens.verify_result import VerifyResultScreen
from tests.fixtures.registry import code_from_message
from tests.fixtures.ui_modals import FlowWorld, screen_text

DOMAIN = "mail.example.com"
HOSTILE = "v=spf1 [bold red]x[/] [@click=app.quit]go[/] \x1b[31mred\x07 -all"
# What must be read on screen instead: the markup as typed, the controls as visible escapes.
SHOWN = ("[bold red]x[/]", "[@click=app.quit]go[/]", "\\x1b[31mred\\x07")


async def _verified_with_hostile_spf(world: FlowWorld) -> VerifyOutcome:
    registry = world.registry
    await registry.add(f"admin@{DOMAIN}")
    code = code_from_message(world.smtp.messages[-1])
    assert (await registry.submit_code(DOMAIN, code)).ok
    world.demo.publish(await registry.records(DOMAIN))
    world.zone.set(DOMAIN, "TXT", HOSTILE)
    return await registry.verify(DOMAIN)


def _assert_literal(lines: list[str]) -> None:
    text = "\n".join(lines)
    for piece in SHOWN:
        assert piece in text, piece
    assert "\x1b" not in text and "\x07" not in text


class Host(App[None]):
    pass


async def test_verify_result_shows_hostile_txt_literally(flow_world: FlowWorld) -> None:
    outcome = await _verified_with_hostile_spf(flow_world)
    spf = next(v for v in outcome.verdicts if v.kind == "SPF")
    assert spf.found == HOSTILE
    app = Host()
    async with app.run_test(size=(100, 30)) as pilot:
        await app.push_screen(VerifyResultScreen(outcome))
        await pilot.pause()
        _assert_literal(screen_text(app))
        assert app.is_running  # nothing was taken as an action
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, VerifyResultScreen)


async def test_domain_detail_shows_hostile_evidence_literally(flow_world: FlowWorld) -> None:
    await _verified_with_hostile_spf(flow_world)
    app = Host()
    # Tall enough for the whole evidence outline without scrolling.
    async with app.run_test(size=(120, 100)) as pilot:
        await app.push_screen(DomainDetailScreen(flow_world.registry, DOMAIN))
        await pilot.pause()
        lines = screen_text(app)
        # The evidence outline holds the SPF record as DNS returned it.
        _assert_literal(lines)
        journal = app.screen.query_one("#journal", Static).content
        assert isinstance(journal, Table)
        cells = [cell for column in journal.columns for cell in column.cells]
        assert cells and all(isinstance(cell, Text) for cell in cells)
        # Newest first: the check comes after the code in time, so above it.
        events = [cell.plain for cell in journal.columns[2].cells]  # type: ignore[union-attr]
        assert events.index("check") < events.index("code accepted") < events.index("domain added")
