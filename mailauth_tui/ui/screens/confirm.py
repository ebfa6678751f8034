"""A yes/no question before something that cannot be undone (deleting a domain)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Footer, Static

from mailauth_tui.ui.screens.modal_base import StepModal, literal


class ConfirmScreen(StepModal[bool]):
    """Dismisses with True only on an explicit confirmation; escape and "Cancel" give False.

    Focus starts on Cancel, so an absent-minded enter does not delete anything.
    """

    AUTO_FOCUS = "#cancel"
    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("y", "confirm", "Yes"),
        Binding("n", "cancel", "No"),
        Binding("left,right", "app.focus_next", "Switch button", show=False),
    ]

    def __init__(self, title: str, message: str, confirm_label: str = "Delete") -> None:
        super().__init__()
        self._title = title
        self._message = message
        self._confirm_label = confirm_label

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog") as dialog:
            dialog.border_title = literal(self._title)
            yield Static(literal(self._message), id="question")
            with Horizontal(classes="buttons"):
                yield Button(self._confirm_label, id="confirm", variant="error")
                yield Button("Cancel", id="cancel")
            yield Static(
                f"y {self._confirm_label.lower()}   n/esc cancel   tab switch button",
                classes="hint",
                markup=False,
            )
        yield Footer()

    def action_cancel(self) -> None:
        self.dismiss(False)

    def action_confirm(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#confirm")
    def _confirmed(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#cancel")
    def _cancelled(self) -> None:
        self.dismiss(False)
