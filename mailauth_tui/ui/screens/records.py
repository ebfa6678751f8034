"""Step 3: the DNS records to publish (DKIM, SPF, DMARC), each copied with one key, then verify.

What a key did ("Copied the DKIM value ...") is said in the dialog's own status line, not in
a toast: at 80x24 a toast would cover the records and the key hints.

A record's value is shown whole and wrapped (a 2048-bit DKIM key is ~400 characters): the user
reads it here and copies it with a key, so it must never be cut. ``z`` switches to the
zone-file form (``host. 3600 IN TXT "chunk" "chunk"``, 255-byte strings) for those who edit a
zone file or a provider's "import zone" box.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.console import Group
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Footer, Static

from mailauth_tui.core.results import PublishRecord
from mailauth_tui.core.wording import word_list
from mailauth_tui.registry.models import VerifyOutcome
from mailauth_tui.ui.clipboard import copy_text
from mailauth_tui.ui.demo_hooks import DemoHooks
from mailauth_tui.ui.screens.modal_base import StepModal, facts, failure_text, literal
from mailauth_tui.ui.widgets.propagation_badges import PropagationBadges

if TYPE_CHECKING:
    from mailauth_tui.registry.service import Registry


class RecordCard(Static, can_focus=True):
    """One record to publish; focus it to pick the record that ``c`` and ``h`` copy."""

    def __init__(self, record: PublishRecord, number: int) -> None:
        super().__init__(classes="record-card")
        self.record = record
        self.number = number
        self.zone_form = False

    def on_mount(self) -> None:
        self.refresh_record()

    def refresh_record(self) -> None:
        record = self.record
        head = Text.assemble(
            (f"{self.number}  {record.kind}", "bold"),
            ("  required", "bold") if record.required else "  recommended",
        )
        if record.already_published:
            head.append("  ✔ already published", style="green")
        rows: list[tuple[str, Text]]
        if self.zone_form:
            rows = [
                ("Zone line", literal(record.zone_line)),
                ("Host", literal(record.short_host)),
            ]
        else:
            # "Host" is what a DNS provider's form asks for (h copies it); the full name too.
            rows = [
                ("Host", literal(record.short_host)),
                ("Full name", literal(record.host)),
                ("Type", literal(record.rtype)),
                (
                    "Value",
                    literal(record.value)
                    if record.value
                    else Text("none yet: the sending sources are needed (note)", style="bold"),
                ),
            ]
        if record.note:
            rows.append(("Note", literal(record.note, style="italic")))
        self.update(Group(head, facts(rows)))

    @property
    def copy_value(self) -> str:
        return self.record.zone_line if self.zone_form else self.record.value


def demo_published(records: Sequence[PublishRecord]) -> str:
    """What publishing into the demo zone did, counted right: "✔ published the DKIM and SPF
    records into the demo zone: press v to verify"."""
    if not records:
        return "✔ every record is already in the demo zone: press v to verify"
    kinds = word_list([r.kind for r in records])
    noun = "records" if len(records) > 1 else "record"
    return f"✔ published the {kinds} {noun} into the demo zone: press v to verify"


class RecordsScreen(StepModal[VerifyOutcome | None]):
    """Show ``registry.records(domain)``; ``v`` verifies and dismisses with the VerifyOutcome."""

    AUTO_FOCUS = ".record-card"
    BINDINGS = [
        # Short labels: the footer must hold them all at 80 columns.
        Binding("1", "copy_value(0)", "Copy", key_display="1-3"),
        Binding("2", "copy_value(1)", "Copy record 2", show=False),
        Binding("3", "copy_value(2)", "Copy record 3", show=False),
        Binding("c", "copy_value(-1)", "Copy this record", show=False),
        Binding("h", "copy_short_host", "Host"),
        Binding("H", "copy_host", "Full name", show=False),
        Binding("z", "zone_form", "Zone"),
        Binding("p", "publish", "Publish"),
        Binding("n", "nameservers", "Servers"),
        Binding("v", "verify", "Verify"),
        # Priority: the list's own up/down would scroll it instead of moving between records;
        # pgup/pgdn still scroll it, to read a long value.
        Binding("down,j", "app.focus_next", "Next", show=False, priority=True),
        Binding("up,k", "app.focus_previous", "Previous", show=False, priority=True),
    ]

    def __init__(self, registry: Registry, domain: str, demo: DemoHooks | None = None) -> None:
        super().__init__()
        self._registry = registry
        self._domain = domain
        self._demo = demo
        self._records: list[PublishRecord] = []
        self._verifying = False

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog") as dialog:
            dialog.border_title = literal(f"Records to publish for {self._domain}")
            yield Static("", id="status")
            yield PropagationBadges(self._registry, self._domain)
            yield VerticalScroll(id="record-list", can_focus=False)
        yield Footer()

    def on_mount(self) -> None:
        self._set_status("⟳ preparing the records …")
        self._load_records()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "publish" and self._demo is None:
            if not self._registry.can_publish:
                return False  # neither the demo zone nor an RFC 2136 zone: hidden
            if not self._registry.may_change:
                return None  # publishing is a change: greyed out for read-only users
        if action == "nameservers":
            return self._registry.can_probe_zones
        if action in {
            "copy_value",
            "copy_host",
            "copy_short_host",
            "zone_form",
            "publish",
            "verify",
        }:
            ready = bool(self._records) and not self._verifying
            return True if ready else None  # greyed out until the records are there
        return True

    # -- registry results

    @work(group="registry", exclusive=True, exit_on_error=False)
    async def _load_records(self) -> None:
        self._show_records(await self._registry.records(self._domain))

    @work(group="registry", exclusive=True, exit_on_error=False)
    async def _publish(self) -> None:
        badges = self.query_one(PropagationBadges)
        outcome = await self._registry.publish(self._domain, on_report=badges.show)
        if outcome.verify is not None:
            self.dismiss(outcome.verify)

    @work(group="registry", exclusive=True, exit_on_error=False)
    async def _verify(self) -> None:
        self.dismiss(await self._registry.verify(self._domain))

    def step_failed(self, message: str) -> None:
        self._verifying = False
        self.refresh_bindings()
        self._set_status(f"✘ {message}", error=True)

    def _show_records(self, records: Sequence[PublishRecord]) -> None:
        self._records = list(records)
        # One line at 80 columns: a first layout racing this update keeps a one-line height.
        # A reader cannot verify (v is a dry run): an admin publishes and verifies.
        if self._registry.may_change:
            status = "Copy each value (1-3), paste it at your DNS provider, then verify (v)."
        else:
            status = "Read-only: give these to an admin to publish; v shows what DNS has."
        self._set_status(status)
        listing = self.query_one("#record-list", VerticalScroll)
        listing.mount_all(RecordCard(r, i) for i, r in enumerate(self._records, start=1))
        listing.call_after_refresh(self._focus_first)
        self.refresh_bindings()

    def _focus_first(self) -> None:
        cards = self.query(RecordCard)
        if cards:
            cards.first().focus()

    # -- actions

    def _focused_card(self) -> RecordCard | None:
        focused = self.focused
        if isinstance(focused, RecordCard):
            return focused
        cards = self.query(RecordCard)
        return cards.first() if cards else None

    def action_copy_value(self, index: int) -> None:
        cards = list(self.query(RecordCard))
        if index >= len(cards):
            self._set_status(f"✘ there is no record {index + 1}", error=True)
            return
        card = self._focused_card() if index < 0 else cards[index]
        if card is None:
            return
        card.focus()
        if not card.copy_value:  # SPF without sending sources: nothing to publish yet
            self.notify(
                f"nothing to copy: no sending source is configured (see the {card.record.kind} "
                "note)",
                severity="warning",
                markup=False,
            )
            return
        what = f"{card.record.kind} {'zone line' if card.zone_form else 'value'}"
        self._set_status("✔ " + copy_text(self.app, card.copy_value, what))

    def action_copy_host(self) -> None:
        card = self._focused_card()
        if card is None:
            return
        message = copy_text(self.app, card.record.host, f"{card.record.kind} full name")
        self._set_status("✔ " + message)

    def action_copy_short_host(self) -> None:
        """The host as a DNS provider's form wants it (relative to the zone); the message
        names the record, the zone it is relative to and the full name."""
        card = self._focused_card()
        if card is None:
            return
        record = card.record
        short = record.short_host
        zone = record.host if short == "@" else record.host.removeprefix(short + ".")
        what = f"{record.kind} host '{short}' (relative to {zone}; full name {record.host})"
        self._set_status("✔ " + copy_text(self.app, record.short_host, what))

    def action_zone_form(self) -> None:
        for card in self.query(RecordCard):
            card.zone_form = not card.zone_form
            card.refresh_record()

    def action_nameservers(self) -> None:
        from mailauth_tui.ui.screens.propagation import PropagationScreen

        self.app.push_screen(PropagationScreen(self._registry, self._domain))

    def _publish_by_update(self) -> None:
        """One RFC 2136 update; the badges follow the records to every nameserver, then the
        verify result replaces this screen."""
        if self._verifying:
            return
        self._verifying = True
        self.refresh_bindings()
        self._set_status("⟳ publishing by RFC 2136, then following it to every nameserver …")
        self._publish()

    def action_publish(self) -> None:
        if self._demo is None and self._records:
            self._publish_by_update()
            return
        if self._demo is None or not self._records:
            return
        # Only what is not in DNS yet: a record already published is neither written again
        # nor counted as published.
        todo = [r for r in self._records if not r.already_published]
        try:
            self._demo.publish(todo)
        except Exception as exc:  # failure_text logs anything unexpected
            self._set_status(f"✘ {failure_text(exc)}", error=True)
            return
        self._set_status(demo_published(todo))

    def action_verify(self) -> None:
        if self._verifying or not self._records:
            return
        self._verifying = True
        self.refresh_bindings()
        self._set_status("⟳ looking the records up in DNS …")
        self._verify()

    def _set_status(self, message: str, *, error: bool = False) -> None:
        widget = self.query_one("#status", Static)
        widget.update(literal(message))
        widget.set_class(error, "problem")
