"""BIMI records: parser and check_bimi (with the DMARC result it depends on)."""

from __future__ import annotations

import pytest

from mailauth_tui.core.bimi import check_bimi, parse_bimi
from mailauth_tui.core.dns_types import AnswerStatus
from mailauth_tui.core.errors import RecordSyntaxError
from mailauth_tui.core.results import BimiResult, DmarcResult, Severity, Status
from tests.unit.dns_fakes import FakeResolver

LOGO = "https://example.com/brand/logo.svg"
VMC = "https://example.com/brand/vmc.pem"
RECORD = f"v=BIMI1; l={LOGO}; a={VMC}"
ENFORCED = DmarcResult(
    status=Status.VALID,
    policy="reject",
    effective_policy="reject",
    pct=100,
    org_domain="example.com",
    treewalk_org_domain="example.com",
)


def codes(result: BimiResult) -> list[str]:
    return [p.code for p in result.problems]


def test_parse_logo_and_authority() -> None:
    rec = parse_bimi(RECORD)
    assert (rec.logo_url, rec.authority_url, rec.declined) == (LOGO, VMC, False)


def test_declination_record() -> None:
    rec = parse_bimi("v=BIMI1; l=; a=;")
    assert rec.declined and rec.logo_urls == () and rec.authority_url is None


def test_avatar_preference_and_unknown_tags() -> None:
    rec = parse_bimi(f"v=BIMI1; l={LOGO}; avp=Personal; x=1")
    assert rec.avatar_preference == "personal" and rec.unknown_tags == ("x",)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        (f"l={LOGO}; v=BIMI1", "version"),
        (f"v=BIMI2; l={LOGO}", "version"),
        ("v=BIMI1; a=", "syntax"),
        ("v=BIMI1; l=http://example.com/logo.svg", "not_https"),
        ("v=BIMI1; l=example.com/logo.svg", "not_https"),
        (f"v=BIMI1; l={LOGO}; a=ftp://example.com/vmc.pem", "not_https"),
        ("v=BIMI1; l=https://", "not_https"),
        (f"v=BIMI1; l={LOGO}; avp=both", "syntax"),
        (f"v=BIMI1; l={LOGO}; l={LOGO}", "duplicate_tag"),
    ],
)
def test_invalid_records(text: str, code: str) -> None:
    with pytest.raises(RecordSyntaxError) as info:
        parse_bimi(text)
    assert info.value.code == code


async def test_valid_record_with_enforced_dmarc_has_no_problems() -> None:
    dns = FakeResolver().txt("default._bimi.example.com", RECORD)
    result = await check_bimi(dns, "example.com", ENFORCED)
    assert result.status is Status.VALID
    assert (result.record, result.logo_url, result.authority_url) == (RECORD, LOGO, VMC)
    assert result.problems == ()


@pytest.mark.parametrize(
    "dmarc",
    [
        DmarcResult(status=Status.VALID, policy="none", effective_policy="none", pct=100),
        DmarcResult(status=Status.VALID, policy="reject", effective_policy="reject", pct=50),
        DmarcResult(status=Status.MISSING),
    ],
)
async def test_warning_unless_dmarc_is_enforced(dmarc: DmarcResult) -> None:
    dns = FakeResolver().txt("default._bimi.example.com", RECORD)
    result = await check_bimi(dns, "example.com", dmarc)
    assert result.status is Status.VALID
    assert codes(result) == ["bimi.dmarc_not_enforced"]
    assert result.problems[0].severity is Severity.WARNING


async def test_missing_is_only_informational() -> None:
    result = await check_bimi(FakeResolver(), "example.com", ENFORCED)
    assert result.status is Status.MISSING and codes(result) == ["bimi.missing"]
    assert result.problems[0].severity is Severity.INFO


async def test_subdomain_falls_back_to_the_organisational_domain() -> None:
    dns = FakeResolver().txt("default._bimi.example.com", RECORD)
    result = await check_bimi(dns, "mail.example.com", ENFORCED)
    assert result.status is Status.VALID and result.logo_url == LOGO
    assert codes(result) == ["bimi.inherited"]
    assert dns.asked() == ["default._bimi.mail.example.com", "default._bimi.example.com"]


@pytest.mark.parametrize("status", [AnswerStatus.SERVFAIL, AnswerStatus.TIMEOUT])
async def test_failed_lookup_is_unknown(status: AnswerStatus) -> None:
    dns = FakeResolver().fail("default._bimi.example.com", status)
    result = await check_bimi(dns, "example.com", ENFORCED)
    assert result.status is Status.UNKNOWN and codes(result) == ["bimi.unknown"]


async def test_non_https_logo_is_invalid() -> None:
    dns = FakeResolver().txt("default._bimi.example.com", "v=BIMI1; l=http://example.com/l.svg")
    result = await check_bimi(dns, "example.com", ENFORCED)
    assert result.status is Status.INVALID and codes(result) == ["bimi.not_https"]
    assert result.problems[0].severity is Severity.ERROR


async def test_several_records() -> None:
    dns = FakeResolver().txt("default._bimi.example.com", RECORD, f"v=BIMI1; l={LOGO}")
    result = await check_bimi(dns, "example.com", ENFORCED)
    assert result.status is Status.INVALID and codes(result) == ["bimi.multiple_records"]


async def test_declined_png_and_no_authority() -> None:
    dns = FakeResolver().txt("default._bimi.example.com", "v=BIMI1; l=; a=")
    declined = await check_bimi(dns, "example.com", ENFORCED)
    assert declined.status is Status.VALID and codes(declined) == ["bimi.declined"]
    dns = FakeResolver().txt("default._bimi.example.com", "v=BIMI1; l=https://example.com/l.png")
    png = await check_bimi(dns, "example.com", ENFORCED)
    assert codes(png) == ["bimi.logo_not_svg", "bimi.no_authority"]


async def test_literal_quotes() -> None:
    dns = FakeResolver().txt("default._bimi.example.com", f'"{RECORD}"')
    result = await check_bimi(dns, "example.com", ENFORCED)
    assert result.status is Status.INVALID and codes(result) == ["txt.literal_quotes"]
    assert result.logo_url == LOGO
