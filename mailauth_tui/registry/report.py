"""The email reliability report: recommended actions, each with the domains concerned."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from mailauth_tui.registry.models import (
    DmarcState,
    DomainRow,
    Ownership,
    RecordState,
    ReportAction,
)

EXPIRY_WARNING = timedelta(days=2)


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _domains(n: int) -> str:
    return _count(n, "domain", "domains")


_Rule = tuple[str, Callable[[DomainRow, datetime], bool], Callable[[int], str], str]

_RULES: tuple[_Rule, ...] = (
    (
        "failing",
        lambda r, _: RecordState.FAILING in (r.dkim_state, r.spf_state),
        lambda n: f"{_domains(n)} with failing records",
        "A record that was verified is gone or different in DNS: publish it again as shown "
        "on the records screen, then verify.",
    ),
    (
        "unknown",
        lambda r, _: (
            bool(r.last_check.unknown)
            or RecordState.UNKNOWN in (r.dkim_state, r.spf_state)
            or r.dmarc_state is DmarcState.UNKNOWN
        ),
        lambda n: f"{_domains(n)} with unknown check results",
        "The last DNS look-up failed (timeout, SERVFAIL, REFUSED); nothing was demoted. The "
        "check is retried automatically; verify again to retry now.",
    ),
    (
        "code_expiring",
        lambda r, now: (
            r.ownership is Ownership.PENDING
            and r.code_expires_at is not None
            and now < r.code_expires_at <= now + EXPIRY_WARNING
        ),
        lambda n: f"{_count(n, 'verification code', 'verification codes')} expiring within 2 days",
        "Enter the code mailed to the organisation address before it expires, or resend it.",
    ),
    (
        "waiting_ownership",
        lambda r, _: r.ownership is not Ownership.VERIFIED,
        lambda n: f"{_domains(n)} waiting for ownership proof",
        "Enter the verification code mailed to the organisation address; resend it when it "
        "expired or was locked by wrong tries.",
    ),
    (
        "waiting_dkim",
        lambda r, _: (
            r.ownership is Ownership.VERIFIED
            and r.dkim_state not in (RecordState.VERIFIED, RecordState.FAILING)
        ),
        lambda n: f"{_domains(n)} waiting for DKIM",
        "Publish the DKIM record (required) and verify: until then mail from these domains "
        "goes out with the system sender address.",
    ),
    (
        "waiting_dmarc",
        lambda r, _: (
            r.ownership is Ownership.VERIFIED and r.dmarc_state is DmarcState.NOT_CONFIGURED
        ),
        lambda n: f"{_domains(n)} waiting for DMARC setup",
        "Publish a DMARC record (start with p=none and a report address): Gmail and Yahoo "
        "require one from bulk senders, and bulk sending is refused without it.",
    ),
    (
        "waiting_spf",
        lambda r, _: (
            r.ownership is Ownership.VERIFIED
            and r.spf_state in (RecordState.NOT_CHECKED, RecordState.PENDING)
        ),
        lambda n: f"{_domains(n)} without SPF for the sending sources",
        "SPF is recommended: publish the SPF record shown (merged with any existing one).",
    ),
    (
        "retired_selector",
        lambda r, now: any(
            k.remove_after is not None and not k.active and k.remove_after <= now
            for k in r.dkim_keys
        ),
        lambda n: f"{_domains(n)} with a retired DKIM selector safe to remove from DNS",
        "A key that stopped signing more than its keeping time ago (dkim.keep_retired_days) "
        "is no longer needed to verify mail: delete the TXT record at its "
        "<selector>._domainkey name (the domain's details show which).",
    ),
    (
        "dmarc_monitoring",
        lambda r, _: r.dmarc_state is DmarcState.CONFIGURED and r.dmarc_policy == "none",
        lambda n: f"{_domains(n)} with DMARC p=none (monitoring only)",
        "Once the aggregate reports show your mail passing, move to p=quarantine, then p=reject.",
    ),
)


def build_report(rows: Sequence[DomainRow], now: datetime) -> list[ReportAction]:
    """The actions that apply, most urgent first; actions with no domain are left out."""
    actions: list[ReportAction] = []
    for code, applies, title, advice in _RULES:
        hit = tuple(r.domain for r in rows if applies(r, now))
        if hit:
            actions.append(
                ReportAction(code=code, title=title(len(hit)), advice=advice, domains=hit)
            )
    return actions
