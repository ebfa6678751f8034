"""Asking a zone's authoritative nameservers directly: the zone of a name (SOA walk), its
nameservers (NS) and their addresses, then each server on its own, recursion off and no cache,
for a TXT record or the zone's SOA serial.

The zone and its nameservers are found through ``nameservers`` (``--nameserver``) or the
system's resolver; every later question goes to the authoritative addresses themselves, so the
answer is that server's, not a cache's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import dns.asyncquery
import dns.asyncresolver
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.nameserver
import dns.rcode
import dns.rdatatype
import dns.resolver

from mailauth_tui.core.dns_types import Answer, AnswerStatus, RType

__all__ = ["AuthoritativeDns", "DirectDns", "ZoneLookupError", "ZoneServers", "split_hostport"]


class ZoneLookupError(Exception):
    """The zone of a name, or its nameservers, cannot be found; ``str(err)`` is for people."""


@dataclass(frozen=True, slots=True)
class ZoneServers:
    zone: str  # no trailing dot
    servers: tuple[tuple[str, str], ...]  # (NS name, address); address "" when it has none


class AuthoritativeDns(Protocol):
    async def zone_servers(self, name: str) -> ZoneServers: ...

    async def txt(self, address: str, name: str) -> Answer: ...

    async def serial(self, address: str, zone: str) -> tuple[int | None, str]: ...


def split_hostport(text: str, default_port: int = 53) -> tuple[str, int]:
    """``HOST``, ``HOST:PORT`` or ``[V6]:PORT``. Raises ValueError."""
    value = text.strip()
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif value.count(":") == 1:
        host, _, port = value.partition(":")
    else:
        host, port = value, ""
    if not host:
        raise ValueError(f"{text!r} names no server")
    if not port:
        return host, default_port
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{text!r}: the port must be 1 to 65535")
    return host, int(port)


def _last_clause(text: str) -> str:
    """``Server Do53:127.0.0.180@53 answered REFUSED`` out of dnspython's NoNameservers text
    (the query it repeats is the name already given)."""
    return text.rsplit(": ", 1)[-1].strip().rstrip(".") or text


class DirectDns:
    """:class:`AuthoritativeDns` over dnspython. ``port``: the port of the nameservers found
    (53; another only for tests)."""

    def __init__(self, nameservers: Sequence[str] = (), *, timeout: float = 3.0, port: int = 53):
        self._timeout = timeout
        self._port = port
        if nameservers:
            resolver = dns.asyncresolver.Resolver(configure=False)
            resolver.nameservers = [
                dns.nameserver.Do53Nameserver(*split_hostport(n)) for n in nameservers
            ]
        else:
            try:
                resolver = dns.asyncresolver.Resolver()
            except dns.resolver.NoResolverConfiguration as exc:
                raise ZoneLookupError(f"no DNS resolver configured: {exc}") from None
        resolver.lifetime = timeout * 2
        resolver.timeout = timeout
        self._resolver = resolver

    async def zone_servers(self, name: str) -> ZoneServers:
        try:
            zone = await dns.asyncresolver.zone_for_name(name, resolver=self._resolver)
            ns = await self._resolver.resolve(zone, "NS")
        except dns.exception.Timeout:
            raise ZoneLookupError(f"the zone of {name} could not be found: timed out") from None
        except dns.resolver.NoRootSOA:
            raise ZoneLookupError(
                f"the zone of {name} could not be found: no zone above it has an SOA record "
                "where it was asked; check the name, or give --nameserver a server that "
                "answers for its zone"
            ) from None
        except dns.resolver.NoNameservers as exc:
            # Every server refused or failed: an authoritative-only one asked about a zone it
            # does not serve, most likely (dnspython's text says which answered what).
            raise ZoneLookupError(
                f"the zone of {name} could not be found: {_last_clause(str(exc))}; check the "
                "name, or give --nameserver a server that answers for its zone"
            ) from None
        except dns.exception.DNSException as exc:
            raise ZoneLookupError(f"the zone of {name} could not be found: {exc}") from None
        targets = sorted({r.target.to_text(omit_final_dot=True).lower() for r in ns})
        found = await asyncio.gather(*(self._addresses(t) for t in targets))
        servers = [(t, a) for t, addresses in zip(targets, found, strict=True) for a in addresses]
        return ZoneServers(zone.to_text(omit_final_dot=True).lower(), tuple(servers))

    async def _addresses(self, target: str) -> list[str]:
        out: list[str] = []
        for rtype in ("A", "AAAA"):
            try:
                answer = await self._resolver.resolve(target, rtype, raise_on_no_answer=False)
            except dns.exception.DNSException:
                continue
            out.extend(r.to_text() for r in answer.rrset or ())
        return out or [""]  # a nameserver without an address is still one the zone names

    async def _ask(self, address: str, name: str, rtype: str) -> dns.message.Message | str:
        """The server's reply, or why there is none (timed out, unreachable)."""
        if not address:
            return "the nameserver has no address"
        query = dns.message.make_query(name, rtype)
        query.flags &= ~dns.flags.RD  # its own data, never a lookup on our behalf
        try:
            reply, _ = await dns.asyncquery.udp_with_fallback(
                query, address, timeout=self._timeout, port=self._port
            )
        except dns.exception.Timeout:
            return "timed out"
        except (OSError, dns.exception.DNSException) as exc:
            return f"no answer ({exc})"
        return reply

    async def txt(self, address: str, name: str) -> Answer:
        reply = await self._ask(address, name, "TXT")
        server = f"{address}:{self._port}"
        if isinstance(reply, str):
            return Answer(name, RType.TXT, AnswerStatus.TIMEOUT, detail=reply, server=server)
        rcode = reply.rcode()
        if rcode == dns.rcode.NXDOMAIN:
            return Answer(name, RType.TXT, AnswerStatus.NXDOMAIN, server=server)
        if rcode == dns.rcode.SERVFAIL:
            return Answer(name, RType.TXT, AnswerStatus.SERVFAIL, server=server)
        if rcode != dns.rcode.NOERROR or not reply.flags & dns.flags.AA:
            # REFUSED / NOTAUTH, or a referral: this server does not serve the name.
            detail = dns.rcode.to_text(rcode) if rcode != dns.rcode.NOERROR else "not authoritative"
            return Answer(name, RType.TXT, AnswerStatus.REFUSED, detail=detail, server=server)
        qname = dns.name.from_text(name)
        chunks = tuple(
            tuple(s.decode("utf-8", "replace") for s in rdata.strings)
            for rrset in reply.answer
            if rrset.rdtype == dns.rdatatype.TXT and rrset.name == qname
            for rdata in rrset
        )
        if not chunks:
            return Answer(name, RType.TXT, AnswerStatus.NODATA, server=server)
        return Answer(
            name,
            RType.TXT,
            AnswerStatus.RECORDS,
            records=tuple("".join(c) for c in chunks),
            chunks=chunks,
            server=server,
        )

    async def serial(self, address: str, zone: str) -> tuple[int | None, str]:
        reply = await self._ask(address, zone, "SOA")
        if isinstance(reply, str):
            return None, reply
        if reply.rcode() != dns.rcode.NOERROR or not reply.flags & dns.flags.AA:
            return None, f"no SOA ({dns.rcode.to_text(reply.rcode())})"
        for rrset in reply.answer:
            if rrset.rdtype == dns.rdatatype.SOA:
                return int(rrset[0].serial), ""
        return None, "no SOA in the answer"
