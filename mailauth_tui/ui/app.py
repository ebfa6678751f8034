"""The console application: a thin router that holds the registry (and, in demo mode, the demo
hooks) built at the entry point, and shows the domain screen."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from textual.app import App
from textual.binding import Binding

from mailauth_tui.registry.service import Registry
from mailauth_tui.ui.demo_hooks import DemoHooks
from mailauth_tui.ui.screens.domains import DomainsScreen
from mailauth_tui.ui.styles_path import styles_dir


def _utc_now() -> datetime:
    return datetime.now(UTC)


class MailauthApp(App[None]):
    TITLE = "mailauth-tui"
    CSS_PATH = [styles_dir() / "app.tcss"]
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", priority=True, id="app.quit"),
        Binding("ctrl+o", "outbox", "Outbox", priority=True, id="app.outbox"),
    ]

    def __init__(
        self,
        registry: Registry,
        *,
        demo: DemoHooks | None = None,
        clock: Callable[[], datetime] = _utc_now,
        recheck_every: float | None = 60.0,
    ) -> None:
        """``recheck_every``: seconds between looks for domains due for their 48-hour
        re-check (None: no automatic re-check, for tests and snapshots)."""
        super().__init__()
        self.registry = registry
        self.demo = demo
        self.clock = clock
        self._recheck_every = recheck_every

    def on_mount(self) -> None:
        self.push_screen(
            DomainsScreen(
                self.registry,
                demo=self.demo,
                clock=self.clock,
                recheck_every=self._recheck_every,
            )
        )

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # The outbox exists only in demo mode: hidden, not greyed, elsewhere.
        return not (action == "outbox" and self.demo is None)

    def action_outbox(self) -> None:
        from mailauth_tui.ui.screens.outbox import OutboxScreen

        if self.demo is None or isinstance(self.screen, OutboxScreen):
            return
        self.push_screen(OutboxScreen(self.demo))
