"""Step 4: what DNS returned for each record, what is wrong with it and the exact fix."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Footer, Static

from mailauth_tui.core.results import DomainReport, Problem, Severity
from mailauth_tui.core.wording import word_list
from mailauth_tui.registry.models import Ownership, RecordVerdict, VerifyOutcome
from mailauth_tui.ui.screens.modal_base import StepModal, facts, literal
from mailauth_tui.ui.widgets.badges import badge
from mailauth_tui.ui.widgets.selftest import selftest_view

_SEVERITY = {
    Severity.ERROR: ("✘ error", "bold red"),
    Severity.WARNING: ("⚠ warning", "yellow"),
    Severity.INFO: ("ℹ info", "cyan"),  # noqa: RUF001 - the information sign is meant
}

_GOOD_STATES = {"verified", "configured"}

TIPS = (
    "DNS changes can take from minutes to a day or two to be seen (the old record's TTL and "
    "your provider's own delay): verify again later. The console re-checks every 48 hours.",
    "Enter the host exactly as shown. Many DNS providers append your domain to the host "
    "themselves: there, type only the part before your domain (a doubled domain is reported "
    "as dkim.zone_doubled).",
    "Paste the value in one piece. Values over 255 characters are split into quoted strings "
    "(see the zone-file form with z on the records screen); strings are joined without spaces.",
    "A domain has exactly one SPF record: merge new senders into it, never add a second one.",
)


def looked_up(verdict: RecordVerdict, report: DomainReport) -> str:
    """The DNS name the verdict was read from."""
    if verdict.kind == "DKIM" and report.dkim:
        same = [d for d in report.dkim if verdict.found is not None and d.record == verdict.found]
        return (same or list(report.dkim))[0].host or report.domain
    if verdict.kind == "DMARC":
        return f"_dmarc.{report.dmarc.source_domain or report.domain}"
    return report.domain


def problems_view(problems: tuple[Problem, ...]) -> Table:
    """Severity in words, then the message and its exact fix, wrapped under each other."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    for problem in problems:
        label, style = _SEVERITY.get(problem.severity, (str(problem.severity), ""))
        body = literal(problem.message)
        body.append(f"  [{problem.code}]", style="dim")
        if problem.fix:
            body.append("\nfix: ", style="bold").append_text(literal(problem.fix))
        grid.add_row(Text(label, style=style), body)
    return grid


def verdict_view(verdict: RecordVerdict, report: DomainReport) -> RenderableType:
    head = Text.assemble((f"{verdict.kind:<6}", "bold"), badge(verdict.shown_state))
    if verdict.found is not None:
        found = literal(verdict.found)
    elif verdict.state == "unknown":
        found = Text(
            "no answer (timeout, SERVFAIL or REFUSED): nothing can be concluded", style="italic"
        )
    else:
        found = Text("nothing (no such record: NXDOMAIN or no TXT data)", style="italic")
    rows = [("Looked up", literal(looked_up(verdict, report))), ("DNS returned", found)]
    parts: list[RenderableType] = [head, facts(rows)]
    if verdict.problems:
        parts.append(problems_view(verdict.problems))
    return Group(*parts)


def all_good(outcome: VerifyOutcome) -> bool:
    """Verified, with every record verified or configured and no self-test failing."""
    return outcome.domain.verified and all(v.state in _GOOD_STATES for v in outcome.verdicts)


def overall(outcome: VerifyOutcome) -> Text:
    """One line: verified, or what to do next, most important first."""
    row = outcome.domain
    if row.verified:
        return Text("✔ domain verified: mail may now be sent from its addresses", "bold green")
    if row.ownership is not Ownership.VERIFIED:
        return Text("… not verified yet: prove ownership with the emailed code first", "yellow")
    todo = [v for v in outcome.verdicts if v.state not in _GOOD_STATES]
    order = {"DKIM": 0, "SPF": 1, "DMARC": 2}  # required first, as the records screen
    todo.sort(key=lambda v: (order.get(v.kind, 3), v.kind))
    if not todo:
        return Text("… not verified yet: verify again in a moment", "yellow")
    first = todo[0]
    kinds = word_list([v.kind for v in todo])
    what = f"the {kinds} record{'s' if len(todo) > 1 else ''}"
    if first.state == "unknown":
        return Text(
            f"? not verified yet: wait and verify again: DNS did not answer for {what}", "magenta"
        )
    return Text(f"… not verified yet: publish {what}, then verify again", "yellow")


class VerifyResultScreen(StepModal[None]):
    """The result of ``registry.verify``: per record the evidence and the fixes."""

    AUTO_FOCUS = "#result-body"
    BINDINGS = [Binding("enter", "cancel", "Close", show=False)]

    def __init__(self, outcome: VerifyOutcome) -> None:
        super().__init__()
        self._outcome = outcome

    def compose(self) -> ComposeResult:
        outcome = self._outcome
        row = outcome.domain
        with Vertical(id="dialog") as dialog:
            title = f"Verification of {row.domain_unicode}"
            dialog.border_title = literal(f"Dry run: {title}" if outcome.dry_run else title)
            if outcome.dry_run:
                yield Static(
                    Text(
                        "Dry run: what DNS says now; nothing was recorded (read-only)",
                        style="bold",
                    ),
                    id="dry-run",
                )
            yield Static(overall(outcome), id="overall")
            if outcome.propagation:
                where = literal(f"Nameservers: {outcome.propagation}", style="bold")
                yield Static(where, id="where-published")
            with VerticalScroll(id="result-body"):
                for verdict in outcome.verdicts:
                    yield Static(
                        verdict_view(verdict, outcome.report),
                        classes=f"verdict verdict-{verdict.kind.lower()}",
                    )
                for test in outcome.selftests:
                    yield Static(selftest_view(test), classes="verdict verdict-selftest")
                if outcome.report.problems:
                    domain_problems = problems_view(outcome.report.problems)
                    yield Static(
                        Group(Text("Domain", style="bold"), domain_problems), classes="verdict"
                    )
                if outcome.transitions:
                    changes = [literal(f"• {line}") for line in outcome.transitions]
                    heading = "What would change" if outcome.dry_run else "What changed"
                    yield Static(Group(Text(heading, style="bold"), *changes))
                if not all_good(outcome):  # a verified result needs no troubleshooting
                    tips = [Text("• " + tip) for tip in TIPS]
                    yield Static(Group(Text("Troubleshooting", style="bold"), *tips), id="tips")
        yield Footer()
