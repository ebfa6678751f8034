"""'DKIM at 2 of 3 nameservers' badges of one domain, refreshed in place from a worker.

The zone's nameservers are asked directly (:meth:`Registry.propagation`) when the widget is
mounted and then every ``REFRESH`` seconds, in one exclusive worker group per domain so that a
slow round never overlaps the next. Hidden when the session cannot ask nameservers directly.

On the main screen one widget follows the cursor (:meth:`PropagationBadges.follow`): each
domain's last report is kept for ``REFRESH`` seconds and shown at once, and a domain is asked
only once the cursor has rested on it for ``SETTLE`` seconds, so a storm of cursor moves asks
nothing until it stops.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import TYPE_CHECKING

from rich.text import Text
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Static
from textual.worker import Worker, WorkerState

from mailauth_tui.core.propagation import PropagationReport
from mailauth_tui.core.textsafe import printable
from mailauth_tui.ui.failure import failure_text

if TYPE_CHECKING:
    from mailauth_tui.registry.service import Registry

REFRESH = 10.0  # seconds between rounds: a secondary's transfer takes seconds, not less
SETTLE = 0.5  # seconds the cursor rests on a domain before its nameservers are asked
_KEPT = 256  # domains whose last report is kept (a few lines each)


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

    def __init__(
        self, registry: Registry, domain: str | None, *, auto: bool = True, id: str | None = None
    ) -> None:
        super().__init__("", classes="propagation-badges", id=id)
        self._registry = registry
        self._domain = domain
        self._auto = auto
        self.report: PropagationReport | None = None
        self._asked: dict[Worker[PropagationReport], str] = {}  # worker -> its domain
        self._kept: OrderedDict[str, tuple[float, PropagationReport]] = OrderedDict()
        self._settle: Timer | None = None

    def on_mount(self) -> None:
        self.display = self._registry.can_probe_zones
        if not self.display:
            return
        self._waiting()
        self.refresh_now()
        if self._auto:
            self.set_interval(REFRESH, self._refresh_if_old)

    def _waiting(self) -> None:
        if self._domain is None:
            self.update(Text("Nameservers: asked once ownership is proven", style="dim"))
        else:
            self.update(Text("Nameservers: ⟳ asking each one …", style="dim"))

    def follow(self, domain: str | None) -> None:
        """Show ``domain``'s badges instead (None: a domain whose records are not out yet):
        its last report at once when there is one, a new round once the cursor rests."""
        if domain == self._domain or not self.display:
            return
        self._domain = domain
        if self._settle is not None:
            self._settle.stop()
            self._settle = None
        kept = self._kept.get(domain) if domain is not None else None
        if kept is None:
            self.report = None
            self._waiting()
        else:
            self._show(kept[1])
        if domain is not None and (kept is None or time.monotonic() - kept[0] >= REFRESH):
            self._settle = self.set_timer(SETTLE, self.refresh_now)

    def _refresh_if_old(self) -> None:
        kept = self._kept.get(self._domain) if self._domain is not None else None
        if kept is None or time.monotonic() - kept[0] >= REFRESH - 1:
            self.refresh_now()

    def refresh_now(self) -> None:
        domain = self._domain
        if domain is None:
            return
        worker = self.run_worker(
            self._ask(domain),
            name="propagation",
            group=f"propagation:{domain}",
            exclusive=True,
            exit_on_error=False,
        )
        self._asked[worker] = domain

    async def _ask(self, domain: str) -> PropagationReport:
        report = await self._registry.propagation(domain)
        self._keep(domain, report)  # kept as soon as it is known, shown by the handler below
        return report

    def show(self, report: PropagationReport) -> None:
        if self._domain is not None:
            self._keep(self._domain, report)
        self._show(report)

    def _show(self, report: PropagationReport) -> None:
        self.report = report
        self.update(badges_text(report))
        self.post_message(self.Updated(report))

    def _keep(self, domain: str, report: PropagationReport) -> None:
        self._kept[domain] = (time.monotonic(), report)
        self._kept.move_to_end(domain)
        while len(self._kept) > _KEPT:
            self._kept.popitem(last=False)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        event.stop()  # the screen's own workers report to it; these stay here
        if event.worker.name != "propagation" or not event.worker.is_finished:
            return
        domain = self._asked.pop(event.worker, None)
        if event.state is WorkerState.SUCCESS and isinstance(
            event.worker.result, PropagationReport
        ):
            if domain == self._domain:  # the cursor may have moved on meanwhile
                self._show(event.worker.result)
        elif event.state is WorkerState.ERROR and domain == self._domain:
            message = failure_text(event.worker.error)
            self.update(Text(f"Nameservers: {printable(message)}", style="red"))
