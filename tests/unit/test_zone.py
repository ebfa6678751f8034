"""The in-memory zone behind ZoneServer: records, negative answers, controls, zone text."""

from __future__ import annotations

import dns.message
import pytest
from dnslib import QTYPE, RCODE

from mailauth_tui.demo.zoneserver import Zone, ZoneServer


def _owners_and_types(zone: Zone, name: str, rtype: str) -> list[tuple[str, str]]:
    found = zone.lookup(name, rtype)
    return [(str(rr.rname).rstrip("."), QTYPE[rr.rtype]) for rr in found.answers]


def test_long_txt_split_at_255_bytes_and_explicit_strings_kept() -> None:
    zone = Zone()
    zone.add("a.example", "TXT", "x" * 600)
    zone.add("b.example", "TXT", ["v=spf1 include:a.example", "include:b.example -all"])
    assert [len(s) for s in zone.txt_strings("a.example")[0]] == [255, 255, 90]
    assert zone.txt_strings("b.example") == [("v=spf1 include:a.example", "include:b.example -all")]
    # Joined without a space: the badly split value glues two terms together.
    assert zone.records("b.example", "TXT") == ["v=spf1 include:a.exampleinclude:b.example -all"]
    with pytest.raises(ValueError, match="over 255"):
        zone.add("c.example", "TXT", ["y" * 256])


def test_negative_answers_and_empty_non_terminals() -> None:
    zone = Zone()
    zone.add("s1._domainkey.example.com", "TXT", "v=DKIM1; p=")
    assert zone.lookup("nope.example.com", "TXT").rcode == RCODE.NXDOMAIN
    for ent in ("_domainkey.example.com", "example.com", "com"):
        found = zone.lookup(ent, "TXT")
        assert (found.rcode, found.answers) == (RCODE.NOERROR, ())
    assert zone.lookup("s1._domainkey.example.com", "A").answers == ()
    zone.remove("s1._domainkey.example.com", "TXT")
    assert zone.lookup("_domainkey.example.com", "TXT").rcode == RCODE.NXDOMAIN
    assert zone.names() == []


def test_cname_chain_then_target_records() -> None:
    zone = Zone()
    zone.add("www.example.com", "CNAME", "web.example.com")
    zone.add("web.example.com", "CNAME", "host.example.net")
    zone.add("host.example.net", "A", "192.0.2.1")
    assert _owners_and_types(zone, "WWW.example.com.", "A") == [
        ("www.example.com", "CNAME"),
        ("web.example.com", "CNAME"),
        ("host.example.net", "A"),
    ]
    assert _owners_and_types(zone, "www.example.com", "CNAME") == [("www.example.com", "CNAME")]
    zone.add("loop1.example.com", "CNAME", "loop2.example.com")
    zone.add("loop2.example.com", "CNAME", "loop1.example.com")
    assert zone.lookup("loop1.example.com", "A").action == "servfail"


def test_cname_cannot_share_its_name() -> None:
    zone = Zone()
    zone.add("a.example", "TXT", "hello")
    with pytest.raises(ValueError, match="CNAME cannot share"):
        zone.add("a.example", "CNAME", "b.example")
    zone.add("c.example", "CNAME", "b.example")
    zone.add("c.example", "CNAME", "B.example.")  # the same CNAME again is fine
    with pytest.raises(ValueError, match="at most one CNAME"):
        zone.add("c.example", "CNAME", "d.example")
    with pytest.raises(ValueError, match="CNAME cannot share"):
        zone.add("c.example", "A", "192.0.2.1")


def test_servfail_and_drop_controls() -> None:
    zone = Zone()
    zone.add("a.example", "TXT", "x")
    zone.servfail("a.example")
    assert zone.lookup("a.example", "TXT").action == "servfail"
    zone.servfail("a.example", enabled=False)
    zone.drop("a.example")
    assert zone.lookup("a.example", "TXT").action == "drop"
    zone.clear_name("a.example")
    assert zone.lookup("a.example", "TXT").rcode == RCODE.NXDOMAIN


def test_set_replaces_and_add_does_not_duplicate() -> None:
    zone = Zone()
    before = zone.generation
    zone.add("example.com", "MX", ["10 a.example.com", (10, "A.example.com.")])
    zone.add("example.com", "MX", "20 b.example.com")
    assert zone.records("example.com", "MX") == ["10 a.example.com", "20 b.example.com"]
    zone.set("example.com", "MX", "5 c.example.com")
    assert zone.records("example.com", "MX") == ["5 c.example.com"]
    assert zone.generation > before
    assert "example.com" in zone and "bücher.example" not in zone


def test_unicode_names_stored_in_punycode() -> None:
    zone = Zone()
    zone.add("_dmarc.bücher.example", "TXT", "v=DMARC1; p=none")
    assert zone.names() == ["_dmarc.xn--bcher-kva.example"]


def test_bad_values_rejected() -> None:
    zone = Zone()
    with pytest.raises(ValueError, match="not served"):
        zone.add("a.example", "SRV", "0 0 5060 sip.example")
    with pytest.raises(ValueError):
        zone.add("a.example", "A", "999.1.1.1")
    with pytest.raises(ValueError, match="PREFERENCE HOST"):
        zone.add("a.example", "MX", "mx.example")


def test_from_text() -> None:
    zone = Zone.from_text(
        """
        $ORIGIN example.com.
        $TTL 600
        @            IN  TXT   "v=spf1 include:_spf.esp.example -all" ; the SPF record
        @        300 IN  MX    10 mail
                         MX    20 backup.example.net.
        s1._domainkey    TXT   ( "v=DKIM1; k=rsa; "
                                 "p=MIIB" )
        quoted           TXT   "say \\"hi\\"; ok" "\\065"
        www              CNAME @
        """
    )
    assert zone.records("example.com", "TXT") == ["v=spf1 include:_spf.esp.example -all"]
    assert zone.records("example.com", "MX") == ["10 mail.example.com", "20 backup.example.net"]
    assert zone.txt_strings("s1._domainkey.example.com") == [("v=DKIM1; k=rsa; ", "p=MIIB")]
    assert zone.txt_strings("quoted.example.com") == [('say "hi"; ok', "A")]
    assert zone.records("www.example.com", "CNAME") == ["example.com"]
    (rr,) = zone.lookup("example.com", "TXT").answers
    assert rr.ttl == 600


def test_from_text_without_origin_takes_names_as_absolute() -> None:
    zone = Zone.from_text('_dmarc.example.org TXT "v=DMARC1; p=reject"')
    assert zone.records("_dmarc.example.org", "TXT") == ["v=DMARC1; p=reject"]
    with pytest.raises(ValueError, match="no record type"):
        Zone.from_text("example.org 300 IN")


def _both_paths(
    zone: Zone, query: bytes, udp: bool = True
) -> tuple[dns.message.Message, dns.message.Message]:
    server = ZoneServer(zone)  # not started: only its reply builder is used
    fast, _ = server._compute(query, udp)
    slow, _ = server._compute_dnslib(query, udp)
    assert fast is not None and slow is not None
    return dns.message.from_wire(query[:2] + fast), dns.message.from_wire(query[:2] + slow)


@pytest.mark.parametrize(
    ("qname", "qtype", "edns"),
    [
        ("www.Example.com", "TXT", 0),
        ("www.example.com", "CNAME", -1),
        ("example.com", "MX", 0),
        ("example.com", "AAAA", -1),
        ("nope.example.com", "A", 0),
        ("_domainkey.example.com", "TXT", 0),
        ("big.example.com", "TXT", -1),  # over 512 bytes without EDNS: truncated
        ("big.example.com", "TXT", 0),
        ("broken.example.com", "TXT", 0),
    ],
)
def test_fast_replies_equal_dnslib_replies(qname: str, qtype: str, edns: int) -> None:
    zone = Zone()
    zone.add("www.example.com", "CNAME", "example.com")
    zone.add("example.com", "TXT", ["v=spf1 ", "-all"])
    zone.add("example.com", "MX", ["10 mx.example.com", "20 mx2.example.net"])
    zone.add("example.com", "AAAA", "2001:db8::1")
    zone.add("s1._domainkey.example.com", "TXT", "v=DKIM1; p=" + "A" * 400)
    zone.add("big.example.com", "TXT", "x" * 700)
    zone.servfail("broken.example.com")
    query = dns.message.make_query(qname, qtype, use_edns=edns, id=4660).to_wire()
    fast, slow = _both_paths(zone, query)
    assert fast == slow  # header, question, answer and authority sections
    assert (fast.flags, fast.rcode(), fast.edns, fast.payload) == (
        slow.flags,
        slow.rcode(),
        slow.edns,
        slow.payload,
    )
    assert fast.answer == slow.answer
