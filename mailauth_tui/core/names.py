"""Domain names given by users: validation and the ASCII / Unicode forms (IDNA 2008, UTS 46)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import idna

from mailauth_tui.core.errors import InvalidDomainError

_LABEL_TEXT = r"(?!-)[a-z0-9_-]{1,63}(?<!-)"
_LABEL = re.compile(rf"^{_LABEL_TEXT}$")
# Two or more valid labels: the whole name checked by one match (the labels one by one only
# to name the bad one).
_LABELS = re.compile(rf"(?:{_LABEL_TEXT}\.)+{_LABEL_TEXT}")
# ASCII letters, digits, '-', '_' and dots only: what the fast path of normalize_domain takes.
_PLAIN = re.compile(r"[A-Za-z0-9_.-]+")


@dataclass(frozen=True, slots=True)
class DomainName:
    ascii: str  # lower case punycode, no trailing dot: what is asked in DNS
    unicode: str  # what is shown

    def __str__(self) -> str:
        return self.ascii

    @property
    def display(self) -> str:
        """Both forms when they differ: ``bücher.example (xn--bcher-kva.example)``."""
        if self.unicode == self.ascii:
            return self.ascii
        return f"{self.unicode} ({self.ascii})"


def normalize_domain(text: str) -> DomainName:
    """Validate a user-given domain and return both forms; raise InvalidDomainError."""
    name = text.strip().rstrip(".")
    if not name:
        raise InvalidDomainError("the domain name is empty")
    if len(name) > 253 * 4:
        raise InvalidDomainError("the domain name is too long")
    if _PLAIN.fullmatch(name) and "xn--" not in name.lower():
        # The common case: an ASCII host name with no punycode label. IDNA would only lower
        # its case (or refuse it and fall back to exactly that), and decoding gives it back
        # unchanged, so both forms are the lower-case name; the labels are still checked.
        ascii_name = name.lower()
        _check_labels(name, ascii_name)
        return DomainName(ascii=ascii_name, unicode=ascii_name)
    return _via_idna(name)


def _via_idna(name: str) -> DomainName:
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in name) or " " in name:
        raise InvalidDomainError(f"{name!r} contains spaces or control characters")
    try:
        ascii_name = idna.encode(name, uts46=True, transitional=False).decode("ascii").lower()
    except (idna.IDNAError, UnicodeError) as exc:
        # Underscore labels (_dmarc, selector._domainkey) are valid DNS but not IDNA: try plain.
        if name.isascii():
            ascii_name = name.lower()
        else:
            raise InvalidDomainError(f"{name!r} is not a valid domain name: {exc}") from None
    _check_labels(name, ascii_name)
    try:
        unicode_name = idna.decode(ascii_name)
    except (idna.IDNAError, UnicodeError):
        unicode_name = ascii_name
    return DomainName(ascii=ascii_name, unicode=unicode_name)


def _check_labels(name: str, ascii_name: str) -> None:
    if len(ascii_name) > 253:
        raise InvalidDomainError(f"{name!r} is longer than 253 characters")
    if _LABELS.fullmatch(ascii_name) is not None:
        if ascii_name.rpartition(".")[2].isdigit():
            raise InvalidDomainError(f"{name!r} looks like an IP address, not a domain")
        return
    labels = ascii_name.split(".")
    if len(labels) < 2:
        raise InvalidDomainError(f"{name!r} has no dot: give a full domain such as example.com")
    for label in labels:
        if not _LABEL.match(label):
            raise InvalidDomainError(f"{name!r} has an invalid label {label!r}")
    if labels[-1].isdigit():
        raise InvalidDomainError(f"{name!r} looks like an IP address, not a domain")


def to_unicode(ascii_name: str) -> str:
    """The Unicode form of a name for display; the input when it does not decode."""
    try:
        return idna.decode(ascii_name)
    except (idna.IDNAError, UnicodeError):
        return ascii_name
