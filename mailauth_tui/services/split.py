"""``--nameserver``: a failover pool, where a server that answers only for its own zones sends
the other names on.

The servers given are one pool, as before issue 17: :class:`DnsResolver` spreads the questions
across them, and a question without an answer in time is asked again of the next server. A
SERVFAIL stands, as it always did (the resolver does not ask another server about it).

One answer sends a name on: REFUSED or NOTAUTH from a server that offers no recursion (RA
clear), or a referral (``Answer.outside_zones``). That is an authoritative server, such as a
zone's primary checked before the zone propagates (``check --nameserver PRIMARY``), asked about
a name outside its zones: the upper levels of the DMARC walk (``_dmarc.com``), SPF include and
redirect targets, report destinations. Its answer says nothing about the name, so the name is
asked of the other servers given, in their order, then of the system's resolver (read only when
first needed), and judged as the world sees it. Every answer says which server gave it
(``Answer.server``); when the name also fails where it was sent, its detail still starts with
the refusal, so that the message says the primary refused it.

An alias out of the zone (``s1._domainkey`` CNAME to an ESP's key) comes back from the
authoritative server as the CNAME alone: its target is asked again here, so that it is sent on
when the server refuses it. A loop of aliases across servers ends as a failure ("CNAME chain
too long", SERVFAIL), never as a missing record.

A server offering recursion (RA set) that refuses a name is a resolver refusing us: its REFUSED
stands ("unknown").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from mailauth_tui.core.dns_types import Answer, AnswerStatus, RType
from mailauth_tui.services.dns import DnsResolver

__all__ = ["SplitResolver", "make_resolver"]

_MAX_HOPS = 8  # aliases followed from one server to the other (a CNAME loop across them)
_NODATA, _REFUSED = AnswerStatus.NODATA, AnswerStatus.REFUSED


class SplitResolver:
    """Asks ``pool`` (every ``--nameserver``); a name a server refuses as outside its zones is
    asked of the pool's other servers, then of the system's resolver."""

    def __init__(
        self, pool: DnsResolver, *, timeout: float = 3.0, retries: int = 2, concurrency: int = 64
    ) -> None:
        self.pool = pool
        self._servers = pool.nameservers
        self._settings = (timeout, retries, concurrency)
        # The pool less the servers that refused a name, by the servers left: made when needed.
        self._others: dict[tuple[str, ...], DnsResolver] = {}
        self._system: DnsResolver | None = None
        self._system_error = ""

    def _resolver(self, servers: tuple[str, ...]) -> DnsResolver | None:
        """The pool of ``servers``, or (none left) the system's resolver; None when the system
        has none."""
        timeout, retries, concurrency = self._settings
        if servers:
            resolver = self._others.get(servers)
            if resolver is None:
                resolver = self._others[servers] = DnsResolver(
                    servers, timeout=timeout, retries=retries, concurrency=concurrency
                )
            return resolver
        if self._system is None and not self._system_error:
            try:
                self._system = DnsResolver(
                    (), timeout=timeout, retries=retries, concurrency=concurrency
                )
            except ValueError as exc:
                self._system_error = str(exc)
        return self._system

    async def query(self, name: str, rtype: RType, hops: int = _MAX_HOPS) -> Answer:
        """``hops``: aliases still to follow (the Resolver Protocol's callers leave it)."""
        # One coroutine per question, no helper's: this wraps every look-up of a check.
        answer = await self.pool.query(name, rtype)
        status = answer.status
        if status is _REFUSED and answer.outside_zones:
            answer = await self._send_on(answer)
            status = answer.status
        if status is _NODATA and answer.cname_chain:
            # The chain ends at a name the server did not answer for: ask it on its own.
            if hops == 0:
                return replace(
                    answer,
                    status=AnswerStatus.SERVFAIL,
                    detail=f"CNAME chain too long (over {_MAX_HOPS} aliases across servers)",
                )
            target = await self.query(answer.cname_chain[-1], rtype, hops - 1)
            chain = (*answer.cname_chain, *target.cname_chain)
            return replace(target, name=answer.name, cname_chain=chain)
        return answer

    async def _send_on(self, refusal: Answer) -> Answer:
        """Ask the name a server refused as outside its zones of the servers that have not."""
        refused = {refusal.server}
        while True:
            left = tuple(s for s in self._servers if s not in refused)
            resolver = self._resolver(left)
            if resolver is None:
                return replace(refusal, detail=f"{refusal.detail}; {self._system_error}")
            answer = await resolver.query(refusal.name, refusal.rtype)
            if answer.status is _REFUSED and answer.outside_zones and answer.server in left:
                refused.add(answer.server)
                continue
            if answer.unknown:
                # Still say who refused it first: the fix is not the same.
                return replace(answer, detail=f"{refusal.detail}; then {answer.detail}")
            return answer

    def clear_cache(self) -> None:
        for resolver in self._all():
            resolver.clear_cache()

    def close(self) -> None:
        for resolver in self._all():
            resolver.close()

    def _all(self) -> list[DnsResolver]:
        found = [self.pool, *self._others.values()]
        return found if self._system is None else [*found, self._system]


def make_resolver(
    nameservers: Sequence[str], *, timeout: float, retries: int = 2, concurrency: int = 64
) -> DnsResolver | SplitResolver:
    """The resolver for ``--nameserver`` values, as the entry points build it.

    None given: the system's resolvers, as they are (nothing in between). Given: one failover
    pool of them all, names a server refuses as outside its zones sent on (:class:`SplitResolver`).
    Raises ValueError (a bad address or timeout) for the user.
    """
    pool = DnsResolver(nameservers, timeout=timeout, retries=retries, concurrency=concurrency)
    if not nameservers:
        return pool
    return SplitResolver(pool, timeout=timeout, retries=retries, concurrency=concurrency)
