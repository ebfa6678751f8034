"""Everything the registry knows about one domain: states, keys, evidence and journal."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Footer, Static

from mailauth_tui.registry.codes import MAX_ATTEMPTS
from mailauth_tui.registry.models import DkimKey, DomainRow, JournalEntry, Ownership
from mailauth_tui.ui.screens.modal_base import StepModal, facts, failure_text, literal, when
from mailauth_tui.ui.widgets.badges import badge, policy_text
from mailauth_tui.ui.widgets.evidence_words import evidence_in_words, journal_in_words
from mailauth_tui.ui.widgets.propagation_badges import PropagationBadges

if TYPE_CHECKING:
    from mailauth_tui.registry.service import Registry


def key_status(key: DkimKey) -> Text:
    if key.active:
        return Text("✔ active")
    if key.remove_after is not None:
        return Text(f"retired; safe to remove after {key.remove_after:%Y-%m-%d}")
    return Text("retired")


def keys_table(keys: tuple[DkimKey, ...]) -> Table | Text:
    if not keys:
        return Text("no DKIM key yet (created with the records)", style="italic")
    table = Table(box=None, padding=(0, 1), show_edge=False, header_style="bold")
    for column in ("Selector", "Type", "Bits", "Created", "Active"):
        table.add_column(column, overflow="fold")
    for key in keys:
        table.add_row(
            literal(key.selector),
            literal(key.key_type),
            Text(str(key.key_bits) if key.key_bits else "-"),
            Text(when(key.created_at)),
            key_status(key),
        )
    return table


def overview(row: DomainRow) -> Group:
    domain = literal(row.domain_unicode)
    if row.domain_unicode != row.domain:
        domain.append("  in DNS: ", style="dim").append_text(literal(row.domain))
    # Badges carry their own style and no_wrap: assemble around them, never append to them.
    ownership = Text.assemble(badge(row.ownership.value))
    if row.ownership is not Ownership.VERIFIED and row.code_expires_at is not None:
        tries = max(MAX_ATTEMPTS - row.code_attempts, 0)
        ownership.append(f"  code valid until {when(row.code_expires_at)}, {tries} tries left")
    policy = literal(policy_text(row.dmarc_state.value, row.dmarc_policy))
    dmarc = Text.assemble(badge(row.dmarc_state.value), "  ", policy)
    added = Text(when(row.added_at) + " by ").append_text(literal(row.added_by))
    return Group(
        facts(
            [
                ("Domain", domain),
                ("Address", literal(row.address)),
                ("Added", added),
                ("Ownership", ownership),
                ("DKIM", badge(row.dkim_shown_state)),
                ("SPF", badge(row.spf_state.value)),
                ("DMARC", dmarc),
                ("Last check", Text(when(row.last_check_at))),
                ("Next check", Text(when(row.next_check_at, empty="not scheduled"))),
            ]
        ),
        Text(""),
        Text("DKIM keys", style="bold"),
        keys_table(row.dkim_keys),
    )


class DomainDetailScreen(StepModal[None]):
    """Read-only detail of one domain; escape closes."""

    AUTO_FOCUS = "#detail-body"
    BINDINGS = [Binding("n", "nameservers", "Nameservers")]

    def __init__(self, registry: Registry, domain: str) -> None:
        super().__init__()
        self._registry = registry
        self._domain = domain

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "nameservers":
            return self._registry.can_probe_zones and bool(self.query(PropagationBadges))
        return True

    def action_nameservers(self) -> None:
        from mailauth_tui.ui.screens.propagation import PropagationScreen

        self.app.push_screen(PropagationScreen(self._registry, self._domain))

    def compose(self) -> ComposeResult:
        row: DomainRow | None = None
        journal: list[JournalEntry] = []
        error = ""
        try:
            row = self._registry.get(self._domain)
            journal = list(self._registry.journal(self._domain))
        except Exception as exc:  # failure_text logs anything but a RegistryError
            error = failure_text(exc)
        with Vertical(id="dialog") as dialog:
            dialog.border_title = literal(f"Domain {row.domain_unicode if row else self._domain}")
            with VerticalScroll(id="detail-body"):
                if error:  # the domain, or its journal, could not be read
                    yield Static(literal(f"✘ {error}"), classes="problem")
                if row is not None:
                    yield Static(overview(row), id="overview")
                    if row.ownership is Ownership.VERIFIED:
                        yield PropagationBadges(self._registry, row.domain)
                    title = Text(f"Evidence of the last check ({when(row.last_check_at)})")
                    title.stylize("bold")
                    yield Static(Group(title, evidence_in_words(row.evidence)), id="evidence")
                    yield Static(Text("Journal, newest first", style="bold"))
                    yield Static(journal_in_words(journal), id="journal")
        yield Footer()
