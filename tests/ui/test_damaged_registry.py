"""A damaged registry in the console: the one line the CLI prints ("registry damaged: ...
(PATH)") replaces the table, found at start or by the live poll, and never a traceback (Textual
prints tracebacks with their local variables). The damage is made by another connection, as a
disk error or a hand edit would."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.widgets import Static

from mailauth_tui.ui.app import MailauthApp
from mailauth_tui.ui.screens.domain_detail import DomainDetailScreen
from tests.fixtures.ui import UiWorld
from tests.ui.domains_helpers import domains_screen, wait_until


def _bad_utf8(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE domains SET address = CAST(x'ff00fe41' AS TEXT)")


def _bad_timestamp(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE domains SET added_at = 'yesterday-ish'")


def _missing_table(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("DROP TABLE dkim_keys")


DAMAGE: dict[str, Callable[[Path], None]] = {
    "invalid UTF-8": _bad_utf8,
    "unparsable timestamp": _bad_timestamp,
    "missing table": _missing_table,
}


def _shown(app: MailauthApp) -> str:
    return str(domains_screen(app).query_one("#empty", Static).content)


@pytest.mark.parametrize("damage", DAMAGE)
async def test_damage_found_at_start_is_one_line(ui_world: UiWorld, damage: str) -> None:
    ui_world.add_verified("shop.example")
    db = ui_world.settings.db
    DAMAGE[damage](db)
    app = MailauthApp(ui_world.registry, clock=ui_world.clock, recheck_every=None)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        text = _shown(app)
        assert text.startswith("registry damaged: ")
        assert str(db) in text
        assert not domains_screen(app).table.display
    assert app.return_code in (None, 0)  # no unhandled exception: no traceback was drawn


@pytest.mark.parametrize("damage", DAMAGE)
async def test_damage_found_by_the_live_poll_is_one_line(ui_world: UiWorld, damage: str) -> None:
    ui_world.add_verified("shop.example")
    db = ui_world.settings.db
    app = MailauthApp(ui_world.registry, clock=ui_world.clock, recheck_every=None)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        screen = domains_screen(app)
        assert "shop.example" in screen.table.domains
        DAMAGE[damage](db)
        await wait_until(pilot, lambda: bool(screen.damage), limit=5)
        assert _shown(app).startswith("registry damaged: ")
        assert str(db) in _shown(app)
        if damage == "unparsable timestamp":  # repaired: the domains come back by themselves
            with sqlite3.connect(db) as conn:
                conn.execute("UPDATE domains SET added_at = '2025-05-30T09:30:00+00:00'")
            await wait_until(pilot, lambda: not screen.damage, limit=5)
            assert screen.table.display and "shop.example" in screen.table.domains
    assert app.return_code in (None, 0)


async def test_a_missing_journal_table_in_the_detail_screen_is_one_line(
    ui_world: UiWorld,
) -> None:
    ui_world.add_verified("shop.example")
    with sqlite3.connect(ui_world.settings.db) as conn:
        conn.execute("DROP TABLE journal")
    app = MailauthApp(ui_world.registry, clock=ui_world.clock, recheck_every=None)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, DomainDetailScreen))
        await pilot.pause()
        shown = " ".join(str(s.content) for s in app.screen.query(".problem").results(Static))
        assert "registry damaged: " in shown
        assert "internal error" not in shown
    assert app.return_code in (None, 0)


def test_a_negative_schema_version_stops_the_console_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from mailauth_tui.cli.main import main

    db = tmp_path / "registry.sqlite3"
    assert main(["init", "--db", str(db)]) == 0
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA user_version = -1")
    capsys.readouterr()
    assert main(["--db", str(db)]) == 1  # before Textual starts: the CLI's own line
    err = capsys.readouterr().err
    assert err.startswith(f"mailauth-tui: registry damaged: {db} (schema version -1)")
    assert len(err.strip().splitlines()) == 1
