"""Snapshots of the main screen (sample domains in every state, empty, read-only, filtered,
the detail panel on a failing domain), the help screen and the demo outbox, at 100x30 and at
the 80x24 of a fresh SSH session (and one at 120x40)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from mailauth_tui.demo.session import DemoSession
from mailauth_tui.ui.app import MailauthApp
from mailauth_tui.ui.widgets.domain_table import DomainTable
from tests.fixtures.ui import open_test_demo, registry_as

SIZES = [pytest.param((100, 30), id="100x30"), pytest.param((80, 24), id="80x24")]
RunBefore = Callable[[Pilot[None]], Awaitable[None]]
SnapCompare = Callable[..., bool]


def _app(session: DemoSession, actor: str = "alice") -> MailauthApp:
    registry = session.registry if actor == "alice" else registry_as(session, actor)
    return MailauthApp(registry, demo=session.hooks, clock=session.clock, recheck_every=None)


def _steady(then: RunBefore | None = None) -> RunBefore:
    async def run_before(pilot: Pilot[None]) -> None:
        await pilot.pause()
        if then is not None:
            await then(pilot)
        for box in pilot.app.screen.query(Input):
            box.cursor_blink = False  # a blinking cursor would make the snapshot flicker
        await pilot.pause()

    return run_before


def _cursor_on(domain: str) -> RunBefore:
    async def then(pilot: Pilot[None]) -> None:
        table = pilot.app.screen.query_one(DomainTable)
        table.move_cursor(row=table.get_row_index(domain), animate=False)
        await pilot.pause()

    return then


async def _filter_pending(pilot: Pilot[None]) -> None:
    await pilot.press("slash")
    pilot.app.screen.query_one("#filter", Input).value = "pending"
    await pilot.pause()


async def _keys(pilot: Pilot[None], *keys: str) -> None:
    await pilot.press(*keys)
    await pilot.pause()


@pytest.fixture(scope="module")
def empty_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoSession]:
    session = open_test_demo(tmp_path_factory.mktemp("empty") / "demo", with_samples=False)
    yield session
    session.close()


@pytest.mark.parametrize("size", SIZES)
def test_main_screen(snap_compare: SnapCompare, snapshot_demo: DemoSession, size: Any) -> None:
    assert snap_compare(_app(snapshot_demo), terminal_size=size, run_before=_steady())


def test_main_screen_wide(snap_compare: SnapCompare, snapshot_demo: DemoSession) -> None:
    assert snap_compare(_app(snapshot_demo), terminal_size=(120, 40), run_before=_steady())


@pytest.mark.parametrize("size", SIZES)
def test_detail_panel_of_a_failing_domain(
    snap_compare: SnapCompare, snapshot_demo: DemoSession, size: Any
) -> None:
    run_before = _steady(_cursor_on("legacy.example"))
    assert snap_compare(_app(snapshot_demo), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_detail_panel_of_an_idn_domain(
    snap_compare: SnapCompare, snapshot_demo: DemoSession, size: Any
) -> None:
    run_before = _steady(_cursor_on("xn--bcher-kva.example"))
    assert snap_compare(_app(snapshot_demo), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_empty_state(snap_compare: SnapCompare, empty_demo: DemoSession, size: Any) -> None:
    assert snap_compare(_app(empty_demo), terminal_size=size, run_before=_steady())


@pytest.mark.parametrize("size", SIZES)
def test_read_only_mode(snap_compare: SnapCompare, snapshot_demo: DemoSession, size: Any) -> None:
    app = _app(snapshot_demo, actor="bob")
    assert snap_compare(app, terminal_size=size, run_before=_steady())


@pytest.mark.parametrize("size", SIZES)
def test_filter_active(snap_compare: SnapCompare, snapshot_demo: DemoSession, size: Any) -> None:
    run_before = _steady(_filter_pending)
    assert snap_compare(_app(snapshot_demo), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_sorted_by_status(snap_compare: SnapCompare, snapshot_demo: DemoSession, size: Any) -> None:
    async def sort(pilot: Pilot[None]) -> None:
        await _keys(pilot, "o")

    assert snap_compare(_app(snapshot_demo), terminal_size=size, run_before=_steady(sort))


@pytest.mark.parametrize("size", SIZES)
def test_help_screen(snap_compare: SnapCompare, snapshot_demo: DemoSession, size: Any) -> None:
    async def help_(pilot: Pilot[None]) -> None:
        await _keys(pilot, "question_mark")

    assert snap_compare(_app(snapshot_demo), terminal_size=size, run_before=_steady(help_))


@pytest.mark.parametrize("size", SIZES)
def test_demo_outbox(snap_compare: SnapCompare, snapshot_demo: DemoSession, size: Any) -> None:
    async def outbox(pilot: Pilot[None]) -> None:
        await _keys(pilot, "ctrl+o")

    assert snap_compare(_app(snapshot_demo), terminal_size=size, run_before=_steady(outbox))
