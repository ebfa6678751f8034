"""Messages that DNS workers post to the domain screen, one per answer, so that the table
changes in place while other work goes on."""

from __future__ import annotations

from textual.message import Message

from mailauth_tui.registry.models import DomainRow, VerifyOutcome


class DomainChecked(Message):
    """A verify or re-check of one domain came back."""

    def __init__(self, outcome: VerifyOutcome, *, manual: bool) -> None:
        super().__init__()
        self.outcome = outcome
        self.manual = manual  # the user asked for it (show the result), not the timer


class DomainCheckFailed(Message):
    """A check of one domain was refused or failed; ``message`` is for the user."""

    def __init__(self, domain: str, message: str) -> None:
        super().__init__()
        self.domain = domain
        self.message = message


class DomainChanged(Message):
    """A domain's row changed (code entered, key rotated, ...): redraw it."""

    def __init__(self, row: DomainRow) -> None:
        super().__init__()
        self.row = row


class RecheckProgress(Message):
    """A bulk re-check moved on: ``done`` of ``total`` domains answered."""

    def __init__(self, done: int, total: int) -> None:
        super().__init__()
        self.done = done
        self.total = total


class RecheckFinished(Message):
    """The bulk re-check ended: ``failure`` says why it stopped early (None: it is done)."""

    def __init__(self, failure: str | None) -> None:
        super().__init__()
        self.failure = failure
