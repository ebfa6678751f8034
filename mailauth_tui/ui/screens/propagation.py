"""Per nameserver, per record: is it served there? The zone's authoritative servers asked
directly, with each one's SOA serial, refreshed in place (``r``, and every few seconds)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Group
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import DataTable, Footer, Static

from mailauth_tui.core.propagation import PropagationReport, RecordAtServer, Served
from mailauth_tui.ui.screens.modal_base import StepModal, literal
from mailauth_tui.ui.widgets.propagation_badges import PropagationBadges

if TYPE_CHECKING:
    from mailauth_tui.registry.service import Registry

_CELL = {
    Served.MATCH: ("✔ served", "green"),
    Served.DIFFERENT: ("≠ different", "yellow"),
    Served.ABSENT: ("✘ absent", "red"),
    Served.UNKNOWN: ("? no answer", "magenta"),
}


def cell(result: RecordAtServer) -> Text:
    label, style = _CELL[result.state]
    return Text(label, style=style)


def details(report: PropagationReport) -> Text:
    """What is wrong where, one line each (the table's cells only say the state)."""
    lines = Text()
    for server in report.servers:
        short = server.name.split(".", 1)[0]
        for r in server.records:
            if r.state is Served.MATCH:
                continue
            line = literal(f"{short}: {r.kind} at {r.host}: {r.state.value}")
            if r.detail:
                line.append_text(literal(f": {r.detail}"))
            if r.found is not None and r.state is Served.DIFFERENT:
                line.append_text(literal(f" (found {r.found})", style="dim"))
            for problem in r.problems[:1]:
                line.append_text(literal(f"; fix: {problem.fix}", style="italic"))
            lines.append_text(line)
            lines.append("\n")
    lines.rstrip()
    return lines


class PropagationScreen(StepModal[None]):
    """``registry.propagation(domain)`` as a table: nameservers down, records across."""

    AUTO_FOCUS = "#servers"
    BINDINGS = [Binding("r", "refresh", "Refresh"), Binding("enter", "cancel", "Close", show=False)]

    def __init__(self, registry: Registry, domain: str) -> None:
        super().__init__()
        self._registry = registry
        self._domain = domain

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog") as dialog:
            dialog.border_title = literal(f"Nameservers of {self._domain}")
            yield PropagationBadges(self._registry, self._domain)
            yield DataTable(id="servers", cursor_type="row", zebra_stripes=True)
            with VerticalScroll(id="propagation-details"):
                yield Static("", id="summary")
        yield Footer()

    def on_propagation_badges_updated(self, event: PropagationBadges.Updated) -> None:
        self._show(event.report)

    def action_refresh(self) -> None:
        self.query_one(PropagationBadges).refresh_now()

    def _show(self, report: PropagationReport) -> None:
        table = self.query_one("#servers", DataTable)
        table.clear(columns=True)
        table.add_column("Nameserver", key="name")
        table.add_column("Serial", key="serial")
        for i, record in enumerate(report.expected):
            label = record.kind
            if record.kind == "DKIM":
                label = f"DKIM {record.host.split('.', 1)[0]}"
            table.add_column(label, key=f"r{i}")
        for server in report.servers:
            serial = Text(str(server.serial)) if server.serial is not None else Text("?")
            name = literal(server.name.split(".", 1)[0] + f" {server.address}")
            table.add_row(name, serial, *(cell(r) for r in server.records), key=server.address)
        summary = Text.assemble(literal(report.summary(), style="bold"))
        body = details(report)
        self.query_one("#summary", Static).update(Group(summary, body) if body else summary)
