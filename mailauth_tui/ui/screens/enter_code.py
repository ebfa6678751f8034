"""Step 2: the code mailed to the organisation address proves ownership of the domain."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Footer, Input, Label, Static

from mailauth_tui.registry.codes import MAX_ATTEMPTS
from mailauth_tui.registry.models import CodeCheck, DomainRow, Ownership
from mailauth_tui.ui.screens.modal_base import (
    StepModal,
    facts,
    failure_text,
    literal,
    when,
)
from mailauth_tui.ui.validators import VerificationCode, code_problem
from mailauth_tui.ui.widgets.badges import badge

if TYPE_CHECKING:
    from mailauth_tui.registry.service import Registry

_RESEND_HINT = "Send a new code with ctrl+r."


def _domain_text(row: DomainRow) -> Text:
    text = literal(row.domain_unicode)
    if row.domain_unicode != row.domain:
        text.append("  (", style="dim").append_text(literal(row.domain)).append(")", style="dim")
    return text


class EnterCodeScreen(StepModal[CodeCheck | None]):
    """Check the code with ``registry.submit_code``; dismiss with the CodeCheck once ok."""

    AUTO_FOCUS = "#code"
    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+r", "resend", "Resend code"),
    ]

    def __init__(self, registry: Registry, domain: str) -> None:
        super().__init__()
        self._registry = registry
        self._domain = domain
        self._row: DomainRow | None = None
        self._busy = False

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog") as dialog:
            dialog.border_title = "Prove ownership: enter the code"
            yield Static("", id="facts")
            yield Static("", id="maildir", classes="warning")
            yield Label("Verification code (case, spaces and dashes do not matter)")
            yield Input(
                placeholder="ABCD-EFGH-JK",
                id="code",
                validators=[VerificationCode()],
                validate_on=["submitted"],
                max_length=80,
            )
            yield Static("", id="code-problem", classes="problem")
            yield Static("", id="status")
            with Horizontal(classes="buttons"):
                yield Button("Check code", id="check", variant="primary")
                yield Button("Resend code", id="resend")
            hint = "enter check the code   ctrl+r resend   esc cancel"
            if getattr(self.app, "demo", None) is not None:
                # The app-level outbox key does not show in a modal's footer; in the demo the
                # code is read there, so say it here.
                hint += "   ctrl+o outbox (demo)"
            yield Static(hint, classes="hint", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self._show("#code-problem", "")
        self._show("#status", "")
        folder = self._registry.code_folder
        # No SMTP server: the code went into a local folder, not to the address. Say where,
        # and who else can read it there.
        self._show(
            "#maildir",
            ""
            if folder is None
            else f"⚠ No SMTP server is configured: the code is in the Maildir {folder}, not "
            "in the inbox. Whoever can read that folder can read the code.",
        )
        try:
            self._row = self._registry.get(self._domain)
        except Exception as exc:  # failure_text logs anything but a RegistryError
            self.step_failed(failure_text(exc))
            return
        self._render_facts()

    def _render_facts(self) -> None:
        row = self._row
        if row is None:
            return
        tries_left = max(MAX_ATTEMPTS - row.code_attempts, 0)
        tries = Text(f"{tries_left} of {MAX_ATTEMPTS}")
        if tries_left <= 1:
            tries.stylize("bold red")
        ownership = badge(row.ownership.value)
        self.query_one("#facts", Static).update(
            facts(
                [
                    ("Domain", _domain_text(row)),
                    ("Code sent to", literal(row.address)),
                    ("Sent at", Text(when(row.code_sent_at, empty="not sent"))),
                    ("Valid until", Text(when(row.code_expires_at, empty="no code"))),
                    ("Tries left", tries),
                    ("Ownership", ownership),
                ]
            )
        )
        if row.ownership is Ownership.VERIFIED:
            self._show("#status", "✔ Ownership is already verified: no code is needed.")
        elif row.ownership in (Ownership.LOCKED, Ownership.EXPIRED):
            if row.ownership is Ownership.LOCKED:
                why = "This code is locked after too many wrong tries."
            else:
                why = "This code has expired."
            self._show("#code-problem", f"✘ {why} {_RESEND_HINT}")

    @on(Input.Submitted, "#code")
    @on(Button.Pressed, "#check")
    def _check(self) -> None:
        if self._busy:
            return
        value = self.query_one("#code", Input).value
        problem = code_problem(value)
        if problem:
            self._show("#code-problem", f"✘ {problem}")
            return
        self._start("⟳ checking the code …")
        self._submit(value)

    @on(Button.Pressed, "#resend")
    def action_resend(self) -> None:
        if self._busy:
            return
        self._start("⟳ sending a new code …")
        self._resend()

    def _start(self, status: str) -> None:
        self._busy = True
        self._show("#code-problem", "")
        self._show("#status", status)

    def _finish(self) -> None:
        self._busy = False
        self._show("#status", "")

    @work(group="registry", exclusive=True, exit_on_error=False)
    async def _submit(self, code: str) -> None:
        result = await self._registry.submit_code(self._domain, code)
        self._finish()
        self._row = result.domain
        self._render_facts()
        if result.ok:
            self.dismiss(result)
            return
        box = self.query_one("#code", Input)
        box.value = ""
        box.focus()
        message = result.message
        if result.domain.ownership in (Ownership.LOCKED, Ownership.EXPIRED):
            message = f"{message}. {_RESEND_HINT}"
        elif result.attempts_left:
            message = f"{message} ({result.attempts_left} tries left)"
        self._show("#code-problem", f"✘ {message}")

    @work(group="registry", exclusive=True, exit_on_error=False)
    async def _resend(self) -> None:
        sent = await self._registry.resend(self._domain)
        self._finish()
        self._row = sent.domain
        self._render_facts()
        self._show(
            "#status", f"✔ a new code was sent to {sent.domain.address} ({sent.delivered_to})"
        )
        self.query_one("#code", Input).focus()

    def step_failed(self, message: str) -> None:
        self._finish()
        self._show("#code-problem", f"✘ {message}")

    def _show(self, selector: str, message: str) -> None:
        widget = self.query_one(selector, Static)
        widget.update(literal(message))
        widget.display = bool(message)
