"""The fast answer reader agrees with dnspython's parser wherever it answers at all."""

from __future__ import annotations

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
from hypothesis import given, settings
from hypothesis import strategies as st

from mailauth_tui.core.dns_types import AnswerStatus, RType
from mailauth_tui.services.dnsmsg import classify, classify_wire
from mailauth_tui.services.dnswire import read_answer

NAMES = ["example.com", "Example.COM", "www.example.com", "s1._domainkey.example.com", "x.net"]
RDATA = {
    "A": st.sampled_from(["192.0.2.1", "192.0.2.2", "10.0.0.1"]),
    "AAAA": st.sampled_from(["2001:db8::1", "::ffff:192.0.2.1", "::1", "::", "1::"]),
    "MX": st.tuples(st.integers(0, 65535), st.sampled_from([*(n + "." for n in NAMES), "."])).map(
        lambda t: f"{t[0]} {t[1]}"
    ),
    "TXT": st.lists(st.binary(max_size=40), min_size=1, max_size=3).map(
        lambda parts: " ".join('"' + "".join(f"\\{b:03d}" for b in p) + '"' for p in parts)
    ),
    "CNAME": st.sampled_from(NAMES).map(lambda n: n + "."),
    "PTR": st.sampled_from(NAMES).map(lambda n: n + "."),
    "NS": st.sampled_from(NAMES).map(lambda n: n + "."),
}


Case = tuple[str, RType, int, int, dns.rcode.Rcode, list[tuple[str, str, str]], int]


@st.composite
def cases(draw: st.DrawFn) -> Case:
    """A description of a response (dnspython builds it in the test: it draws on `random`)."""
    records = [
        (owner, rr_type, draw(RDATA[rr_type]))
        for owner, rr_type in draw(
            st.lists(st.tuples(st.sampled_from(NAMES), st.sampled_from(list(RDATA))), max_size=6)
        )
    ]
    return (
        draw(st.sampled_from(NAMES)),
        draw(st.sampled_from(list(RType))),
        draw(st.sampled_from([0, -1])),
        draw(st.integers(0, 65535)),
        draw(
            st.sampled_from(
                [
                    dns.rcode.NOERROR,
                    dns.rcode.NXDOMAIN,
                    dns.rcode.SERVFAIL,
                    dns.rcode.REFUSED,
                    dns.rcode.NOTAUTH,
                ]
            )
        ),
        records,
        # A recursive resolver's answer (RA), an authoritative one (AA), or neither (a referral).
        draw(st.sampled_from([dns.flags.RA, dns.flags.AA, dns.flags.AA | dns.flags.RA, 0])),
    )


def _wire(case: Case) -> bytes:
    qname, rtype, edns, qid, rcode, records, flags = case
    query = dns.message.make_query(qname, rtype.value, use_edns=edns, id=qid)
    response = dns.message.make_response(query)
    response.flags |= flags
    response.set_rcode(rcode)
    for owner, rr_type, text in records:
        rrset = response.find_rrset(
            response.answer,
            dns.name.from_text(owner),
            dns.rdataclass.IN,
            dns.rdatatype.from_text(rr_type),
            create=True,
        )
        rrset.add(dns.rdata.from_text(dns.rdataclass.IN, rr_type, text), 300)
    return response.to_wire()


@settings(max_examples=300, deadline=None)
@given(cases())
def test_fast_reader_matches_dnspython(case: Case) -> None:
    qname, rtype = case[0].lower(), case[1]
    wire = _wire(case)
    fast = read_answer(qname, rtype, wire, "127.0.0.1:53")
    reference = classify(qname, rtype, dns.message.from_wire(wire), "127.0.0.1:53")
    if fast is not None:
        assert fast == reference
    # With the question's length given (the resolver checked the echoed question), the same.
    question_len = 1 + 4 if qname == "." else len(qname) + 2 + 4
    assert read_answer(qname, rtype, wire, "127.0.0.1:53", question_len) == fast


def test_fast_reader_handles_ordinary_answers() -> None:
    query = dns.message.make_query("s1._domainkey.example.com", "TXT", use_edns=0)
    response = dns.message.make_response(query)
    response.answer.append(
        dns.rrset.from_text(
            "s1._domainkey.example.com.", 300, "IN", "CNAME", "key.esp.example.net."
        )
    )
    response.answer.append(
        dns.rrset.from_text("key.esp.example.net.", 300, "IN", "TXT", '"v=DKIM1; " "p=abc"')
    )
    answer = read_answer("s1._domainkey.example.com", RType.TXT, response.to_wire())
    assert answer is not None
    assert answer.status is AnswerStatus.RECORDS
    assert answer.records == ("v=DKIM1; p=abc",)
    assert answer.chunks == (("v=DKIM1; ", "p=abc"),)
    assert answer.cname_chain == ("key.esp.example.net",)


def test_unusual_answers_are_left_to_dnspython() -> None:
    query = dns.message.make_query("example.com", "TXT")
    refused = dns.message.make_response(query)
    refused.set_rcode(dns.rcode.REFUSED)
    assert read_answer("example.com", RType.TXT, refused.to_wire()) is None
    odd = dns.message.make_response(query)
    odd.answer.append(dns.rrset.from_text("example.com.", 300, "IN", "CNAME", "a\\.b.example."))
    assert read_answer("example.com", RType.TXT, odd.to_wire()) is None
    assert read_answer("example.com", RType.TXT, b"\x00" * 11) is None
    truncated = dns.message.make_response(query)
    truncated.answer.append(dns.rrset.from_text("example.com.", 300, "IN", "TXT", '"abc"'))
    assert read_answer("example.com", RType.TXT, truncated.to_wire()[:-2]) is None


def test_compression_pointer_loop_is_refused() -> None:
    header = b"\x00\x01\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00"
    question = b"\x07example\x03com\x00\x00\x10\x00\x01"
    looping_owner = bytes([0xC0, 12 + len(question)])  # points at itself
    wire = header + question + looping_owner + b"\x00\x10\x00\x01\x00\x00\x01\x2c\x00\x02\x01x"
    assert read_answer("example.com", RType.TXT, wire) is None


def test_txt_strings_decoded_after_joining() -> None:
    # A two-byte character cut between two strings is whole in the record's text; each
    # string alone shows replacement characters, as dnspython's strings do.
    query = dns.message.make_query("example.com", "TXT", use_edns=0)
    response = dns.message.make_response(query)
    response.answer.append(
        dns.rrset.from_text("example.com.", 300, "IN", "TXT", '"caf\\195" "\\169 ok" "x"')
    )
    answer = read_answer("example.com", RType.TXT, response.to_wire())
    assert answer is not None
    assert answer.records == ("café okx",)
    assert answer.chunks == (("caf\ufffd", "\ufffd ok", "x"),)


def _refusal(rcode: dns.rcode.Rcode, *, recursion: bool) -> bytes:
    query = dns.message.make_query("_dmarc.com", "TXT")
    response = dns.message.make_response(query, recursion_available=recursion)
    response.set_rcode(rcode)
    return response.to_wire()


def test_refused_and_notauth_are_told_apart_from_servfail() -> None:
    # Issue 17: an authoritative server answers REFUSED (BIND) or NOTAUTH for a name outside
    # its zones. That says "not authoritative for this name", not "the name failed".
    for rcode in (dns.rcode.REFUSED, dns.rcode.NOTAUTH):
        wire = _refusal(rcode, recursion=False)
        assert read_answer("_dmarc.com", RType.TXT, wire) is None  # left to dnspython
        answer = classify_wire("_dmarc.com", RType.TXT, wire, "127.0.0.170:53")
        assert answer.status is AnswerStatus.REFUSED and answer.unknown and not answer.missing
        assert answer.outside_zones and answer.server == "127.0.0.170:53"
        assert answer.detail == (
            f"{dns.rcode.to_text(rcode)} from 127.0.0.170:53: not authoritative for this name"
        )
    # A resolver that offers recursion and refuses us: refused all the same, but no
    # authoritative server speaking about its zones.
    answer = classify_wire("_dmarc.com", RType.TXT, _refusal(dns.rcode.REFUSED, recursion=True))
    assert answer.status is AnswerStatus.REFUSED and not answer.outside_zones


def test_answers_say_which_server_answered() -> None:
    query = dns.message.make_query("example.com", "TXT")
    response = dns.message.make_response(query)
    response.answer.append(dns.rrset.from_text("example.com.", 300, "IN", "TXT", '"v=spf1 -all"'))
    wire = response.to_wire()
    fast = read_answer("example.com", RType.TXT, wire, "127.0.0.171:5353")
    assert fast is not None and fast.server == "127.0.0.171:5353"
    assert classify_wire("example.com", RType.TXT, wire, "127.0.0.171:5353") == fast


def test_a_referral_is_no_answer_about_the_name() -> None:
    # An authoritative server asked about a name in a zone it delegates: no AA, no RA, the
    # child's NS records in the authority section. Not "missing": asked of a resolver instead.
    query = dns.message.make_query("_dmarc.eu.example.com", "TXT")
    response = dns.message.make_response(query)
    response.authority.append(
        dns.rrset.from_text("eu.example.com.", 300, "IN", "NS", "ns1.eu.example.net.")
    )
    wire = response.to_wire()
    assert read_answer("_dmarc.eu.example.com", RType.TXT, wire) is None
    answer = classify_wire("_dmarc.eu.example.com", RType.TXT, wire, "127.0.0.170:53")
    assert answer.status is AnswerStatus.REFUSED and answer.outside_zones
    assert answer.detail == "a referral from 127.0.0.170:53: not authoritative for this name"
