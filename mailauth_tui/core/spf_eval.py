"""SPF evaluation over an injected resolver: check_host() for one client address, check_spf()
for a domain's whole record tree, and lookup counting for a record not yet published.

All three run the same traversal (:mod:`mailauth_tui.core.spf_walk`) over one
:class:`~mailauth_tui.core.spf_walk.DnsSession`, so within a check every name is asked once.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, replace

from mailauth_tui.core import spf_problems as diag
from mailauth_tui.core.dns_types import Resolver
from mailauth_tui.core.publish import source_term, with_terms
from mailauth_tui.core.results import (
    Problem,
    Severity,
    SourceVerdict,
    SpfResult,
    Status,
)
from mailauth_tui.core.spf import SpfRecord, parse_spf
from mailauth_tui.core.spf_memo import SpfMemo
from mailauth_tui.core.spf_types import (
    MAX_LOOKUPS,
    MAX_VOID_LOOKUPS,
    FetchedRecord,
    RecordState,
    SpfOutcome,
)
from mailauth_tui.core.spf_walk import DnsSession, Traversal, normalize_name, valid_name

__all__ = ["SpfEvaluation", "SpfOutcome", "check_host", "check_spf", "spf_lookup_count"]


@dataclass(frozen=True, slots=True)
class SpfEvaluation:
    """The check_host() result for one client address.

    ``mechanism`` is the top-level term that decided (``include:_spf.example.net``) and
    ``matched_domain`` the domain whose record holds it; ``code`` names the problem behind a
    permerror / temperror (``spf.too_many_lookups``, ``spf.unknown`` ...); ``reason`` says why.
    """

    result: SpfOutcome
    domain: str
    lookups: int = 0
    void_lookups: int = 0
    mechanism: str | None = None
    matched_domain: str | None = None
    code: str | None = None
    reason: str = ""


def _client(ip: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """The client address; an IPv4-mapped IPv6 address is its IPv4 address (RFC 7208 5)."""
    addr = ipaddress.ip_address(ip.strip())
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


async def check_host(
    resolver: Resolver, ip: str, domain: str, sender: str | None = None, *, helo: str | None = None
) -> SpfEvaluation:
    """RFC 7208 check_host(<ip>, <domain>, <sender>). ``sender`` defaults to
    ``postmaster@<domain>``; never raises for DNS outcomes or bad input."""
    return await _check_host(DnsSession(resolver), ip, domain, sender, helo)


async def _check_host(
    session: DnsSession, ip: str, domain: str, sender: str | None, helo: str | None
) -> SpfEvaluation:
    name = normalize_name(domain.strip())
    try:
        client = _client(ip)
    except ValueError:
        return SpfEvaluation(
            SpfOutcome.PERMERROR,
            name,
            code="spf.bad_source",
            reason=f"{ip!r} is not an IP address",
        )
    if not valid_name(name):
        # RFC 7208 4.3: a malformed domain gives "none" at once.
        return SpfEvaluation(SpfOutcome.NONE, name, reason=f"{domain!r} is not a valid domain name")
    walk = Traversal(session, ip=client, sender=sender or f"postmaster@{name}", helo=helo or name)
    result = await walk.run(name)
    if walk.stop is not None:
        reason, code = walk.stop.detail, walk.stop.code
    elif walk.matched is not None:
        reason, code = f"matched {walk.matched.term!r} in the record of {walk.matched.domain}", None
    elif result is SpfOutcome.NONE:
        reason, code = f"{name} publishes no SPF record", "spf.missing"
    else:
        reason, code = "no mechanism matched: the default result", None
    return SpfEvaluation(
        result,
        name,
        walk.lookups,
        walk.void_lookups,
        walk.matched.term if walk.matched else None,
        walk.matched.domain if walk.matched else None,
        code,
        reason,
    )


async def spf_lookup_count(resolver: Resolver, domain: str, record_text: str) -> tuple[int, int]:
    """(DNS lookups, void lookups) that ``record_text`` would cost if published at ``domain``,
    counted over its whole include / redirect tree as a receiver meets it in the worst case.
    Raises RecordSyntaxError when ``record_text`` is not a valid SPF record."""
    record = parse_spf(record_text)
    name = normalize_name(domain.strip())
    session = DnsSession(resolver)
    session.preset(name, record)
    walk = Traversal(session)
    await walk.run(name)
    return walk.lookups, walk.void_lookups


async def check_spf(
    resolver: Resolver,
    domain: str,
    *,
    ips: Sequence[str] = (),
    include: str | None = None,
    memo: SpfMemo | None = None,
    helo: str | None = None,
) -> SpfResult:
    """Everything about ``domain``'s SPF: status, record, lookup totals over the whole tree,
    problems with their fixes, a check_host() verdict for each source IP, and whether the
    sending service's ``include`` domain is referenced anywhere in the tree.

    ``memo``: include trees already walked in this run with this resolver (see spf_memo.py).
    ``helo``: the HELO/EHLO name check_host sees for each source (default: the domain)."""
    name = normalize_name(domain.strip())
    include_name = normalize_name(include.strip()) if include else None
    session = DnsSession(resolver)
    fetched = await session.record(name)
    if fetched.state is RecordState.OK:
        result, _ = await _check_record(session, name, fetched, include_name, memo)
        return result if not ips else await _with_sources(session, name, ips, result, helo)
    result = _without_record(name, fetched, include_name, ips)
    if not ips:
        return result  # no sources to judge (what `check` asks): nothing to add
    return await _with_sources(session, name, ips, result, helo)


async def _with_sources(
    session: DnsSession, name: str, ips: Sequence[str], result: SpfResult, helo: str | None
) -> SpfResult:
    verdicts = await _sources(session, name, ips, helo)
    if result.status is Status.VALID and result.record is not None:
        bad = _unauthorized_sources(name, parse_spf(result.record), verdicts)
        if bad is not None:
            result = replace(result, problems=(*result.problems, bad))
    return replace(result, sources=verdicts)


async def _sources(
    session: DnsSession, domain: str, ips: Sequence[str], helo: str | None = None
) -> tuple[SourceVerdict, ...]:
    out = []
    for ip in ips:
        probe = ip.split("/", 1)[0]  # a configured network is probed at its first address
        verdict = await _check_host(session, probe, domain, None, helo)
        out.append(SourceVerdict(ip, verdict.result.value, verdict.mechanism, verdict.reason))
    return tuple(out)


def _without_record(
    name: str, fetched: FetchedRecord, include: str | None, ips: Sequence[str]
) -> SpfResult:
    """No usable record: DNS failed, nothing is published, or what is published is broken."""
    answer = fetched.answer
    state = fetched.state
    if state is RecordState.UNKNOWN:
        why = f"the TXT query for {name} failed ({answer.detail or answer.status.value})"
        return SpfResult(status=Status.UNKNOWN, problems=(diag.unknown(name, why),))
    chosen = [i for i, t in enumerate(answer.records) if t in fetched.spf_texts]
    stray = [i for i, t in enumerate(answer.records) if diag.looks_like_spf(t)]
    problems: list[Problem] = []
    if state is RecordState.VOID or state is RecordState.NONE:
        # RFC 7208 4.5: a value whose version section is not exactly "v=spf1" is discarded, so
        # receivers see no SPF at all (result "none"): the status is "missing". A look-alike
        # (quotes, spaces, a version typo) is what the admin meant to publish, so its problems
        # replace the plain "missing" one and say exactly how to fix it.
        for i in stray:
            problems.extend(diag.published_form(name, answer, i, chosen=True))
        if problems:
            return SpfResult(
                status=Status.MISSING,
                problems=tuple(_unique(problems)),
                include_authorized=False if include else None,
            )
        return SpfResult(
            status=Status.MISSING,
            problems=(diag.missing(name, answer, include, ips),),
            include_authorized=False if include else None,
        )
    texts = fetched.spf_texts
    if state is RecordState.MULTIPLE:
        problems.append(diag.multiple(name, texts))
    else:
        assert fetched.error is not None
        problems.append(diag.syntax(name, texts[0], fetched.error))
    for i in chosen:
        problems.extend(diag.published_form(name, answer, i, chosen=True))
    for i in stray:
        problems.extend(diag.published_form(name, answer, i, chosen=False))
    if state is not RecordState.MULTIPLE:  # a record cut in two, its first part broken
        for text in answer.records:
            if text not in texts and (split := diag.split_across_records(name, texts[0], text)):
                problems.append(split)
    return SpfResult(
        status=Status.INVALID,
        record=texts[0],
        problems=tuple(_unique(problems)),
        include_authorized=_mentions(texts, include),
    )


async def _check_record(
    session: DnsSession,
    name: str,
    fetched: FetchedRecord,
    include: str | None,
    memo: SpfMemo | None = None,
) -> tuple[SpfResult, Traversal]:
    """One parsed record: walk its whole tree."""
    record = fetched.record
    assert record is not None
    answer = fetched.answer
    problems: list[Problem] = []
    # A record that ends without all or redirect= may have its rest in another TXT record.
    unfinished = record.all is None and record.redirect is None
    for i, text in enumerate(answer.records):
        if text == record.text:
            problems.extend(diag.published_form(name, answer, i, chosen=True))
        elif diag.looks_like_spf(text):
            problems.extend(diag.published_form(name, answer, i, chosen=False))
        elif unfinished and (split := diag.split_across_records(name, record.text, text)):
            problems.append(split)
    walk = Traversal(session, sender=f"postmaster@{name}", helo=name, memo=memo)
    await walk.run(name)
    findings = walk.findings  # nearly always empty: no work for them then
    if findings:
        problems.extend(diag.from_findings(name, findings))
    problems.extend(diag.limits(name, walk))
    problems.extend(diag.record_warnings(name, walk.visits, walk))

    outcomes = {f.outcome for f in findings} if findings else ()
    if (
        SpfOutcome.PERMERROR in outcomes
        or walk.lookups > MAX_LOOKUPS
        or walk.void_lookups > MAX_VOID_LOOKUPS
        or any(p.severity is Severity.ERROR for p in problems)  # e.g. glued terms
    ):
        status = Status.INVALID
    elif SpfOutcome.TEMPERROR in outcomes:
        status = Status.UNKNOWN
    else:
        status = Status.VALID

    authorized: bool | None = None
    if include is not None:
        authorized = include in walk.targets
        if not authorized and status is Status.VALID:
            problems.append(_include_not_authorized(name, record, include))
    result = SpfResult(
        status=status,
        record=record.text,
        lookups=walk.lookups,
        void_lookups=walk.void_lookups,
        problems=tuple(_unique(problems)),
        include_authorized=authorized,
    )
    return result, walk


def _mentions(texts: Sequence[str], include: str | None) -> bool | None:
    """Whether broken records name ``include`` as include:/redirect= (a best guess: they
    cannot be evaluated)."""
    if include is None:
        return None
    words = {w.lower().rstrip(".") for text in texts for w in text.split()}
    return any(f"{p}{include}" in words for p in ("include:", "+include:", "redirect="))


def _unique(problems: list[Problem]) -> list[Problem]:
    # Most domains have one problem or none: nothing to hash then.
    return problems if len(problems) < 2 else list(dict.fromkeys(problems))


def _include_not_authorized(domain: str, record: SpfRecord, include: str) -> Problem:
    return Problem(
        code="spf.include_not_authorized",
        severity=Severity.ERROR,
        message=f"the SPF record of {domain} does not include {include}, so mail sent through this "
        "service fails SPF",
        fix="replace the record (do not add a second one) with: "
        + with_terms(record, [f"include:{include}"]),
    )


def _unauthorized_sources(
    domain: str, record: SpfRecord, verdicts: Sequence[SourceVerdict]
) -> Problem | None:
    bad = [v for v in verdicts if v.result != SpfOutcome.PASS.value]
    if not bad:
        return None
    terms = [t for t in (source_term(v.source) for v in bad) if t]
    listed = ", ".join(f"{v.source} ({v.result})" for v in bad)
    fix = (
        f"replace the record (do not add a second one) with: {with_terms(record, terms)}"
        if terms
        else "correct the sending addresses in the settings"
    )
    return Problem(
        code="spf.source_not_authorized",
        severity=Severity.ERROR,
        message=f"the SPF record of {domain} does not authorise these sending addresses: {listed}",
        fix=fix,
    )
