"""The table of domains: one row per domain, keyed by its ASCII name, with fixed-width badge
columns, a filter, three sort orders, and a column set that fits the terminal's width."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cache

from rich.console import Console, ConsoleOptions, RenderResult
from rich.segment import Segment
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.coordinate import Coordinate
from textual.widgets import DataTable

from mailauth_tui.core.textsafe import printable
from mailauth_tui.registry.models import DomainRow, Ownership, RecordState
from mailauth_tui.ui.widgets.badges import (
    BADGE_WIDTH,
    CHECKING,
    DMARC_SHORT_WIDTH,
    DMARC_TAG_WIDTH,
    OVERALL_WIDTH,
    badge,
    dmarc_tag,
    overall_badge,
    policy_text,
)

Clock = Callable[[], datetime]

ALL_COLUMNS = ("domain", "address", "verified", "owner", "dkim", "spf", "dmarc", "last", "next")
DNS_COLUMNS = ("dkim", "spf", "dmarc")
CELL_PADDING = 1  # DataTable's default: one space each side of a cell
SCROLLBAR = 2  # room kept for the vertical scrollbar so the layout does not flip when it shows
TIME_WIDTH = 10
OWNER_WIDTH = max(len(badge(s).plain) for s in Ownership)


class SortKey(StrEnum):
    DOMAIN = "domain"
    STATUS = "status"
    NEXT_CHECK = "next check"

    def following(self) -> SortKey:
        order = list(SortKey)
        return order[(order.index(self) + 1) % len(order)]

    @property
    def column(self) -> str:
        """The column that shows what the rows are sorted by (status: the Verified column,
        the overall state, shown at every width)."""
        return {"domain": "domain", "status": "verified", "next check": "next"}[self.value]


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    key: str
    label: str
    width: int


def _cell(text: str) -> Cell:
    """Untrusted text as a one-line cell: control characters made visible, never markup."""
    return Cell(Text(printable(text), no_wrap=True, overflow="ellipsis", end=""))


def relative_time(at: datetime | None, now: datetime, *, future: bool) -> str:
    """``5m ago`` / ``in 47h`` / ``due now``: short enough for a fixed 10-cell column."""
    if at is None:
        return "never" if not future else "\u2013"
    delta = (at - now) if future else (now - at)
    if future and delta <= timedelta(0):
        return "due now"
    delta = max(delta, timedelta(0))
    minutes = int(delta.total_seconds() // 60)
    if minutes < 1:
        amount = "now" if not future else "<1m"
    elif minutes < 60:
        amount = f"{minutes}m"
    elif minutes < 72 * 60:
        amount = f"{round(minutes / 60)}h"  # 47h59m is "48h", as scheduled
    else:
        amount = f"{round(minutes / (24 * 60))}d"
    if amount == "now":
        return "just now"
    return f"in {amount}" if future else f"{amount} ago"


# Worst first: what needs the admin's attention sorts to the top.
_STATUS_RANK = {
    RecordState.FAILING: 0,
    Ownership.LOCKED: 1,
    Ownership.EXPIRED: 1,
    RecordState.UNKNOWN: 2,
    Ownership.PENDING: 3,
    RecordState.PENDING: 4,
    RecordState.NOT_CHECKED: 5,
}


def status_rank(row: DomainRow) -> int:
    if row.ownership is not Ownership.VERIFIED:
        return _STATUS_RANK[row.ownership]
    worst = min(_STATUS_RANK.get(s, 6) for s in (row.dkim_state, row.spf_state))
    return worst


def sort_rows(rows: Iterable[DomainRow], key: SortKey) -> list[DomainRow]:
    if key is SortKey.STATUS:
        return sorted(rows, key=lambda r: (status_rank(r), r.domain_unicode, r.domain))
    if key is SortKey.NEXT_CHECK:
        far = datetime.max.replace(tzinfo=None)

        def when(r: DomainRow) -> tuple[bool, datetime, str]:
            at = r.next_check_at
            return (at is None, at.replace(tzinfo=None) if at else far, r.domain_unicode)

        return sorted(rows, key=when)
    return sorted(rows, key=lambda r: (r.domain_unicode, r.domain))


def row_matches(row: DomainRow, needle: str) -> bool:
    """The filter: a case-insensitive substring of the domain (either form), the address, or a
    state word ("pending", "failing", "not configured", "reject"...)."""
    if not needle:
        return True
    haystack = " ".join(
        (
            row.domain,
            row.domain_unicode,
            row.address,
            f"ownership {row.ownership.value}",
            f"dkim {row.dkim_state.value}",
            f"spf {row.spf_state.value}",
            f"dmarc {row.dmarc_state.value}".replace("_", " "),
            f"p={row.dmarc_policy}" if row.dmarc_policy else "",
        )
    ).casefold()
    return all(word in haystack for word in needle.casefold().split())


class Cell:
    """One table cell: its Text, drawn as it is, its lines kept once drawn.

    DataTable measures every new cell that can be measured (``__rich_measure__``) to size
    auto-width columns: 80,000 measurements, about two seconds, before 10,000 rows first show.
    Every column here has a fixed width, so a cell offers Rich only ``__rich_console__`` and
    is never measured. Any change of a cell makes DataTable draw every visible cell again (its
    caches are keyed on an update counter): a cell keeps its segments per width, so that
    redrawing is joining lines, not laying out text (badge cells are shared by every row)."""

    __slots__ = ("_drawn", "text")

    def __init__(self, text: Text) -> None:
        self.text = text
        self._drawn: tuple[int, list[Segment]] | None = None

    @property
    def plain(self) -> str:
        return self.text.plain

    def same_as(self, other: Cell) -> bool:
        return self.text is other.text or (
            self.text.plain == other.text.plain and self.text.style == other.text.style
        )

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        if self._drawn is None or self._drawn[0] != width:
            # One line: the table's rows are one line high (no_wrap, ellipsis when too long).
            line = console.render_lines(self.text, options.update(height=1), pad=False)[0]
            self._drawn = (width, line)
        yield from self._drawn[1]


# Table cells are never changed once made (the detail panel appends to its own badges, so the
# widgets module hands out fresh ones): one Text per state serves every row.
@cache
def _cached_badge(state: str) -> Cell:
    return Cell(badge(state))


@cache
def _cached_overall(ownership: str, dkim: str) -> Cell:
    return Cell(overall_badge(ownership, dkim))


@cache
def _cached_dmarc_tag(state: str, *, short: bool = False) -> Cell:
    return Cell(dmarc_tag(state, short=short))


class DomainTable(DataTable[Cell]):
    """Rows keyed by ASCII domain. The screen owns the data; this widget draws it."""

    DEFAULT_CSS = """
    DomainTable {
        height: 1fr;
        scrollbar-size-vertical: 2;
    }
    """
    # Rows, not columns: home/end (and vi's g/G) go to the first and the last domain.
    BINDINGS = [
        Binding("home,g", "scroll_top", "First row", show=False),
        Binding("end,G", "scroll_bottom", "Last row", show=False),
    ]

    def __init__(self, clock: Clock, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self._clock = clock
        self._rows: dict[str, DomainRow] = {}
        self._checking: set[str] = set()
        self._layout: tuple[ColumnSpec, ...] = ()
        self._short_dmarc = False
        self.filter_text = ""
        self.only: frozenset[str] | None = None  # a fixed set of domains (from the report)
        self.sort_key = SortKey.DOMAIN

    # -- data ---------------------------------------------------------------------------

    @property
    def domains(self) -> dict[str, DomainRow]:
        return self._rows

    def visible_domains(self) -> list[str]:
        return [str(key.value) for key in self.rows]

    def current_domain(self) -> str | None:
        if not self.row_count:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        return None if key.value is None else str(key.value)

    def load(self, rows: Sequence[DomainRow]) -> None:
        """Replace every row (keeps the cursor on the same domain when it is still shown)."""
        self._rows = {r.domain: r for r in rows}
        self.rebuild()

    def wanted(self, row: DomainRow) -> bool:
        if self.only is not None:
            return row.domain in self.only
        return row_matches(row, self.filter_text)

    def is_checking(self, domain: str) -> bool:
        return domain in self._checking

    def put(self, row: DomainRow) -> None:
        """A domain's answer or change arrived: see :meth:`put_many`."""
        self.put_many([row])

    def put_many(self, rows: Iterable[DomainRow]) -> None:
        """Answers or changes arrived: a shown row changes in place (and is no longer
        "checking"); a row that enters or leaves the filter's view costs one rebuild."""
        changed: list[DomainRow] = []
        structural = False
        for row in rows:
            self._rows[row.domain] = row
            self._checking.discard(row.domain)
            shown = row.domain in self.rows
            wanted = self.wanted(row)
            if shown and wanted:
                changed.append(row)
            elif wanted or shown:
                structural = True
        if structural:
            self.rebuild()
        else:
            self._redraw_rows(changed)

    def drop(self, domain: str) -> None:
        self._rows.pop(domain, None)
        self._checking.discard(domain)
        if domain in self.rows:
            self.remove_row(domain)

    def set_checking(self, domain: str, checking: bool) -> None:
        """Show "⟳ checking" in the DNS columns while a worker asks about this domain."""
        self.set_checking_many([domain], checking)

    def set_checking_many(self, domains: Iterable[str], checking: bool) -> None:
        shown = []
        for domain in domains:
            if checking:
                self._checking.add(domain)
            else:
                self._checking.discard(domain)
            row = self._rows.get(domain)
            if row is not None and domain in self.rows:
                shown.append(row)
        self._redraw_rows(shown, DNS_COLUMNS)

    def refresh_times(self) -> None:
        """Relative times move on: redraw the rows whose time cells changed."""
        keys = {spec.key for spec in self._layout} & {"last", "next"}
        if not keys:
            return
        self._redraw_rows([self._rows[d] for d in self.visible_domains()], keys)

    # -- drawing ------------------------------------------------------------------------

    def _cells(self, row: DomainRow, only: Collection[str] = ALL_COLUMNS) -> dict[str, Cell]:
        """The cells of ``row`` (``only`` some columns: building them all for a thousand
        rows that only start "checking" is most of the cost of showing it)."""
        checking = row.domain in self._checking
        out: dict[str, Cell] = {}
        for key in only:
            if key == "domain":
                out[key] = _cell(row.domain_unicode)
            elif key == "address":
                out[key] = _cell(row.address)
            elif key == "verified":
                # What the summary line counts: not a DNS state, so never "checking".
                out[key] = _cached_overall(row.ownership, row.dkim_state)
            elif key == "owner":
                out[key] = _cached_badge(row.ownership)
            elif key in ("dkim", "spf"):
                state = row.dkim_state if key == "dkim" else row.spf_state
                out[key] = _cached_badge(CHECKING if checking else state)
            elif key == "dmarc":
                dmarc = CHECKING if checking else row.dmarc_state
                out[key] = _cached_dmarc_tag(dmarc, short=self._short_dmarc)
            elif key in ("last", "next"):
                future = key == "next"
                at = row.next_check_at if future else row.last_check_at
                out[key] = Cell(Text(relative_time(at, self._clock(), future=future), end=""))
        return out

    def _redraw_rows(self, rows: Sequence[DomainRow], only: Collection[str] = ALL_COLUMNS) -> None:
        """Put the new cells of shown rows in place: only cells whose text or style changed,
        in one batch, so that a flush of many answers costs one repaint of the visible rows."""
        columns = [spec.key for spec in self._layout]
        with self.app.batch_update():
            for row in rows:
                new_cells = self._cells(row, only)
                for key in columns:
                    new = new_cells.get(key)
                    if new is None:
                        continue
                    old = self.get_cell(row.domain, key)
                    if not old.same_as(new):
                        self.update_cell(row.domain, key, new)

    def rebuild(self) -> None:
        """Clear and redraw the shown rows (after load, filter, sort or a layout change)."""
        keep = self.current_domain()
        # Before the first layout the table has no size yet: it spans the terminal.
        self._layout = self.layout_for(self.size.width or self.app.size.width)
        self._short_dmarc = any(
            s.key == "dmarc" and s.width < DMARC_TAG_WIDTH for s in self._layout
        )
        if not self.shows(self.sort_key.column):
            self.sort_key = SortKey.DOMAIN  # narrowed: never sorted by a hidden column
        self.clear(columns=True)
        for spec in self._layout:
            self.add_column(Text(spec.label, style="bold"), width=spec.width, key=spec.key)
        rows = sort_rows((r for r in self._rows.values() if self.wanted(r)), self.sort_key)
        order = [spec.key for spec in self._layout]
        for row in rows:
            cells = self._cells(row)
            self.add_row(*(cells[k] for k in order), key=row.domain)
        if keep is not None and keep in self.rows:
            self.move_cursor(row=self.get_row_index(keep), animate=False)

    def shows(self, column: str) -> bool:
        return any(spec.key == column for spec in self._layout)

    def next_sort_key(self) -> SortKey:
        """The sort that ``o`` moves to: the next one whose column is shown."""
        key = self.sort_key.following()
        while not self.shows(key.column) and key is not self.sort_key:
            key = key.following()
        return key

    def layout_for(self, width: int) -> tuple[ColumnSpec, ...]:
        """The columns that fit ``width`` cells, most important first; spare room widens the
        domain and address columns up to their longest value."""
        avail = width - SCROLLBAR
        pad = 2 * CELL_PADDING
        longest_domain = max((len(r.domain_unicode) for r in self._rows.values()), default=0)
        longest_address = max((len(r.address) for r in self._rows.values()), default=0)
        # Minimums fit the names actually in the registry (when short) so spare room goes
        # where the text is; longer names grow into whatever room is left.
        domain_min = max(12, min(20, longest_domain or 20))
        address_min = max(14, min(18, longest_address or 18))
        widths: dict[str, int] = {
            "domain": domain_min,
            "verified": OVERALL_WIDTH,
            "dkim": BADGE_WIDTH,
            "spf": BADGE_WIDTH,
            "dmarc": DMARC_SHORT_WIDTH,
        }

        def used() -> int:
            return sum(w + pad for w in widths.values())

        # The Verified cell names what holds a domain back ("… code", "✘ DKIM"), so the
        # Ownership column is the first to go when the room runs out.
        for key, extra in (
            ("owner", OWNER_WIDTH),
            ("next", TIME_WIDTH),
            ("dmarc+", DMARC_TAG_WIDTH - DMARC_SHORT_WIDTH),
            ("address", address_min),
            ("last", TIME_WIDTH),
        ):
            cost = extra if key == "dmarc+" else extra + pad
            if used() + cost <= avail:
                if key == "dmarc+":
                    widths["dmarc"] = DMARC_TAG_WIDTH
                else:
                    widths[key] = extra
        spare = max(0, avail - used())
        grow = min(spare, max(0, longest_domain - domain_min))
        widths["domain"] += grow
        spare -= grow
        if "address" in widths:
            widths["address"] += min(spare, max(0, longest_address - address_min))
        if avail - used() < 0:
            # Narrower than the badges: give up the domain's minimum rather than hide a badge.
            widths["domain"] = max(8, widths["domain"] + (avail - used()))
        labels = {
            "domain": "Domain",
            "address": "Organisation address",
            "verified": "Verified",
            "owner": "Ownership",
            "dkim": "DKIM",
            "spf": "SPF",
            "dmarc": "DMARC",
            "last": "Last check",
            "next": "Next check",
        }
        return tuple(ColumnSpec(k, labels[k], widths[k]) for k in ALL_COLUMNS if k in widths)

    # -- tooltip: the DMARC policy of the row under the mouse, else of the cursor row ------

    def tooltip_text(self, domain: str) -> Text | None:
        row = self._rows.get(domain)
        if row is None:
            return None
        state = CHECKING if domain in self._checking else row.dmarc_state
        text = dmarc_tag(state)
        text.append(f": {policy_text(state, row.dmarc_policy)}")
        text.append(f"\n{printable(row.domain_unicode)}", style="dim")
        return text

    def show_tooltip_for(self, domain: str) -> None:
        self.tooltip = self.tooltip_text(domain)

    def on_mount(self) -> None:
        self.watch(self, "hover_coordinate", self._hovered, init=False)

    def _hovered(self, value: Coordinate) -> None:
        if 0 <= value.row < self.row_count:
            key = self.coordinate_to_cell_key(Coordinate(value.row, 0)).row_key
            if key.value is not None:
                self.show_tooltip_for(str(key.value))

    def on_resize(self, event: events.Resize) -> None:
        # Only a change of the column set or widths costs a rebuild.
        if self.layout_for(event.size.width) != self._layout:
            self.rebuild()
