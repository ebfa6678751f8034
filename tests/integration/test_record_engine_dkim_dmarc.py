"""DKIM key types, DMARC look-alikes and the bound on report-destination look-ups, over the
loopback zone server (issue 16, record engine)."""

from __future__ import annotations

from mailauth_tui.core.check import check_domain
from mailauth_tui.core.dkim import check_dkim
from mailauth_tui.core.dmarc import check_dmarc
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
