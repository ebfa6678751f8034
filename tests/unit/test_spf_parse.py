"""SPF parser and macro expansion: RFC 7208's own examples, error positions, edge syntax."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailauth_tui.core.errors import RecordSyntaxError
from mailauth_tui.core.publish import with_terms
from mailauth_tui.core.spf import (
    Mechanism,
    MechanismKind,
    Modifier,
    Qualifier,
    expand_macros,
    is_spf_record,
    parse_spf,
    parse_term,
)

# --- recognising a record (RFC 7208 4.5) --------------------------------------------------- -----


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("v=spf1", True),
        ("v=spf1 -all", True),
        ("V=SpF1 ~all", True),
        ("v=spf10", False),
        ("v=spf10 -all", False),
        ("v=spf1-all", False),
        (" v=spf1 -all", False),
        ('"v=spf1 -all"', False),
        ("v=spf2.0/pra -all", False),
        ("spf1 -all", False),
        ("", False),
        ("v=spf1\t-all", False),
    ],
)
def test_is_spf_record(text: str, expected: bool) -> None:
    assert is_spf_record(text) is expected


# --- RFC 7208 appendix A / section 10 examples -------------------------------------------- ------


def test_plus_all() -> None:
    record = parse_spf("v=spf1 +all")
    assert record.terms == (Mechanism(Qualifier.PASS, MechanismKind.ALL, pos=7, text="+all"),)
    assert record.all is not None and record.all.qualifier.result == "pass"
    assert str(record) == "v=spf1 +all"


def test_a_minus_all() -> None:
    a, all_ = parse_spf("v=spf1 a -all").mechanisms
    assert (a.kind, a.qualifier, a.domain_spec, a.cidr4, a.cidr6) == (
        MechanismKind.A,
        Qualifier.PASS,
        None,
        None,
        None,
    )
    assert (all_.kind, all_.qualifier, all_.pos) == (MechanismKind.ALL, Qualifier.FAIL, 9)


def test_a_with_domain() -> None:
    a = parse_spf("v=spf1 a:example.org -all").mechanisms[0]
    assert a.domain_spec == "example.org"
    assert a.text == "a:example.org"


def test_mx() -> None:
    mx = parse_spf("v=spf1 mx -all").mechanisms[0]
    assert mx.kind is MechanismKind.MX and mx.domain_spec is None


def test_mx_with_prefix_lengths() -> None:
    first, second, _ = parse_spf("v=spf1 mx/30 mx:example.org/30 -all").mechanisms
    assert (first.domain_spec, first.cidr4, first.cidr6) == (None, 30, None)
    assert (second.domain_spec, second.cidr4, second.pos) == ("example.org", 30, 13)


def test_ptr() -> None:
    ptr = parse_spf("v=spf1 ptr -all").mechanisms[0]
    assert ptr.kind is MechanismKind.PTR and ptr.queries_dns


def test_ip4_network() -> None:
    ip4 = parse_spf("v=spf1 ip4:192.0.2.128/28 -all").mechanisms[0]
    assert ip4.network == ipaddress.IPv4Network("192.0.2.128/28")
    assert not ip4.queries_dns


def test_appendix_a_records() -> None:
    # RFC 7208 appendix A.1-A.3: the example.com zone's records all parse.
    for text in (
        "v=spf1 +all",
        "v=spf1 a -all",
        "v=spf1 a:example.org -all",
        "v=spf1 mx -all",
        "v=spf1 mx:example.org -all",
        "v=spf1 mx mx:example.org -all",
        "v=spf1 mx/30 -all",
        "v=spf1 mx/30 mx:example.org/30 -all",
        "v=spf1 ptr -all",
        "v=spf1 ip4:192.0.2.128/28 -all",
        "v=spf1 mx -all exp=explain._spf.%{d}",
        "v=spf1 -ptr +all",
        "v=spf1 -mx redirect=_spf.example.com",
        "v=spf1 a mx -all",
        "v=spf1 include:example.com include:example.net -all",
        "v=spf1 redirect=_spf.example.com",
        "v=spf1 exists:%{ir}.%{l1r+-}._spf.%{d} -all",
        "v=spf1 -include:ip4._spf.%{d} -include:ptr._spf.%{d} +all",
        "v=spf1 -ip4:192.0.2.0/24 +all",
        "v=spf1 -ptr +all",
    ):
        assert parse_spf(text).text == text


def test_dual_cidr_and_ip6() -> None:
    a, ip6, mx = parse_spf("v=spf1 a/24//64 ip6:2001:DB8::/32 mx//0 ?all").mechanisms[:3]
    assert (a.cidr4, a.cidr6) == (24, 64)
    assert ip6.network == ipaddress.IPv6Network("2001:db8::/32")
    assert (mx.cidr4, mx.cidr6) == (None, 0)


def test_modifiers() -> None:
    record = parse_spf(
        "v=spf1 mx Redirect=_spf.example.com exp=why.%{d} moo.cow-far_out=man:dog/cat"
    )
    assert record.redirect == "_spf.example.com"
    assert record.exp == "why.%{d}"
    assert record.modifiers[2] == Modifier("moo.cow-far_out", "man:dog/cat", 49)
    assert str(record.modifiers[0]) == "redirect=_spf.example.com"


def test_spaces_between_and_after_terms() -> None:
    record = parse_spf("v=spf1  a   -all ")
    assert [(m.text, m.pos) for m in record.mechanisms] == [("a", 8), ("-all", 12)]


def test_domain_spec_edge_forms() -> None:
    # a colon and a slash are macro-literals; a trailing dot and a dashed toplabel are legal.
    for text in (
        "v=spf1 a:foo:bar/baz.example.com",
        "v=spf1 a:foo.example.xn--zckzah",
        "v=spf1 include:o.spf.example.com.",
        "v=spf1 a:macro%%percent%_%_space%-url-space.example.com",
        "v=spf1 exists:%{i}.%{l2r+-}.user.%{d2}",
        "v=spf1 unknown=",
    ):
        parse_spf(text)


def test_qualifiers() -> None:
    quals = [m.qualifier for m in parse_spf("v=spf1 +a -mx ~ptr ?all").mechanisms]
    assert quals == [Qualifier.PASS, Qualifier.FAIL, Qualifier.SOFTFAIL, Qualifier.NEUTRAL]
    assert [q.result for q in quals] == ["pass", "fail", "softfail", "neutral"]


def test_parse_is_cached_and_frozen() -> None:
    record = parse_spf("v=spf1 include:_spf.example.net -all")
    assert parse_spf("v=spf1 include:_spf.example.net -all") is record
    with pytest.raises(AttributeError):
        record.text = "x"  # type: ignore[misc]


# --- errors and their positions -------------------------------------------------------------- ---


@pytest.mark.parametrize(
    ("text", "pos", "code"),
    [
        ("v=spf10 -all", 0, "spf.version"),
        (" v=spf1 -all", 0, "spf.version"),
        ("", 0, "spf.version"),
        ("v=spf1 ip4:1.2.3.4 -all moo", 24, "spf.unknown_mechanism"),
        ("v=spf1 -all ip6", 12, "spf.bad_ip"),
        ("v=spf1 ip4", 7, "spf.bad_ip"),
        ("v=spf1 ip4:1.2.3", 7, "spf.bad_ip"),
        ("v=spf1 ip4:1.2.3.4:8080", 7, "spf.bad_ip"),
        ("v=spf1 ip4:01.2.3.4", 7, "spf.bad_ip"),
        ("v=spf1 ip6::CAFE::BABE", 7, "spf.bad_ip"),
        ("v=spf1 ip6:fe80::1%eth0", 7, "spf.bad_ip"),
        ("v=spf1 ip4:1.2.3.4/33", 7, "spf.bad_cidr"),
        ("v=spf1 ip4:1.2.3.4/032", 7, "spf.bad_cidr"),
        ("v=spf1 ip4:1.2.3.4//32", 7, "spf.bad_cidr"),
        ("v=spf1 ip6:::1.1.1.1/129", 7, "spf.bad_cidr"),
        ("v=spf1 ip6:::1.1.1.1//33", 7, "spf.bad_cidr"),
        ("v=spf1 a/33 -all", 7, "spf.bad_cidr"),
        ("v=spf1 a//129 -all", 7, "spf.bad_cidr"),
        ("v=spf1 a/24/64 -all", 7, "spf.bad_cidr"),
        ("v=spf1 mx a//64//64", 10, "spf.bad_cidr"),
        ("v=spf1 -all.", 7, "spf.unknown_mechanism"),
        ("v=spf1 -all:foobar", 7, "spf.unexpected_argument"),
        ("v=spf1 -all/8", 7, "spf.unexpected_argument"),
        ("v=spf1 ptr/0 -all", 7, "spf.unexpected_argument"),
        ("v=spf1 ptr:", 7, "spf.missing_domain"),
        ("v=spf1 include +all", 7, "spf.missing_domain"),
        ("v=spf1 include: -all", 7, "spf.missing_domain"),
        ("v=spf1 exists", 7, "spf.missing_domain"),
        ("v=spf1 a:", 7, "spf.missing_domain"),
        ("v=spf1 ?all redirect=", 12, "spf.missing_domain"),
        ("v=spf1 exp= -all", 7, "spf.missing_domain"),
        ("v=spf1 a:foo-bar -all", 7, "spf.bad_domain"),
        ("v=spf1 a:museum", 7, "spf.bad_domain"),
        ("v=spf1 a:museum.", 7, "spf.bad_domain"),
        ("v=spf1 a:111.222.33.44", 7, "spf.bad_domain"),
        ("v=spf1 a:abc.123", 7, "spf.bad_domain"),
        ("v=spf1 a:example.-com", 7, "spf.bad_domain"),
        ("v=spf1 a:example.com:8080", 7, "spf.bad_domain"),
        ("v=spf1 include:ip5.example.com/24 -all", 7, "spf.bad_domain"),
        ("v=spf1 exists:mail.example.com/24", 7, "spf.bad_domain"),
        ("v=spf1 exp=-all", 7, "spf.bad_domain"),
        ("v=spf1 a:foo.example.com\x00", 7, "spf.bad_char"),
        ("v=spf1 a:ctrl.example.com\rptr -all", 7, "spf.bad_char"),
        ("v=spf1 a:example.net \u0096all", 21, "spf.bad_char"),
        ("v=spf1 -exists:%(ir).sbl.example.com ?all", 7, "spf.bad_macro"),
        ("v=spf1 exists:foo%.sbl.example.com ?all", 7, "spf.bad_macro"),
        ("v=spf1 a:%{a}.example.com -all", 7, "spf.bad_macro"),
        ("v=spf1 -all exp=%{r}.example.com", 12, "spf.bad_macro"),
        ("v=spf1 a:%{d0}.example.com", 7, "spf.bad_macro"),
        ("v=spf1 a:%{d", 7, "spf.bad_macro"),
        ("v=spf1 -all foo=%abc", 12, "spf.bad_macro"),
        ("v=spf1 1up=foo", 7, "spf.unknown_mechanism"),
        ("v=spf1 =all", 7, "spf.unknown_mechanism"),
        ("v=spf1 moo.cow/far_out=man:dog/cat -all", 7, "spf.unknown_mechanism"),
        ("v=spf1 redirect:t2.example.com", 7, "spf.unknown_mechanism"),
        ("v=spf1 + all", 7, "spf.unknown_mechanism"),
        ('v=spf1 include:_spf.example.com -all"', 32, "spf.unknown_mechanism"),
        (
            "v=spf1 exp=e13msg.example.com -all exp=e11msg.example.com",
            35,
            "spf.duplicate_modifier",
        ),
        (
            "v=spf1 redirect=e12.example.com -all redirect=e12.example.com",
            37,
            "spf.duplicate_modifier",
        ),
    ],
)
def test_syntax_errors(text: str, pos: int, code: str) -> None:
    with pytest.raises(RecordSyntaxError) as info:
        parse_spf(text)
    assert (info.value.pos, info.value.code) == (pos, code)
    assert info.value.message


def test_error_message_names_the_term() -> None:
    with pytest.raises(RecordSyntaxError) as info:
        parse_spf("v=spf1 include:_spf.example.com ip4:300.1.1.1 -all")
    assert info.value.pos == 32
    assert "300.1.1.1" in info.value.message


# --- macro expansion (RFC 7208 7.4) -------------------------------------------------------- -----

SENDER = "strong-bad@email.example.com"
DOMAIN = "email.example.com"


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("%{s}", "strong-bad@email.example.com"),
        ("%{o}", "email.example.com"),
        ("%{d}", "email.example.com"),
        ("%{d4}", "email.example.com"),
        ("%{d3}", "email.example.com"),
        ("%{d2}", "example.com"),
        ("%{d1}", "com"),
        ("%{dr}", "com.example.email"),
        ("%{d2r}", "example.email"),
        ("%{l}", "strong-bad"),
        ("%{l-}", "strong.bad"),
        ("%{lr}", "strong-bad"),
        ("%{lr-}", "bad.strong"),
        ("%{l1r-}", "strong"),
        ("%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com"),
        ("%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com"),
        ("%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", "bad.strong.lp.3.2.0.192.in-addr._spf.example.com"),
        ("%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", "3.2.0.192.in-addr.strong.lp._spf.example.com"),
        ("%{d2}.trusted-domains.example.net", "example.com.trusted-domains.example.net"),
        ("%%%_%-", "% %20"),
        ("%{d999999999999999}", "email.example.com"),
    ],
)
def test_rfc_macro_examples_ipv4(spec: str, expected: str) -> None:
    assert expand_macros(spec, sender=SENDER, domain=DOMAIN, ip="192.0.2.3") == expected


def test_rfc_macro_example_ipv6() -> None:
    got = expand_macros("%{ir}.%{v}._spf.%{d2}", sender=SENDER, domain=DOMAIN, ip="2001:db8::cb01")
    assert got == (
        "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com"
    )


def test_macro_details() -> None:
    sender = "~jack&jill=up-a_b3.c@e8.example.com"
    # Upper-case letters are URL-escaped (RFC 7208 7.3).
    got = expand_macros("l=%{L}", sender=sender, domain="e8.example.com", ip="192.0.2.1")
    assert got == "l=~jack%26jill%3Dup-a_b3.c"
    # Several delimiters split together; the parts are joined with dots.
    got = expand_macros(
        "%{l2r+-}", sender="foo-bar+zip+quux@x.example", domain="x.example", ip="1.2.3.4"
    )
    assert got == "bar.foo"
    # No local part: postmaster stands in (RFC 7208 4.3).
    got = expand_macros("%{l}@%{o}", sender="@example.net", domain="example.net", ip="1.2.3.4")
    assert got == "postmaster@example.net"
    # An IPv4-mapped client is an IPv4 client.
    assert expand_macros("%{i}/%{v}", sender=SENDER, domain=DOMAIN, ip="::ffff:1.2.3.4") == (
        "1.2.3.4/in-addr"
    )
    assert expand_macros(
        "%{h}/%{p}", sender=SENDER, domain=DOMAIN, ip="1.2.3.4", helo="mx.example"
    ) == ("mx.example/unknown")


def test_explanation_only_letters() -> None:
    with pytest.raises(RecordSyntaxError):
        expand_macros("%{c}", sender=SENDER, domain=DOMAIN, ip="192.0.2.3")
    got = expand_macros(
        "%{c} via %{r} at %{t}",
        sender=SENDER,
        domain=DOMAIN,
        ip="CAFE:BABE::1",
        exp=True,
        receiver="mx.example.org",
        timestamp=1700000000,
    )
    assert got == "cafe:babe::1 via mx.example.org at 1700000000"


def test_bad_ip_for_macros() -> None:
    with pytest.raises(ValueError):
        expand_macros("%{i}", sender=SENDER, domain=DOMAIN, ip="not-an-ip")


# --- adding terms --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "terms", "expected"),
    [
        ("v=spf1 mx -all", ["include:_spf.p.net"], "v=spf1 mx include:_spf.p.net -all"),
        (
            "v=spf1 mx redirect=_spf.x.com",
            ["ip4:192.0.2.1"],
            "v=spf1 mx ip4:192.0.2.1 redirect=_spf.x.com",
        ),
        ("v=spf1 a", ["mx", "A"], "v=spf1 a mx"),
        (
            "v=spf1 include:_SPF.p.net ~all",
            ["include:_spf.p.net"],
            "v=spf1 include:_SPF.p.net ~all",
        ),
    ],
)
def test_with_terms(text: str, terms: list[str], expected: str) -> None:
    assert with_terms(parse_spf(text), terms) == expected


@given(
    st.one_of(
        st.text(alphabet="0123456789.", max_size=20),
        st.tuples(*[st.integers(0, 300)] * 4).map(lambda t: ".".join(map(str, t))),
    ),
    st.integers(0, 32),
)
def test_ip4_terms_read_as_ipaddress_reads_them(address: str, prefix: int) -> None:
    try:
        expected: ipaddress.IPv4Network | None = ipaddress.IPv4Network(
            (ipaddress.IPv4Address(address), prefix), strict=False
        )
    except ValueError:
        expected = None
    try:
        term = parse_term(f"ip4:{address}/{prefix}")
    except RecordSyntaxError as exc:
        assert expected is None and exc.code == "spf.bad_ip"
    else:
        assert isinstance(term, Mechanism) and term.network == expected


def test_ip6_host_bits_are_compared_by_value_not_spelling() -> None:
    same, shifted = parse_spf("v=spf1 ip6:2001:DB8:0::/48 ip6:2001:db8::1/48 -all").mechanisms[:2]
    assert not same.host_bits_set
    assert shifted.host_bits_set and str(shifted.network) == "2001:db8::/48"
