"""ZoneServer on the wire for queries the resolver never sends: odd types, classes, bytes."""

from __future__ import annotations

import socket

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdataclass
import pytest

from mailauth_tui.demo.zoneserver import Zone, ZoneServer


def _ask(server: ZoneServer, query: dns.message.Message) -> dns.message.Message:
    return dns.query.udp(query, "127.0.0.1", timeout=2, port=server.port)


def test_any_and_other_classes_are_refused_politely(zone: Zone, dns_server: ZoneServer) -> None:
    zone.add("example.com", "TXT", "v=spf1 -all")
    any_reply = _ask(dns_server, dns.message.make_query("example.com", "ANY"))
    chaos = _ask(
        dns_server, dns.message.make_query("version.bind", "TXT", rdclass=dns.rdataclass.CH)
    )
    assert any_reply.rcode() == dns.rcode.NOTIMP
    assert chaos.rcode() == dns.rcode.REFUSED


def test_garbage_gets_formerr_and_short_datagrams_nothing(dns_server: ZoneServer) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(2)
        sock.sendto(
            b"\x12\x34" + b"\x01\x00" + b"\x00\x01" + b"\xff" * 20, ("127.0.0.1", dns_server.port)
        )
        reply = sock.recv(512)
        sock.sendto(b"\x00\x01", ("127.0.0.1", dns_server.port))
    assert reply[:2] == b"\x12\x34"
    assert reply[2] & 0x80 and reply[3] & 0x0F == dns.rcode.FORMERR
    assert dns_server.queries == 1


def test_tcp_answers_in_full(zone: Zone, dns_server: ZoneServer) -> None:
    zone.add("big.example.com", "TXT", "x" * 3000)
    query = dns.message.make_query("big.example.com", "TXT")
    udp = _ask(dns_server, query)
    tcp = dns.query.tcp(query, "127.0.0.1", timeout=2, port=dns_server.port)
    assert udp.flags & dns.flags.TC
    assert b"".join(tcp.answer[0][0].strings) == b"x" * 3000


def test_ipv6_loopback() -> None:
    zone = Zone()
    zone.add("example.com", "A", "192.0.2.1")
    try:
        server = ZoneServer(zone, host="::1").start()
    except OSError:
        pytest.skip("no IPv6 loopback on this machine")
    try:
        assert server.address == f"[::1]:{server.port}"
        reply = dns.query.udp(
            dns.message.make_query("example.com", "A"), "::1", timeout=2, port=server.port
        )
        assert reply.answer[0][0].address == "192.0.2.1"
    finally:
        server.stop()
