"""The help screen: how the workflow goes, and every key (from the same catalogue as the
bindings and the command palette)."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from mailauth_tui.ui.commands import DOMAIN_ACTIONS, key_label

WORKFLOW = (
    ("1. Add", "an organisation email address (a): its domain becomes a sending domain."),
    (
        "2. Prove",
        "ownership: enter the code emailed to that address (c). It is valid 15 days;"
        " resend (s) sends a new one.",
    ),
    (
        "3. Publish",
        "the DKIM (required) and SPF (recommended) records shown by r at your DNS"
        " provider (on that screen h copies the host as the provider's form wants it,"
        " H the full name, p publishes by RFC 2136,"
        " n shows each nameserver), then verify (v).",
    ),
    ("4. DMARC", "needs DKIM or SPF first; start at p=none. Bulk senders must have it."),
    (
        "5. Keep",
        "records verified: every domain is re-checked every 48 hours while the"
        " console is open, or by `mailauth-tui recheck` from cron.",
    ),
)

READ_ONLY = (
    "Only admins change the registry: add, codes, re-checks, rotation, removal. Admins are "
    "kept in the registry itself (mailauth-tui admin list); an admin gives rights with "
    "`mailauth-tui admin add LOGIN`. On a shared registry an admin also needs write access "
    'to its file (README, "Sharing a registry"). Everyone else sees the same screens '
    "read-only: the write keys leave the footer, and verify (v) is a dry run that shows what "
    "DNS says and records nothing."
)

APP_KEYS = (
    ("ctrl+p", "Command palette: every action by name"),
    ("ctrl+o", "Demo only: the outbox, from any screen"),
    ("escape", "Close a dialog, or clear the filter"),
    ("↑ ↓ pgup pgdn", "Move in the table; home or g: the first domain, end or G: the last"),
    ("q, ctrl+q", "Quit (q on the main screen; ctrl+q from any screen)"),
)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,q,question_mark", "close", "Close", key_display="esc"),
    ]

    DEFAULT_CSS = """
    HelpScreen {
        align: center middle;
    }
    HelpScreen > VerticalScroll {
        width: 90;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        border: round $accent;
        border-title-align: center;
        background: $surface;
        padding: 0 1;
    }
    HelpScreen #keys, HelpScreen #rights {
        margin-top: 1;
    }
    """

    def __init__(self, *, demo: bool = False, read_only: str = "") -> None:
        """``read_only``: why this console only reads, and how to get rights ("" for an
        admin)."""
        super().__init__()
        self._demo = demo
        self._read_only = read_only

    def compose(self) -> ComposeResult:
        with VerticalScroll() as scroll:
            scroll.border_title = "Help"
            scroll.border_subtitle = "esc to close"
            yield Static(self._workflow(), id="workflow")
            yield Static(self._rights(), id="rights")
            yield Static(self._keys(), id="keys")

    def _workflow(self) -> Table:
        table = Table.grid(padding=(0, 1))
        table.add_column(style="bold", no_wrap=True)
        table.add_column()
        for step, text in WORKFLOW:
            table.add_row(Text(step), Text(text))
        return table

    def _rights(self) -> Text:
        text = Text("Read-only mode: ", style="bold")
        text.append(READ_ONLY, style="")
        if self._read_only:
            text.append("\nYou are in read-only mode now: ", style="bold")
            text.append(self._read_only, style="")
        return text

    def _keys(self) -> Table:
        table = Table(box=None, padding=(0, 1), show_header=True, header_style="bold")
        table.add_column("Key", style="bold", no_wrap=True)
        table.add_column("Action")
        for info in DOMAIN_ACTIONS:
            if info.demo_only and not self._demo:
                continue
            note = "  (admins only)" if info.admin_only else ""
            table.add_row(Text(key_label(info)), Text(info.description + note))
        for key, text in APP_KEYS:
            if key == "ctrl+o" and not self._demo:
                continue
            table.add_row(Text(key), Text(text))
        return table

    def action_close(self) -> None:
        self.dismiss(None)
