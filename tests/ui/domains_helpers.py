"""Small helpers of the console's Pilot tests."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from typing import Any

from rich.console import Console
from textual.app import App
from textual.pilot import Pilot

from mailauth_tui.ui.screens.domains import DomainsScreen
from mailauth_tui.ui.widgets.detail_panel import DetailPanel
from mailauth_tui.ui.widgets.domain_table import DomainTable


async def wait_until(pilot: Pilot[None], condition: Callable[[], bool], limit: float = 10) -> None:
    """Let the app run until ``condition`` holds (workers answer in their own time)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + limit
    while not condition():
        if loop.time() > end:
            raise AssertionError("timed out waiting for the app")
        await pilot.pause(0.02)


def domains_screen(app: App[None]) -> DomainsScreen:
    for screen in app.screen_stack:
        if isinstance(screen, DomainsScreen):
            return screen
    raise AssertionError("no DomainsScreen")


def table_of(app: App[None]) -> DomainTable:
    return domains_screen(app).query_one(DomainTable)


def cell(app: App[None], domain: str, column: str) -> str:
    return table_of(app).get_cell(domain, column).plain


def plain(renderable: Any, width: int = 100) -> str:
    """What a renderable shows, as text without styles (control characters as they are)."""
    out = io.StringIO()
    Console(file=out, width=width, color_system=None, legacy_windows=False).print(renderable)
    return out.getvalue()


def detail_text(app: App[None]) -> str:
    panel = domains_screen(app).query_one(DetailPanel)
    content = panel.content
    assert not isinstance(content, str)
    return plain(content)


def collect_notifications(app: App[None]) -> list[str]:
    """Record every notification's text (notifications are off in run_test's screen)."""
    seen: list[str] = []
    original = app.notify

    def notify(message: str, *args: object, **kwargs: object) -> None:
        seen.append(str(message))
        original(message, *args, **kwargs)  # type: ignore[arg-type]

    app.notify = notify  # type: ignore[method-assign]
    return seen
