"""The one error type raised by the record parsers."""

from __future__ import annotations


class RecordSyntaxError(ValueError):
    """A record that cannot be parsed. ``pos`` is the 0-based offset of the problem."""

    def __init__(self, pos: int, message: str, code: str = "syntax") -> None:
        super().__init__(f"at position {pos}: {message}")
        self.pos = pos
        self.message = message
        self.code = code


class InvalidDomainError(ValueError):
    """A domain name given by a user that is not a valid host name."""
