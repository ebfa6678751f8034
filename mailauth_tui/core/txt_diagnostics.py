"""Mistakes made while publishing a TXT record, common to SPF, DKIM, DMARC and BIMI.

Each check names the mistake (stable code), says what the receiver sees, and gives the value or
host name to enter instead. They look at the text as published; none of them parses a record.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterable
from itertools import pairwise

from mailauth_tui.core.dns_types import Resolver, RType
from mailauth_tui.core.results import (
    Problem,
    Severity,
)

_KIND_LABEL = {"spf": "SPF", "dkim": "DKIM", "dmarc": "DMARC", "bimi": "BIMI"}

# Tags a record of each tag=value kind may start a term with: a string boundary followed by one
# of these, with no ";" in between, is a lost separator. Other names are too likely to be the
# inside of a base64 key split at 255 bytes.
_KNOWN_TAGS = {
    "dkim": frozenset({"v", "g", "h", "k", "n", "p", "s", "t"}),
    "dmarc": frozenset(
        {"v", "p", "sp", "np", "psd", "t", "pct", "rua", "ruf", "adkim", "aspf", "fo", "rf", "ri"}
    ),
    "bimi": frozenset({"v", "l", "a", "avp", "s"}),
}
# A tag start whose value begins with something other than "=": base64 padding ("k==") is not.
_TAG_START = re.compile(r"[ \t]*([A-Za-z][A-Za-z0-9_]*)[ \t]*=[ \t]*[^=;\s]")
_SPF_TERM = re.compile(
    r"[+\-~?]?(?:all|include|a|mx|ptr|exists|ip4|ip6|redirect|exp)(?=[:=/\s]|$)",
    re.IGNORECASE,
)

_HEX_TAIL = re.compile(r"[0-9A-Fa-f:.]*(?:/[0-9]{1,3})?$")
_QUOTED_SEQUENCE = re.compile(r'\s*"[^"]*"(?:\s*"[^"]*")*\s*')
_QUOTED_PART = re.compile(r'"([^"]*)"')
_SHOW = 24  # characters of context shown on each side of a glued boundary


def _label(kind: str) -> str:
    return _KIND_LABEL.get(kind, kind.upper())


def without_quotes(value: str) -> str:
    """The value a provider meant to store when it kept the zone-file quotes.

    ``"v=DKIM1; k=rsa; " "p=MIIB..."`` (strings pasted with their quotes) becomes the strings'
    contents joined, as DNS would have joined them; any other stray quote is dropped.
    """
    if _QUOTED_SEQUENCE.fullmatch(value):
        return "".join(_QUOTED_PART.findall(value))
    return value.replace('"', "")


def repaired_value(value: str) -> str:
    """The value with literal quotes and zone-file ``\\;`` escapes undone."""
    if '"' in value:
        value = without_quotes(value)
    return value.replace("\\;", ";")


def literal_quotes(value: str, kind: str = "") -> Problem | None:
    """A value holding ``"`` characters: the quotes of a zone file stored as text."""
    if '"' not in value:
        return None
    what = f"{_label(kind)} record" if kind else "record"
    return Problem(
        code="txt.literal_quotes",
        severity=Severity.ERROR,
        message=(
            f'the {what} contains quote characters ("): the DNS provider stored the quotes as '
            "part of the text, so receivers do not recognise the record"
        ),
        fix=f"edit the record and enter the value without quotes: {without_quotes(value)}",
    )


def escaped_semicolons(value: str, kind: str = "") -> Problem | None:
    """A value holding ``\\;``: zone-file escaping pasted into a web form."""
    if "\\;" not in value:
        return None
    what = f"{_label(kind)} record" if kind else "record"
    return Problem(
        code="txt.escaped_semicolon",
        severity=Severity.ERROR,
        message=(
            f"the {what} contains '\\;': the backslash is zone-file escaping and was stored "
            "literally, which breaks the tag list"
        ),
        fix=f"edit the record and replace every '\\;' by ';': {value.replace(chr(92) + ';', ';')}",
    )


def entry_problems(text: str, chunks: tuple[str, ...], kind: str) -> list[Problem]:
    """How a tag-value record (DKIM, DMARC, BIMI) was entered wrongly: literal quotes, ``\\;``
    escapes, strings glued without their separator. Each test is skipped when the text cannot
    show it, which is nearly always."""
    problems: list[Problem] = []
    if '"' in text:
        quoted = literal_quotes(text, kind)
        if quoted is not None:
            problems.append(quoted)
    if "\\;" in text:
        escaped = escaped_semicolons(text, kind)
        if escaped is not None:
            problems.append(escaped)
    if len(chunks) > 1:
        glued = glued_chunks(chunks, kind)
        if glued is not None:
            problems.append(glued)
    return problems


def _glued_boundary(left: str, right: str, kind: str) -> bool:
    if not left.strip() or not right.strip():
        return False
    if kind == "spf":
        if left[-1].isspace() or right[0].isspace() or left[-1] in ":=./":
            return False
        # An IPv6 address cut inside its hex digits ("ip6:2001:db8::1" + "a/64") is one term.
        if left.split()[-1].lower().startswith("ip6:") and _HEX_TAIL.match(right.split()[0]):
            return False
        return _SPF_TERM.match(right) is not None
    known = _KNOWN_TAGS.get(kind)
    if known is None:
        return False
    if left.rstrip().endswith(";") or right.lstrip().startswith(";"):
        return False
    match = _TAG_START.match(right)
    return match is not None and match.group(1).lower() in known


def glued_chunks(chunks: tuple[str, ...], kind: str) -> Problem | None:
    """A record split into several strings where one boundary lost its separator.

    DNS joins the strings of a TXT record with nothing in between (RFC 7208 3.3, RFC 6376
    3.6.2.2), so ``"v=spf1 include:a.example" "include:b.example -all"`` reads
    ``...a.exampleinclude:b.example``. ``kind`` is spf, dkim, dmarc or bimi.
    """
    if len(chunks) < 2:
        return None
    glued = [i for i in range(len(chunks) - 1) if _glued_boundary(chunks[i], chunks[i + 1], kind)]
    if not glued:
        return None
    i = glued[0]
    left, right = chunks[i], chunks[i + 1]
    joined = left[-_SHOW:] + right[:_SHOW]
    separator = "a space" if kind == "spf" else "';'"
    more = f" ({len(glued)} boundaries are affected)" if len(glued) > 1 else ""
    return Problem(
        code="txt.glued_terms",
        severity=Severity.ERROR,
        message=(
            f"the {_label(kind)} record is published as {len(chunks)} strings; string {i + 1} "
            f"ends {left[-_SHOW:]!r} and string {i + 2} starts {right[:_SHOW]!r}, and DNS joins "
            f"them with nothing in between, so receivers read {joined!r}{more}"
        ),
        fix=(
            f"add {separator} at the end of string {i + 1} (or enter the whole value as one "
            "string and let the DNS provider split it)"
        ),
    )


def reglued(chunks: tuple[str, ...], kind: str) -> str:
    """The value the strings were meant to make: joined, with the lost separator (a space for
    SPF, ``;`` for tag=value records) put back at every glued boundary."""
    separator = " " if kind == "spf" else "; "
    out = chunks[0] if chunks else ""
    for left, right in pairwise(chunks):
        out += (separator if _glued_boundary(left, right, kind) else "") + right
    return out


def zone_doubled_name(name: str, domain: str) -> str:
    """``<name>.<domain>``: where a record lands when the provider appends the zone again."""
    return f"{name.strip().rstrip('.').lower()}.{domain.strip().strip('.').lower()}"


def relative_host(name: str, zone: str) -> str:
    """The host to type into a provider's form for ``name`` in ``zone`` (``@`` for the apex)."""
    name = name.rstrip(".").lower()
    zone = zone.rstrip(".").lower()
    if name == zone:
        return "@"
    if name.endswith("." + zone):
        return name[: -len(zone) - 1]
    return name


def zone_doubled_problem(prefix: str, host: str, doubled: str, zone: str) -> Problem:
    """The ``<prefix>.zone_doubled`` error for a record found at ``doubled`` instead of ``host``."""
    relative = relative_host(host, zone)
    return Problem(
        code=f"{prefix}.zone_doubled",
        severity=Severity.ERROR,
        message=(
            f"there is no record at {host}, but there is one at {doubled}: the host was entered "
            f"as a full name and the DNS provider appended the zone {zone} to it"
        ),
        fix=(
            f"your DNS provider appends the zone: enter the host as `{relative}` only "
            f"(and delete the record at {doubled})"
        ),
    )


async def find_zone_doubled(
    resolver: Resolver,
    host: str,
    zones: Iterable[str],
    is_record: Callable[[str], bool],
) -> tuple[str, str] | None:
    """Ask ``<host>.<zone>`` for each candidate zone; return ``(doubled name, zone)`` of the
    first one holding a TXT value that ``is_record`` accepts."""
    names = [(zone_doubled_name(host, zone), zone) for zone in dict.fromkeys(zones)]
    if len(names) == 1:  # an organisational domain itself: no task for a single question
        answers = [await resolver.query(names[0][0], RType.TXT)]
    else:
        answers = await asyncio.gather(*(resolver.query(n, RType.TXT) for n, _ in names))
    for (doubled, zone), answer in zip(names, answers, strict=True):
        if any(is_record(text) for text in answer.records):
            return doubled, zone
    return None
