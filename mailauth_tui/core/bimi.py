"""BIMI assertion records (draft-brand-indicators-for-message-identification): parse and check."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

from mailauth_tui.core.dns_types import Answer, Resolver, RType
from mailauth_tui.core.errors import RecordSyntaxError
from mailauth_tui.core.psl import org_domain
from mailauth_tui.core.results import (
    BimiResult,
    DmarcResult,
    Problem,
    Severity,
    Status,
)
from mailauth_tui.core.tagvalue import Tag, parse_tag_list, tags_by_name
from mailauth_tui.core.txt_diagnostics import (
    entry_problems,
    repaired_value,
)

_LOOKS_BIMI = re.compile(r"\s*v\s*=\s*bimi", re.IGNORECASE)
_KNOWN = frozenset({"v", "l", "a", "avp"})


@dataclass(frozen=True, slots=True)
class BimiRecord:
    logo_urls: tuple[str, ...] = ()  # l=; empty = no logo published
    authority_url: str | None = None  # a=: the mark certificate (VMC / CMC)
    avatar_preference: str | None = None  # avp= (brand | personal)
    unknown_tags: tuple[str, ...] = ()

    @property
    def logo_url(self) -> str | None:
        return self.logo_urls[0] if self.logo_urls else None

    @property
    def declined(self) -> bool:
        """``v=BIMI1; l=; a=;``: the domain says it has no logo on purpose."""
        return not self.logo_urls and self.authority_url is None


def _https_url(url: str, tag: Tag) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        parts = None
    if parts is None or parts.scheme.lower() != "https" or not parts.hostname or " " in url:
        raise RecordSyntaxError(
            tag.value_pos, f"{tag.name}= must be an https:// URL, not {url!r}", code="not_https"
        )
    return url


@lru_cache(maxsize=4096)
def parse_bimi(text: str) -> BimiRecord:
    """Parse a BIMI record; raise RecordSyntaxError (``code`` "version", "not_https",
    "syntax" or "duplicate_tag")."""
    tags = parse_tag_list(text)
    first = tags[0]
    if first.name.lower() != "v" or first.value != "BIMI1":
        raise RecordSyntaxError(first.pos, "the record must start with v=BIMI1", code="version")
    by = tags_by_name(tags, fold_case=True)
    if "l" not in by:
        raise RecordSyntaxError(len(text), "the record has no l= tag (the logo URL)")
    location = by["l"]
    logos = tuple(
        _https_url(url.strip(), location) for url in location.value.split(",") if url.strip()
    )
    authority = by.get("a")
    authority_url = (
        _https_url(authority.value, authority)
        if authority is not None and authority.value
        else None
    )
    avp = by.get("avp")
    if avp is not None and avp.value.lower() not in ("brand", "personal"):
        raise RecordSyntaxError(avp.value_pos, f"avp= must be brand or personal: {avp.value!r}")
    return BimiRecord(
        logo_urls=logos,
        authority_url=authority_url,
        avatar_preference=avp.value.lower() if avp is not None else None,
        unknown_tags=tuple(t.name for t in tags if t.name.lower() not in _KNOWN),
    )


def looks_like_bimi(text: str) -> bool:
    return _LOOKS_BIMI.match(repaired_value(text)) is not None


def _problem(code: str, severity: Severity, message: str, fix: str = "") -> Problem:
    return Problem(code=f"bimi.{code}", severity=severity, message=message, fix=fix)


def _bimi_texts(answer: Answer) -> list[int]:
    return [i for i, text in enumerate(answer.records) if looks_like_bimi(text)]


def _dmarc_enforced(dmarc: DmarcResult) -> bool:
    pct = dmarc.pct if dmarc.pct is not None else 100
    return (
        dmarc.status is Status.VALID
        and dmarc.effective_policy in ("quarantine", "reject")
        and pct == 100
    )


def _unknown(host: str, answer: Answer) -> BimiResult:
    return BimiResult(
        status=Status.UNKNOWN,
        problems=(
            _problem(
                "unknown",
                Severity.WARNING,
                f"the DNS lookup of {host} failed ({answer.status}): BIMI could not be checked",
                "nothing to change in DNS; check again later",
            ),
        ),
    )


async def check_bimi(resolver: Resolver, domain: str, dmarc: DmarcResult) -> BimiResult:
    """Look up ``default._bimi.<domain>`` (then the organisational domain's) and judge it.

    BIMI is optional: its absence is "missing" with an informational note only.
    """
    domain = domain.strip().rstrip(".").lower()
    host = f"default._bimi.{domain}"
    answer = await resolver.query(host, RType.TXT)
    if answer.unknown:
        return _unknown(host, answer)
    found = _bimi_texts(answer)
    if not found:
        org = dmarc.treewalk_org_domain or dmarc.org_domain or org_domain(domain)
        if org != domain:
            # The draft's fallback: a subdomain without a record uses its organisation's.
            host = f"default._bimi.{org}"
            answer = await resolver.query(host, RType.TXT)
            if answer.unknown:
                return _unknown(host, answer)
            found = _bimi_texts(answer)
    if not found:
        return BimiResult(
            status=Status.MISSING,
            problems=(
                _problem(
                    "missing",
                    Severity.INFO,
                    f"no BIMI record at default._bimi.{domain} (optional: it shows your brand "
                    "logo in supporting mail clients)",
                    f"to show a logo, publish at default._bimi.{domain}: "
                    "v=BIMI1; l=https://<your site>/logo.svg; a=https://<your site>/vmc.pem",
                ),
            ),
        )
    if len(found) > 1:
        return BimiResult(
            status=Status.INVALID,
            problems=(
                _problem(
                    "multiple_records",
                    Severity.ERROR,
                    f"{len(found)} BIMI records are published at {host}; receivers ignore them",
                    f"delete all but one v=BIMI1 TXT record at {host}",
                ),
            ),
        )
    index = found[0]
    text = answer.records[index]
    chunks = answer.chunks[index] if index < len(answer.chunks) else (text,)
    problems = entry_problems(text, chunks, "bimi")
    try:
        rec = parse_bimi(repaired_value(text) if problems else text)
    except RecordSyntaxError as err:
        problems.append(
            _problem(
                "not_https" if err.code == "not_https" else "syntax",
                Severity.ERROR,
                f"the BIMI record at {host} is not valid: {err}",
                "correct the record: v=BIMI1; l=https://<your site>/logo.svg; "
                "a=https://<your site>/vmc.pem (both URLs https)",
            )
        )
        return BimiResult(status=Status.INVALID, record=text, problems=tuple(problems))
    if host != f"default._bimi.{domain}":
        problems.append(
            _problem(
                "inherited",
                Severity.INFO,
                f"there is no record at default._bimi.{domain}; the one at {host} applies",
            )
        )
    if rec.declined:
        problems.append(
            _problem(
                "declined",
                Severity.INFO,
                f"the record at {host} declines BIMI on purpose (empty l= and a=)",
            )
        )
    else:
        if not _dmarc_enforced(dmarc):
            problems.append(
                _problem(
                    "dmarc_not_enforced",
                    Severity.WARNING,
                    "mail clients show a BIMI logo only when DMARC is enforced "
                    "(p=quarantine or p=reject, pct=100); here it is "
                    f"{dmarc.effective_policy or dmarc.status}"
                    + (f" with pct={dmarc.pct}" if dmarc.pct not in (None, 100) else ""),
                    "move the DMARC policy to p=quarantine or p=reject with pct=100",
                )
            )
        logo = rec.logo_url
        if logo is not None and not urlsplit(logo).path.lower().endswith(".svg"):
            problems.append(
                _problem(
                    "logo_not_svg",
                    Severity.WARNING,
                    f"the logo {logo} is not an .svg file; BIMI requires SVG Tiny PS",
                    "publish the logo as SVG Tiny PS and point l= at the .svg file",
                )
            )
        if rec.authority_url is None:
            problems.append(
                _problem(
                    "no_authority",
                    Severity.INFO,
                    "no a= mark certificate: Gmail and Apple Mail show the logo only with a "
                    "verified mark certificate (VMC or CMC)",
                    "obtain a VMC or CMC and publish its URL in a=",
                )
            )
    status = Status.INVALID if any(p.severity is Severity.ERROR for p in problems) else Status.VALID
    return BimiResult(
        status=status,
        record=text,
        logo_url=rec.logo_url,
        authority_url=rec.authority_url,
        problems=tuple(problems),
    )
