"""The DMARC policy record (RFC 7489 6.3, RFC 9989 4.7-4.8): what receivers take as a record,
the tag values they accept, and the corrected form of a broken record.

Receivers read a record leniently, and so does :func:`parse_dmarc`:

- A TXT value is a DMARC record only if it starts with exactly ``v=DMARC1`` (RFC 7489 6.6.3
  step 3, RFC 9989 4.10): anything else, even ``p=none; v=DMARC1``, is discarded.
- "Syntax errors in the remainder of the record MUST be discarded in favor of default values
  (if any) or ignored outright" (RFC 9989 4.8; RFC 7489 6.3 said SHOULD). A bad value
  (``pct=150``, ``adkim=x``, ``rua=dmarc@example.com``) is ignored and the tag's default
  applies; the parser records it in ``DmarcRecord.ignored`` with the value to write instead.
- ``p`` missing or invalid: RFC 9989 receivers act as if ``p=none`` was published. That the
  missing ``p`` is ``none`` comes from RFC 9989 as checkdmarc 5.16 (its changelog: "treat a
  DMARC p tag as p=none, instead of requiring it") and the RFC 9989 audit of Mnexa-AI/e2a
  issue 608 ("Treat an otherwise valid DMARC record without p= as p=none", sections 4.7, 4.8,
  4.10.1) read it; RFC 7489 6.6.3 step 6 did the same only when rua= held a valid URI, and
  applied no DMARC otherwise, which the diagnostics say.
- ``pct`` is RFC 7489 only: RFC 9989 removed it in favour of ``t=`` (draft-ietf-dmarc-dmarcbis
  -41 "retires pct", emailexpert.com; checkdmarc 5.16; postalsys/mailauth 7.0 "pct, which is
  historic in RFC 9989"). It is still validated, as RFC 7489 receivers still apply it.
- A tag given twice makes the whole tag list invalid (RFC 6376 3.2, whose tag-value syntax
  DMARC records use, RFC 7489 6.4): that alone raises, besides a value that is not a record.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from mailauth_tui.core.errors import RecordSyntaxError
from mailauth_tui.core.txt_diagnostics import repaired_value

POLICIES = ("none", "quarantine", "reject")
KNOWN_TAGS = frozenset(
    {"v", "p", "sp", "np", "psd", "t", "pct", "rua", "ruf", "adkim", "aspf", "fo", "rf", "ri"}
)
_WS = " \t\r\n"
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
_HOST = re.compile(
    r"(?=.{1,253}$)(?:[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9-]{2,63}"
)
_SIZE = re.compile(r"[0-9]+[kmgtKMGT]?")
# RFC 7489 6.4 / RFC 9989 4.8: "v" *WSP "=" *WSP "DMARC1" (the value is case-sensitive), then
# the separator or the end.
# Nothing before it, white space included (RFC 7489 6.6.3 step 3, RFC 9989 4.10).
_STARTS_DMARC1 = re.compile(r"[vV][ \t]*=[ \t]*DMARC1[ \t\r\n]*(?:;|$)")
# The version tag after something else in the first tag: white space, or a word typed before
# it ("dmarc v=DMARC1; ..."). Group 1 is what comes before.
_BEFORE_VERSION = re.compile(
    r"([^;]*?[ \t\r\n])[vV][ \t]*=[ \t]*DMARC1[ \t\r\n]*(?:;|$)|([ \t\r\n]+)[vV]"
)
# A value meant as DMARC: a v=DMARC... tag anywhere (first or not, any case, any version),
# also after a word and a space.
_DMARC_VERSION_TAG = re.compile(r"(?:^|[; \t\r\n])[ \t\r\n]*v[ \t]*=[ \t]*dmarc", re.IGNORECASE)
# The version tag of a look-alike with what it swallowed: "v=DMARC1 p=none", "v=dmarc1p=none";
# a word typed before it and its space are dropped ("dmarc v=DMARC1").
_VERSION_SEGMENT = re.compile(
    r"(?:[^=]*?[ \t])?[ \t]*v[ \t]*=[ \t]*dmarc[0-9.]*(.*)", re.IGNORECASE | re.DOTALL
)
_TAG = re.compile(r"([A-Za-z][A-Za-z0-9_]*)[ \t\r\n]*=[ \t\r\n]*(.*)", re.DOTALL)
# Anything that is neither a tag value character (%x21-3A / %x3C-7E) nor white space.
_BAD_VALUE_CHAR = re.compile(r"[^\x21-\x3a\x3c-\x7e \t\r\n]")
_MAX_RI = 2**32 - 1


@dataclass(frozen=True, slots=True)
class ReportUri:
    """One rua= / ruf= destination. ``domain`` is set for mailto: URIs."""

    uri: str
    scheme: str
    address: str | None = None
    domain: str | None = None
    max_size: str | None = None  # the RFC 7489 "!size" suffix (ignored by RFC 9989 reporters)


@dataclass(frozen=True, slots=True)
class IgnoredTag:
    """A tag receivers discard (RFC 9989 4.8) and what to publish instead.

    ``name`` is lower case ("" for a fragment that is not ``name=value`` at all); ``text`` is
    the tag as published; ``default`` says in words what receivers use instead; ``replacement``
    is the corrected tag, None when the tag should simply be removed."""

    name: str
    text: str
    pos: int
    reason: str
    default: str
    replacement: str | None = None


@dataclass(frozen=True, slots=True)
class DmarcRecord:
    policy: str  # p=; "none" when p= is absent or invalid (RFC 9989)
    policy_explicit: bool = True  # p= present with a valid value
    subdomain_policy: str | None = None  # sp=
    nonexistent_policy: str | None = None  # np= (RFC 9091, RFC 9989)
    psd: str = "u"  # y | n | u (RFC 9989)
    testing: bool = False  # t=y (RFC 9989)
    pct: int | None = None  # RFC 7489 only; None when absent or invalid (= 100)
    rua: tuple[ReportUri, ...] = ()
    ruf: tuple[ReportUri, ...] = ()
    adkim: str = "r"
    aspf: str = "r"
    fo: tuple[str, ...] = ("0",)
    rf: tuple[str, ...] = ("afrf",)
    ri: int | None = None
    unknown_tags: tuple[str, ...] = ()
    ignored: tuple[IgnoredTag, ...] = ()  # tags whose value receivers discard
    corrected: str = ""  # the record with every ignored tag replaced or removed


class _Bad(Exception):
    """A tag value receivers discard: why, the tag to write instead (None: remove it), and
    what receivers still use of it (a URI list keeps its usable entries)."""

    def __init__(self, reason: str, replacement: str | None = None, partial: object = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.replacement = replacement
        self.partial = partial


def starts_with_dmarc1(text: str) -> bool:
    """Whether receivers take the TXT value as a DMARC record at all (its first tag is
    exactly ``v=DMARC1``); they discard anything else."""
    return _STARTS_DMARC1.match(text) is not None


def text_before_version(text: str) -> str | None:
    """What stands before ``v=DMARC1`` in the first tag (white space, or a word and a space),
    which makes receivers discard the record; None when nothing does."""
    match = _BEFORE_VERSION.match(text)
    if match is None:
        return None
    return match.group(1) if match.group(1) is not None else match.group(2)


def looks_like_dmarc(text: str) -> bool:
    """Whether a TXT value is meant as a DMARC record, even one receivers discard (quotes,
    ``\\;``, ``v=`` not first, ``v=dmarc1``, a missing separator)."""
    return _DMARC_VERSION_TAG.search(repaired_value(text)) is not None


def _closest(value: str, allowed: tuple[str, ...]) -> str | None:
    low = value.lower()
    match = difflib.get_close_matches(low, allowed, n=1, cutoff=0.6)
    if match:
        return match[0]
    starts = [a for a in allowed if low and a.startswith(low[0])]
    return starts[0] if len(starts) == 1 else None


def _choice(
    allowed: tuple[str, ...], what: str, fallback: str | None = None, *, guess: bool = True
) -> Callable[[str, str], str]:
    """A keyword tag. ``guess``: suggest the nearest keyword (not for psd=, where a wrong
    guess of y would split the organisation)."""

    def check(name: str, value: str) -> str:
        low = value.lower()
        if low in allowed:
            return low
        near = (_closest(value, allowed) if guess else None) or fallback
        raise _Bad(
            f"{name}= must be {' / '.join(allowed)} ({what})",
            f"{name}={near}" if near is not None else None,
        )

    return check


def _integer(low: int, high: int) -> Callable[[str, str], int]:
    def check(name: str, value: str) -> int:
        if value.isascii() and value.isdigit() and low <= int(value) <= high:
            return int(value)
        number = value.strip(_WS).rstrip("%").strip(_WS)  # "50%" is meant as 50
        near = None
        if number.isascii() and number.lstrip("+-").isdigit():
            near = min(max(int(number), low), high)
        raise _Bad(
            f"{name}= must be a whole number from {low} to {high}",
            f"{name}={near}" if near is not None else None,
        )

    return check


def _colon_list(allowed: tuple[str, ...]) -> Callable[[str, str], tuple[str, ...]]:
    def check(name: str, value: str) -> tuple[str, ...]:
        items = tuple(item.strip(_WS).lower() for item in value.split(":"))
        good = tuple(dict.fromkeys(i for i in items if i in allowed))
        if good == items:
            return items
        raise _Bad(
            f"{name}= takes a ':'-separated list of {', '.join(allowed)}",
            f"{name}={':'.join(good)}" if good else None,
        )

    return check


def _uri(uri: str) -> ReportUri:
    """One report URI; raise _Bad with the corrected URI (or None) when receivers would not
    use it."""
    scheme_match = _SCHEME.match(uri)
    if scheme_match is None:
        fixed = _usable(f"mailto:{uri}") if "@" in uri else None
        hint = f" (write {fixed})" if fixed else ""
        raise _Bad(f"{uri!r} is not a URI: it has no scheme{hint}", fixed)
    scheme = scheme_match.group(1).lower()
    if scheme != "mailto":
        return ReportUri(uri=uri, scheme=scheme)
    rest = uri[scheme_match.end() :]
    size: str | None = None
    if "!" in rest:
        rest, size = rest.split("!", 1)
        if not _SIZE.fullmatch(size):
            raise _Bad(
                f"{uri!r}: the size after '!' must be digits and k/m/g/t",
                _usable(uri[: scheme_match.end()] + rest),
            )
    address = rest.split("?", 1)[0]
    local, at, host = address.rpartition("@")
    if not at or not local or not _HOST.fullmatch(host):
        # A stray character at the end (the "\\" of a pasted "\\;", a quote) is the usual cause.
        cleaned = uri.rstrip("\\\"'.,")
        fixed = _usable(cleaned) if cleaned != uri else None
        raise _Bad(f"{uri!r} is not a valid mailto: address", fixed)
    return ReportUri(uri=uri, scheme="mailto", address=address, domain=host.lower(), max_size=size)


def _usable(uri: str) -> str | None:
    """``uri`` when receivers would use it, else None."""
    try:
        _uri(uri)
    except _Bad:
        return None
    return uri


def _uri_list(name: str, value: str) -> tuple[ReportUri, ...]:
    """The usable URIs; raise _Bad naming the others, with the list they leave (RFC 9989 4.8:
    what cannot be used is discarded)."""
    good: list[ReportUri] = []
    kept: list[str] = []
    bad: list[str] = []
    for raw in value.split(","):
        uri = raw.strip(_WS)
        if not uri:
            bad.append("an empty entry (an extra ',')")
            continue
        try:
            parsed = _uri(uri)
        except _Bad as exc:
            bad.append(exc.reason)
            if exc.replacement:
                kept.append(exc.replacement)
            continue
        good.append(parsed)
        kept.append(uri)
    if bad:
        raise _Bad("; ".join(bad), f"{name}={','.join(kept)}" if kept else None, tuple(good))
    return tuple(good)


_VALIDATORS: dict[str, Callable[[str, str], object]] = {
    "p": _choice(POLICIES, "the policy", "none"),
    "sp": _choice(POLICIES, "the subdomain policy"),
    "np": _choice(POLICIES, "the non-existent subdomain policy"),
    "psd": _choice(("y", "n", "u"), "public suffix domain flag", guess=False),
    "t": _choice(("y", "n"), "test mode flag"),
    "adkim": _choice(("r", "s"), "DKIM alignment: relaxed or strict"),
    "aspf": _choice(("r", "s"), "SPF alignment: relaxed or strict"),
    "pct": _integer(0, 100),
    "ri": _integer(0, _MAX_RI),
    "fo": _colon_list(("0", "1", "d", "s")),
    "rf": _colon_list(("afrf",)),
    "rua": _uri_list,
    "ruf": _uri_list,
}
_DEFAULTS = {
    "p": "p=none (RFC 9989; RFC 7489 receivers apply no DMARC at all unless rua= is valid)",
    "sp": "the p= policy",
    "np": "the sp= policy, or p=",
    "psd": "psd=u",
    "t": "t=n",
    "adkim": "adkim=r (relaxed)",
    "aspf": "aspf=r (relaxed)",
    "pct": "pct=100",
    "ri": "ri=86400 (daily)",
    "fo": "fo=0",
    "rf": "rf=afrf",
    "rua": "the other entries only (no aggregate reports when none is left)",
    "ruf": "the other entries only (no failure reports when none is left)",
}


def _version_error(text: str) -> RecordSyntaxError:
    if text_before_version(text) is not None:
        return RecordSyntaxError(
            0, "the record must start with v=DMARC1, nothing before it", code="version"
        )
    start = len(text) - len(text.lstrip(_WS))
    match = _TAG.match(text, start)
    if match is None or match.group(1).lower() != "v":
        return RecordSyntaxError(start, "the record must start with v=DMARC1", code="version")
    value_pos = match.start(2)
    value = match.group(2).split(";", 1)[0].rstrip(_WS)
    return RecordSyntaxError(
        value_pos, f"v= must be exactly DMARC1 then ';', not {value!r}", code="version"
    )


def _segments(text: str, start: int) -> list[tuple[int, str]]:
    """(offset, text) of every non-empty ';'-separated part from ``start``."""
    out: list[tuple[int, str]] = []
    pos = start
    for part in text[start:].split(";"):
        stripped = part.strip(_WS)
        if stripped:
            out.append((pos + len(part) - len(part.lstrip(_WS)), stripped))
        pos += len(part) + 1
    return out


def parse_dmarc(text: str) -> DmarcRecord:
    """Read a DMARC record as receivers do; raise RecordSyntaxError only when it is not a
    record at all (``err.code`` "version") or a tag is given twice ("duplicate_tag")."""
    return _parse_cached(text)


@lru_cache(maxsize=8192)
def _parse_cached(text: str) -> DmarcRecord:
    head = _STARTS_DMARC1.match(text)
    if head is None:
        raise _version_error(text)
    values: dict[str, Any] = {}
    seen = {"v"}
    terms: list[str] = []
    ignored: list[IgnoredTag] = []
    unknown: list[str] = []
    # _segments inline (its list of pairs, for a few tags, cost a fifth of the parse); a tag's
    # offset is worked out only for a message that shows it.
    start = head.end()
    for raw in text[start:].split(";"):
        at = start
        start += len(raw) + 1
        part = raw.strip(_WS)
        if not part:
            continue
        match = _TAG.fullmatch(part)
        if match is None:
            pos = at + len(raw) - len(raw.lstrip(_WS))
            ignored.append(
                IgnoredTag(
                    name="",
                    text=part,
                    pos=pos,
                    reason="it is not a tag=value pair",
                    default="nothing: it is ignored",
                )
            )
            continue
        name, value = match.group(1, 2)  # the part is stripped: so is the value's end
        key = name.lower()
        if key in seen:
            raise RecordSyntaxError(
                at + len(raw) - len(raw.lstrip(_WS)),
                f"the tag {key!r} appears twice: keep one",
                code="duplicate_tag",
            )
        seen.add(key)
        validate = _VALIDATORS.get(key)
        if validate is None:
            if key != "v":
                unknown.append(name)
                terms.append(part)
            continue
        bad_char = _BAD_VALUE_CHAR.search(value)
        try:
            if bad_char is not None:
                raise _Bad(f"it contains the character {bad_char.group()!r} (printable ASCII only)")
            values[key] = validate(key, value)
        except _Bad as exc:
            if exc.partial is not None:
                values[key] = exc.partial
            pos = at + len(raw) - len(raw.lstrip(_WS))
            ignored.append(
                IgnoredTag(
                    name=key,
                    text=part,
                    pos=pos,
                    reason=exc.reason,
                    default=_DEFAULTS[key],
                    replacement=exc.replacement,
                )
            )
            if exc.replacement is not None:
                terms.append(exc.replacement)
            continue
        terms.append(part)
    # Each validator returns its tag's type (a partial value too), which ``values`` holds as
    # Any: narrowing each by isinstance for the type checker cost a sixth of the parse.
    get = values.get
    policy = get("p")
    # The first four by position (p, whether it is valid, sp, np): seventeen keywords would
    # compile to a call through a dict, several times dearer than the keywords themselves.
    return DmarcRecord(
        policy=policy if policy is not None else "none",
        policy_explicit=policy is not None,
        subdomain_policy=get("sp"),
        nonexistent_policy=get("np"),
        psd=get("psd", "u"),
        testing=get("t") == "y",
        pct=get("pct"),
        rua=get("rua", ()),
        ruf=get("ruf", ()),
        adkim=get("adkim", "r"),
        aspf=get("aspf", "r"),
        fo=get("fo", ("0",)),
        rf=get("rf", ("afrf",)),
        ri=get("ri"),
        unknown_tags=tuple(unknown),
        ignored=tuple(ignored),
        corrected="; ".join(("v=DMARC1", *terms)),
    )


def corrected_record(text: str) -> str | None:
    """The record to publish instead of ``text``: quotes and ``\\;`` undone, ``v=DMARC1``
    first with its separator, every value receivers would discard replaced or removed.
    None when there is no single right answer (no version tag, a tag given twice)."""
    body = repaired_value(text)
    rest: list[str] = []
    found = False
    for _, part in _segments(body, 0):
        match = None if found else _VERSION_SEGMENT.fullmatch(part)
        if match is not None:
            found = True
            swallowed = match.group(1).strip(_WS)  # "v=DMARC1 p=none": the p= it swallowed
            if swallowed:
                rest.append(swallowed)
            continue
        rest.append(part)
    if not found:
        return None
    try:
        return parse_dmarc("; ".join(("v=DMARC1", *rest))).corrected
    except RecordSyntaxError:
        return None
