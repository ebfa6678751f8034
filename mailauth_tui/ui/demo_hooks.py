"""What the console needs from demo mode, as Protocols: the demo package implements them
structurally (a frozen dataclass satisfies ``OutboxMessage``), so neither imports the other."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from mailauth_tui.core.results import PublishRecord


class OutboxMessage(Protocol):
    """One mail the demo "sent": it sits in the demo Maildir, and the user reads it on screen."""

    @property
    def at(self) -> datetime: ...

    @property
    def to(self) -> str: ...

    @property
    def subject(self) -> str: ...

    @property
    def body(self) -> str: ...


class DemoHooks(Protocol):
    def publish(self, records: Sequence[PublishRecord]) -> None:
        """Stand in for the DNS provider: put these records into the demo zone."""
        ...

    def outbox(self) -> Sequence[OutboxMessage]:
        """The demo Maildir's messages, newest first."""
        ...
