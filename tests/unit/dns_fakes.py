"""An in-memory Resolver for evaluator tests: a dict of (name, rtype) -> Answer.

Names that are not in the zone answer NXDOMAIN, like an authoritative server would. Every query
is recorded in ``queries`` so tests can assert on what was asked (and how often).
"""

from __future__ import annotations

from collections.abc import Iterable

from mailauth_tui.core.dns_types import Answer, AnswerStatus, RType

TxtValue = str | tuple[str, ...]  # one record: a string, or its character-strings as published


def txt_answer(name: str, *values: TxtValue, cname_chain: tuple[str, ...] = ()) -> Answer:
    """A TXT answer holding one record per value (NODATA when no value is given)."""
    chunks = tuple((v,) if isinstance(v, str) else tuple(v) for v in values)
    return Answer(
        name=name,
        rtype=RType.TXT,
        status=AnswerStatus.RECORDS if values else AnswerStatus.NODATA,
        records=tuple("".join(c) for c in chunks),
        chunks=chunks,
        cname_chain=cname_chain,
    )


class FakeResolver:
    def __init__(self) -> None:
        self.zone: dict[tuple[str, RType], Answer] = {}
        self.queries: list[tuple[str, RType]] = []
        self._owners: set[str] = set()

    def txt(self, name: str, *values: TxtValue, cname_chain: tuple[str, ...] = ()) -> FakeResolver:
        """Publish TXT records at ``name`` (no value: the name exists with no TXT, NODATA)."""
        self.zone[(name.lower(), RType.TXT)] = txt_answer(name, *values, cname_chain=cname_chain)
        self._owners.add(name.lower())
        return self

    def fail(
        self, name: str, status: AnswerStatus = AnswerStatus.SERVFAIL, rtype: RType = RType.TXT
    ) -> FakeResolver:
        """Make ``name`` answer with a transient failure (SERVFAIL or TIMEOUT)."""
        self.zone[(name.lower(), rtype)] = Answer(name=name, rtype=rtype, status=status)
        self._owners.add(name.lower())
        return self

    def asked(self, names: Iterable[str] | None = None) -> list[str]:
        """The names asked, in order (optionally only those among ``names``)."""
        wanted = None if names is None else set(names)
        return [n for n, _ in self.queries if wanted is None or n in wanted]

    async def query(self, name: str, rtype: RType) -> Answer:
        key = (name.lower().rstrip("."), rtype)
        self.queries.append(key)
        answer = self.zone.get(key)
        if answer is not None:
            return answer
        # A name owning records of another type exists: NODATA there, NXDOMAIN elsewhere.
        if key[0] in self._owners:
            return Answer(name=name, rtype=rtype, status=AnswerStatus.NODATA)
        return Answer(name=name, rtype=rtype, status=AnswerStatus.NXDOMAIN)
