"""What every step modal shares: the stylesheet, escape, literal text and worker failures.

Registry calls run in workers with ``exit_on_error=False``; a worker's outcome comes back here
as ``Worker.StateChanged`` and is handed to the screen as a result or as a message fit for the
user. A RegistryError's text is that message; anything else is a bug, logged with its
traceback (never drawn on screen) and summarised as "internal error: ...".
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Any, TypeVar

from rich.table import Table
from rich.text import Text
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.worker import Worker, WorkerState

from mailauth_tui.core.textsafe import printable
from mailauth_tui.registry.errors import RegistryError
from mailauth_tui.ui.styles_path import styles_dir

log = logging.getLogger(__name__)

ResultT = TypeVar("ResultT")

MODALS_TCSS = str(styles_dir() / "modals.tcss")


def literal(text: str, style: str = "") -> Text:
    """Text from DNS or a user as a Rich Text: never markup, control characters made visible."""
    return Text(printable(text), style=style)


def failure_message(error: BaseException | None) -> str:
    """The line to show for a failed registry call."""
    if isinstance(error, RegistryError):
        return str(error)
    log.error("internal error in a console worker", exc_info=error)
    kind = type(error).__name__ if error is not None else "unknown"
    return f"internal error: {kind}: {error} (details in the log)"


def when(moment: datetime | None, *, empty: str = "never") -> str:
    """A timestamp as shown in the modals: UTC, to the minute, unambiguous across zones."""
    if moment is None:
        return empty
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def facts(rows: list[tuple[str, Text]]) -> Table:
    """Label / value lines aligned in two columns; values wrap within their column."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    for label, value in rows:
        grid.add_row(Text(label), value)
    return grid


class StepModal(ModalScreen[ResultT]):
    """A modal step of the console: escape cancels with None, workers report back here."""

    CSS_PATH = MODALS_TCSS
    BINDINGS = [Binding("escape", "cancel", "Close")]

    def action_cancel(self) -> None:
        self.dismiss(None)

    def run_call(self, work: Awaitable[Any], name: str, domain: str = "") -> Worker[Any]:
        """Run one registry call; its result or failure arrives in step_done / step_failed.

        One exclusive group per domain so a second press of a key replaces the first call
        instead of racing it.
        """
        return self.run_worker(
            work,
            name=name,
            group=f"registry:{domain or name}",
            exclusive=True,
            exit_on_error=False,
        )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state is WorkerState.SUCCESS:
            self.step_done(worker.name, worker.result)
        elif event.state is WorkerState.ERROR:
            self.step_failed(worker.name, failure_message(worker.error))

    def step_done(self, name: str, result: Any) -> None:
        """A registry call named ``name`` returned ``result``."""

    def step_failed(self, name: str, message: str) -> None:
        """A registry call named ``name`` failed; ``message`` is for the user."""
        self.notify(message, title="Failed", severity="error", markup=False)
