"""The demo outbox: the mail the demo "sent" (the verification codes), newest first, so that a
new user reads the code on screen. Mail bodies are shown literally."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC

from rich.console import Group, RenderableType
from rich.rule import Rule
from rich.text import Text
from textual.widgets import Static

from mailauth_tui.core.textsafe import printable
from mailauth_tui.ui.demo_hooks import OutboxMessage


def render_outbox(messages: Sequence[OutboxMessage]) -> RenderableType:
    if not messages:
        return Text(
            "The outbox is empty. Add a domain (a) and its verification mail appears here.",
            style="dim",
        )
    parts: list[RenderableType] = []
    for i, message in enumerate(messages):
        if i:
            parts.append(Rule(style="dim"))
        head = Text()
        head.append("To: ", style="bold")
        head.append(printable(message.to))
        head.append(f"   {message.at.astimezone(UTC):%Y-%m-%d %H:%M} UTC", style="dim")
        subject = Text()
        subject.append("Subject: ", style="bold")
        subject.append(printable(message.subject))
        body = Text()
        for number, line in enumerate(message.body.strip("\n").splitlines()):
            if number:
                body.append("\n")
            # The mail sets the code apart on an indented line: make it easy to find.
            code_line = line.startswith("    ") and line.strip() and " " not in line.strip()
            body.append(printable(line), style="bold reverse" if code_line else "")
        parts.extend((head, subject, Text(), body))
    return Group(*parts)


class OutboxPanel(Static):
    DEFAULT_CSS = """
    OutboxPanel {
        height: auto;
        padding: 0 1;
    }
    """

    def show(self, messages: Sequence[OutboxMessage]) -> None:
        self.update(render_outbox(messages))
