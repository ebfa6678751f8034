"""A DomainReport as plain JSON-ready data: the shape ``mailauth-tui check --json`` prints.

Statuses and severities stay StrEnum members: they are strings, and every JSON encoder writes
them as their values (reading ``.value`` is an Enum property call, a dozen per report)."""

from __future__ import annotations

from mailauth_tui.core.results import DkimResult, DomainReport

__all__ = ["report_to_dict"]


def _dkim(result: DkimResult, problems: list[dict[str, object]]) -> dict[str, object]:
    return {
        "selector": result.selector,
        "status": result.status,
        "host": result.host,
        "record": result.record,
        "key_type": result.key_type,
        "key_bits": result.key_bits,
        "cname_chain": list(result.cname_chain),
        "problems": problems,
    }


def report_to_dict(report: DomainReport) -> dict[str, object]:
    """Every field the issue names, plus a few that scripts find useful (``valid``, hosts,
    SPF source verdicts, DMARC organisational domains and report addresses, BIMI URLs).
    ``problems`` at the top holds all problems, the domain's and every record's, in the order of
    ``DomainReport.all_problems``; each problem's dict is made once and appears in both."""
    spf, dmarc, bimi = report.spf, report.dmarc, report.bimi
    # Plain loops: most groups are empty, and a function call per group and per problem (a
    # comprehension is one) was a tenth of this function.
    groups: list[list[dict[str, object]]] = []
    every: list[dict[str, object]] = []
    for group in report.problem_groups():
        dicts: list[dict[str, object]] = []
        for p in group:
            dicts.append(
                {"code": p.code, "severity": p.severity, "message": p.message, "fix": p.fix}
            )
        groups.append(dicts)
        if dicts:
            every.extend(dicts)
    _, spf_problems, dmarc_problems, *dkim_problems, bimi_problems = groups
    return {
        "domain": report.domain,
        "domain_unicode": report.domain_unicode,
        "valid": report.valid,
        "spf": {
            "status": spf.status,
            "record": spf.record,
            "lookups": spf.lookups,
            "void_lookups": spf.void_lookups,
            "sources": [
                {
                    "source": v.source,
                    "result": v.result,
                    "mechanism": v.mechanism,
                    "reason": v.reason,
                }
                for v in spf.sources
            ],
            "include_authorized": spf.include_authorized,
            "problems": spf_problems,
        },
        "dkim": [_dkim(d, p) for d, p in zip(report.dkim, dkim_problems, strict=True)],
        "dmarc": {
            "status": dmarc.status,
            "record": dmarc.record,
            "policy": dmarc.policy,
            "subdomain_policy": dmarc.subdomain_policy,
            "effective_policy": dmarc.effective_policy,
            "pct": dmarc.pct,
            "source_domain": dmarc.source_domain,
            "org_domain": dmarc.org_domain,
            "treewalk_org_domain": dmarc.treewalk_org_domain,
            "rua": list(dmarc.rua),
            "ruf": list(dmarc.ruf),
            "problems": dmarc_problems,
        },
        "bimi": {
            "status": bimi.status,
            "record": bimi.record,
            "logo_url": bimi.logo_url,
            "authority_url": bimi.authority_url,
            "problems": bimi_problems,
        },
        "problems": every,
        # Which server answered each record's look-up, when the run was asked to say.
        "servers": dict(report.servers),
    }
