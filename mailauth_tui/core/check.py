"""One domain, every record: SPF, DMARC (then BIMI, which depends on it) and DKIM, at once."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import replace

from mailauth_tui.core.bimi import check_bimi
from mailauth_tui.core.dkim import check_dkim
from mailauth_tui.core.dmarc import check_dmarc
from mailauth_tui.core.dns_types import Resolver, RType
from mailauth_tui.core.errors import InvalidDomainError
from mailauth_tui.core.names import normalize_domain
from mailauth_tui.core.results import (
    BimiResult,
    DkimResult,
    DmarcResult,
    DomainReport,
    Problem,
    Severity,
    SpfResult,
    Status,
)
from mailauth_tui.core.spf_eval import check_spf
from mailauth_tui.core.spf_memo import SpfMemo

__all__ = ["check_domain", "internal_error_report", "invalid_domain_report", "with_servers"]


async def check_domain(
    resolver: Resolver,
    domain: str,
    *,
    selectors: Sequence[str] = (),
    ips: Sequence[str] = (),
    include: str | None = None,
    expected_keys: Mapping[str, str] | None = None,
    spf_memo: SpfMemo | None = None,
    helo: str | None = None,
) -> DomainReport:
    """Check ``domain`` (Unicode or ASCII). A name that is not a valid domain gives a report
    with every status ``invalid`` and a ``domain.invalid`` problem: nothing is asked in DNS.
    ``spf_memo``: include trees walked for earlier domains of the run (``core.spf_memo``).
    ``ips``: sending addresses, each evaluated by check_host (``helo``: the name the client
    gives in HELO/EHLO, for %{h} macros; the domain itself by default)."""
    try:
        name = normalize_domain(domain)
    except InvalidDomainError as exc:
        return invalid_domain_report(domain, str(exc), selectors)
    keys = expected_keys or {}
    domain_ascii = name.ascii
    # DMARC (then BIMI, which depends on it) runs in a task of its own while this one checks
    # SPF, then the DKIM key: their lookups overlap, and a domain costs one task. (A task costs
    # about as much as parsing a DNS answer: a gather of every branch made four per domain.)
    # The DKIM lookup waits for SPF's: one round trip more for a single domain at worst, none
    # when many are checked at once, which keeps the resolver busy either way.
    dmarc_task = asyncio.get_running_loop().create_task(_dmarc_then_bimi(resolver, domain_ascii))
    try:
        spf, dkim = await _spf_then_dkim(
            resolver, domain_ascii, selectors, ips, include, keys, spf_memo, helo
        )
        dmarc, bimi = await dmarc_task
    except BaseException:
        # Cancelled (or a bug): the DMARC branch must not outlive the check.
        dmarc_task.cancel()
        dmarc_task.add_done_callback(_retrieve)
        raise
    return DomainReport(
        domain=domain_ascii,
        domain_unicode=name.unicode,
        spf=spf,
        dmarc=dmarc,
        bimi=bimi,
        dkim=tuple(dkim),
    )


async def with_servers(resolver: Resolver, report: DomainReport) -> DomainReport:
    """The report with the server that answered each record's look-up (``servers``): SPF at
    the domain, DMARC where the policy was found, each DKIM key. Asked again of ``resolver``,
    which answers from the run's cache: nothing new goes out."""
    hosts = [report.domain]
    if report.dmarc.source_domain:
        hosts.append(f"_dmarc.{report.dmarc.source_domain}")
    hosts.extend(d.host for d in report.dkim if d.host)
    servers = []
    for host in dict.fromkeys(hosts):
        answer = await resolver.query(host, RType.TXT)
        if answer.server:
            servers.append((host, answer.server))
    return replace(report, servers=tuple(servers))


async def _dmarc_then_bimi(resolver: Resolver, domain: str) -> tuple[DmarcResult, BimiResult]:
    dmarc = await check_dmarc(resolver, domain)
    return dmarc, await check_bimi(resolver, domain, dmarc)


async def _spf_then_dkim(
    resolver: Resolver,
    domain: str,
    selectors: Sequence[str],
    ips: Sequence[str],
    include: str | None,
    keys: Mapping[str, str],
    memo: SpfMemo | None,
    helo: str | None = None,
) -> tuple[SpfResult, list[DkimResult]]:
    spf = await check_spf(resolver, domain, ips=ips, include=include, memo=memo, helo=helo)
    wanted = tuple(dict.fromkeys(selectors))
    if len(wanted) > 1:
        dkim = list(
            await asyncio.gather(*(check_dkim(resolver, domain, s, keys.get(s)) for s in wanted))
        )
    else:
        dkim = []
        for selector in wanted:
            dkim.append(await check_dkim(resolver, domain, selector, keys.get(selector)))
    return spf, dkim


def _retrieve(task: asyncio.Task[object]) -> None:
    """Mark an abandoned branch's outcome as seen (its error is not the one reported)."""
    if not task.cancelled():
        task.exception()


def invalid_domain_report(domain: str, reason: str, selectors: Sequence[str] = ()) -> DomainReport:
    """The report for a name that could not be checked at all (not a valid domain name)."""
    problem = Problem(
        code="domain.invalid",
        severity=Severity.ERROR,
        message=reason,
        fix="give the domain as a host name such as example.com or mail.example.com "
        "(no scheme, no path, no address)",
    )
    return _unchecked_report(domain.strip(), Status.INVALID, problem, selectors)


def internal_error_report(
    domain: str, exc: Exception, selectors: Sequence[str] = ()
) -> DomainReport:
    """The report for a domain whose check failed inside mailauth-tui (a bug): every record
    unknown, so a run over thousands of domains reports it and goes on."""
    problem = Problem(
        code="check.internal_error",
        severity=Severity.ERROR,
        message=f"the check of this domain failed inside mailauth-tui: {type(exc).__name__}: {exc}",
        fix="report this as a bug, with the domain; the other domains are not affected",
    )
    return _unchecked_report(domain, Status.UNKNOWN, problem, selectors)


def _unchecked_report(
    domain: str, status: Status, problem: Problem, selectors: Sequence[str]
) -> DomainReport:
    return DomainReport(
        domain=domain,
        domain_unicode=domain,
        spf=SpfResult(status),
        dmarc=DmarcResult(status),
        bimi=BimiResult(status),
        dkim=tuple(DkimResult(selector=s, status=status) for s in dict.fromkeys(selectors)),
        problems=(problem,),
    )
