"""Propagation: which of a zone's authoritative nameservers serve the records a domain needs.

Pure: the caller asks each nameserver directly (no recursion, no cache) and hands the answers
here; each (nameserver, record) becomes present and matching / present but different (with what
differs and the troubleshooting diagnostics) / absent / unknown (the server failed, timed out
or refused: never "absent").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from mailauth_tui.core.dns_types import Answer, AnswerStatus
from mailauth_tui.core.results import Problem, PublishRecord
from mailauth_tui.core.txt_diagnostics import entry_problems

_PREFIX = {"DKIM": "v=dkim1", "SPF": "v=spf1", "DMARC": "v=dmarc1", "BIMI": "v=bimi1"}


class Served(StrEnum):
    MATCH = "match"  # present and what is expected
    DIFFERENT = "different"  # present, but not what is expected
    ABSENT = "absent"  # NXDOMAIN / NODATA, or no record of the kind among the TXT values
    UNKNOWN = "unknown"  # timeout, SERVFAIL, REFUSED: nothing can be said


@dataclass(frozen=True, slots=True)
class RecordAtServer:
    kind: str
    host: str
    state: Served
    found: str | None = None  # the record of the kind found there, when one is
    detail: str = ""  # what differs, or why nothing is known
    problems: tuple[Problem, ...] = ()


@dataclass(frozen=True, slots=True)
class ServerView:
    name: str  # the NS target, e.g. ns1.example.com
    address: str  # the address asked
    serial: int | None  # the zone's SOA serial there; None when it did not say
    records: tuple[RecordAtServer, ...]
    error: str = ""  # why the serial is unknown

    @property
    def serves_all(self) -> bool:
        return all(r.state is Served.MATCH for r in self.records)


@dataclass(frozen=True, slots=True)
class PropagationReport:
    domain: str
    zone: str
    expected: tuple[PublishRecord, ...]
    servers: tuple[ServerView, ...]
    error: str = ""  # the zone or its nameservers could not be found

    @property
    def complete(self) -> bool:
        """Every nameserver serves every record (and there is at least one nameserver)."""
        return not self.error and bool(self.servers) and all(s.serves_all for s in self.servers)

    def coverage(self, kind: str) -> tuple[int, int]:
        """(nameservers serving every record of ``kind``, nameservers)."""
        serving = sum(
            1
            for s in self.servers
            if all(r.state is Served.MATCH for r in s.records if r.kind == kind)
        )
        return serving, len(self.servers)

    def kinds(self) -> list[str]:
        return list(dict.fromkeys(r.kind for r in self.expected))

    def badge(self, kind: str) -> str:
        """ "DKIM at 2 of 3 nameservers"."""
        serving, total = self.coverage(kind)
        return f"{kind} at {serving} of {total} nameserver{'' if total == 1 else 's'}"

    def summary(self) -> str:
        """One line for verify: where the records are, where not yet, and the serials."""
        if self.error:
            return self.error
        if not self.servers:
            return f"no nameserver found for {self.zone}"
        ready = [s for s in self.servers if s.serves_all]
        waiting = [s for s in self.servers if not s.serves_all]
        if not waiting:
            return f"published at every nameserver ({', '.join(_short(s) for s in ready)})"
        if not ready:
            what = "; ".join(_why(s) for s in waiting)
            return f"not published at any nameserver yet ({what})"
        serials = " vs ".join(str(s.serial) if s.serial is not None else "?" for s in self.servers)
        return (
            f"published at {', '.join(_short(s) for s in ready)}, not yet at "
            f"{', '.join(_short(s) for s in waiting)} (serial {serials})"
        )


def _short(view: ServerView) -> str:
    return view.name.split(".", 1)[0] if view.name else view.address


def _why(view: ServerView) -> str:
    bad = [r for r in view.records if r.state is not Served.MATCH]
    parts = ", ".join(f"{r.kind} {r.state.value}" for r in bad)
    return f"{_short(view)}: {parts}"


def normalized(text: str) -> str:
    """A record compared as a receiver reads it: case of the version tag and spacing around
    ``;`` carry no meaning."""
    terms = [" ".join(t.split()) for t in text.split(";")]
    return ";".join(t for t in terms if t).lower()


def of_kind(kind: str, values: Sequence[str]) -> list[str]:
    prefix = _PREFIX[kind]
    out = []
    for value in values:
        head = value.strip().lower()
        if head == prefix or head.startswith((prefix + " ", prefix + ";")):
            out.append(value)
    return out


def dkim_key(value: str) -> str:
    for term in value.split(";"):
        name, _, tag_value = term.partition("=")
        if name.strip().lower() == "p":
            return "".join(tag_value.split())
    return ""


def judge(expected: PublishRecord, answer: Answer) -> RecordAtServer:
    """What one nameserver's answer for ``expected.host`` says about ``expected``."""
    kind, host = expected.kind, expected.host
    if answer.unknown:
        reason = {
            AnswerStatus.TIMEOUT: "timed out",
            AnswerStatus.SERVFAIL: "server failure (SERVFAIL)",
            AnswerStatus.REFUSED: "refused (REFUSED / NOTAUTH)",
        }[answer.status]
        return RecordAtServer(kind, host, Served.UNKNOWN, detail=reason)
    values = list(answer.records) if answer.status is AnswerStatus.RECORDS else []
    found = of_kind(kind, values)
    # Values published with literal quotes or glued strings are not of the kind to a receiver,
    # but are what the admin meant: say so rather than "absent".
    problems: list[Problem] = []
    for value, chunks in zip(values, answer.chunks or [(v,) for v in values], strict=False):
        problems.extend(entry_problems(value, tuple(chunks), kind.lower()))
    if not found:
        if problems:
            return RecordAtServer(
                kind,
                host,
                Served.DIFFERENT,
                found=values[0],
                detail=problems[0].message,
                problems=tuple(problems),
            )
        detail = "no such name" if answer.status is AnswerStatus.NXDOMAIN else "no record"
        return RecordAtServer(kind, host, Served.ABSENT, detail=detail)
    want = normalized(expected.value)
    if kind == "DKIM":
        key = dkim_key(expected.value)
        match = next((v for v in found if dkim_key(v) == key), None)
    else:
        match = found[0] if len(found) == 1 and normalized(found[0]) == want else None
    if match is not None:
        return RecordAtServer(kind, host, Served.MATCH, found=match)
    if kind in ("SPF", "DMARC") and len(found) > 1:
        detail = f"{len(found)} {kind} records: receivers take none of them (only one allowed)"
    else:
        detail = _difference(kind, expected.value, found[0])
    return RecordAtServer(
        kind, host, Served.DIFFERENT, found=found[0], detail=detail, problems=tuple(problems)
    )


def _difference(kind: str, want: str, have: str) -> str:
    if kind == "DKIM":
        return "a different key is published (p= differs from this selector's key)"
    sep = None if kind == "SPF" else ";"
    want_terms = [" ".join(t.split()).lower() for t in want.split(sep) if t.strip()]
    have_terms = [" ".join(t.split()).lower() for t in have.split(sep) if t.strip()]
    missing = [t for t in want_terms if t not in have_terms]
    extra = [t for t in have_terms if t not in want_terms]
    parts = []
    if missing:
        parts.append("lacks " + ", ".join(missing))
    if extra:
        parts.append("has " + ", ".join(extra) + " instead")
    return "; ".join(parts) or "the same terms in another order"


def build_report(
    domain: str,
    zone: str,
    expected: Sequence[PublishRecord],
    servers: Sequence[tuple[str, str, int | None, str, Sequence[Answer]]],
) -> PropagationReport:
    """``servers``: (NS name, address, serial, serial error, answers in ``expected``'s order)."""
    views = tuple(
        ServerView(
            name=name,
            address=address,
            serial=serial,
            error=error,
            records=tuple(judge(e, a) for e, a in zip(expected, answers, strict=True)),
        )
        for name, address, serial, error, answers in servers
    )
    return PropagationReport(domain, zone, tuple(expected), views)
