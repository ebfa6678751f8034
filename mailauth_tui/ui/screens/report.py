"""The email reliability report: recommended actions, each leading to the domains concerned."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from mailauth_tui.registry.models import ReportAction
from mailauth_tui.ui.screens.modal_base import StepModal, failure_text, literal

if TYPE_CHECKING:
    from mailauth_tui.registry.service import Registry

EMPTY = "No recommended actions: every domain is in order."
_SHOWN_DOMAINS = 3


def action_prompt(action: ReportAction) -> Text:
    prompt = Text.assemble(literal(action.title, style="bold"), "\n", literal(action.advice))
    if action.domains:
        names = ", ".join(action.domains[:_SHOWN_DOMAINS])
        more = len(action.domains) - _SHOWN_DOMAINS
        if more > 0:
            names += f" and {more} more"
        prompt.append("\n").append_text(literal(names, style="dim"))
    return prompt


class ReportScreen(StepModal[tuple[str, ...] | None]):
    """``registry.report()`` as a list; enter dismisses with the chosen action's domains."""

    AUTO_FOCUS = "#actions"

    def __init__(self, registry: Registry) -> None:
        super().__init__()
        self._registry = registry
        self._actions: list[ReportAction] = []
        self._error = ""

    def compose(self) -> ComposeResult:
        try:
            self._actions = list(self._registry.report())
        except Exception as exc:  # failure_text logs anything but a RegistryError
            self._error = failure_text(exc)
        with Vertical(id="dialog") as dialog:
            dialog.border_title = "Email reliability report"
            if self._error:
                yield Static(literal(f"✘ {self._error}"), classes="problem")
            elif not self._actions:
                yield Static(Text(EMPTY), id="empty")
            else:
                count = len(self._actions)
                yield Static(
                    Text(f"{count} recommended action{'s' if count > 1 else ''}"), id="summary"
                )
                options: list[Option | None] = []
                for i, action in enumerate(self._actions):
                    if options:
                        options.append(None)  # a separator line between multi-line options
                    options.append(Option(action_prompt(action), id=str(i)))
                yield OptionList(*options, id="actions")
            yield Static(
                "↑↓ choose   enter show these domains   esc close", classes="hint", markup=False
            )
        yield Footer()

    @on(OptionList.OptionSelected, "#actions")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        option_id = event.option.id
        if option_id is not None:
            self.dismiss(self._actions[int(option_id)].domains)
