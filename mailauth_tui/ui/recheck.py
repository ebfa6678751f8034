"""The bulk re-check of the domain screen: which domains are still out, the answers waiting
to be drawn, the timer that draws them, and the changes summed up at the end.

Answers arrive hundreds a second; each change of a table cell repaints the visible rows, so
answers are buffered and put into the table together every ``FLUSH_EVERY`` seconds, which
keeps the screen answering keys meanwhile. One toast per state change would bury the screen:
changes are listed once, when the re-check is done.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

from textual.message import Message
from textual.notifications import SeverityLevel
from textual.timer import Timer

from mailauth_tui.core.textsafe import printable
from mailauth_tui.registry.models import DomainRow, VerifyOutcome
from mailauth_tui.registry.service import Registry
from mailauth_tui.ui.failure import failure_text
from mailauth_tui.ui.messages import DomainChecked, RecheckFinished, RecheckProgress
from mailauth_tui.ui.widgets.domain_table import DomainTable

GROUP = "recheck"
MAX_CHANGES_SHOWN = 4
FLUSH_EVERY = 0.5  # seconds between two redraws of the table during a bulk re-check


class RecheckHost(Protocol):
    """What the controller needs of the screen that shows the re-check."""

    @property
    def table(self) -> DomainTable: ...

    def post_message(self, message: Message) -> bool: ...

    def every(self, seconds: float, callback: Callable[[], None]) -> Timer:
        """A timer on the screen calling ``callback`` every ``seconds``."""
        ...

    def show_progress(self, done: int, total: int, *, running: bool) -> None: ...

    def show_detail(self) -> None: ...

    def tell(
        self, text: str, title: str, severity: SeverityLevel = "information", timeout: float = 5
    ) -> None:
        """A notification of literal text."""
        ...


class RecheckController:
    """The state of the running bulk re-check (at most one at a time)."""

    def __init__(self, host: RecheckHost, registry: Registry) -> None:
        self._host = host
        self._registry = registry
        self._waiting: set[str] = set()  # domains not answered yet
        self.total = 0  # domains in the running re-check; 0 when none runs
        self._quiet = False
        self._changes: list[str] = []  # state changes seen by the running re-check
        self._answers: dict[str, DomainRow] = {}  # answers not yet drawn (see flush)
        self._timer: Timer | None = None

    @property
    def running(self) -> bool:
        return self.total > 0

    @property
    def done(self) -> int:
        return self.total - len(self._waiting)

    def waits_for(self, domain: str) -> bool:
        return domain in self._waiting

    def start(self, domains: Sequence[str], *, quiet: bool) -> bool:
        """Mark ``domains`` as being re-checked; False when a re-check already runs.
        The caller then runs :meth:`run` in a worker."""
        if self.running or not domains:
            return False
        self._quiet = quiet
        self._waiting = set(domains)
        self.total = len(self._waiting)
        self._host.table.set_checking_many(self._waiting, True)
        self._host.show_progress(0, self.total, running=True)
        self._host.show_detail()
        self._timer = self._host.every(FLUSH_EVERY, self.flush)
        return True

    async def run(self, due_only: bool) -> None:
        """The worker's body: the registry's re-check, each answer posted as a message; the
        end (or failure, or cancellation) posted as :class:`RecheckFinished`."""

        def on_result(outcome: VerifyOutcome) -> None:
            self._host.post_message(DomainChecked(outcome, manual=False))

        try:
            await self._registry.recheck(due_only=due_only, on_result=on_result, keep=False)
        except asyncio.CancelledError:
            self._host.post_message(RecheckFinished("re-check cancelled"))
            raise
        except Exception as exc:  # shown to the user; a bug's traceback goes to the log
            self._host.post_message(RecheckFinished(failure_text(exc)))
            return
        self._host.post_message(RecheckFinished(None))

    def answered(self, row: DomainRow) -> None:
        """A re-check answer: drawn by the next flush."""
        self._waiting.discard(row.domain)
        self._answers[row.domain] = row

    def failed(self, domain: str) -> None:
        self._waiting.discard(domain)

    def note_changes(self, name: str, transitions: Iterable[str]) -> None:
        self._changes.extend(f"{printable(name)}: {printable(t)}" for t in transitions)
        if not self.running:
            self._report_changes()

    def flush(self) -> None:
        """Put the answers that arrived since the last flush into the table, all at once."""
        answers, self._answers = self._answers, {}
        if not answers and not self.running:
            return
        table = self._host.table
        current = table.current_domain()
        table.put_many(answers.values())
        if current in answers:
            self._host.show_detail()
        if self.running:
            self._host.post_message(RecheckProgress(self.done, self.total))

    def finish(self, message: str | None) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self.flush()
        # Domains the registry skipped (removed meanwhile, not due any more) stop "checking".
        self._host.table.set_checking_many(list(self._waiting), False)
        total = self.total
        self._waiting.clear()
        self.total = 0
        self._host.show_progress(0, 0, running=False)
        self._host.show_detail()
        if message:
            self._host.tell(message, "Re-check", "error")
        elif total and not self._quiet and not self._changes:
            plural = "s" if total != 1 else ""
            self._host.tell(f"Re-checked {total} domain{plural}: no change.", "Re-check")
        self._report_changes()

    def _report_changes(self) -> None:
        changes, self._changes = self._changes, []
        if not changes:
            return
        shown = "\n".join(changes[:MAX_CHANGES_SHOWN])
        if len(changes) > MAX_CHANGES_SHOWN:
            more = len(changes) - MAX_CHANGES_SHOWN
            shown += f"\n… and {more} more (each domain's journal has them)"
        title = f"{len(changes)} change{'s' if len(changes) != 1 else ''} found"
        self._host.tell(shown, title, "warning", timeout=10)
