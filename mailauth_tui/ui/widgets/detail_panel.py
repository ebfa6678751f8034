"""The panel under the table that follows the cursor row: for keyboard users what hover shows
(the DMARC policy), plus the address, the ASCII name, selectors, the last problems and the
next check. Everything from DNS or a user goes in as ``Text``, never markup."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from mailauth_tui.core.textsafe import printable
from mailauth_tui.core.when import when
from mailauth_tui.registry.evidence import RecordNote
from mailauth_tui.registry.models import BulkDecision, DomainRow, Ownership
from mailauth_tui.ui.widgets.badges import (
    CHECKING,
    badge,
    dmarc_tag,
    overall_why,
    policy_text,
)
from mailauth_tui.ui.widgets.domain_table import relative_time
from mailauth_tui.ui.widgets.selftest import evidence_selftest, status_text

Clock = Callable[[], datetime]


_SEVERITY = {
    "error": ("✘", "bold red"),
    "warning": ("⚠", "yellow"),
    "info": ("\u2139", "cyan"),
}
_SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


def _when(at: datetime | None, now: datetime, *, future: bool) -> Text:
    if at is None:
        return Text("not scheduled" if future else "never", style="dim")
    return Text(f"{when(at)} ({relative_time(at, now, future=future)})")


def _label(text: str) -> Text:
    return Text(text, style="bold")


# Lines inside the panel (its height less the top border).
PANEL_LINES = 9


def bulk_text(decision: BulkDecision) -> Text:
    """One line: bulk sending allowed, or refused with the DMARC record to publish."""
    if decision.allowed:
        text = Text("✔ allowed", style="bold green")
        text.append(f": {printable(decision.reason)}")
    elif decision.record is not None:
        text = Text("✘ refused", style="bold red")
        record = decision.record
        text.append(f": publish {printable(record.host)} TXT ")
        text.append(printable(record.value), style="italic")
    else:
        text = Text("✘ refused", style="bold red")
        text.append(f": {printable(decision.reason)}")
        if decision.action:
            text.append(f"; {printable(decision.action)}")
    text.no_wrap = True
    text.overflow = "ellipsis"
    return text


class DetailPanel(Static):
    """Shows one domain; ``show(None)`` shows the hint of the empty table instead."""

    DEFAULT_CSS = """
    DetailPanel {
        /* Fixed: a panel growing and shrinking with each row would make the table jump. */
        height: 10;
        border-top: hkey $primary;
        border-title-color: $text-primary;
        padding: 0 1;
        overflow-y: auto;
    }
    """

    def __init__(self, clock: Clock, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._clock = clock
        self.border_title = "Details"

    def show(
        self,
        row: DomainRow | None,
        *,
        checking: bool = False,
        notes: Sequence[RecordNote] | None = None,
        empty_hint: str = "",
        bulk: BulkDecision | None = None,
    ) -> None:
        if row is None:
            self.border_title = "Details"
            self.update(Text(empty_hint, style="dim"), layout=False)
            return
        # The overall state the summary line counts, and what holds it back.
        why = overall_why(row.ownership, row.dkim_state)
        self.border_title = f"Details: {printable(row.domain_unicode)} · {why}"
        content = self._render_row(
            row, checking, notes if notes is not None else row.last_check.notes, bulk
        )
        self.update(content, layout=False)  # a fixed height: no layout pass per cursor move

    def _render_row(
        self,
        row: DomainRow,
        checking: bool,
        notes: Sequence[RecordNote],
        bulk: BulkDecision | None = None,
    ) -> RenderableType:
        now = self._clock()
        grid = Table.grid(padding=(0, 1), expand=True)
        grid.add_column(no_wrap=True, min_width=9)
        grid.add_column(ratio=1)

        name = Text(printable(row.domain_unicode), style="bold")
        if row.domain_unicode != row.domain:
            name.append(f" (ASCII {row.domain})", style="dim")
        name.append("  ")
        name.append(printable(row.address))
        name.append(f"  added by {printable(row.added_by)}", style="dim")
        grid.add_row(_label("Domain"), name)

        dkim_state = CHECKING if checking else row.dkim_shown_state
        spf_state = CHECKING if checking else row.spf_state
        dmarc_state = CHECKING if checking else row.dmarc_state
        states = badge(row.ownership)
        if row.ownership is not Ownership.VERIFIED and row.code_expires_at is not None:
            states.append(f" (code valid until {when(row.code_expires_at)})", style="dim")
        selectors = ", ".join(k.selector for k in row.dkim_keys if k.active)
        states.append("   DKIM ", style="bold").append_text(badge(dkim_state))
        if selectors:
            states.append(f" ({printable(selectors)})", style="dim")
        retired = [k for k in row.dkim_keys if not k.active and k.remove_after is not None]
        if retired:
            old = retired[-1]
            states.append(
                f" {printable(old.selector)} safe to remove after {old.remove_after:%Y-%m-%d}",
                style="dim",
            )
        if not checking and (tested := evidence_selftest(row.evidence)) is not None:
            states.append(" ").append_text(status_text(tested, compact=True))
        states.append("   SPF ", style="bold").append_text(badge(spf_state))
        grid.add_row(_label("Ownership"), states)

        # The DMARC tag with its policy: for keyboard users, what hovering the row shows.
        dmarc = dmarc_tag(dmarc_state, row.dmarc_policy)
        dmarc.append(f"  {policy_text(dmarc_state, row.dmarc_policy)}", style="italic")
        grid.add_row(_label("DMARC"), dmarc)
        if bulk is not None:
            grid.add_row(_label("Bulk"), bulk_text(bulk))

        checked = _when(row.last_check_at, now, future=False)
        checked.append("   next ", style="bold")
        checked.append_text(_when(row.next_check_at, now, future=True))
        grid.add_row(_label("Checked"), checked)

        # Worst first, one line each: the detail screen (enter) has them whole, with fixes.
        # They get the lines the "In DNS" lines leave (at least one), so that what DNS holds
        # stays in sight; the last line shown counts the rest.
        problems = sorted(
            ((sev, n.kind, m) for n in notes for sev, m in n.problems),
            key=lambda p: _SEVERITY_ORDER.get(p[0], 0),
        )
        found = [n for n in notes if n.found]
        room = max(1, PANEL_LINES - grid.row_count - len(found))
        shown = problems[:room]
        for i, (severity, kind, message) in enumerate(shown):
            symbol, style = _SEVERITY.get(severity, _SEVERITY["error"])
            line = Text(f"{symbol} ", style=style)
            line.append(f"{kind}: ", style="bold")
            line.append(printable(message))
            line.no_wrap = True
            line.overflow = "ellipsis"
            hidden = len(problems) - len(shown)
            if i == len(shown) - 1 and hidden:
                # The count first, so that the ellipsis never cuts it off.
                line = Text(f"+{hidden} more (⏎) ", style="dim").append_text(line)
                line.no_wrap = True
                line.overflow = "ellipsis"
            grid.add_row(_label("Problems" if i == 0 else ""), line)
        if not problems and row.last_check_at is not None:
            grid.add_row(_label("Problems"), Text("none at the last check", style="dim"))
        for i, note in enumerate(found):
            # DNS text: literal, one line (the detail screen shows it whole).
            line = Text(f"{note.kind:<6}", style="bold")
            line.append(printable(note.found or ""))
            line.no_wrap = True
            line.overflow = "ellipsis"
            grid.add_row(_label("In DNS" if i == 0 else ""), line)
        lines: list[RenderableType] = [grid]
        return Group(*lines)
