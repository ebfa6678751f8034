"""Demo only: the outbox as a dialog over any screen (ctrl+o), to read a verification code
while the code dialog waits underneath."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen

from mailauth_tui.ui.demo_hooks import DemoHooks
from mailauth_tui.ui.widgets.outbox_panel import OutboxPanel


class OutboxScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,q,m,ctrl+o", "close", "Close", key_display="esc"),
        Binding("r", "reload", "Reload"),
    ]

    DEFAULT_CSS = """
    OutboxScreen {
        align: center middle;
    }
    OutboxScreen > VerticalScroll {
        width: 90;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        border: round $accent;
        border-title-align: center;
        background: $surface;
    }
    """

    def __init__(self, demo: DemoHooks) -> None:
        super().__init__()
        self._demo = demo

    def compose(self) -> ComposeResult:
        with VerticalScroll() as scroll:
            scroll.border_title = "Demo outbox"
            scroll.border_subtitle = "esc close · r reload"
            yield OutboxPanel(id="outbox")

    def on_mount(self) -> None:
        # "The code is in the outbox" has done its job, and would cover the code.
        self.app.clear_notifications()
        self.action_reload()

    def action_reload(self) -> None:
        self.query_one(OutboxPanel).show(self._demo.outbox())

    def action_close(self) -> None:
        self.dismiss(None)
