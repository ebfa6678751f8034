"""check_domain over the wire: loopback ZoneServer, real DnsResolver, every record at once."""

from __future__ import annotations

import time

import pytest

from mailauth_tui.core.check import check_domain
from mailauth_tui.core.results import Severity, Status
from mailauth_tui.demo.zoneserver import Zone, ZoneServer
from mailauth_tui.services.dns import DnsResolver


def publish_valid(zone: Zone, domain: str, key: str) -> None:
    zone.add(domain, "TXT", "v=spf1 include:_spf.esp.example -all")
    zone.add("_spf.esp.example", "TXT", "v=spf1 ip4:192.0.2.0/24 -all")
    zone.add(f"_dmarc.{domain}", "TXT", "v=DMARC1; p=reject; rua=mailto:dmarc@" + domain)
    zone.add(f"s1._domainkey.{domain}", "TXT", f"v=DKIM1; k=rsa; p={key}")


def codes(problems: object) -> set[str]:
    return {p.code for p in problems}  # type: ignore[attr-defined]


async def test_fully_valid_domain(zone: Zone, resolver: DnsResolver, dkim_2048: str) -> None:
    publish_valid(zone, "example.com", dkim_2048)
    (strings,) = zone.txt_strings("s1._domainkey.example.com")
    assert len(strings[0]) == 255 and len(strings) == 2
    report = await check_domain(
        resolver, "Example.COM", selectors=["s1"], expected_keys={"s1": dkim_2048}
    )
    assert report.valid, report.all_problems
    assert report.domain == "example.com"
    assert (report.spf.status, report.spf.lookups) == (Status.VALID, 1)
    (dkim,) = report.dkim
    assert (dkim.status, dkim.key_type, dkim.key_bits) == (Status.VALID, "rsa", 2048)
    assert (report.dmarc.policy, report.dmarc.source_domain) == ("reject", "example.com")
    assert report.bimi.status is Status.MISSING
    assert not [p for p in report.all_problems if p.severity != "info"]


async def test_revoked_and_mismatched_keys(
    zone: Zone, resolver: DnsResolver, dkim_2048: str
) -> None:
    publish_valid(zone, "example.com", dkim_2048)
    zone.add("old._domainkey.example.com", "TXT", "v=DKIM1; k=rsa; p=")
    report = await check_domain(
        resolver, "example.com", selectors=["s1", "old"], expected_keys={"s1": "AAAA"}
    )
    s1, old = report.dkim
    assert old.status is Status.REVOKED
    assert "dkim.key_mismatch" in codes(s1.problems)
    assert not report.valid


async def test_spf_over_the_lookup_limit(zone: Zone, resolver: DnsResolver) -> None:
    includes = " ".join(f"include:i{i}.esp.example" for i in range(11))
    zone.add("example.com", "TXT", f"v=spf1 {includes} -all")
    for i in range(11):
        zone.add(f"i{i}.esp.example", "TXT", "v=spf1 -all")
    report = await check_domain(resolver, "example.com")
    assert report.spf.status is Status.INVALID
    assert report.spf.lookups > 10
    assert "spf.too_many_lookups" in codes(report.spf.problems)


async def test_dmarc_from_the_organisational_domain_or_the_subdomain(
    zone: Zone, resolver: DnsResolver
) -> None:
    zone.add("_dmarc.example.com", "TXT", "v=DMARC1; p=reject; sp=quarantine")
    zone.add("_dmarc.own.example.com", "TXT", "v=DMARC1; p=none")
    inherited = await check_domain(resolver, "mail.example.com")
    own = await check_domain(resolver, "own.example.com")
    assert inherited.dmarc.source_domain == "example.com"
    assert inherited.dmarc.effective_policy == "quarantine"
    assert own.dmarc.source_domain == "own.example.com"
    assert own.dmarc.effective_policy == "none"


async def test_servfail_is_unknown_not_missing(zone: Zone, resolver: DnsResolver) -> None:
    zone.add("example.com", "TXT", "v=spf1 -all")
    zone.servfail("_dmarc.example.com")
    zone.servfail("s1._domainkey.example.com")
    report = await check_domain(resolver, "example.com", selectors=["s1"])
    assert report.dmarc.status is Status.UNKNOWN
    assert report.dkim[0].status is Status.UNKNOWN
    assert report.spf.status is Status.VALID


async def test_a_timeout_is_unknown(zone: Zone, dns_server: ZoneServer) -> None:
    zone.add("example.com", "TXT", "v=spf1 -all")
    zone.drop("example.com")
    resolver = DnsResolver([dns_server.address], timeout=0.3, retries=0)
    started = time.monotonic()
    report = await check_domain(resolver, "example.com")
    resolver.close()
    assert report.spf.status is Status.UNKNOWN
    assert "spf.unknown" in codes(report.spf.problems)
    assert time.monotonic() - started < 1.5


async def test_zone_name_appended_twice(zone: Zone, resolver: DnsResolver, dkim_2048: str) -> None:
    zone.add("s1._domainkey.example.com.example.com", "TXT", f"v=DKIM1; k=rsa; p={dkim_2048}")
    zone.add("_dmarc.example.com.example.com", "TXT", "v=DMARC1; p=none")
    report = await check_domain(resolver, "example.com", selectors=["s1"])
    assert report.dkim[0].status is Status.MISSING
    assert "dkim.zone_doubled" in codes(report.dkim[0].problems)
    assert "dmarc.zone_doubled" in codes(report.dmarc.problems)


async def test_bad_domain_name_is_a_report_and_asks_nothing(
    dns_server: ZoneServer, resolver: DnsResolver
) -> None:
    report = await check_domain(resolver, "http://example.com/", selectors=["s1"])
    assert [p.code for p in report.problems] == ["domain.invalid"]
    assert report.spf.status is report.dmarc.status is Status.INVALID
    assert report.dkim[0].status is Status.INVALID
    assert not report.valid
    assert dns_server.count() == 0


async def test_idn_domain_shown_in_both_forms(
    zone: Zone, resolver: DnsResolver, dkim_2048: str
) -> None:
    publish_valid(zone, "xn--bcher-kva.example", dkim_2048)
    report = await check_domain(resolver, "BÜCHER.example", selectors=["s1"])
    assert (report.domain, report.domain_unicode) == ("xn--bcher-kva.example", "bücher.example")
    assert report.valid, report.all_problems


async def test_records_are_asked_concurrently(
    zone: Zone, dns_server: ZoneServer, resolver: DnsResolver, dkim_2048: str
) -> None:
    publish_valid(zone, "example.com", dkim_2048)
    zone.add("s2._domainkey.example.com", "TXT", f"v=DKIM1; k=rsa; p={dkim_2048}")
    dns_server.delay = 0.1
    started = time.monotonic()
    await check_domain(resolver, "example.com", selectors=["s1", "s2"])
    elapsed = time.monotonic() - started
    # SPF (2 rounds), DMARC then BIMI (2-3), DKIM (1) side by side: ~3 round trips, where
    # asking one query after another would take one per query.
    assert dns_server.count() >= 7
    assert elapsed < 0.1 * (dns_server.count() - 2)


async def test_every_selector_is_judged(zone: Zone, dns_server: ZoneServer, dkim_2048: str) -> None:
    publish_valid(zone, "example.com", dkim_2048)
    zone.add("s2._domainkey.example.com", "TXT", "v=DKIM1; k=rsa; p=")
    resolver = DnsResolver([dns_server.address], timeout=2.0, retries=0)
    try:
        report = await check_domain(resolver, "example.com", selectors=["s1", "s2"])
    finally:
        resolver.close()
    assert [d.status for d in report.dkim] == [Status.VALID, Status.REVOKED]


@pytest.mark.parametrize("failure", ["servfail", "drop"])
@pytest.mark.parametrize(
    ("domain", "record_at", "failed"),
    [
        ("sub.example.com", "example.com", "com"),  # the top-level domain
        # An intermediate level above the PSL organisational domain (example.co.uk).
        ("mail.dept.example.co.uk", "example.co.uk", "co.uk"),
    ],
)
async def test_a_failure_above_the_record_found_keeps_its_policy(
    zone: Zone, dns_server: ZoneServer, failure: str, domain: str, record_at: str, failed: str
) -> None:
    # Issue 17: SERVFAIL or a timeout at _dmarc.<failed>, above the record that applies.
    zone.add(f"_dmarc.{record_at}", "TXT", "v=DMARC1; p=quarantine; sp=reject")
    getattr(zone, failure)(f"_dmarc.{failed}")
    resolver = DnsResolver([dns_server.address], timeout=0.2, retries=0)
    report = await check_domain(resolver, domain)
    resolver.close()
    dmarc = report.dmarc
    assert dmarc.status is Status.VALID and dmarc.source_domain == record_at
    assert (dmarc.policy, dmarc.subdomain_policy, dmarc.effective_policy) == (
        "quarantine",
        "reject",
        "reject",
    )
    [problem] = [p for p in dmarc.problems if p.code == "dmarc.org_domain_unknown"]
    assert problem.severity is Severity.INFO
    # The server's own words, once: "failed (SERVFAIL from ...)", "failed (no answer from ...)".
    detail = "SERVFAIL from" if failure == "servfail" else "no answer from"
    assert f"_dmarc.{failed} failed ({detail} {dns_server.address}" in problem.message
    assert "dmarc.unknown" not in codes(dmarc.problems)


@pytest.mark.parametrize("failure", ["servfail", "drop"])
async def test_a_failure_at_the_organisational_domain_is_unknown(
    zone: Zone, dns_server: ZoneServer, failure: str
) -> None:
    # A record at _dmarc.example.com would apply instead of dept's: nothing can be concluded.
    zone.add("_dmarc.dept.example.com", "TXT", "v=DMARC1; p=reject")
    getattr(zone, failure)("_dmarc.example.com")
    resolver = DnsResolver([dns_server.address], timeout=0.2, retries=0)
    report = await check_domain(resolver, "mail.dept.example.com")
    resolver.close()
    assert report.dmarc.status is Status.UNKNOWN and report.dmarc.effective_policy is None
    assert codes(report.dmarc.problems) == {"dmarc.unknown"}
