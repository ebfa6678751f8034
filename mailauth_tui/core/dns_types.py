"""The shape of a DNS answer as the record engine sees it, and the resolver Protocol."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class AnswerStatus(StrEnum):
    RECORDS = "records"
    NXDOMAIN = "nxdomain"
    NODATA = "nodata"
    SERVFAIL = "servfail"
    TIMEOUT = "timeout"
    # REFUSED or NOTAUTH: the server asked does not answer for this name (an authoritative
    # server asked about a name outside its zones, or a resolver that will not serve us).
    # Nothing is known about the name: "unknown", never "missing".
    REFUSED = "refused"


class RType(StrEnum):
    TXT = "TXT"
    A = "A"
    AAAA = "AAAA"
    MX = "MX"
    PTR = "PTR"
    CNAME = "CNAME"


@dataclass(frozen=True, slots=True)
class Answer:
    """One classified answer.

    ``records`` holds one text per resource record: a TXT record's strings joined with no
    separator (RFC 7208 3.3, RFC 6376 3.6.2.2), an address for A/AAAA, a host name (lower case,
    no trailing dot) for MX/PTR/CNAME. MX records are ordered by preference. ``chunks`` keeps
    the character-strings of each TXT record as published, for diagnostics about splitting.
    ``cname_chain`` lists the names followed from ``name`` to the owner of the records.
    ``server`` is the server that answered (``HOST:PORT``; empty when none did).
    ``outside_zones`` marks a REFUSED answer from a server that offers no recursion: an
    authoritative server asked about a name outside its zones, which a recursive resolver
    can answer instead.
    """

    name: str
    rtype: RType
    status: AnswerStatus
    records: tuple[str, ...] = ()
    chunks: tuple[tuple[str, ...], ...] = ()
    cname_chain: tuple[str, ...] = ()
    detail: str = ""
    server: str = ""
    outside_zones: bool = False

    def __hash__(self) -> int:
        # Answers key the parse caches, and the generated hash would hash every TXT string
        # (and every chunk) on each lookup. Equal answers agree on these fields, so this is
        # consistent with the generated __eq__; answers that differ only in their records
        # share a bucket and __eq__ tells them apart.
        return hash((self.name, self.rtype, self.status, len(self.records)))

    @property
    def unknown(self) -> bool:
        """A failure (timeout, SERVFAIL, REFUSED): nothing can be concluded about the record."""
        return self.status in _UNKNOWN

    @property
    def missing(self) -> bool:
        """The name or the record type does not exist (an authoritative negative answer)."""
        return self.status in _MISSING


# Built once: read for nearly every answer the engine looks at.
_UNKNOWN = frozenset({AnswerStatus.SERVFAIL, AnswerStatus.TIMEOUT, AnswerStatus.REFUSED})
_MISSING = frozenset({AnswerStatus.NXDOMAIN, AnswerStatus.NODATA})


class Resolver(Protocol):
    """What the record engine needs from DNS. Implementations never raise for DNS outcomes:
    every outcome, including a timeout, comes back as an :class:`Answer`."""

    async def query(self, name: str, rtype: RType) -> Answer: ...
