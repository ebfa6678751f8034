"""Every action of the domain screen in one catalogue: the screen's key bindings, the help
screen and the command palette are all built from it, so none of them can miss one."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.markup import escape


@dataclass(frozen=True, slots=True)
class ActionInfo:
    key: str  # Textual key name(s), comma separated
    action: str  # the screen's action name, without "action_"
    label: str  # short, for the footer
    description: str  # a sentence, for the help screen, the palette and the key's tooltip
    admin_only: bool = False  # hidden in read-only mode
    needs_row: bool = False  # greyed out while the table is empty
    footer: bool = True  # shown in the footer (the rest are in help and the palette)
    demo_only: bool = False
    key_display: str | None = None


DOMAIN_ACTIONS: tuple[ActionInfo, ...] = (
    ActionInfo(
        "a", "add", "Add", "Add a domain: enter an organisation email address", admin_only=True
    ),
    ActionInfo(
        "enter",
        "detail",
        "Details",
        "Open the selected domain: evidence, keys and journal",
        needs_row=True,
        key_display="⏎",
    ),
    ActionInfo(
        "c",
        "code",
        "Code",
        "Enter the verification code emailed for the selected domain",
        admin_only=True,
        needs_row=True,
    ),
    ActionInfo(
        "r",
        "records",
        "Records",
        "Show the DKIM, SPF and DMARC records to publish, ready to copy",
        needs_row=True,
    ),
    ActionInfo(
        "v",
        "verify",
        "Verify",
        "Look the selected domain's records up in DNS now (read-only: a dry run)",
        needs_row=True,
    ),
    ActionInfo(
        "R",
        "recheck_all",
        "Re-check all",
        "Re-check every domain's records in DNS",
        admin_only=True,
        footer=False,
    ),
    ActionInfo(
        "s",
        "resend",
        "Resend",
        "Send a new verification code (the old one stops working)",
        admin_only=True,
        needs_row=True,
        footer=False,
    ),
    ActionInfo(
        "d",
        "delete",
        "Delete",
        "Delete the selected domain from the registry (asks first)",
        admin_only=True,
        needs_row=True,
        footer=False,
    ),
    ActionInfo(
        "k",
        "rotate",
        "Rotate DKIM",
        "Generate a new DKIM key and selector for the selected domain",
        admin_only=True,
        needs_row=True,
        footer=False,
    ),
    ActionInfo(
        "b",
        "bulk",
        "Bulk",
        "May the selected domain send bulk mail? If not, the DMARC record to publish (copied)",
        needs_row=True,
        footer=False,
    ),
    ActionInfo(
        "e",
        "report",
        "Report",
        "Email reliability report: what to do next, per domain",
        footer=False,
    ),
    ActionInfo(
        "slash", "filter", "Filter", "Filter the table by domain, address or state", key_display="/"
    ),
    ActionInfo(
        "o",
        "sort",
        "Sort",
        "Sort by domain, then by status (worst first), then by next check (when shown)",
        footer=False,
    ),
    ActionInfo(
        "m",
        "outbox",
        "Outbox",
        "Read the demo outbox: the mail with your verification code (also ctrl+o)",
        demo_only=True,
        footer=False,  # the footer shows ctrl+o, which works over the dialogs too
    ),
    ActionInfo("question_mark", "help", "Help", "Keys and how the workflow goes", key_display="?"),
)


def domain_bindings() -> list[Binding]:
    return [
        Binding(
            info.key,
            info.action,
            info.label,
            show=info.footer,
            key_display=info.key_display,
            tooltip=info.description,
            id=f"domains.{info.action}",
        )
        for info in DOMAIN_ACTIONS
    ]


def key_label(info: ActionInfo) -> str:
    return info.key_display or info.key


class DomainCommands(Provider):
    """The command palette's entries for the domain screen. A disabled action is still listed
    (people look for it) and says why it is disabled."""

    def _entries(self) -> list[tuple[str, str, str]]:
        screen = self.screen
        entries = []
        for info in DOMAIN_ACTIONS:
            allowed = screen.check_action(info.action, ())
            reason = getattr(screen, "disabled_reason", lambda _action: "")(info.action)
            if allowed is False and not reason:
                continue  # hidden for good (a demo-only action outside the demo)
            help_text = f"{info.description} · key {key_label(info)}"
            if not allowed:
                # Greyed out, or hidden in read-only mode: listed, since people look for it.
                help_text += f" · unavailable: {reason}" if reason else " · unavailable"
            # The palette reads help as markup: a domain or reason must not be taken for it.
            help_text = escape(help_text)
            entries.append((info.label, info.action, help_text))
        return entries

    def _run(self, action: str) -> None:
        # A disabled action chosen here gets the screen's refusal message, not silence.
        target = getattr(self.screen, "palette_action", None)
        if callable(target):
            target(action)
        else:
            self.screen.call_later(self.screen.run_action, action)

    async def discover(self) -> Hits:
        for label, action, help_text in self._entries():
            yield DiscoveryHit(label, partial(self._run, action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for label, action, help_text in self._entries():
            score = max(matcher.match(label), matcher.match(help_text) * 0.5)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(label),
                    partial(self._run, action),
                    text=label,
                    help=help_text,
                )
