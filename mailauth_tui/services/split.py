"""Checking a zone on its authoritative server: the names it does not serve go to a recursive
resolver.

An admin checks a zone on its primary before it propagates (``check --nameserver PRIMARY``).
That server answers only for its own zones: the upper levels of the DMARC walk (``_dmarc.com``),
SPF include and redirect targets and report destinations in other zones come back REFUSED (or
NOTAUTH), which says nothing about those names. :class:`SplitResolver` asks the recursive
resolver about them instead, so that they are judged as the world sees them and never reported
as failures of the zone. Every answer says which server gave it (``Answer.server``).

An alias out of the zone (``s1._domainkey`` CNAME to an ESP's key) comes back from the
authoritative server as the CNAME alone: its target is asked again here, so that it goes to
the recursive resolver when the authoritative server refuses it.

A server that offers recursion (RA set) and refuses a name is a resolver refusing us: its
REFUSED stands ("unknown"). A timeout or SERVFAIL from the authoritative server stands too: it
is the zone's own failure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from mailauth_tui.core.dns_types import Answer, AnswerStatus, RType
from mailauth_tui.services.dns import DnsResolver

__all__ = ["SplitResolver", "make_resolver"]

_MAX_HOPS = 8  # aliases followed from one server to the other (a CNAME loop across them)


class SplitResolver:
    """Asks ``authoritative`` first; a name it refuses as outside its zones goes to the
    recursive resolver: ``recursive`` when given, else the system's, read when first needed
    (a run that never leaves the zone reads no system configuration)."""

    def __init__(
        self,
        authoritative: DnsResolver,
        recursive: DnsResolver | None = None,
        *,
        timeout: float = 3.0,
        retries: int = 2,
        concurrency: int = 64,
    ) -> None:
        self.authoritative = authoritative
        self._recursive = recursive
        self._system_settings = (timeout, retries, concurrency)
        self._system_error = ""

    def recursive(self) -> DnsResolver | None:
        """The recursive resolver, made on first use; None when the system has none."""
        if self._recursive is None and not self._system_error:
            timeout, retries, concurrency = self._system_settings
            try:
                self._recursive = DnsResolver(
                    (), timeout=timeout, retries=retries, concurrency=concurrency
                )
            except ValueError as exc:
                self._system_error = str(exc)
        return self._recursive

    async def query(self, name: str, rtype: RType) -> Answer:
        return await self._query(name, rtype, _MAX_HOPS)

    async def _query(self, name: str, rtype: RType, hops: int) -> Answer:
        answer = await self.authoritative.query(name, rtype)
        if answer.status is AnswerStatus.NODATA and answer.cname_chain and hops > 0:
            # The chain ends at a name the server did not answer for: ask it on its own.
            target = await self._query(answer.cname_chain[-1], rtype, hops - 1)
            chain = (*answer.cname_chain, *target.cname_chain)
            return replace(target, name=answer.name, cname_chain=chain)
        if answer.status is not AnswerStatus.REFUSED or not answer.outside_zones:
            return answer
        recursive = self.recursive()
        if recursive is None:
            return replace(answer, detail=f"{answer.detail}; {self._system_error}")
        return await recursive.query(name, rtype)

    def clear_cache(self) -> None:
        self.authoritative.clear_cache()
        if self._recursive is not None:
            self._recursive.clear_cache()

    def close(self) -> None:
        self.authoritative.close()
        if self._recursive is not None:
            self._recursive.close()


def make_resolver(
    nameservers: Sequence[str], *, timeout: float, retries: int = 2, concurrency: int = 64
) -> DnsResolver | SplitResolver:
    """The resolver for ``--nameserver`` values, as the entry points build it.

    None given: the system's resolvers. Given: the first is asked; a name it refuses as outside
    its zones (an authoritative server) goes to the others given, or to the system's resolver
    when there is no other. Raises ValueError (a bad address or timeout) for the user.
    """
    if not nameservers:
        return DnsResolver((), timeout=timeout, retries=retries, concurrency=concurrency)
    first = DnsResolver(nameservers[:1], timeout=timeout, retries=retries, concurrency=concurrency)
    others = (
        DnsResolver(nameservers[1:], timeout=timeout, retries=retries, concurrency=concurrency)
        if len(nameservers) > 1
        else None
    )
    return SplitResolver(first, others, timeout=timeout, retries=retries, concurrency=concurrency)
