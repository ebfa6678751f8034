"""What every step modal shares: the stylesheet, escape, literal text and worker failures.

Registry calls run in ``@work`` methods of each modal (``exit_on_error=False``), which act on
their typed result themselves; a call that raises comes back here as ``Worker.StateChanged``
and reaches the modal's :meth:`StepModal.step_failed` as one line fit for the user
(``ui.failure.failure_text``).
"""

from __future__ import annotations

from typing import TypeVar

from rich.table import Table
from rich.text import Text
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import Static
from textual.worker import Worker, WorkerState

from mailauth_tui.core.textsafe import printable
from mailauth_tui.core.when import when
from mailauth_tui.ui.failure import failure_text
from mailauth_tui.ui.styles_path import styles_dir

__all__ = ["MODALS_TCSS", "StepModal", "facts", "failure_text", "literal", "when"]

ResultT = TypeVar("ResultT")

MODALS_TCSS = str(styles_dir() / "modals.tcss")


def literal(text: str, style: str = "") -> Text:
    """Text from DNS or a user as a Rich Text: never markup, control characters made visible."""
    return Text(printable(text), style=style)


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

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR:
            self.step_failed(failure_text(event.worker.error))

    def step_failed(self, message: str) -> None:
        """A registry call failed; ``message`` is for the user. Said inside the dialog (a
        toast would cover its text or key hints at 80x24)."""
        dialog = self.query("#dialog")
        if not dialog:
            self.notify(message, title="Failed", severity="error", timeout=3, markup=False)
            return
        notices = self.query("#step-notice")
        if notices:
            notices.first(Static).update(literal(f"✘ {message}"))
        else:
            dialog.first().mount(
                Static(literal(f"✘ {message}"), id="step-notice", classes="problem")
            )
