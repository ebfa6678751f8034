"""Against a real BIND 9 authoritative for example.com only (tests/fixtures/bind.py), with the
loopback zone server as the recursive resolver: each verdict as through a recursive resolver
(issue 17)."""

from __future__ import annotations

import sys

from tests.fixtures.bind import RECURSIVE, BindWorld

# s1._domainkey.example.com is an alias of the ESP's key, in another zone.
# eu.example.com is delegated to other servers (a referral from BIND).
ARGS = ("--selector", "s1", "example.com", "sub.example.com", "eu.example.com")


def _verdict(report: dict[str, object]) -> dict[str, object]:
    """Everything but which server answered."""
    return {k: v for k, v in report.items() if k != "servers"}


def test_bind_refuses_names_outside_its_zone_without_recursion(bind_world: BindWorld) -> None:
    script = (
        "import asyncio\n"
        "from mailauth_tui.core.dns_types import RType\n"
        "from mailauth_tui.services.dns import DnsResolver\n"
        f"r = DnsResolver(['{bind_world.authoritative}'], timeout=2, retries=0)\n"
        "names = ('_dmarc.com', '_dmarc.example.com', 's1._domainkey.example.com',\n"
        "         '_dmarc.eu.example.com')\n"
        "for name in names:\n"
        "    a = asyncio.run(r.query(name, RType.TXT))\n"
        "    print(a.status.value, a.outside_zones, a.server, a.records, a.cname_chain)\n"
    )
    proc = bind_world.netns.run([sys.executable, "-c", script])
    assert proc.returncode == 0, proc.stderr
    refused, found, alias, delegated = proc.stdout.splitlines()
    assert refused == "refused True 127.0.0.170:53 () ()"
    assert found.startswith("records False 127.0.0.170:53 ('v=DMARC1; p=quarantine;")
    # An alias out of its zone: the CNAME alone (the split resolver asks the target itself).
    assert alias == "nodata False 127.0.0.170:53 () ('s1.dkim.esp.example.net',)"
    # A delegated zone: BIND's referral is no answer about the name, not "missing".
    assert delegated == "refused True 127.0.0.170:53 () ()"


def test_check_on_the_authoritative_server_reads_as_through_a_resolver(
    bind_world: BindWorld,
) -> None:
    # Issue 17: sub.example.com inherits _dmarc.example.com's p=quarantine; example.com's SPF
    # includes _spf.provider.net (another zone), its reports go to reports.example.net, which
    # authorises them in its own zone, and its DKIM key is an alias into the ESP's zone. BIND
    # refuses everything outside example.com, and answers the alias with the CNAME alone.
    # BIND alone, the loopback server standing in for the system's resolver: the zone as it
    # stands on its primary, the rest as the world sees it.
    split = bind_world.check("--nameserver", bind_world.authoritative, *ARGS, system=RECURSIVE)
    # Both given: one failover pool, the questions spread across them.
    pool = bind_world.check(
        "--nameserver", bind_world.authoritative, "--nameserver", bind_world.recursive, *ARGS
    )
    resolved = bind_world.check("--nameserver", bind_world.recursive, *ARGS)
    assert [_verdict(r) for r in split] == [_verdict(r) for r in resolved]
    assert [_verdict(r) for r in pool] == [_verdict(r) for r in resolved]
    org, sub, eu = split
    assert org["valid"] is True, org["problems"]
    spf = org["spf"]
    assert isinstance(spf, dict) and spf["status"] == "valid" and spf["lookups"] == 1
    dmarc = sub["dmarc"]
    assert isinstance(dmarc, dict)
    assert (dmarc["status"], dmarc["policy"], dmarc["effective_policy"]) == (
        "valid",
        "quarantine",
        "quarantine",
    )
    assert dmarc["treewalk_org_domain"] == "example.com"  # _dmarc.com asked of the resolver
    codes = [p["code"] for p in org["problems"] + sub["problems"]]  # type: ignore[operator]
    assert "dmarc.external_destination_unauthorized" not in codes
    assert "dmarc.org_domain_unknown" not in codes and "spf.unknown" not in codes
    # Which server answered each record: the zone's own, for the zone's names.
    assert org["servers"] == {
        "example.com": "127.0.0.170:53",
        "_dmarc.example.com": "127.0.0.170:53",
        "s1._domainkey.example.com": "127.0.0.171:53",  # the key, behind the alias
    }
    assert sub["servers"] == {
        "sub.example.com": "127.0.0.170:53",
        "_dmarc.example.com": "127.0.0.170:53",
        "s1._domainkey.sub.example.com": "127.0.0.170:53",
    }
    assert eu["servers"] == {  # all the delegated zone's: asked of the resolver
        "eu.example.com": "127.0.0.171:53",
        "_dmarc.eu.example.com": "127.0.0.171:53",
        "s1._domainkey.eu.example.com": "127.0.0.171:53",
    }
    eu_dmarc = eu["dmarc"]
    assert isinstance(eu_dmarc, dict)
    assert (eu_dmarc["status"], eu_dmarc["effective_policy"]) == ("valid", "reject")
