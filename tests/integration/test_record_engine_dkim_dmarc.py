"""DKIM key types, DMARC look-alikes and the bound on report-destination look-ups, over the
loopback zone server (issue 16, record engine)."""

from __future__ import annotations

from mailauth_tui.core.dkim import check_dkim
from mailauth_tui.core.dmarc import MAX_EXTERNAL_DESTINATIONS, check_dmarc
from mailauth_tui.core.results import Severity, Status
from mailauth_tui.demo.zoneserver import Zone, ZoneServer
from mailauth_tui.services.dns import DnsResolver


def codes(problems: object) -> list[str]:
    return [p.code for p in problems]  # type: ignore[attr-defined]


async def test_dkim_key_of_an_unknown_type_is_invalid(zone: Zone, resolver: DnsResolver) -> None:
    # RFC 6376 3.6.1 / 6.1.2: a verifier ignores a key record of a type it does not know, so
    # the key verifies nothing: invalid, an error, not a valid key with a warning.
    zone.add("s1._domainkey.example.com", "TXT", "v=DKIM1; k=dsa; p=AAAA")
    result = await check_dkim(resolver, "example.com", "s1")
    assert result.status is Status.INVALID
    (problem,) = [p for p in result.problems if p.code == "dkim.unknown_key_type"]
    assert problem.severity is Severity.ERROR
    assert "k=dsa" in problem.message


async def test_dkim_rsa_and_ed25519_stay_valid(
    zone: Zone, resolver: DnsResolver, dkim_2048: str
) -> None:
    zone.add("s1._domainkey.example.com", "TXT", f"v=DKIM1; k=RSA; p={dkim_2048}")
    zone.add(
        "s2._domainkey.example.com",
        "TXT",
        "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
    )
    rsa = await check_dkim(resolver, "example.com", "s1")
    ed = await check_dkim(resolver, "example.com", "s2")
    assert (rsa.status, ed.status) == (Status.VALID, Status.VALID)


async def test_dmarc_with_text_before_the_version_is_a_lookalike(
    zone: Zone, resolver: DnsResolver
) -> None:
    # RFC 7489 6.6.3 step 3, RFC 9989 4.10: receivers discard a record that does not start
    # with v=DMARC1, leading white space included.
    zone.add("_dmarc.space.example", "TXT", " v=DMARC1; p=reject; rua=mailto:d@space.example")
    zone.add("_dmarc.text.example", "TXT", "dmarc v=DMARC1; p=quarantine")
    space = await check_dmarc(resolver, "space.example")
    text = await check_dmarc(resolver, "text.example")
    for result, trimmed in (
        (space, "v=DMARC1; p=reject; rua=mailto:d@space.example"),
        (text, "v=DMARC1; p=quarantine"),
    ):
        assert result.status is Status.MISSING, result
        assert result.effective_policy is None
        (problem,) = [p for p in result.problems if p.code == "dmarc.text_before_version"]
        assert problem.severity is Severity.ERROR
        assert problem.fix.endswith(f": {trimmed}"), problem.fix


async def test_dmarc_record_starting_with_the_version_stays_valid(
    zone: Zone, resolver: DnsResolver
) -> None:
    zone.add("_dmarc.ok.example", "TXT", "v = DMARC1 ; p=reject")
    result = await check_dmarc(resolver, "ok.example")
    assert (result.status, result.effective_policy) == (Status.VALID, "reject")


async def test_external_report_destinations_are_asked_within_a_bound(
    zone: Zone, dns_server: ZoneServer, resolver: DnsResolver
) -> None:
    # RFC 7489 6.2 lets receivers limit the destinations; the check asks at most
    # MAX_EXTERNAL_DESTINATIONS authorisation names and says what it left out.
    rua = ",".join(f"mailto:d@r{i}.example" for i in range(1000))
    zone.add("_dmarc.example.com", "TXT", f"v=DMARC1; p=none; rua={rua}")
    for i in range(3):
        zone.add(f"example.com._report._dmarc.r{i}.example", "TXT", "v=DMARC1")
    dns_server.reset_counts()
    result = await check_dmarc(resolver, "example.com")
    assert result.status is Status.VALID
    assert dns_server.count() <= MAX_EXTERNAL_DESTINATIONS + 5
    asked = [p for p in result.problems if p.code == "dmarc.external_destination_unauthorized"]
    assert len(asked) == MAX_EXTERNAL_DESTINATIONS - 3
    (excess,) = [p for p in result.problems if p.code == "dmarc.too_many_destinations"]
    assert "1000 report destinations" in excess.message
    assert f"{1000 - MAX_EXTERNAL_DESTINATIONS} were not checked" in excess.message


async def test_truncated_dkim_key_is_named_with_or_without_the_expected_key(
    zone: Zone, resolver: DnsResolver, dkim_2048: str
) -> None:
    cut = dkim_2048[:250]  # what a 255-character form field kept of "v=DKIM1; k=rsa; p=..."
    zone.add("s1._domainkey.example.com", "TXT", f"v=DKIM1; k=rsa; p={cut}")
    unknown = await check_dkim(resolver, "example.com", "s1")
    assert unknown.status is Status.INVALID
    assert codes(unknown.problems) == ["dkim.truncated"]
    assert "truncated" in unknown.problems[0].message
    known = await check_dkim(resolver, "example.com", "s1", expected_public_key=dkim_2048)
    (problem,) = known.problems
    assert problem.code == "dkim.truncated"
    assert problem.fix.endswith(f": v=DKIM1; k=rsa; p={dkim_2048}")
