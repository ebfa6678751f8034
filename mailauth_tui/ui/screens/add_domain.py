"""Step 1: the organisation address whose domain becomes a sending domain; the code is sent."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Footer, Input, Label, Static

from mailauth_tui.registry.models import CodeSent
from mailauth_tui.ui.screens.modal_base import StepModal, literal
from mailauth_tui.ui.validators import OrganisationAddress, check_address

_EXPLAIN = (
    "The domain (or subdomain) of this address becomes the sending domain. A verification "
    "code is emailed to the address; it is valid for 15 days."
)

if TYPE_CHECKING:
    from mailauth_tui.registry.service import Registry


class AddDomainScreen(StepModal[CodeSent | None]):
    """Ask for the organisation address, then ``registry.add`` it; dismiss with the CodeSent."""

    AUTO_FOCUS = "#address"
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, registry: Registry) -> None:
        super().__init__()
        self._registry = registry
        self._sending = False

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog") as dialog:
            dialog.border_title = "Add a sending domain"
            yield Static(_EXPLAIN, id="explain")
            yield Label("Organisation email address", classes="field-label")
            yield Input(
                placeholder="admin@mail.example.com",
                id="address",
                validators=[OrganisationAddress()],
                valid_empty=False,
            )
            yield Static("", id="address-problem", classes="problem", markup=False)
            yield Static(self._preview(""), id="sending-domain")
            yield Static("", id="status", markup=False)
            yield Static("enter send the code   esc cancel", classes="hint", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self._show_problem("")
        self._set_status("")

    def _preview(self, value: str) -> Text:
        check = check_address(value)
        # Text.assemble, not a styled Text appended to: a base style would spill onto the name.
        label = ("Sending domain: ", "bold")
        if check.domain is None:
            return Text.assemble(label, ("(type the address)", "dim"))
        line = Text.assemble(label, literal(check.domain.unicode))
        if check.domain.unicode != check.domain.ascii:
            line.append("  in DNS: ", style="dim")
            line.append_text(literal(check.domain.ascii))
        return line

    @on(Input.Changed, "#address")
    def _typed(self, event: Input.Changed) -> None:
        self.query_one("#sending-domain", Static).update(self._preview(event.value))
        problem = "" if event.value.strip() == "" else check_address(event.value).message
        self._show_problem(problem)
        self._set_status("")

    @on(Input.Submitted, "#address")
    def _submitted(self, event: Input.Submitted) -> None:
        if self._sending:
            return
        check = check_address(event.value)
        if not check.ok:
            self._show_problem(check.message)
            return
        self._sending = True
        self.query_one("#address", Input).disabled = True
        self._set_status(f"⟳ sending the code to {check.address} …")
        self._add(check.address)

    @work(group="registry", exclusive=True, exit_on_error=False)
    async def _add(self, address: str) -> None:
        self.dismiss(await self._registry.add(address))

    def step_failed(self, message: str) -> None:
        self._sending = False
        address = self.query_one("#address", Input)
        address.disabled = False
        address.focus()
        self._set_status("")
        self._show_problem(message)

    def _show_problem(self, message: str) -> None:
        widget = self.query_one("#address-problem", Static)
        widget.update(literal(f"✘ {message}") if message else "")
        widget.display = bool(message)

    def _set_status(self, message: str) -> None:
        widget = self.query_one("#status", Static)
        widget.update(literal(message) if message else "")
        widget.display = bool(message)
