"""An in-memory Resolver for the SPF tests: a zone of (name, type) -> values."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

from mailauth_tui.core.dns_types import Answer, AnswerStatus, RType

# A value in a zone: one record's text, or a TXT record as its character-strings.
Value = str | tuple[str, ...]


class FakeResolver:
    """Answers from ``zone``; a name with no entry of any type is NXDOMAIN, a name with other
    types only is NODATA. ``failing`` names answer SERVFAIL (every type) and ``timeouts`` time
    out. ``asked`` counts each (name, type) query."""

    def __init__(
        self,
        zone: Mapping[tuple[str, RType], Iterable[Value]],
        *,
        failing: Iterable[str] = (),
        timeouts: Iterable[str] = (),
    ) -> None:
        self.zone = {(n.lower(), t): list(v) for (n, t), v in zone.items()}
        self.names = {n for n, _ in self.zone}
        self.failing = {n.lower() for n in failing}
        self.timeouts = {n.lower() for n in timeouts}
        self.asked: Counter[tuple[str, RType]] = Counter()

    async def query(self, name: str, rtype: RType) -> Answer:
        key = (name.lower(), rtype)
        self.asked[key] += 1
        if key[0] in self.failing:
            return Answer(name, rtype, AnswerStatus.SERVFAIL, detail="SERVFAIL from the test zone")
        if key[0] in self.timeouts:
            return Answer(name, rtype, AnswerStatus.TIMEOUT, detail="timed out")
        values = self.zone.get(key)
        if values is None:
            status = AnswerStatus.NODATA if key[0] in self.names else AnswerStatus.NXDOMAIN
            return Answer(name, rtype, status)
        chunks = tuple(v if isinstance(v, tuple) else (v,) for v in values)
        records = tuple("".join(c) for c in chunks)
        return Answer(
            name, rtype, AnswerStatus.RECORDS, records, chunks if rtype is RType.TXT else ()
        )


def zone(
    *entries: tuple[str, RType, Value | list[str] | list[Value]],
) -> dict[tuple[str, RType], list[Value]]:
    """Build a zone from (name, type, value or list of values) entries; repeated keys add up."""
    out: dict[tuple[str, RType], list[Value]] = {}
    for name, rtype, value in entries:
        values: list[Value] = list(value) if isinstance(value, list) else [value]
        out.setdefault((name.lower(), rtype), []).extend(values)
    return out
