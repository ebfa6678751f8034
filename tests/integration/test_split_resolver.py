"""SplitResolver and `check --nameserver AUTH --nameserver RECURSIVE` over two loopback servers:
one passing for an authoritative-only server (no recursion, REFUSED outside its zone), one for
the recursive resolver that knows every zone."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Iterator

import pytest

from mailauth_tui.cli.main import main
from mailauth_tui.core.dns_types import AnswerStatus, RType
from mailauth_tui.demo.zoneserver import Zone, ZoneServer
from mailauth_tui.services.dns import DnsResolver
from mailauth_tui.services.split import SplitResolver, make_resolver

ED25519_KEY = base64.b64encode(bytes(range(32))).decode()
EXAMPLE_COM = """
$ORIGIN example.com.
@       TXT "v=spf1 include:_spf.provider.net -all"
_dmarc  TXT "v=DMARC1; p=quarantine; rua=mailto:dmarc@reports.example.net"
s1._domainkey CNAME s1.dkim.esp.example.net.
"""
ELSEWHERE = f"""
_spf.provider.net.                              TXT "v=spf1 ip4:192.0.2.0/24 -all"
s1.dkim.esp.example.net.                        TXT "v=DKIM1; k=ed25519; p={ED25519_KEY}"
example.com._report._dmarc.reports.example.net. TXT "v=DMARC1"
"""


@pytest.fixture
def authoritative() -> Iterator[ZoneServer]:
    """example.com only; every name of the other zones (and _dmarc.com) REFUSED."""
    zone = Zone.from_text(EXAMPLE_COM)
    for name in (
        "_dmarc.com",
        "_spf.provider.net",
        "s1.dkim.esp.example.net",
        "example.com._report._dmarc.reports.example.net",
    ):
        zone.refuse(name)
    with ZoneServer(zone, recursion=False) as server:
        yield server


@pytest.fixture
def recursive() -> Iterator[ZoneServer]:
    """The world as a recursive resolver sees it: example.com and the other zones."""
    with ZoneServer(Zone.from_text(EXAMPLE_COM + ELSEWHERE)) as server:
        yield server


@pytest.fixture
async def split(authoritative: ZoneServer, recursive: ZoneServer) -> AsyncIterator[SplitResolver]:
    # Async so that its sockets close inside the test's event loop.
    resolver = SplitResolver(
        DnsResolver([authoritative.address], timeout=1.0, retries=0),
        DnsResolver([recursive.address], timeout=1.0, retries=0),
    )
    yield resolver
    resolver.close()


async def test_names_outside_the_zone_go_to_the_recursive_resolver(
    split: SplitResolver, authoritative: ZoneServer, recursive: ZoneServer
) -> None:
    inside = await split.query("example.com", RType.TXT)
    outside = await split.query("_spf.provider.net", RType.TXT)
    tld = await split.query("_dmarc.com", RType.TXT)
    assert inside.server == authoritative.address
    assert outside.server == recursive.address and outside.records
    assert tld.status is AnswerStatus.NXDOMAIN and tld.server == recursive.address
    assert recursive.count("example.com") == 0  # the zone itself is only asked of its server


async def test_an_alias_out_of_the_zone_is_followed_through_the_resolver(
    split: SplitResolver, recursive: ZoneServer
) -> None:
    # The authoritative server answers the CNAME alone: its target is in another zone.
    answer = await split.query("s1._domainkey.example.com", RType.TXT)
    assert answer.status is AnswerStatus.RECORDS and answer.records[0].startswith("v=DKIM1")
    assert answer.name == "s1._domainkey.example.com"
    assert answer.cname_chain == ("s1.dkim.esp.example.net",)
    assert answer.server == recursive.address


async def test_a_refusing_resolver_that_offers_recursion_stays_refused(zone: Zone) -> None:
    zone.refuse("_dmarc.com")
    with ZoneServer(zone) as server:  # RA set: a resolver refusing us, not a zone's server
        address = server.address
        split = SplitResolver(DnsResolver([address], timeout=1.0, retries=0))
        answer = await split.query("_dmarc.com", RType.TXT)
        split.close()
    assert answer.status is AnswerStatus.REFUSED and answer.server == address


async def test_no_system_resolver_keeps_the_refusal_with_the_reason(
    authoritative: ZoneServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_system(*args: object, **kwargs: object) -> DnsResolver:
        raise ValueError("no system nameserver found; give --nameserver HOST[:PORT]")

    split = make_resolver([authoritative.address], timeout=1.0, retries=0)
    assert isinstance(split, SplitResolver)
    monkeypatch.setattr("mailauth_tui.services.split.DnsResolver", no_system)
    answer = await split.query("_dmarc.com", RType.TXT)
    split.close()
    assert answer.status is AnswerStatus.REFUSED and answer.unknown
    assert answer.detail.endswith("no system nameserver found; give --nameserver HOST[:PORT]")


def _check(capsys: pytest.CaptureFixture[str], *nameservers: str) -> list[dict[str, object]]:
    argv = ["check", "--json", "--selector", "s1"]
    for address in nameservers:
        argv += ["--nameserver", address]
    main([*argv, "example.com", "sub.example.com"])
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def _verdict(report: dict[str, object]) -> dict[str, object]:
    """Everything but which server answered."""
    return {k: v for k, v in report.items() if k != "servers"}


def test_check_against_the_zone_server_reads_as_through_a_resolver(
    authoritative: ZoneServer, recursive: ZoneServer, capsys: pytest.CaptureFixture[str]
) -> None:
    split = _check(capsys, authoritative.address, recursive.address)
    resolved = _check(capsys, recursive.address)
    assert [_verdict(r) for r in split] == [_verdict(r) for r in resolved]
    org, sub = split
    assert org["valid"] is True  # the include and the report destination were found
    dmarc = sub["dmarc"]
    assert isinstance(dmarc, dict)
    assert (dmarc["status"], dmarc["effective_policy"]) == ("valid", "quarantine")
    assert org["servers"] == {
        "example.com": authoritative.address,
        "_dmarc.example.com": authoritative.address,
        "s1._domainkey.example.com": recursive.address,  # the key, behind the ESP's alias
    }
    assert sub["servers"] == {
        "sub.example.com": authoritative.address,
        "_dmarc.example.com": authoritative.address,
        "s1._domainkey.sub.example.com": authoritative.address,
    }
    assert set(resolved[1]["servers"].values()) == {recursive.address}  # type: ignore[attr-defined]
