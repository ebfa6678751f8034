"""The main screen: the table of domains, the detail panel that follows the cursor, the
filter and sort, read-only mode and the keys. The bulk re-check's state lives in
``ui/recheck.py``, the step flows (add, code, records ...) in ``ui/flows.py``.

DNS work runs in async workers (one exclusive group per domain, ``exit_on_error=False``) that
post a typed message per answer; the handlers change the row in place, so the screen keeps
answering keys while a bulk re-check of hundreds of domains goes on.
"""

from __future__ import annotations

import gc
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Header, Input, ProgressBar, Static

from mailauth_tui.core.textsafe import printable
from mailauth_tui.core.wording import plural
from mailauth_tui.registry.errors import RegistryError, StoreError
from mailauth_tui.registry.models import DomainRow, Ownership, VerifyOutcome
from mailauth_tui.registry.service import Registry
from mailauth_tui.ui.clipboard import copy_text
from mailauth_tui.ui.commands import DOMAIN_ACTIONS, ActionInfo, DomainCommands, domain_bindings
from mailauth_tui.ui.demo_hooks import DemoHooks
from mailauth_tui.ui.failure import failure_text
from mailauth_tui.ui.flows import StepFlows
from mailauth_tui.ui.messages import (
    DomainChanged,
    DomainChecked,
    DomainCheckFailed,
    RecheckFinished,
    RecheckProgress,
)
from mailauth_tui.ui.recheck import GROUP as RECHECK_GROUP
from mailauth_tui.ui.recheck import RecheckController
from mailauth_tui.ui.widgets.detail_panel import DetailPanel
from mailauth_tui.ui.widgets.domain_table import DomainTable

Clock = Callable[[], datetime]

_ACTIONS: dict[str, ActionInfo] = {info.action: info for info in DOMAIN_ACTIONS}
_KEYS: dict[str, ActionInfo] = {
    key.strip(): info for info in DOMAIN_ACTIONS for key in info.key.split(",")
}
EMPTY_ADMIN = "No domains yet. Press a to add your organisation email address."
RIGHTS_EVERY = 2.0  # seconds between two reads of the actor's rights
# Seconds between two looks for changes committed elsewhere: well within the 2 s promised.
LIVE_POLL_S = 0.5


def _warm_up() -> None:
    from mailauth_tui.core.psl import public_suffix

    public_suffix("example.com")


class DomainsScreen(Screen[None]):
    BINDINGS = [
        *domain_bindings(),
        Binding("escape", "clear_filter", "Clear filter", show=False),
        # Not a priority binding: in the filter box q is a letter; dialogs are screens of
        # their own, so q never quits from one (ctrl+q, the app's, quits from anywhere).
        Binding("q", "app.quit", "Quit", show=False),
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
        self._footer_states: tuple[bool | None, ...] = ()
        self.recheck = RecheckController(self, registry)
        self.flows = StepFlows(self)
        self._seen_change: object = None  # the registry's change token at the last reload
        # The one line of a registry that cannot be read ("registry damaged: PATH (...)"),
        # shown in place of the table until a read succeeds again; "" while all is well.
        self.damage = ""
        # Toasts told while a dialog was open, shown when this screen is back.
        self._held: list[tuple[str, str, SeverityLevel, float]] = []

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
        if self._recheck_every:
            self.set_interval(self._recheck_every, self.run_due_recheck, name="due-recheck")
            self.call_after_refresh(self.run_due_recheck)
        # Relative times in the table ("in 47h") move on by themselves.
        self.set_interval(60, self._tick_times, name="times")
        # Admins change while the console is open (another admin's `admin add/remove`).
        self.set_interval(RIGHTS_EVERY, self.refresh_rights, name="rights")
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

    def refresh_rights(self) -> None:
        """Read the actor's rights again; the header and the footer follow a change."""
        before = self.registry.access
        if self.registry.refresh_access() != before:
            self.sub_title = self._subtitle()
            self._refresh_footer()

    def read_only_reason(self) -> str:
        """Why this console only reads, short enough for the header at 80 columns."""
        return self.registry.access.read_only_reason()

    # -- data -----------------------------------------------------------------------------

    def reload(self) -> None:
        """Read every domain from the registry (other processes may have changed them)."""
        try:
            rows = self.registry.list_domains()
        except StoreError as exc:
            self.show_damage(exc)
            return
        self.damage = ""
        table = self.table
        table.load(rows)
        self.after_change()

    def show_damage(self, exc: StoreError) -> None:
        """The registry cannot be read (damaged, or gone): its one line replaces the table,
        never a traceback; the live poll keeps trying and shows the domains once it reads."""
        self.damage = str(exc)
        self.after_change()

    def _poll_changes(self) -> None:
        """Reload when the registry says someone committed a change (SQLite's data_version,
        PostgreSQL's NOTIFY): rows that changed are redrawn in place. Not while a bulk
        re-check of this console runs (it redraws its own rows): after it."""
        if self.recheck.running:
            return
        try:
            self._take_changes()
        except StoreError as exc:
            self.show_damage(exc)

    def _take_changes(self) -> None:
        token = self.registry.change_token()
        if token == self._seen_change and not self.damage:
            return
        self._seen_change = token
        rows = self.registry.list_domains()
        self.damage = ""
        table = self.table
        if {r.domain for r in rows} == set(table.domains):
            table.put_many([r for r in rows if table.domains[r.domain] != r])
        else:
            table.load(rows)
        self.refresh_rights()
        self.after_change()

    def after_change(self) -> None:
        table = self.table
        empty = self.query_one("#empty", Static)
        empty.set_class(bool(self.damage), "damage")
        if self.damage:
            table.display = False
            empty.display = True
            empty.update(Text(printable(self.damage), justify="center"))
        elif table.row_count:
            empty.display = False
            table.display = True
        else:
            table.display = False
            empty.display = True
            empty.update(Text(self._empty_text(), justify="center"))
        self._update_status()
        self.show_detail()
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
        if self.damage:
            self.query_one("#status", Static).update(
                Text("the registry cannot be read: see above", no_wrap=True), layout=False
            )
            return
        table = self.table
        total = len(table.domains)
        shown = table.row_count
        verified = sum(1 for r in table.domains.values() if r.verified)
        count = (
            f"{shown} of {plural(total, 'domain')}" if shown != total else plural(total, "domain")
        )
        # (full, shorter) in order of display; the least essential give way first when the line
        # is too narrow (80 columns with the progress bar): the sort, then the hints.
        parts: list[tuple[str, str]] = [(count, count), (f"{verified} verified",) * 2]
        sort = table.sort_key.value
        parts.append((f"sorted by {sort} (o)", ""))
        if self._only is not None:
            title = printable(self._only_title)
            parts.append((f"report: {title} (esc shows all)", f"report: {title}"))
        elif table.filter_text:
            needle = printable(table.filter_text)
            parts.append((f'filter "{needle}"',) * 2)
        if self.recheck.running:
            progress = f"⟳ re-checking {self.recheck.done}/{self.recheck.total}"
            parts.insert(0, (progress, progress))
        status = self.query_one("#status", Static)
        room = status.size.width or self.app.size.width - 2
        line = " · ".join(full for full, _ in parts)
        if len(line) > room:
            line = " · ".join(short for _, short in parts if short)
        # One line of fixed size: no layout pass for it (it changes with every flush).
        status.update(Text(line, no_wrap=True, overflow="ellipsis"), layout=False)

    def show_detail(self) -> None:
        table = self.table
        domain = table.current_domain()
        row = table.domains.get(domain) if domain else None
        panel = self.query_one(DetailPanel)
        if row is None or self.damage:
            panel.display = bool(table.domains) and not self.damage  # the empty state says it
            panel.show(None, empty_hint="No domain selected.")
            table.tooltip = None
            return
        panel.display = True
        panel.show(row, checking=table.is_checking(row.domain), bulk=self.registry.bulk_for(row))
        table.show_tooltip_for(row.domain)

    @on(DataTable.RowHighlighted)
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show_detail()
        self._refresh_footer()

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        # The table takes enter for itself (select the row): that is the "details" key.
        event.stop()
        self.action_detail()

    def on_resize(self) -> None:
        # A narrower table may have dropped the column it was sorted by (and the sort with
        # it): the status line says what the sort is now.
        self.call_after_refresh(self._update_status)

    def _tick_times(self) -> None:
        self.table.refresh_times()
        self.show_detail()

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
        if info.admin_only:
            self.refresh_rights()  # the refusal below must be of the rights as they are now
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
        self.after_change()

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
        self.after_change()

    def show_only(self, domains: Sequence[str], title: str) -> None:
        """Show only these domains (from the report); escape shows all again."""
        self._only = frozenset(domains)
        self._only_title = title
        self.table.filter_text = ""
        self.table.only = self._only
        self.table.rebuild()
        self.after_change()

    def action_sort(self) -> None:
        table = self.table
        table.sort_key = table.next_sort_key()
        table.rebuild()
        self.after_change()

    # -- what the re-check controller and the flows use -----------------------------------

    def tell(
        self, text: str, title: str, severity: SeverityLevel = "information", timeout: float = 5
    ) -> None:
        """A toast; while a dialog is open it waits for this screen (toasts would cover the
        dialog's text or key hints)."""
        if self.app.screen is not self:
            self._held.append((text, title, severity, timeout))
            return
        self.notify(text, title=title, severity=severity, timeout=timeout, markup=False)

    def on_screen_suspend(self) -> None:
        # A dialog opens: this screen's toasts ("Copied ...", "Code sent") do not follow it.
        self.app.clear_notifications()

    def on_screen_resume(self) -> None:
        held, self._held = self._held, []
        for text, title, severity, timeout in held:
            self.notify(text, title=title, severity=severity, timeout=timeout, markup=False)

    def every(self, seconds: float, callback: Callable[[], None]) -> Timer:
        return self.set_interval(seconds, callback)

    def show_progress(self, done: int, total: int, *, running: bool) -> None:
        bar = self.query_one("#progress", ProgressBar)
        if running:
            bar.update(total=total, progress=done)
        bar.display = running
        self._update_status()

    def select(self, domain: str) -> None:
        table = self.table
        if domain in table.rows:
            table.move_cursor(row=table.get_row_index(domain), animate=False)

    # -- live DNS workers -----------------------------------------------------------------

    def check_domain(self, domain: str, *, manual: bool) -> None:
        """Verify one domain now; the row shows "checking" until its answer arrives."""
        self.table.set_checking(domain, True)
        self.show_detail()
        self.run_worker(
            self._verify(domain, manual),
            name=f"dns:{domain}",
            group=f"dns:{domain}",
            exclusive=True,
            exit_on_error=False,
        )

    async def _verify(self, domain: str, manual: bool) -> None:
        try:
            outcome = await self.registry.verify(domain)
        except Exception as exc:  # a refusal's words, or a bug's summary (logged)
            self.post_message(DomainCheckFailed(domain, failure_text(exc)))
            return
        self.post_message(DomainChecked(outcome, manual=manual))

    def run_due_recheck(self) -> None:
        """The 48-hour re-check while the console is open: only domains that are due. A
        reader's console leaves it to the admins (their console or cron): it writes nothing."""
        if self.recheck.running or not self.registry.may_change:
            return
        if self.damage:
            return
        try:
            due = [r.domain for r in self.registry.due_domains()]
        except (RegistryError, StoreError) as exc:
            self.tell(str(exc), "Re-check", "error")
            return
        if due:
            self.start_bulk(due, due_only=True, quiet=True)

    def start_bulk(self, domains: Sequence[str], *, due_only: bool, quiet: bool = False) -> bool:
        """Re-check ``domains`` (all, or the due ones) with the registry's bounded
        concurrency; ``quiet``: the timer's own re-check says nothing when it is done.
        False when a re-check is already running."""
        if not self.recheck.start(domains, quiet=quiet):
            return False
        # The rows say "checking" in this turn; the registry's own start (reading every
        # domain) in the next, so that a key pressed meanwhile waits for one, not both.
        self.call_after_refresh(
            self.run_worker,
            self.recheck.run(due_only),
            name=RECHECK_GROUP,
            group=RECHECK_GROUP,
            exclusive=True,
            exit_on_error=False,
        )
        return True

    @on(DomainChecked)
    def _domain_checked(self, message: DomainChecked) -> None:
        outcome = message.outcome
        row = outcome.domain
        if outcome.dry_run:
            # Nothing was written: the table keeps showing the registry, the result says
            # what DNS holds now.
            self.table.set_checking(row.domain, False)
            self.show_detail()
            if message.manual:
                self._show_result(outcome)
            return
        if self.recheck.waits_for(row.domain) and not message.manual:
            self.recheck.answered(row)  # drawn by the next flush
        else:
            self.table.put(row)
            if row.domain == self.table.current_domain():
                self.show_detail()
        if message.manual:
            self._show_result(outcome)  # its screen lists what changed
        elif outcome.transitions:
            self.recheck.note_changes(row.domain_unicode, outcome.transitions)

    @on(DomainCheckFailed)
    def _domain_check_failed(self, message: DomainCheckFailed) -> None:
        self.table.set_checking(message.domain, False)
        self.recheck.failed(message.domain)
        self.show_detail()
        self.tell(message.message, "Check failed", "error")

    @on(DomainChanged)
    def _domain_changed(self, message: DomainChanged) -> None:
        self.table.put(message.row)
        self.after_change()

    @on(RecheckProgress)
    def _recheck_progress(self, message: RecheckProgress) -> None:
        if self.recheck.running:  # not a flush's news arriving after the end
            self.show_progress(message.done, message.total, running=True)

    @on(RecheckFinished)
    def _recheck_finished(self, message: RecheckFinished) -> None:
        self.recheck.finish(message.failure)

    # -- actions ------------------------------------------------------------------------

    def _flow(self, work: Awaitable[None], name: str) -> None:
        """Run a step flow in the one "flow" worker group; a failure becomes one line."""

        async def guarded() -> None:
            try:
                await work
            except Exception as exc:
                self.tell(failure_text(exc), "Failed", "error")

        self.run_worker(
            guarded(), name=f"flow:{name}", group="flow", exclusive=True, exit_on_error=False
        )

    def _show_result(self, outcome: VerifyOutcome) -> None:
        # Only over this screen: a result popping up over another dialog would be lost input.
        if self.app.screen is self:
            self._flow(self.flows.result(outcome), "result")
        else:
            summary = ", ".join(f"{v.kind} {v.state}" for v in outcome.verdicts)
            self.tell(summary, printable(outcome.domain.domain_unicode))

    def _with_domain(self, flow: Callable[[str], Awaitable[None]], name: str) -> None:
        domain = self.table.current_domain()
        if domain:
            self._flow(flow(domain), name)

    def _with_row(self, flow: Callable[[DomainRow], Awaitable[None]], name: str) -> None:
        row = self._selected()
        if row is not None:
            self._flow(flow(row), name)

    def action_add(self) -> None:
        self._flow(self.flows.add(), "add")

    def action_detail(self) -> None:
        self._with_domain(self.flows.detail, "detail")

    def action_code(self) -> None:
        self._with_domain(self.flows.code, "code")

    def action_records(self) -> None:
        self._with_domain(self.flows.records, "records")

    def action_resend(self) -> None:
        self._with_domain(self.flows.resend, "resend")

    def action_delete(self) -> None:
        self._with_row(self.flows.delete, "delete")

    def action_rotate(self) -> None:
        self._with_row(self.flows.rotate, "rotate")

    def action_report(self) -> None:
        self._flow(self.flows.report(), "report")

    def action_bulk(self) -> None:
        """May the selected domain send bulk mail; if not, the DMARC record to publish (copied
        to the clipboard, since publishing it is the next step)."""
        row = self._selected()
        if row is None:
            return
        decision = self.registry.bulk_for(row)
        name = printable(row.domain_unicode)
        if decision.allowed:
            self.tell(decision.reason, f"Bulk sending allowed for {name}")
            return
        text = decision.reason
        if decision.record is not None:
            record = decision.record
            copy_text(self.app, record.value, "the DMARC record")
            text += f"\nPublish at {record.host}:\n{record.value}\n(copied to the clipboard)"
        elif decision.action:
            text += f"\nTo do: {decision.action}"
        self.tell(text, f"Bulk sending refused for {name}", "warning", timeout=15)

    def action_verify(self) -> None:
        domain = self.table.current_domain()
        if domain:
            self.check_domain(domain, manual=True)

    def action_recheck_all(self) -> None:
        # Not greyed out while a re-check runs: redrawing the footer at its start and end
        # would cost the very moments the screen must stay quick.
        domains = list(self.table.domains)
        if not domains:
            self.tell("There are no domains to re-check.", "Re-check")
        elif not self.start_bulk(domains, due_only=False):
            self.tell("A re-check is already running.", "Re-check")

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
