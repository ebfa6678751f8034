"""One domain, every record: SPF, DMARC (then BIMI, which depends on it) and DKIM, at once."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

from mailauth_tui.core.bimi import check_bimi
from mailauth_tui.core.dkim import check_dkim
from mailauth_tui.core.dmarc import check_dmarc
from mailauth_tui.core.dns_types import Resolver
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

__all__ = ["check_domain", "invalid_domain_report"]


async def check_domain(
    resolver: Resolver,
    domain: str,
    *,
    selectors: Sequence[str] = (),
    ips: Sequence[str] = (),
    include: str | None = None,
    expected_keys: Mapping[str, str] | None = None,
) -> DomainReport:
    """Check ``domain`` (Unicode or ASCII). A name that is not a valid domain gives a report
    with every status ``invalid`` and a ``domain.invalid`` problem: nothing is asked in DNS."""
    try:
        name = normalize_domain(domain)
    except InvalidDomainError as exc:
        return invalid_domain_report(domain, str(exc), selectors)
    keys = expected_keys or {}

    async def dmarc_then_bimi() -> tuple[DmarcResult, BimiResult]:
        dmarc = await check_dmarc(resolver, name.ascii)
        return dmarc, await check_bimi(resolver, name.ascii, dmarc)

    dkim_all = asyncio.gather(
        *(check_dkim(resolver, name.ascii, s, keys.get(s)) for s in dict.fromkeys(selectors))
    )
    spf, (dmarc, bimi), dkim = await asyncio.gather(
        check_spf(resolver, name.ascii, ips=ips, include=include), dmarc_then_bimi(), dkim_all
    )
    return DomainReport(
        domain=name.ascii,
        domain_unicode=name.unicode,
        spf=spf,
        dmarc=dmarc,
        bimi=bimi,
        dkim=tuple(dkim),
    )


def invalid_domain_report(domain: str, reason: str, selectors: Sequence[str] = ()) -> DomainReport:
    """The report for a name that could not be checked at all (not a valid domain name)."""
    text = domain.strip()
    problem = Problem(
        code="domain.invalid",
        severity=Severity.ERROR,
        message=reason,
        fix="give the domain as a host name such as example.com or mail.example.com "
        "(no scheme, no path, no address)",
    )
    return DomainReport(
        domain=text,
        domain_unicode=text,
        spf=SpfResult(Status.INVALID),
        dmarc=DmarcResult(Status.INVALID),
        bimi=BimiResult(Status.INVALID),
        dkim=tuple(DkimResult(selector=s, status=Status.INVALID) for s in dict.fromkeys(selectors)),
        problems=(problem,),
    )
