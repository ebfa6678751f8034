"""The reference path for DNS answers, through dnspython: parsing what the fast reader
(``dnswire``) leaves aside, and the TCP retry of truncated answers.

Imported only when needed: dnspython's message and query modules cost a few tenths of a second
to import, which a ``check`` run of one domain would otherwise pay on every start.
"""

from __future__ import annotations

import time
from dataclasses import replace

import dns.asyncquery
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset

from mailauth_tui.core.dns_types import Answer, AnswerStatus, RType
from mailauth_tui.services.dnswire import UDP_PAYLOAD

__all__ = ["classify", "classify_wire", "tcp_query"]


def _where(server: tuple[str, int]) -> str:
    host, port = server
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _host(name: dns.name.Name) -> str:
    if name == dns.name.root:
        return "."
    return name.to_text(omit_final_dot=True).lower()


def _records(
    rtype: RType, rrset: dns.rrset.RRset
) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]:
    if rtype is RType.TXT:
        records, chunks = [], []
        for rd in rrset:
            strings: tuple[bytes, ...] = rd.strings
            records.append(b"".join(strings).decode("utf-8", errors="replace"))
            chunks.append(tuple(s.decode("utf-8", errors="replace") for s in strings))
        return tuple(records), tuple(chunks)
    if rtype is RType.MX:
        ordered = sorted((rd.preference, _host(rd.exchange)) for rd in rrset)
        return tuple(host for _, host in ordered), ()
    if rtype in (RType.A, RType.AAAA):
        return tuple(str(rd.address) for rd in rrset), ()
    return tuple(_host(rd.target) for rd in rrset), ()  # PTR, CNAME


def classify(qname: str, rtype: RType, response: dns.message.Message, where: str = "") -> Answer:
    """Turn a (matching) DNS response into an Answer: records, NXDOMAIN, NODATA, REFUSED or
    SERVFAIL."""
    answer = _classify(qname, rtype, response, where)
    return replace(answer, server=where) if where else answer


def _classify(qname: str, rtype: RType, response: dns.message.Message, where: str) -> Answer:
    rcode = response.rcode()
    origin = f" from {where}" if where else ""
    if not isinstance(response, dns.message.QueryMessage):
        return Answer(qname, rtype, AnswerStatus.SERVFAIL, detail=f"not a query answer{origin}")
    if rcode in (dns.rcode.REFUSED, dns.rcode.NOTAUTH):
        # Not a failure of the name: the server asked does not answer for it. Without recursion
        # (RA clear) it is an authoritative server asked about a name outside its zones.
        return Answer(
            qname,
            rtype,
            AnswerStatus.REFUSED,
            detail=f"{dns.rcode.to_text(rcode)}{origin}: not authoritative for this name",
            outside_zones=not response.flags & dns.flags.RA,
        )
    if rcode not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
        return Answer(
            qname, rtype, AnswerStatus.SERVFAIL, detail=f"{dns.rcode.to_text(rcode)}{origin}"
        )
    try:
        chaining = response.resolve_chaining()
    except dns.message.ChainTooLong:
        return Answer(qname, rtype, AnswerStatus.SERVFAIL, detail=f"CNAME chain too long{origin}")
    except dns.message.AnswerForNXDOMAIN:
        return Answer(
            qname, rtype, AnswerStatus.SERVFAIL, detail=f"NXDOMAIN with an answer{origin}"
        )
    except dns.exception.FormError:
        return Answer(qname, rtype, AnswerStatus.SERVFAIL, detail=f"malformed answer{origin}")
    chain = tuple(_host(next(iter(rrset)).target) for rrset in chaining.cnames)
    referral = rcode == dns.rcode.NOERROR and not response.flags & (dns.flags.AA | dns.flags.RA)
    if referral and not chaining.answer:
        # Neither authoritative nor recursive, and no answer: a referral (a delegated zone, or
        # a name outside the server's zones). It says nothing of the name: not "missing".
        return Answer(
            qname,
            rtype,
            AnswerStatus.REFUSED,
            cname_chain=chain,
            detail=f"a referral{origin}: not authoritative for this name",
            outside_zones=True,
        )
    if rcode == dns.rcode.NXDOMAIN:
        return Answer(qname, rtype, AnswerStatus.NXDOMAIN, cname_chain=chain)
    if chaining.answer is None or len(chaining.answer) == 0:
        return Answer(qname, rtype, AnswerStatus.NODATA, cname_chain=chain)
    records, chunks = _records(rtype, chaining.answer)
    return Answer(
        qname, rtype, AnswerStatus.RECORDS, records=records, chunks=chunks, cname_chain=chain
    )


def classify_wire(qname: str, rtype: RType, data: bytes, where: str = "") -> Answer:
    """Parse a datagram already matched to the question, then :func:`classify` it."""
    try:
        response = dns.message.from_wire(data, ignore_trailing=True)
    except Exception as exc:  # untrusted bytes: any failure to parse them is "unknown"
        return Answer(
            qname, rtype, AnswerStatus.SERVFAIL, detail=f"malformed answer from {where}: {exc}"
        )
    return classify(qname, rtype, response, where)


async def tcp_query(
    qname: str, rtype: RType, qtype: int, server: tuple[str, int], seconds: float
) -> Answer:
    """Ask over TCP (after a truncated UDP answer); every outcome is an Answer."""
    where = _where(server)
    query = dns.message.make_query(
        dns.name.from_text(qname),
        dns.rdatatype.RdataType.make(qtype),
        use_edns=0,
        payload=UDP_PAYLOAD,
    )
    started = time.monotonic()
    try:
        response = await dns.asyncquery.tcp(query, server[0], seconds, server[1])
    except dns.exception.Timeout:
        return Answer(
            qname,
            rtype,
            AnswerStatus.TIMEOUT,
            detail=f"no TCP answer from {where} within {seconds:g} s",
        )
    except (OSError, EOFError, dns.exception.DNSException) as exc:
        elapsed = time.monotonic() - started
        return Answer(
            qname,
            rtype,
            AnswerStatus.SERVFAIL,
            detail=f"TCP fallback to {where} failed after {elapsed:.1f} s: {exc}",
        )
    return classify(qname, rtype, response, where)
