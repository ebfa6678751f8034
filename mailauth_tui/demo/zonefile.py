"""Zone-file-like text read into records: ``owner [TTL] [IN] TYPE value``.

Supports ``$ORIGIN``, ``$TTL``, ``@``, relative owners (with an origin), a blank owner (the
previous one; common indentation is removed first), ``;`` comments, ``( ... )`` across lines
and quoted strings with ``\\"`` / ``\\DDD`` escapes. Without an origin every name is taken as
absolute. The loopback :class:`~mailauth_tui.demo.zone.Zone` loads it; nothing here serves.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from mailauth_tui.services.dns import ascii_query_name

__all__ = ["SUPPORTED", "host_name", "read_zone_text", "record_type"]

SUPPORTED = ("A", "AAAA", "MX", "TXT", "CNAME", "PTR", "NS", "SOA")


def host_name(name: str) -> str:
    """``name`` (Unicode or ASCII, trailing dot or not) as the zone keys it."""
    return ascii_query_name(name).removesuffix(".") or "."


def record_type(rtype: str) -> str:
    name = str(rtype).upper()
    if name not in SUPPORTED:
        raise ValueError(f"record type {rtype!r} is not served (one of {', '.join(SUPPORTED)})")
    return name


def read_zone_text(
    text: str, origin: str | None = None, default_ttl: int = 300
) -> Iterator[tuple[str, str, Any, int]]:
    """(owner, type, value, TTL) for each record of ``text``; values as ``Zone.add`` takes
    them. Raises ValueError naming the line of a record it cannot read."""
    owner: str | None = None
    # Dedent first: fixtures write zone text inside indented triple-quoted strings.
    for lineno, (indented, tokens) in enumerate(_logical_lines(textwrap.dedent(text)), 1):
        head = tokens[0]
        if head.text.upper() == "$ORIGIN" and not head.quoted:
            origin = host_name(tokens[1].text) if len(tokens) > 1 else None
            continue
        if head.text.upper() == "$TTL" and not head.quoted:
            default_ttl = int(tokens[1].text)
            continue
        rest = tokens
        if not indented:
            owner = _absolute(head.text, origin)
            rest = tokens[1:]
        if owner is None:
            raise ValueError(f"zone text line {lineno}: no owner name")
        record_ttl = default_ttl
        while rest and not rest[0].quoted:
            word = rest[0].text.upper()
            if word.isdigit():
                record_ttl = int(word)
            elif word == "IN":
                pass
            else:
                break
            rest = rest[1:]
        if not rest:
            raise ValueError(f"zone text line {lineno}: no record type")
        rtype = record_type(rest[0].text)
        values = rest[1:]
        if rtype == "TXT":
            # One string is split at 255 bytes like add() does; several are kept as written.
            strings = [v.text for v in values]
            yield owner, rtype, strings[0] if len(strings) == 1 else strings, record_ttl
        elif rtype in ("CNAME", "PTR", "NS") and values:
            yield owner, rtype, _absolute(values[0].text, origin), record_ttl
        elif rtype == "MX" and len(values) == 2:
            target = _absolute(values[1].text, origin)
            yield owner, rtype, (int(values[0].text), target), record_ttl
        else:
            yield owner, rtype, " ".join(v.text for v in values), record_ttl


def _absolute(name: str, origin: str | None) -> str:
    if name == "@":
        if origin is None:
            raise ValueError("'@' used with no $ORIGIN")
        return origin
    if name.endswith(".") or origin is None:
        return host_name(name)
    return host_name(f"{name}.{origin}")


@dataclass(frozen=True, slots=True)
class _Token:
    text: str
    quoted: bool


_TOKEN = re.compile(r'\s*(?:"((?:[^"\\]|\\.)*)"|([()])|(;.*)|([^\s"();]+))', re.DOTALL)
_ESCAPE = re.compile(r"\\(\d{3}|.)", re.DOTALL)


def _unescape(text: str) -> str:
    return _ESCAPE.sub(lambda m: chr(int(m[1])) if m[1].isdigit() else m[1], text)


def _logical_lines(text: str) -> Iterator[tuple[bool, list[_Token]]]:
    """(owner omitted?, tokens) for each record, joining ``( ... )`` spans across lines."""
    tokens: list[_Token] = []
    depth = 0
    indented = False
    for line in text.splitlines():
        if depth == 0:
            indented = line[:1].isspace()
        pos = 0
        while pos < len(line):
            m = _TOKEN.match(line, pos)
            if m is None or m.end() == pos:
                if line[pos:].strip():
                    raise ValueError(f"zone text: cannot read {line[pos:]!r}")
                break
            pos = m.end()
            quoted, paren, comment, word = m.groups()
            if comment is not None:
                break
            if paren == "(":
                depth += 1
            elif paren == ")":
                depth = max(0, depth - 1)
            elif quoted is not None:
                tokens.append(_Token(_unescape(quoted), True))
            elif word is not None:
                tokens.append(_Token(word, False))
        if depth == 0 and tokens:
            yield indented, tokens
            tokens = []
    if tokens:
        yield indented, tokens
