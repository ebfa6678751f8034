"""SPF macro strings (RFC 7208 section 7): syntax and expansion.

A macro string is parsed once into literal pieces and :class:`Macro` pieces (the parse is
cached: the same include targets appear in thousands of records), then expanded against a
:class:`MacroContext` holding the values of one check_host() call.
"""

from __future__ import annotations

import ipaddress
import re
import time
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import quote

from mailauth_tui.core.errors import RecordSyntaxError

# RFC 7208 7.2: c, r and t are only meaningful in explanation text, never in a domain-spec.
DOMAIN_LETTERS = frozenset("slodipvh")
ALL_LETTERS = DOMAIN_LETTERS | frozenset("crt")
_DELIMITERS = frozenset(".-+,/_=")
# RFC 7208 7.3 asks implementations to support at least 128 parts; more digits than this
# cannot select fewer parts than a domain name has, and int() of a huge digit run is costly.
_MAX_KEEP_DIGITS = 3


@dataclass(frozen=True, slots=True)
class Macro:
    """One ``%{...}`` expansion: letter, right-hand parts kept (0 = all), reversal,
    delimiters to split on (empty = "."), and whether the result is URL-escaped (upper case)."""

    letter: str
    keep: int = 0
    reverse: bool = False
    delimiters: str = ""
    escape: bool = False


Piece = str | Macro


@dataclass(frozen=True, slots=True)
class MacroString:
    pieces: tuple[Piece, ...]
    ends_with_macro: bool  # domain-end may be a macro-expand instead of "." toplabel
    # Worked out once from the pieces (the walk asks for them at every include it follows):
    # the text when it holds no ``%{...}`` macro (escapes already resolved), else None; and
    # the macro letters used.
    literal: str | None = field(init=False)
    letters: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        plain = all(isinstance(p, str) for p in self.pieces)
        text = "".join(p for p in self.pieces if isinstance(p, str)) if plain else None
        object.__setattr__(self, "literal", text)
        letters = frozenset(p.letter for p in self.pieces if isinstance(p, Macro))
        object.__setattr__(self, "letters", letters)


def _bad(pos: int, message: str) -> RecordSyntaxError:
    return RecordSyntaxError(pos, message, "spf.bad_macro")


@lru_cache(maxsize=8192)
def parse_macro_string(text: str, *, exp: bool = False) -> MacroString:
    """Parse a macro-string; raise RecordSyntaxError with the offset of the fault in ``text``.

    ``exp`` allows the letters c, r and t, which RFC 7208 7.2 keeps for explanation text, and
    spaces (explain-string = *( macro-string / SP )).
    """
    # macro-literal is %x21-24 / %x26-7E: visible ASCII (explanation text may hold spaces too).
    # One C-level test covers the common case.
    if not (text.isascii() and text.isprintable()) or (" " in text and not exp):
        low = " " if exp else "!"
        at = next(i for i, c in enumerate(text) if not (low <= c <= "~"))
        raise RecordSyntaxError(
            at, f"character {text[at]!r} is not allowed in a domain or macro string", "spf.bad_char"
        )
    letters = ALL_LETTERS if exp else DOMAIN_LETTERS
    pieces: list[Piece] = []
    start = 0
    ends_with_macro = False
    n = len(text)
    while True:
        j = text.find("%", start)
        if j < 0:
            if start < n:
                pieces.append(text[start:])
                ends_with_macro = False
            break
        if j > start:
            pieces.append(text[start:j])
        nxt = text[j + 1] if j + 1 < n else ""
        if nxt == "%":
            pieces.append("%")
            start = j + 2
        elif nxt == "_":
            pieces.append(" ")
            start = j + 2
        elif nxt == "-":
            pieces.append("%20")
            start = j + 2
        elif nxt == "{":
            macro, start = _parse_expand(text, j, letters, exp)
            pieces.append(macro)
        else:
            raise _bad(j, f"'%' at {text[j : j + 3]!r} must be followed by '{{', '%', '_' or '-'")
        ends_with_macro = True
    return MacroString(tuple(_merge_literals(pieces)), ends_with_macro)


def _parse_expand(text: str, j: int, letters: frozenset[str], exp: bool) -> tuple[Macro, int]:
    """Parse ``%{letter digits r delimiters}`` starting at ``text[j] == '%'``."""
    n = len(text)
    k = j + 2
    if k >= n:
        raise _bad(j, "unterminated macro '%{'")
    raw = text[k]
    letter = raw.lower()
    if letter not in letters:
        if letter in ALL_LETTERS and not exp:
            raise _bad(j, f"macro %{{{raw}}} is only allowed in explanation text")
        raise _bad(j, f"unknown macro letter {raw!r} in {text[j : k + 2]!r}")
    k += 1
    d = k
    while k < n and text[k].isdigit():
        k += 1
    digits = text[d:k]
    keep = 0
    if digits:
        if digits.strip("0") == "":
            raise _bad(j, f"macro {text[j : k + 1]!r} keeps zero parts")
        keep = 10**_MAX_KEEP_DIGITS if len(digits) > _MAX_KEEP_DIGITS else int(digits)
    reverse = False
    if k < n and text[k] in "rR":
        reverse = True
        k += 1
    d = k
    while k < n and text[k] in _DELIMITERS:
        k += 1
    delimiters = text[d:k]
    if k >= n or text[k] != "}":
        raise _bad(j, f"malformed macro {text[j : k + 1]!r}: expected '}}'")
    macro = Macro(letter, keep, reverse, "".join(dict.fromkeys(delimiters)), raw.isupper())
    return macro, k + 1


def _merge_literals(pieces: list[Piece]) -> list[Piece]:
    out: list[Piece] = []
    for p in pieces:
        if isinstance(p, str) and out and isinstance(out[-1], str):
            out[-1] = out[-1] + p
        else:
            out.append(p)
    return out


def _ip_values(ip: str) -> tuple[str, str, str]:
    """(%{i}, %{v}, %{c}) for an address; an IPv4-mapped IPv6 address counts as IPv4."""
    addr = ipaddress.ip_address(ip)
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    if isinstance(addr, ipaddress.IPv4Address):
        return str(addr), "in-addr", str(addr)
    nibbles = addr.exploded.replace(":", "")
    return ".".join(nibbles), "ip6", str(addr)


@dataclass(frozen=True, slots=True)
class MacroContext:
    """The values one check_host() call expands macros with (RFC 7208 7.3)."""

    sender: str
    domain: str
    ip: str = ""
    helo: str = "unknown"
    validated: str = "unknown"  # %{p}: the validated reverse name of ip
    receiver: str = "unknown"
    timestamp: int | None = None
    _ip: tuple[str, str, str] = field(default=("", "", ""), compare=False, repr=False)

    @classmethod
    def build(
        cls,
        *,
        sender: str,
        domain: str,
        ip: str = "",
        helo: str = "unknown",
        validated: str = "unknown",
        receiver: str = "unknown",
        timestamp: int | None = None,
    ) -> MacroContext:
        """Raises ValueError when ``ip`` is given but is not an IP address."""
        ipvals = _ip_values(ip) if ip else ("", "", "")
        return cls(sender, domain, ip, helo, validated, receiver, timestamp, ipvals)

    def value(self, letter: str) -> str:
        if letter == "d":
            return self.domain
        if letter in "slo":
            local, at, dom = self.sender.rpartition("@")
            if not at:
                local, dom = "", self.sender
            if letter == "s":
                return f"{local or 'postmaster'}@{dom}"
            if letter == "l":
                return local or "postmaster"
            return dom
        if letter == "i":
            return self._ip[0]
        if letter == "v":
            return self._ip[1]
        if letter == "c":
            return self._ip[2]
        if letter == "h":
            return self.helo
        if letter == "p":
            return self.validated
        if letter == "r":
            return self.receiver
        # "t": explanation text only; the clock is read only when one is expanded.
        return str(self.timestamp if self.timestamp is not None else int(time.time()))


def _transform(value: str, m: Macro) -> str:
    if m.keep or m.reverse or m.delimiters:
        delims = m.delimiters or "."
        if len(delims) == 1:
            parts = value.split(delims)
        else:
            parts = re.split("[" + re.escape(delims) + "]", value)
        if m.reverse:
            parts.reverse()
        if m.keep and m.keep < len(parts):
            parts = parts[-m.keep :]
        value = ".".join(parts)
    if m.escape:
        # RFC 7208 7.3: upper-case macros are URL-escaped (everything but unreserved characters).
        value = quote(value, safe="")
    return value


def expand(parsed: MacroString, ctx: MacroContext) -> str:
    """Expand a parsed macro string."""
    return "".join(
        p if isinstance(p, str) else _transform(ctx.value(p.letter), p) for p in parsed.pieces
    )


def expand_macros(
    spec: str,
    *,
    sender: str,
    domain: str,
    ip: str,
    helo: str = "unknown",
    validated: str = "unknown",
    receiver: str = "unknown",
    timestamp: int | None = None,
    exp: bool = False,
) -> str:
    """Expand an SPF macro string (RFC 7208 section 7).

    ``sender`` is the MAIL FROM address (``postmaster`` stands in for an empty local part),
    ``domain`` the domain being checked, ``ip`` the client address. ``exp`` allows the
    explanation-only letters c, r and t. Raises RecordSyntaxError for a malformed macro and
    ValueError when ``ip`` is not an IP address.
    """
    ctx = MacroContext.build(
        sender=sender,
        domain=domain,
        ip=ip,
        helo=helo,
        validated=validated,
        receiver=receiver,
        timestamp=timestamp,
    )
    return expand(parse_macro_string(spec, exp=exp), ctx)
