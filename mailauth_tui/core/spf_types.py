"""The values shared by the SPF traversal (``spf_walk``), its include-tree replay
(``spf_memo``) and the diagnostics built on them (``spf_problems``, ``spf_eval``): the RFC 7208
limits, the outcomes, what a fetch of a record found, and what a walk records on the way."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

from mailauth_tui.core.dns_types import Answer
from mailauth_tui.core.errors import RecordSyntaxError
from mailauth_tui.core.spf import SpfRecord

MAX_LOOKUPS = 10  # RFC 7208 4.6.4: DNS-querying terms per evaluation
MAX_VOID_LOOKUPS = 2  # RFC 7208 4.6.4: terms whose query answered NXDOMAIN or NODATA
MAX_MX_NAMES = 10  # RFC 7208 4.6.4: more MX names than this is a permerror
MAX_PTR_NAMES = 10  # RFC 7208 4.6.4: PTR names past this are ignored
# A walk keeps counting past the limit so it can say how far over a record is; this bounds the
# work a hostile tree (includes fanning out, a diamond of redirects) can cause.
WALK_LOOKUP_CAP = 50

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class SpfOutcome(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    SOFTFAIL = "softfail"
    NEUTRAL = "neutral"
    NONE = "none"
    PERMERROR = "permerror"
    TEMPERROR = "temperror"


class RecordState(StrEnum):
    OK = "ok"
    VOID = "void"  # NXDOMAIN or NODATA: no TXT at all
    NONE = "none"  # TXT records, none of them v=spf1
    MULTIPLE = "multiple"
    SYNTAX = "syntax"
    UNKNOWN = "unknown"  # SERVFAIL, timeout or REFUSED


@dataclass(frozen=True, slots=True)
class FetchedRecord:
    state: RecordState
    answer: Answer
    record: SpfRecord | None = None
    error: RecordSyntaxError | None = None
    spf_texts: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Finding:
    """Something that makes a receiver answer permerror or temperror, found at ``domain``
    while evaluating ``term`` (the term's text, or the domain's own name for its record)."""

    code: str
    outcome: SpfOutcome
    domain: str
    term: str
    detail: str
    chain: tuple[str, ...] = ()


class Visit(NamedTuple):
    """A record evaluated on the way: ``role`` is top, include or redirect; ``effective`` when
    it was reached from the top through redirects only, so its ``all`` is the domain's own.
    (A named tuple: one is made per record per walk, and a frozen dataclass costs three times
    as much to build.)"""

    role: str
    domain: str
    record: SpfRecord
    chain: tuple[str, ...]
    effective: bool


class Match(NamedTuple):
    """The term that decided an evaluation, and the domain whose record holds it."""

    domain: str
    term: str
