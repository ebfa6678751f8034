"""SplitResolver and `check --nameserver ...` over loopback servers: one passing for an
authoritative-only server (no recursion, REFUSED outside its zone), one for the recursive
resolver that knows every zone (given as a second --nameserver, or standing in for the
system's resolver), one that never answers (failover)."""

from __future__ import annotations

import base64
import json
import socket
from collections.abc import AsyncIterator, Callable, Iterator

import pytest

from mailauth_tui.cli.main import main
from mailauth_tui.core.dns_types import AnswerStatus, RType
from mailauth_tui.demo.zoneserver import Zone, ZoneServer
from mailauth_tui.services.dns import parse_nameserver
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
def system_resolver(monkeypatch: pytest.MonkeyPatch) -> Callable[[ZoneServer], None]:
    """Make ``server`` the system's resolver (what /etc/resolv.conf would name)."""

    def use(server: ZoneServer) -> None:
        found = [parse_nameserver(server.address)]
        monkeypatch.setattr("mailauth_tui.services.dns._system_nameservers", lambda: found)

    return use


@pytest.fixture
async def split(
    authoritative: ZoneServer,
    recursive: ZoneServer,
    system_resolver: Callable[[ZoneServer], None],
) -> AsyncIterator[SplitResolver]:
    """``--nameserver AUTHORITATIVE`` alone, the recursive server as the system's resolver.
    Async so that its sockets close inside the test's event loop."""
    system_resolver(recursive)
    resolver = make_resolver([authoritative.address], timeout=1.0, retries=0)
    assert isinstance(resolver, SplitResolver)
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


async def test_an_alias_loop_across_servers_is_a_failure_not_missing(
    authoritative: ZoneServer,
    recursive: ZoneServer,
    split: SplitResolver,
) -> None:
    # Each server answers its alias alone, the target being in the other's zone.
    authoritative.zone.add("loop.example.com", "CNAME", "loop.example.net")
    authoritative.zone.refuse("loop.example.net")
    recursive.zone.add("loop.example.net", "CNAME", "loop.example.com")
    recursive.zone.refuse("loop.example.com")
    answer = await split.query("loop.example.com", RType.TXT)
    assert answer.status is AnswerStatus.SERVFAIL and answer.unknown and not answer.missing
    assert "CNAME chain too long" in answer.detail


async def test_a_name_that_fails_where_it_was_sent_says_it_was_refused_first(
    authoritative: ZoneServer, recursive: ZoneServer, split: SplitResolver
) -> None:
    recursive.zone.servfail("_spf.provider.net")
    answer = await split.query("_spf.provider.net", RType.TXT)
    assert answer.status is AnswerStatus.SERVFAIL and answer.server == recursive.address
    assert answer.detail == (
        f"REFUSED from {authoritative.address}: not authoritative for this name; "
        f"then SERVFAIL from {recursive.address}"
    )


async def test_a_refusal_goes_to_the_other_servers_given(
    authoritative: ZoneServer, recursive: ZoneServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two servers of the zone (a primary and a secondary) and a resolver: a name both refuse
    # reaches the resolver given, and the system's resolver is never read.
    def no_system() -> list[tuple[str, int]]:
        raise AssertionError("the system's resolver was read")

    monkeypatch.setattr("mailauth_tui.services.dns._system_nameservers", no_system)
    with ZoneServer(authoritative.zone, recursion=False) as secondary:
        servers = [authoritative.address, secondary.address, recursive.address]
        resolver = make_resolver(servers, timeout=1.0, retries=0)
        names = ("_dmarc.com", "_spf.provider.net", "_spf.provider.net")
        answers = [await resolver.query(name, RType.TXT) for name in names]
        resolver.close()
    assert [a.server for a in answers] == [recursive.address] * 3
    assert answers[1].records == ("v=spf1 ip4:192.0.2.0/24 -all",)


async def test_a_refusing_resolver_that_offers_recursion_stays_refused(zone: Zone) -> None:
    zone.refuse("_dmarc.com")
    with ZoneServer(zone) as server:  # RA set: a resolver refusing us, not a zone's server
        address = server.address
        split = make_resolver([address], timeout=1.0, retries=0)
        answer = await split.query("_dmarc.com", RType.TXT)
        split.close()
    assert answer.status is AnswerStatus.REFUSED and answer.server == address


async def test_no_system_resolver_keeps_the_refusal_with_the_reason(
    authoritative: ZoneServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_system() -> list[tuple[str, int]]:
        raise ValueError("no system nameserver found; give --nameserver HOST[:PORT]")

    monkeypatch.setattr("mailauth_tui.services.dns._system_nameservers", no_system)
    split = make_resolver([authoritative.address], timeout=1.0, retries=0)
    answer = await split.query("_dmarc.com", RType.TXT)
    split.close()
    assert answer.status is AnswerStatus.REFUSED and answer.unknown and answer.outside_zones
    assert answer.detail.endswith("no system nameserver found; give --nameserver HOST[:PORT]")


def _silent_server() -> socket.socket:
    """A UDP socket that reads nothing: a nameserver that never answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    return sock


def test_a_silent_nameserver_fails_over_to_the_next(
    recursive: ZoneServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # Review of issue 17, finding 2: --nameserver given twice is a failover pool, as before.
    silent = _silent_server()
    try:
        address = f"127.0.0.1:{silent.getsockname()[1]}"
        argv = ["check", "--json", "--timeout", "0.5", "--nameserver", address]
        code = main([*argv, "--nameserver", recursive.address, "example.com"])
    finally:
        silent.close()
    [report] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 0, report["problems"]
    assert (report["spf"]["status"], report["dmarc"]["status"]) == ("valid", "valid")
    assert set(report["servers"].values()) == {recursive.address}


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
    authoritative: ZoneServer,
    recursive: ZoneServer,
    system_resolver: Callable[[ZoneServer], None],
    capsys: pytest.CaptureFixture[str],
) -> None:
    system_resolver(recursive)
    alone = _check(capsys, authoritative.address)  # the rest from the system's resolver
    pool = _check(capsys, authoritative.address, recursive.address)
    resolved = _check(capsys, recursive.address)
    assert [_verdict(r) for r in alone] == [_verdict(r) for r in resolved]
    assert [_verdict(r) for r in pool] == [_verdict(r) for r in resolved]
    org, sub = alone
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
    # Two servers given: the questions are spread across both, as before issue 17; the key
    # behind the alias still comes from the resolver.
    servers = pool[0]["servers"]
    assert isinstance(servers, dict) and servers["s1._domainkey.example.com"] == recursive.address
    assert set(resolved[1]["servers"].values()) == {recursive.address}  # type: ignore[attr-defined]
