"""'DKIM at 2 of 3 nameservers' badges of one domain, refreshed in place from a worker.

The zone's nameservers are asked directly (:meth:`Registry.propagation`) when the widget is
mounted and then every ``REFRESH`` seconds, in one exclusive worker group per domain so that a
slow round never overlaps the next. Hidden when the session cannot ask nameservers directly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.message import Message
from textual.widgets import Static
from textual.worker import Worker, WorkerState

from mailauth_tui.core.propagation import PropagationReport
from mailauth_tui.core.textsafe import printable
from mailauth_tui.ui.failure import failure_text

if TYPE_CHECKING:
    from mailauth_tui.registry.service import Registry

REFRESH = 10.0  # seconds between rounds: a secondary's transfer takes seconds, not less


def badges_text(report: PropagationReport) -> Text:
    """One line: each kind's coverage, green when every nameserver serves it."""
    if report.error:
        return Text(f"Nameservers: {printable(report.error)}", style="magenta")
    text = Text("Nameservers: ", style="bold")
    kinds = report.kinds()
    for i, kind in enumerate(kinds):
        serving, total = report.coverage(kind)
        if i:
            text.append(" · ")
        style = "green" if total and serving == total else "yellow" if serving else "red"
        # "DKIM at 1 of 2 · SPF at 2 of 2 · DMARC at 1 of 2 nameservers": one line at 80.
        label = report.badge(kind) if i == len(kinds) - 1 else f"{kind} at {serving} of {total}"
        text.append(label, style=style)
    return text


class PropagationBadges(Static):
    """The badges line; ``report`` is the last round's result."""

    DEFAULT_CSS = """
    PropagationBadges { height: auto; }
    """

    class Updated(Message):
        def __init__(self, report: PropagationReport) -> None:
            super().__init__()
            self.report = report

    def __init__(self, registry: Registry, domain: str, *, auto: bool = True) -> None:
        super().__init__("", classes="propagation-badges")
        self._registry = registry
        self._domain = domain
        self._auto = auto
        self.report: PropagationReport | None = None

    def on_mount(self) -> None:
        self.display = self._registry.can_probe_zones
        if not self.display:
            return
        self.update(Text("Nameservers: ⟳ asking each one …", style="dim"))
        self.refresh_now()
        if self._auto:
            self.set_interval(REFRESH, self.refresh_now)

    def refresh_now(self) -> None:
        self.run_worker(
            self._registry.propagation(self._domain),
            name="propagation",
            group=f"propagation:{self._domain}",
            exclusive=True,
            exit_on_error=False,
        )

    def show(self, report: PropagationReport) -> None:
        self.report = report
        self.update(badges_text(report))
        self.post_message(self.Updated(report))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        event.stop()  # the screen's own workers report to it; these stay here
        if event.worker.name != "propagation":
            return
        if event.state is WorkerState.SUCCESS and isinstance(
            event.worker.result, PropagationReport
        ):
            self.show(event.worker.result)
        elif event.state is WorkerState.ERROR:
            message = failure_text(event.worker.error)
            self.update(Text(f"Nameservers: {printable(message)}", style="red"))
