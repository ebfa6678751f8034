"""DnsResolver over the wire against the loopback ZoneServer: every outcome classified."""

from __future__ import annotations

import asyncio
import base64
import socket
import time
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from mailauth_tui.core.dns_types import AnswerStatus, RType
from mailauth_tui.demo.zoneserver import Zone, ZoneServer
from mailauth_tui.services.dns import DnsResolver


@pytest.fixture
def silent_udp() -> Iterator[str]:
    """A nameserver address that receives queries and never answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    yield f"127.0.0.1:{sock.getsockname()[1]}"
    sock.close()


async def test_txt_strings_joined_without_separator(zone: Zone, resolver: DnsResolver) -> None:
    zone.add("example.com", "TXT", ["v=spf1 ", "include:_spf.example.net", " -all"])
    answer = await resolver.query("example.com", RType.TXT)
    assert answer.status is AnswerStatus.RECORDS
    assert answer.records == ("v=spf1 include:_spf.example.net -all",)
    assert answer.chunks == (("v=spf1 ", "include:_spf.example.net", " -all"),)


async def test_several_txt_records_stay_apart(zone: Zone, resolver: DnsResolver) -> None:
    zone.add("example.com", "TXT", "google-site-verification=abc")
    zone.add("example.com", "TXT", "v=spf1 -all")
    answer = await resolver.query("example.com", RType.TXT)
    assert sorted(answer.records) == ["google-site-verification=abc", "v=spf1 -all"]


async def test_dkim_2048_key_split_into_255_byte_strings_and_joined(
    zone: Zone, resolver: DnsResolver, dkim_2048: str
) -> None:
    value = f"v=DKIM1; k=rsa; p={dkim_2048}"
    zone.add("s1._domainkey.example.com", "TXT", value)
    answer = await resolver.query("s1._domainkey.example.com", RType.TXT)
    assert answer.records == (value,)
    (chunks,) = answer.chunks
    assert [len(c) for c in chunks] == [255, len(value) - 255]
    der = base64.b64decode(answer.records[0].split("p=")[1])
    public_key = serialization.load_der_public_key(der)
    assert isinstance(public_key, rsa.RSAPublicKey)
    assert public_key.key_size == 2048


async def test_nxdomain_and_nodata_are_distinct_and_missing(
    zone: Zone, resolver: DnsResolver
) -> None:
    zone.add("example.com", "MX", "10 mx.example.com")
    nx = await resolver.query("nope.example.com", RType.TXT)
    nodata = await resolver.query("example.com", RType.TXT)
    assert nx.status is AnswerStatus.NXDOMAIN
    assert nodata.status is AnswerStatus.NODATA
    assert nx.missing and nodata.missing
    assert not nx.unknown and not nodata.unknown


async def test_empty_non_terminal_is_nodata(zone: Zone, resolver: DnsResolver) -> None:
    zone.add("s1._domainkey.example.com", "TXT", "v=DKIM1; p=")
    answer = await resolver.query("_domainkey.example.com", RType.TXT)
    assert answer.status is AnswerStatus.NODATA
    zone.remove("s1._domainkey.example.com")
    resolver.clear_cache()
    answer = await resolver.query("_domainkey.example.com", RType.TXT)
    assert answer.status is AnswerStatus.NXDOMAIN


async def test_servfail_is_unknown_not_missing(zone: Zone, resolver: DnsResolver) -> None:
    zone.add("_dmarc.example.com", "TXT", "v=DMARC1; p=none")
    zone.servfail("_dmarc.example.com")
    answer = await resolver.query("_dmarc.example.com", RType.TXT)
    assert answer.status is AnswerStatus.SERVFAIL
    assert answer.unknown and not answer.missing
    assert "SERVFAIL" in answer.detail


async def test_refused_is_unknown_not_missing_nor_servfail(
    zone: Zone, dns_server: ZoneServer, resolver: DnsResolver
) -> None:
    zone.refuse("_dmarc.com")
    answer = await resolver.query("_dmarc.com", RType.TXT)
    assert answer.status is AnswerStatus.REFUSED
    assert answer.unknown and not answer.missing
    assert answer.detail == f"REFUSED from {dns_server.address}: not authoritative for this name"
    assert answer.server == dns_server.address
    assert not answer.outside_zones  # the loopback server offers recursion by default


async def test_refused_by_a_server_without_recursion_is_outside_its_zones(zone: Zone) -> None:
    zone.add("example.com", "TXT", "v=spf1 -all")
    zone.refuse("com")
    with ZoneServer(zone, recursion=False) as server:
        address = server.address
        resolver = DnsResolver([address], timeout=1.0, retries=0)
        inside = await resolver.query("example.com", RType.TXT)
        outside = await resolver.query("com", RType.TXT)
        resolver.close()
    assert inside.records == ("v=spf1 -all",) and inside.server == address
    assert outside.status is AnswerStatus.REFUSED and outside.outside_zones


async def test_dropped_name_times_out_quickly(zone: Zone, dns_server: ZoneServer) -> None:
    zone.add("slow.example.com", "TXT", "v=spf1 -all")
    zone.drop("slow.example.com")
    resolver = DnsResolver([dns_server.address], timeout=0.3, retries=0)
    started = time.monotonic()
    answer = await resolver.query("slow.example.com", RType.TXT)
    elapsed = time.monotonic() - started
    resolver.close()
    assert answer.status is AnswerStatus.TIMEOUT
    assert answer.unknown and not answer.missing
    assert 0.25 < elapsed < 1.0
    assert dns_server.address in answer.detail


async def test_non_answering_server_times_out_after_each_retry(silent_udp: str) -> None:
    resolver = DnsResolver([silent_udp], timeout=0.2, retries=1)
    started = time.monotonic()
    answer = await resolver.query("example.com", RType.TXT)
    elapsed = time.monotonic() - started
    resolver.close()
    assert answer.status is AnswerStatus.TIMEOUT
    assert "2 tries" in answer.detail
    assert 0.35 < elapsed < 1.0


async def test_retry_goes_to_the_next_nameserver(
    zone: Zone, dns_server: ZoneServer, silent_udp: str
) -> None:
    zone.add("example.com", "A", "192.0.2.7")
    resolver = DnsResolver([silent_udp, dns_server.address], timeout=0.2, retries=1)
    answer = await resolver.query("example.com", RType.A)
    resolver.close()
    assert answer.records == ("192.0.2.7",)


async def test_cname_chain_followed_and_reported(zone: Zone, resolver: DnsResolver) -> None:
    zone.add("s1._domainkey.example.com", "CNAME", "s1.dkim.esp.example.net")
    zone.add("s1.dkim.esp.example.net", "CNAME", "Key1.ESP.example.net.")
    zone.add("key1.esp.example.net", "TXT", "v=DKIM1; k=ed25519; p=abc")
    answer = await resolver.query("s1._domainkey.example.com", RType.TXT)
    assert answer.status is AnswerStatus.RECORDS
    assert answer.records == ("v=DKIM1; k=ed25519; p=abc",)
    assert answer.cname_chain == ("s1.dkim.esp.example.net", "key1.esp.example.net")


async def test_dangling_cname_is_nxdomain_with_its_chain(zone: Zone, resolver: DnsResolver) -> None:
    zone.add("s2._domainkey.example.com", "CNAME", "gone.esp.example.net")
    answer = await resolver.query("s2._domainkey.example.com", RType.TXT)
    assert answer.status is AnswerStatus.NXDOMAIN
    assert answer.cname_chain == ("gone.esp.example.net",)


async def test_cname_loop_is_unknown(zone: Zone, resolver: DnsResolver) -> None:
    zone.add("a.example.com", "CNAME", "b.example.com")
    zone.add("b.example.com", "CNAME", "a.example.com")
    answer = await resolver.query("a.example.com", RType.TXT)
    assert answer.status is AnswerStatus.SERVFAIL


async def test_idn_asked_in_punycode_and_cached_under_it(
    zone: Zone, dns_server: ZoneServer, resolver: DnsResolver
) -> None:
    zone.add("_dmarc.bücher.example", "TXT", "v=DMARC1; p=reject")
    unicode_answer = await resolver.query("_dmarc.bücher.example", RType.TXT)
    ascii_answer = await resolver.query("_DMARC.xn--bcher-kva.example.", RType.TXT)
    assert unicode_answer.name == "_dmarc.xn--bcher-kva.example"
    assert unicode_answer.records == ("v=DMARC1; p=reject",)
    assert ascii_answer is unicode_answer
    assert dns_server.count("_dmarc.xn--bcher-kva.example", "TXT") == 1


async def test_mx_sorted_by_preference_lower_case(zone: Zone, resolver: DnsResolver) -> None:
    zone.add("example.com", "MX", ["20 b.example.com", "5 C.Example.COM.", (10, "a.example.com")])
    answer = await resolver.query("example.com", RType.MX)
    assert answer.records == ("c.example.com", "a.example.com", "b.example.com")


async def test_addresses_and_ptr(zone: Zone, resolver: DnsResolver) -> None:
    zone.add("mx.example.com", "A", ["192.0.2.1", "192.0.2.2"])
    zone.add("mx.example.com", "AAAA", "2001:db8::1")
    zone.add("1.2.0.192.in-addr.arpa", "PTR", "mx.example.com")
    a = await resolver.query("mx.example.com", RType.A)
    aaaa = await resolver.query("mx.example.com", RType.AAAA)
    ptr = await resolver.query("1.2.0.192.in-addr.arpa", RType.PTR)
    assert sorted(a.records) == ["192.0.2.1", "192.0.2.2"]
    assert aaaa.records == ("2001:db8::1",)
    assert ptr.records == ("mx.example.com",)


async def test_identical_concurrent_queries_share_one_exchange(
    zone: Zone, dns_server: ZoneServer, resolver: DnsResolver
) -> None:
    zone.add("_spf.esp.example.net", "TXT", "v=spf1 ip4:192.0.2.0/24 -all")
    dns_server.delay = 0.05  # keep the first exchange open while the others arrive
    answers = await asyncio.gather(
        *(resolver.query("_spf.esp.example.net", RType.TXT) for _ in range(50))
    )
    assert {a.records for a in answers} == {("v=spf1 ip4:192.0.2.0/24 -all",)}
    again = await resolver.query("_spf.esp.example.net", RType.TXT)
    assert again is answers[0]
    assert dns_server.count("_spf.esp.example.net", "TXT") == 1
    assert resolver.stats.cache_hits == 50


async def test_negative_and_transient_answers_are_cached_for_the_run(
    zone: Zone, dns_server: ZoneServer, resolver: DnsResolver
) -> None:
    zone.servfail("broken.example.com")
    for _ in range(3):
        assert (await resolver.query("nx.example.com", RType.TXT)).missing
        assert (await resolver.query("broken.example.com", RType.TXT)).unknown
    assert dns_server.count("nx.example.com") == 1
    assert dns_server.count("broken.example.com") == 1


async def test_in_flight_queries_are_bounded(zone: Zone, dns_server: ZoneServer) -> None:
    dns_server.delay = 0.05
    resolver = DnsResolver([dns_server.address], timeout=2.0, retries=0, concurrency=4)
    names = [f"n{i}.example.com" for i in range(24)]
    answers = await asyncio.gather(*(resolver.query(n, RType.TXT) for n in names))
    resolver.close()
    assert {a.status for a in answers} == {AnswerStatus.NXDOMAIN}
    assert dns_server.peak_delayed == 4


async def test_cancelled_askers_give_their_slots_back(zone: Zone, dns_server: ZoneServer) -> None:
    # Two slots: two queries on the wire, four waiting. Cancel one on the wire and two waiting:
    # the others still run, and afterwards both slots are free again.
    dns_server.delay = 0.05
    resolver = DnsResolver([dns_server.address], timeout=2.0, retries=0, concurrency=2)
    tasks = [
        asyncio.ensure_future(resolver.query(f"c{i}.example.com", RType.TXT)) for i in range(6)
    ]
    await asyncio.sleep(0.01)
    for i in (0, 2, 3):
        tasks[i].cancel()
    done = await asyncio.gather(*tasks, return_exceptions=True)
    assert [isinstance(d, asyncio.CancelledError) for d in done] == [
        True, False, True, True, False, False,
    ]  # fmt: skip
    state = resolver._state
    assert state is not None and state.in_flight == 0 and not state.waiting
    more = await asyncio.gather(*(resolver.query(f"m{i}.example.com", RType.TXT) for i in range(4)))
    resolver.close()
    assert {a.status for a in more} == {AnswerStatus.NXDOMAIN}


async def test_a_delayed_answer_does_not_hold_up_the_others(
    zone: Zone, dns_server: ZoneServer, resolver: DnsResolver
) -> None:
    dns_server.delay = 0.2
    started = time.monotonic()
    await asyncio.gather(*(resolver.query(f"d{i}.example.com", RType.A) for i in range(30)))
    assert time.monotonic() - started < 0.2 * 3  # serial answers would take 6 s


async def test_truncated_answer_is_asked_again_over_tcp(
    zone: Zone, dns_server: ZoneServer, resolver: DnsResolver
) -> None:
    for i in range(6):
        zone.add("big.example.com", "TXT", f"record {i} " + "x" * 300)
    answer = await resolver.query("big.example.com", RType.TXT)
    assert answer.status is AnswerStatus.RECORDS
    assert len(answer.records) == 6
    assert dns_server.tcp_queries == 1
    assert resolver.stats.tcp == 1


async def test_invalid_names_are_answered_not_raised(resolver: DnsResolver) -> None:
    for name in ("a..example.com", "x" * 64 + ".example.com", "bad name.example.com"):
        answer = await resolver.query(name, RType.TXT)
        assert answer.status is AnswerStatus.NXDOMAIN
        assert "not a DNS name" in answer.detail


async def test_a_cancelled_asker_does_not_fail_the_others(
    zone: Zone, dns_server: ZoneServer, resolver: DnsResolver
) -> None:
    zone.add("example.com", "TXT", "v=spf1 -all")
    dns_server.delay = 0.1
    leader = asyncio.ensure_future(resolver.query("example.com", RType.TXT))
    await asyncio.sleep(0.02)
    follower = asyncio.ensure_future(resolver.query("example.com", RType.TXT))
    await asyncio.sleep(0.02)
    leader.cancel()
    answer = await follower
    assert answer.records == ("v=spf1 -all",)
    with pytest.raises(asyncio.CancelledError):
        await leader


def test_one_resolver_serves_successive_event_loops(zone: Zone, dns_server: ZoneServer) -> None:
    zone.add("example.com", "TXT", "v=spf1 -all")
    resolver = DnsResolver([dns_server.address], timeout=1.0, retries=0)
    first = asyncio.run(resolver.query("example.com", RType.TXT))
    second = asyncio.run(resolver.query("www.example.com", RType.TXT))
    resolver.close()
    assert first.status is AnswerStatus.RECORDS
    assert second.status is AnswerStatus.NXDOMAIN
