"""The main screen: the table of domains, the detail panel that follows the cursor, the
filter and sort, read-only mode, the live DNS workers and the step flows.

DNS work runs in async workers (one exclusive group per domain, ``exit_on_error=False``) that
post a message per answer; the handlers change the row in place, so the screen keeps answering
keys while a bulk re-check of hundreds of domains goes on.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Header, Input, ProgressBar, Static
from textual.worker import Worker, WorkerState

from mailauth_tui.core.textsafe import printable
from mailauth_tui.registry.errors import RegistryError
from mailauth_tui.registry.models import (
    CodeCheck,
    CodeSent,
    DomainRow,
    Ownership,
    VerifyOutcome,
)
from mailauth_tui.registry.service import Registry
from mailauth_tui.ui.commands import DOMAIN_ACTIONS, ActionInfo, DomainCommands, domain_bindings
from mailauth_tui.ui.demo_hooks import DemoHooks
from mailauth_tui.ui.messages import (
    DomainChanged,
    DomainChecked,
    DomainCheckFailed,
    RecheckProgress,
)
from mailauth_tui.ui.widgets.detail_panel import DetailPanel
from mailauth_tui.ui.widgets.domain_table import DomainTable

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
T = TypeVar("T")

_ACTIONS: dict[str, ActionInfo] = {info.action: info for info in DOMAIN_ACTIONS}
_KEYS: dict[str, ActionInfo] = {
    key.strip(): info for info in DOMAIN_ACTIONS for key in info.key.split(",")
}
EMPTY_ADMIN = "No domains yet. Press a to add your organisation email address."
BULK_GROUP = "recheck"
MAX_CHANGES_SHOWN = 4
FLUSH_EVERY = 0.2  # seconds between two redraws of the table during a bulk re-check
# Seconds between two looks for changes committed elsewhere: well within the 2 s promised.
LIVE_POLL_S = 0.5


def failure_text(error: BaseException | None) -> str:
    """A worker's failure as a line for the user: a refusal's own words, or a short internal
    error (its traceback goes to the log, never to the screen)."""
    if isinstance(error, RegistryError):
        return str(error)
    log.error("internal error in a DNS worker", exc_info=error)
    return f"internal error: {type(error).__name__}: {error}"


def _warm_up() -> None:
    from mailauth_tui.core.psl import public_suffix

    public_suffix("example.com")


class DomainsScreen(Screen[None]):
    BINDINGS = [
        *domain_bindings(),
        Binding("escape", "clear_filter", "Clear filter", show=False),
    ]
    COMMANDS = {DomainCommands}
    AUTO_FOCUS = "DomainTable"

    def __init__(
        self,
        registry: Registry,
        *,
        demo: DemoHooks | None = None,
        clock: Clock,
        recheck_every: float | None = 60.0,
    ) -> None:
        super().__init__()
        self.registry = registry
        self.demo = demo
        self._clock = clock
        self._recheck_every = recheck_every
        self._only: frozenset[str] | None = None  # domains chosen in the report
        self._only_title = ""
        self._bulk: set[str] = set()  # domains of the running bulk re-check not yet answered
        self._bulk_total = 0
        self._bulk_quiet = False
        self._bulk_changes: list[str] = []  # state changes seen by the running re-check
        self._answers: dict[str, DomainRow] = {}  # answers not yet drawn (see _flush_answers)
        self._flush_timer: Timer | None = None
        self._footer_states: tuple[bool | None, ...] = ()
        self._seen_change: object = None  # the registry's change token at the last reload

    # -- layout ---------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        with Horizontal(id="filter-bar"):
            yield Static("Filter", id="filter-label")
            yield Input(
                placeholder="part of a domain, an address or a state; esc clears",
                id="filter",
                compact=True,
            )
        yield DomainTable(self._clock, id="domains")
        yield Static("", id="empty")
        with Horizontal(id="status-bar"):
            yield Static("", id="status")
            yield ProgressBar(id="progress", show_eta=False, show_percentage=False)
        yield DetailPanel(self._clock, id="detail")
        yield Footer(compact=True)

    @property
    def table(self) -> DomainTable:
        return self.query_one(DomainTable)

    def on_mount(self) -> None:
        self.sub_title = self._subtitle()
        self.query_one("#filter-bar").display = False
        self.query_one("#progress").display = False
        self.reload()
        # The table's rows live as long as the app: move them out of the collector's reach
        # once drawn, so that full collections during a bulk re-check (measured at 90-140 ms
        # with 10,000 rows) do not make key presses wait.
        self.call_after_refresh(gc.freeze)
        for notice in self.registry.notices:
            self.notify(notice, title="Settings", severity="warning", timeout=15, markup=False)
        # A reader's console writes nothing: the admins' re-check (console or cron) does.
        if self._recheck_every and self.registry.may_change:
            self.set_interval(self._recheck_every, self.run_due_recheck, name="due-recheck")
            self.call_after_refresh(self.run_due_recheck)
        # Relative times in the table ("in 47h") move on by themselves.
        self.set_interval(60, self._tick_times, name="times")
        # Changes made by any other process or host show without a re-check.
        self._seen_change = self.registry.change_token()
        self.set_interval(LIVE_POLL_S, self._poll_changes, name="live")
        # The first DMARC check reads the Public Suffix List (a few hundred milliseconds of
        # parsing): do it now, off the event loop, rather than in the middle of a check.
        self.run_worker(_warm_up, thread=True, exit_on_error=False, name="warm-up")

    def _subtitle(self) -> str:
        parts = []
        if self.demo is not None:
            parts.append("DEMO")
        if not self.registry.may_change:
            parts.append(self.read_only_reason())
        return " · ".join(parts)

    def read_only_reason(self) -> str:
        """Why this console only reads, short enough for the header at 80 columns."""
        return self.registry.access.read_only_reason()

    # -- data -----------------------------------------------------------------------------

    def reload(self) -> None:
        """Read every domain from the registry (other processes may have changed them)."""
        rows = self.registry.list_domains()
        table = self.table
        table.load(rows)
        self._after_change()

    def _poll_changes(self) -> None:
        """Reload when the registry says someone committed a change (SQLite's data_version,
        PostgreSQL's NOTIFY): rows that changed are redrawn in place. Not while a bulk
        re-check of this console runs (it redraws its own rows): after it."""
        if self._bulk:
            return
        token = self.registry.change_token()
        if token == self._seen_change:
            return
        self._seen_change = token
        rows = self.registry.list_domains()
        table = self.table
        if {r.domain for r in rows} == set(table.domains):
            table.put_many([r for r in rows if table.domains[r.domain] != r])
        else:
            table.load(rows)
        was = self.registry.may_change
        if self.registry.refresh_access().may_change != was:
            self.sub_title = self._subtitle()
        self._after_change()

    def _after_change(self) -> None:
        table = self.table
        empty = self.query_one("#empty", Static)
        if table.row_count:
            empty.display = False
            table.display = True
        else:
            table.display = False
            empty.display = True
            empty.update(Text(self._empty_text(), justify="center"))
        self._update_status()
        self._show_detail()
        self._refresh_footer()

    def _empty_text(self) -> str:
        if self.table.domains:
            if self._only is not None:
                return "None of the report's domains is left. Press escape to show all domains."
            needle = printable(self.table.filter_text)
            return f'No domain matches "{needle}". Press escape to clear the filter.'
        if self.registry.may_change:
            return EMPTY_ADMIN
        access = self.registry.access
        reason = access.read_only_reason().capitalize()
        return f"No domains yet. {reason}: {access.how_to_get_rights()}."

    def _update_status(self) -> None:
        table = self.table
        total = len(table.domains)
        shown = table.row_count
        verified = sum(1 for r in table.domains.values() if r.verified)
        count = f"{shown} of {total} domains" if shown != total else f"{total} domains"
        parts = [count, f"{verified} verified", f"sorted by {table.sort_key.value} (o)"]
        if self._only is not None:
            parts.append(f"report: {self._only_title} (esc shows all)")
        elif table.filter_text:
            parts.append(f'filter "{table.filter_text}"')
        if self._bulk_total:
            done = self._bulk_total - len(self._bulk)
            parts.insert(0, f"⟳ re-checking {done}/{self._bulk_total}")
        # One line of fixed size: no layout pass for it (it changes with every flush).
        self.query_one("#status", Static).update(
            Text(" · ".join(parts), no_wrap=True, overflow="ellipsis"), layout=False
        )

    def _show_detail(self) -> None:
        table = self.table
        domain = table.current_domain()
        row = table.domains.get(domain) if domain else None
        panel = self.query_one(DetailPanel)
        if row is None:
            panel.display = bool(table.domains)  # the empty state says it all
            panel.show(None, empty_hint="No domain selected.")
            table.tooltip = None
            return
        panel.display = True
        panel.show(row, checking=table.is_checking(row.domain))
        table.show_tooltip_for(row.domain)

    @on(DataTable.RowHighlighted)
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail()
        self._refresh_footer()

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        # The table takes enter for itself (select the row): that is the "details" key.
        event.stop()
        self.action_detail()

    def _tick_times(self) -> None:
        self.table.refresh_times()
        self._show_detail()

    # -- read-only mode and disabled actions ----------------------------------------------

    def _selected(self) -> DomainRow | None:
        domain = self.table.current_domain()
        return self.table.domains.get(domain) if domain else None

    def disabled_reason(self, action: str) -> str:
        """Why an action is greyed out now ("" when it is not)."""
        info = _ACTIONS.get(action)
        if info is None:
            return ""
        if info.admin_only and not self.registry.may_change:
            access = self.registry.access
            return f"{access.read_only_reason()}; {access.how_to_get_rights()}"
        row = self._selected()
        if info.needs_row and row is None:
            return "no domain selected"
        if row is not None:
            if action in ("code", "resend") and row.ownership is Ownership.VERIFIED:
                return f"ownership of {row.domain_unicode} is already proven"
            if action == "records" and row.ownership is not Ownership.VERIFIED:
                return f"prove ownership of {row.domain_unicode} first: enter the code (c)"
        return ""

    def _refresh_footer(self) -> None:
        """Redraw the footer's keys only when one of them changes state: the footer rebuilds
        all its keys each time, too slow to do on every cursor move."""
        states = tuple(self.check_action(info.action, ()) for info in DOMAIN_ACTIONS)
        if states != self._footer_states:
            self._footer_states = states
            self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        info = _ACTIONS.get(action)
        if info is None:
            return True
        if info.demo_only and self.demo is None:
            return False
        if info.admin_only and not self.registry.may_change:
            return False  # read-only mode: write actions leave the footer
        return None if self.disabled_reason(action) else True

    def palette_action(self, action: str) -> None:
        """Run an action chosen in the command palette, or say why it cannot run."""
        reason = self.disabled_reason(action)
        if reason:
            self.notify(reason, title="Not available", severity="warning", markup=False)
            return
        self.call_later(self.run_action, action)

    def on_key(self, event: Any) -> None:
        # A greyed-out key does nothing by itself; say why instead of staying silent.
        info = _KEYS.get(event.key)
        if info is None or self.focused is self.query_one("#filter"):
            return
        if self.check_action(info.action, ()) is not True and self.disabled_reason(info.action):
            event.stop()
            self.notify(
                self.disabled_reason(info.action),
                title="Not available",
                severity="warning",
                markup=False,
            )

    # -- filter and sort ------------------------------------------------------------------

    def action_filter(self) -> None:
        self.query_one("#filter-bar").display = True
        self.query_one("#filter", Input).focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self._only = None
        self.table.filter_text = event.value
        self.table.only = None
        self.table.rebuild()
        self._after_change()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self) -> None:
        self.table.focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        bar = self.query_one("#filter-bar")
        had_filter = bool(self.table.filter_text) or self._only is not None or bar.display
        if not had_filter:
            return
        self._only = None
        self.table.only = None
        self.table.filter_text = ""
        with box.prevent(Input.Changed):
            box.value = ""
        bar.display = False
        self.table.rebuild()
        self.table.focus()
        self._after_change()

    def show_only(self, domains: Sequence[str], title: str) -> None:
        """Show only these domains (from the report); escape shows all again."""
        self._only = frozenset(domains)
        self._only_title = title
        self.table.filter_text = ""
        self.table.only = self._only
        self.table.rebuild()
        self._after_change()

    def action_sort(self) -> None:
        table = self.table
        table.sort_key = table.sort_key.following()
        table.rebuild()
        self._after_change()

    # -- live DNS workers -----------------------------------------------------------------

    def check_domain(self, domain: str, *, manual: bool) -> Worker[None]:
        """Verify one domain now; the row shows "checking" until its answer arrives."""
        self.table.set_checking(domain, True)
        self._show_detail()
        return self.run_worker(
            self._verify(domain, manual),
            name=f"dns:{domain}",
            group=f"dns:{domain}",
            exclusive=True,
            exit_on_error=False,
        )

    async def _verify(self, domain: str, manual: bool) -> None:
        try:
            outcome = await self.registry.verify(domain)
        except RegistryError as exc:
            self.post_message(DomainCheckFailed(domain, str(exc)))
            return
        self.post_message(DomainChecked(outcome, manual=manual))

    def run_due_recheck(self) -> None:
        """The 48-hour re-check while the console is open: only domains that are due."""
        if self._bulk_total:
            return
        try:
            due = [r.domain for r in self.registry.due_domains()]
        except RegistryError as exc:
            self.notify(str(exc), title="Re-check", severity="error", markup=False)
            return
        if due:
            self.start_bulk(due, due_only=True, quiet=True)

    def start_bulk(self, domains: Sequence[str], *, due_only: bool, quiet: bool = False) -> bool:
        """Re-check ``domains`` (all, or the due ones) with the registry's bounded
        concurrency; ``quiet``: the timer's own re-check says nothing when it is done.
        False when a re-check is already running."""
        if self._bulk_total or not domains:
            return False
        self._bulk_quiet = quiet
        self._bulk = set(domains)
        self._bulk_total = len(self._bulk)
        self.table.set_checking_many(self._bulk, True)
        bar = self.query_one("#progress", ProgressBar)
        bar.update(total=self._bulk_total, progress=0)
        bar.display = True
        self._update_status()
        self._show_detail()
        self._flush_timer = self.set_interval(FLUSH_EVERY, self._flush_answers, name="flush")
        # The rows say "checking" in this turn; the registry's own start (reading every
        # domain) in the next, so that a key pressed meanwhile waits for one, not both.
        self.call_after_refresh(
            self.run_worker,
            self._recheck(due_only),
            name=BULK_GROUP,
            group=BULK_GROUP,
            exclusive=True,
            exit_on_error=False,
        )
        return True

    async def _recheck(self, due_only: bool) -> None:
        def on_result(outcome: VerifyOutcome) -> None:
            self.post_message(DomainChecked(outcome, manual=False))

        await self.registry.recheck(due_only=due_only, on_result=on_result, keep=False)

    def _bulk_answered(self, domain: str) -> None:
        self._bulk.discard(domain)

    def _flush_answers(self) -> None:
        """Put the answers that arrived since the last flush into the table, all at once.

        Every change of a DataTable cell redraws every visible cell, and a bulk re-check
        brings hundreds of answers a second: drawing once per flush instead of once per
        answer is what keeps the screen answering keys meanwhile.
        """
        answers, self._answers = self._answers, {}
        if not answers and not self._bulk_total:
            return
        current = self.table.current_domain()
        self.table.put_many(answers.values())
        if current in answers:
            self._show_detail()
        if self._bulk_total:
            done = self._bulk_total - len(self._bulk)
            self.post_message(RecheckProgress(done, self._bulk_total))

    def _bulk_finished(self, message: str | None = None) -> None:
        if self._flush_timer is not None:
            self._flush_timer.stop()
            self._flush_timer = None
        self._flush_answers()
        # Domains the registry skipped (removed meanwhile, not due any more) stop "checking".
        self.table.set_checking_many(list(self._bulk), False)
        total = self._bulk_total
        self._bulk.clear()
        self._bulk_total = 0
        self.query_one("#progress", ProgressBar).display = False
        self._update_status()
        self._show_detail()
        if message:
            self.notify(message, title="Re-check", severity="error", markup=False)
        elif total and not self._bulk_quiet and not self._bulk_changes:
            self.notify(
                f"Re-checked {total} domain{'s' if total != 1 else ''}: no change.",
                title="Re-check",
            )
        self._report_changes()

    @on(DomainChecked)
    def _domain_checked(self, message: DomainChecked) -> None:
        outcome = message.outcome
        row = outcome.domain
        if outcome.dry_run:
            # Nothing was written: the table keeps showing the registry, the result says
            # what DNS holds now.
            self.table.set_checking(row.domain, False)
            self._show_detail()
            if message.manual:
                self._show_result(outcome)
            return
        if self._bulk_total and row.domain in self._bulk and not message.manual:
            self._bulk_answered(row.domain)
            self._answers[row.domain] = row  # drawn by the next flush
        else:
            self.table.put(row)
            if row.domain == self.table.current_domain():
                self._show_detail()
        if message.manual:
            self._show_result(outcome)  # its screen lists what changed
        elif outcome.transitions:
            # One toast per change would bury the screen in a re-check of hundreds (and cost
            # seconds to draw): changes are summed up when the re-check is done.
            name = printable(row.domain_unicode)
            self._bulk_changes.extend(f"{name}: {printable(t)}" for t in outcome.transitions)
            if not self._bulk_total:
                self._report_changes()

    def _report_changes(self) -> None:
        changes, self._bulk_changes = self._bulk_changes, []
        if not changes:
            return
        shown = "\n".join(changes[:MAX_CHANGES_SHOWN])
        if len(changes) > MAX_CHANGES_SHOWN:
            shown += (
                f"\n… and {len(changes) - MAX_CHANGES_SHOWN} more (each domain's journal has them)"
            )
        title = f"{len(changes)} change{'s' if len(changes) != 1 else ''} found"
        self.notify(shown, title=title, severity="warning", timeout=10, markup=False)

    @on(DomainCheckFailed)
    def _domain_check_failed(self, message: DomainCheckFailed) -> None:
        self.table.set_checking(message.domain, False)
        self._bulk_answered(message.domain)
        self._show_detail()
        self.notify(message.message, title="Check failed", severity="error", markup=False)

    @on(DomainChanged)
    def _domain_changed(self, message: DomainChanged) -> None:
        self.table.put(message.row)
        self._after_change()

    @on(RecheckProgress)
    def _recheck_progress(self, message: RecheckProgress) -> None:
        self.query_one("#progress", ProgressBar).update(total=message.total, progress=message.done)
        self._update_status()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        name = worker.name or ""
        if name == BULK_GROUP:
            if event.state is WorkerState.SUCCESS:
                self._bulk_finished()
            elif event.state is WorkerState.ERROR:
                self._bulk_finished(failure_text(worker.error))
            elif event.state is WorkerState.CANCELLED:
                self._bulk_finished("re-check cancelled")
        elif name.startswith("dns:") and event.state is WorkerState.ERROR:
            self.post_message(DomainCheckFailed(name[4:], failure_text(worker.error)))
        elif name.startswith("flow:") and event.state is WorkerState.ERROR:
            self.notify(failure_text(worker.error), title="Failed", severity="error", markup=False)

    # -- actions and the step flows --------------------------------------------------------

    def _flow(self, work: Awaitable[None], name: str) -> None:
        self.run_worker(
            work, name=f"flow:{name}", group="flow", exclusive=True, exit_on_error=False
        )

    async def _ask(self, screen: Any) -> Any:
        return await self.app.push_screen(screen, wait_for_dismiss=True)

    def _refresh_row(self, domain: str) -> DomainRow | None:
        try:
            row = self.registry.get(domain)
        except RegistryError:
            self.table.drop(domain)
            self._after_change()
            return None
        self.table.put(row)
        self._after_change()
        return row

    def _select(self, domain: str) -> None:
        table = self.table
        if domain in table.rows:
            table.move_cursor(row=table.get_row_index(domain), animate=False)

    def action_add(self) -> None:
        self._flow(self._add_flow(), "add")

    async def _add_flow(self) -> None:
        from mailauth_tui.ui.screens.add_domain import AddDomainScreen

        sent: CodeSent | None = await self._ask(AddDomainScreen(self.registry))
        if sent is None:
            return
        domain = sent.domain.domain
        self.table.put(sent.domain)
        self._after_change()
        self._select(domain)
        self._code_sent_notice(sent)
        await self._code_flow(domain)

    def _code_sent_notice(self, sent: CodeSent) -> None:
        where = printable(sent.delivered_to)
        if self.demo is not None:
            self.notify(
                f"The code was mailed to {printable(sent.domain.address)}. "
                "Demo: press ctrl+o to read it in the demo outbox.",
                title="Code sent",
                timeout=10,
                markup=False,
            )
        else:
            self.notify(f"Code sent ({where}).", title="Code sent", markup=False)

    async def _code_flow(self, domain: str) -> None:
        from mailauth_tui.ui.screens.enter_code import EnterCodeScreen

        check: CodeCheck | None = await self._ask(EnterCodeScreen(self.registry, domain))
        row = self._refresh_row(domain)
        if check is None or not check.ok or row is None:
            return
        self.app.clear_notifications()  # "code sent, read it in the outbox" is done with
        await self._records_flow(domain)

    async def _records_flow(self, domain: str) -> None:
        from mailauth_tui.ui.screens.records import RecordsScreen

        outcome: VerifyOutcome | None = await self._ask(
            RecordsScreen(self.registry, domain, self.demo)
        )
        if outcome is None:
            self._refresh_row(domain)
            return
        self.table.put(outcome.domain)
        self._after_change()
        await self._result(outcome)

    async def _result(self, outcome: VerifyOutcome) -> None:
        from mailauth_tui.ui.screens.verify_result import VerifyResultScreen

        await self._ask(VerifyResultScreen(outcome))

    def _show_result(self, outcome: VerifyOutcome) -> None:
        # Only over this screen: a result popping up over another dialog would be lost input.
        if self.app.screen is self:
            self._flow(self._result(outcome), "result")
        else:
            summary = ", ".join(f"{v.kind} {v.state}" for v in outcome.verdicts)
            self.notify(summary, title=printable(outcome.domain.domain_unicode), markup=False)

    def action_detail(self) -> None:
        from mailauth_tui.ui.screens.domain_detail import DomainDetailScreen

        domain = self.table.current_domain()
        if domain:
            self._flow(self._ask(DomainDetailScreen(self.registry, domain)), "detail")

    def action_code(self) -> None:
        domain = self.table.current_domain()
        if domain:
            self._flow(self._code_flow(domain), "code")

    def action_records(self) -> None:
        domain = self.table.current_domain()
        if domain:
            self._flow(self._records_flow(domain), "records")

    def action_verify(self) -> None:
        domain = self.table.current_domain()
        if domain:
            self.check_domain(domain, manual=True)

    def action_recheck_all(self) -> None:
        # Not greyed out while a re-check runs: redrawing the footer at its start and end
        # would cost the very moments the screen must stay quick.
        domains = list(self.table.domains)
        if not domains:
            self.notify("There are no domains to re-check.", markup=False)
        elif not self.start_bulk(domains, due_only=False):
            self.notify("A re-check is already running.", title="Re-check", markup=False)

    def action_resend(self) -> None:
        domain = self.table.current_domain()
        if domain:
            self._flow(self._resend(domain), "resend")

    async def _resend(self, domain: str) -> None:
        try:
            sent = await self.registry.resend(domain)
        except RegistryError as exc:
            self.notify(str(exc), title="Resend", severity="error", markup=False)
            return
        self.table.put(sent.domain)
        self._after_change()
        self._code_sent_notice(sent)

    def action_delete(self) -> None:
        row = self._selected()
        if row is not None:
            self._flow(self._delete(row), "delete")

    async def _delete(self, row: DomainRow) -> None:
        from mailauth_tui.ui.screens.confirm import ConfirmScreen

        name = printable(row.domain_unicode)
        sure = await self._ask(
            ConfirmScreen(
                f"Delete {name}?",
                f"{name} and its DKIM keys leave the registry. Mail from {name} is then sent "
                "from the system sender address. This cannot be undone.",
                "Delete",
            )
        )
        if not sure:
            return
        try:
            self.registry.remove(row.domain)
        except RegistryError as exc:
            self.notify(str(exc), title="Delete", severity="error", markup=False)
            return
        self.table.drop(row.domain)
        self._after_change()
        self.notify(f"{name} deleted.", markup=False)

    def action_rotate(self) -> None:
        row = self._selected()
        if row is not None:
            self._flow(self._rotate(row), "rotate")

    async def _rotate(self, row: DomainRow) -> None:
        from mailauth_tui.ui.screens.confirm import ConfirmScreen

        name = printable(row.domain_unicode)
        sure = await self._ask(
            ConfirmScreen(
                f"New DKIM key for {name}?",
                "A new key and selector are made. Publish the new DKIM record (r) and verify: "
                "the old key keeps signing until the new one is seen in DNS.",
                "Rotate",
            )
        )
        if not sure:
            return
        try:
            new_row = await self.registry.rotate_dkim(row.domain)
        except RegistryError as exc:
            self.notify(str(exc), title="Rotate DKIM key", severity="error", markup=False)
            return
        self.table.put(new_row)
        self._after_change()
        self.notify(
            f"New DKIM key for {name}: publish its record (r), then verify (v).", markup=False
        )

    def action_report(self) -> None:
        self._flow(self._report(), "report")

    async def _report(self) -> None:
        from mailauth_tui.ui.screens.report import ReportScreen

        chosen: tuple[str, ...] | None = await self._ask(ReportScreen(self.registry))
        if chosen:
            self.show_only(chosen, f"{len(chosen)} domain{'s' if len(chosen) != 1 else ''}")

    def action_outbox(self) -> None:
        from mailauth_tui.ui.screens.outbox import OutboxScreen

        if self.demo is not None:
            self.app.push_screen(OutboxScreen(self.demo))

    def action_help(self) -> None:
        from mailauth_tui.ui.screens.help import HelpScreen

        access = self.registry.access
        read_only = (
            ""
            if access.may_change
            else f"{access.read_only_reason()}; {access.how_to_get_rights()}"
        )
        self.app.push_screen(HelpScreen(demo=self.demo is not None, read_only=read_only))
