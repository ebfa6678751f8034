"""Property tests: the SPF parser raises nothing but RecordSyntaxError, and check_spf() never
raises, whatever text DNS hands them."""

from __future__ import annotations

import asyncio
import ipaddress

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailauth_tui.core.dns_types import RType
from mailauth_tui.core.errors import RecordSyntaxError
from mailauth_tui.core.results import SpfResult, Status
from mailauth_tui.core.spf import Mechanism, Modifier, expand_macros, parse_spf
from mailauth_tui.core.spf_eval import check_spf
from mailauth_tui.core.spf_memo import SpfMemo
from mailauth_tui.core.spf_problems import (
    _INNER_TERM_START,
    _INNER_TERM_START_ANY_CASE,
    _TERM_START,
    _TERM_START_ANY_CASE,
    _network_notable,
    _network_warnings,
)
from tests.unit.spf_fakes import FakeResolver, zone

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_names = st.sampled_from(
    [
        "example.com",
        "_spf.example.net",
        "a.b",
        "%{d}",
        "%{ir}.%{v}._spf.%{d2}",
        "x.-com",
        "foo",
        "%{l1r-}.lp.%{d}",
        "%{c}.x.com",
        "%(ir).x.com",
        "e.xn--zckzah.",
        "a..b.com",
        "1.2.3.4",
    ]
)
_ips = st.sampled_from(
    [
        "192.0.2.1",
        "192.0.2.0/24",
        "1.2.3",
        "2001:db8::/32",
        "::ffff:1.2.3.4",
        "1.2.3.4//32",
        "256.1.1.1",
        "fe80::1%eth0",
        "01.2.3.4",
        "192.0.2.1/33",
        "",
    ]
)
_qualifier = st.sampled_from(["", "+", "-", "~", "?", "++"])
_cidr = st.sampled_from(["", "/24", "//64", "/24//64", "/33", "//129", "/0", "/032", "/"])
_term = st.one_of(
    st.builds(
        lambda q, n: f"{q}{n}", _qualifier, st.sampled_from(["all", "ptr", "a", "mx", "moo"])
    ),
    st.builds(
        lambda q, m, d, c: f"{q}{m}:{d}{c}",
        _qualifier,
        st.sampled_from(["include", "a", "mx", "ptr", "exists", "all"]),
        _names,
        _cidr,
    ),
    st.builds(lambda q, m, i: f"{q}{m}:{i}", _qualifier, st.sampled_from(["ip4", "ip6"]), _ips),
    st.builds(
        lambda m, d: f"{m}={d}",
        st.sampled_from(["redirect", "exp", "foo", "x-y.z", "1up", ""]),
        _names,
    ),
    st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x2FF), max_size=12),
)
_spfish = st.builds(
    lambda version, terms, sep: version + sep + sep.join(terms),
    st.sampled_from(["v=spf1", "v=spf1", "V=SPF1", "v=spf10", "v=spf"]),
    st.lists(_term, max_size=12),
    st.sampled_from([" ", "  ", "\t"]),
)


def _check_parse(text: str) -> None:
    try:
        record = parse_spf(text)
    except RecordSyntaxError as exc:
        assert 0 <= exc.pos <= len(text)
        assert exc.message and exc.code
        return
    assert str(record) == text
    for term in record.terms:
        # every term's position points at its own text in the record
        written = term.text if isinstance(term, Mechanism) else f"{term.name}={term.value}"
        assert text[term.pos : term.pos + len(written)].lower() == written.lower()
        assert isinstance(term, (Mechanism, Modifier))


@SETTINGS
@given(st.text(max_size=300))
def test_parse_arbitrary_text(text: str) -> None:
    _check_parse(text)
    _check_parse("v=spf1 " + text)


@SETTINGS
@given(_spfish)
def test_parse_spf_like_text(text: str) -> None:
    _check_parse(text)


@SETTINGS
@given(st.text(max_size=60), st.booleans())
def test_expand_arbitrary_macro_strings(spec: str, exp: bool) -> None:
    try:
        out = expand_macros(
            spec, sender="a-b@x.example", domain="x.example", ip="2001:db8::1", exp=exp
        )
    except RecordSyntaxError:
        return
    if "%" not in spec:
        assert out == spec


_chunked = st.lists(st.one_of(_spfish, st.text(max_size=40)), min_size=1, max_size=3)


@SETTINGS
@given(st.lists(_chunked, max_size=3), st.lists(st.sampled_from(["192.0.2.1", "2001:db8::1", "x"])))
def test_check_spf_never_raises(values: list[list[str]], ips: list[str]) -> None:
    # Each published TXT record is one or more character-strings of SPF-ish or random text;
    # every name an include could reach answers with the same records (loops included).
    records: list[str | tuple[str, ...]] = [tuple(chunks) for chunks in values]
    entries = [(n, RType.TXT, records) for n in ("h.example", "example.com", "_spf.example.net")]
    entries.append(("h.example", RType.MX, ["mx.h.example"]))
    resolver = FakeResolver(zone(*entries) if records else {})
    result = asyncio.run(_check(resolver, ips))
    assert result.status in set(Status)
    assert all(p.code and p.message for p in result.problems)
    assert len(result.sources) == len(ips)


async def _check(resolver: FakeResolver, ips: list[str]) -> SpfResult:
    return await check_spf(resolver, "h.example", ips=ips, include="_spf.example.net")


_GLUE_ALPHABET = st.sampled_from(
    ["include:", "INCLUDE:", "Ip4:", "ip6:", "a:", "MX:", "ptr:", "exists:", "redirect=", "Exp=",
     "-all", "~ALL", "a", "x.example", "1.2.3.4", "::1", "/24", "İ", "ß", "K"]
)  # fmt: skip


@SETTINGS
@given(st.lists(_GLUE_ALPHABET, max_size=6).map("".join))
def test_term_starts_are_found_as_by_a_case_blind_search(word: str) -> None:
    # glued_term searches ASCII words lower-cased with a case-sensitive pattern (faster).
    blind = [m.start() for m in _TERM_START_ANY_CASE.finditer(word, 1)]
    if word.isascii():
        assert [m.start() for m in _TERM_START.finditer(word.lower(), 1)] == blind


_TREE_NAMES = [f"n{i}.example" for i in range(5)]
_tree_term = st.one_of(
    st.builds(
        lambda m, n: f"{m}:{n}",
        st.sampled_from(["include", "include", "a", "mx", "exists"]),
        st.sampled_from([*_TREE_NAMES, "void.example", "%{d}"]),
    ),
    st.builds(lambda n: f"redirect={n}", st.sampled_from(_TREE_NAMES)),
    st.sampled_from(["-all", "~all", "+all", "ptr", "ip4:192.0.2.0/24", "exists:%{i}.x.example"]),
)
_tree_record = st.one_of(
    st.lists(_tree_term, max_size=5).map(lambda terms: " ".join(["v=spf1", *terms])),
    st.sampled_from(["", "not spf", "v=spf1 include:"]),
)


@SETTINGS
@given(
    st.lists(_tree_record, min_size=len(_TREE_NAMES), max_size=len(_TREE_NAMES)),
    st.lists(_tree_record, min_size=1, max_size=4),
)
def test_include_trees_replayed_from_the_memo_give_the_same_results(
    tree: list[str], tops: list[str]
) -> None:
    # Shared include trees (loops, voids, redirects, the lookup cap) walked once and replayed
    # for the next domains must report exactly what a walk of their own reports.
    entries: list[tuple[str, RType, str | list[str]]] = [
        (name, RType.TXT, text) for name, text in zip(_TREE_NAMES, tree, strict=True) if text
    ]
    entries += [(f"d{i}.example", RType.TXT, text) for i, text in enumerate(tops) if text]
    entries.append(("n1.example", RType.A, "192.0.2.1"))
    entries.append(("n2.example", RType.MX, ["mx.n2.example"]))
    resolver = FakeResolver(zone(*entries))
    domains = [f"d{i}.example" for i in range(len(tops))] + _TREE_NAMES[:2]

    async def run(memo: SpfMemo | None) -> list[SpfResult]:
        return [await check_spf(resolver, d, memo=memo) for d in domains]

    memo = SpfMemo()
    assert asyncio.run(run(memo)) == asyncio.run(run(None))
    assert asyncio.run(run(memo)) == asyncio.run(run(None))  # the memo full from the start


def test_the_memo_saves_the_walk_below_a_shared_include() -> None:
    provider = "v=spf1 include:_a.esp.example include:_b.esp.example ~all"
    resolver = FakeResolver(
        zone(
            ("_spf.esp.example", RType.TXT, provider),
            ("_a.esp.example", RType.TXT, "v=spf1 ip4:192.0.2.0/24 -all"),
            ("_b.esp.example", RType.TXT, "v=spf1 a:relay.esp.example -all"),
            ("relay.esp.example", RType.A, "192.0.2.9"),
            *(
                (f"d{i}.example", RType.TXT, "v=spf1 include:_spf.esp.example -all")
                for i in range(3)
            ),
        )
    )
    memo = SpfMemo()
    results = [asyncio.run(check_spf(resolver, f"d{i}.example", memo=memo)) for i in range(3)]
    assert {(r.status, r.lookups) for r in results} == {(Status.VALID, 4)}
    assert len(memo) == 3  # _spf.esp.example and the two trees below it
    assert resolver.asked[("_a.esp.example", RType.TXT)] == 1  # not asked again for d1, d2


def test_a_tree_past_the_walk_cap_is_walked_not_replayed() -> None:
    # wide.example costs 30 lookups, 29 of them void. Included twice, the second copy crosses
    # the walk's cap of 50, past which terms are counted but not followed (so not found void):
    # a replay of the first copy would count 29 voids again.
    fan = " ".join(f"a:h{i}.example" for i in range(29))
    resolver = FakeResolver(
        zone(
            ("wide.example", RType.TXT, f"v=spf1 include:leaf.example {fan} -all"),
            ("leaf.example", RType.TXT, "v=spf1 -all"),
            ("one.example", RType.TXT, "v=spf1 include:wide.example -all"),
            ("two.example", RType.TXT, "v=spf1 include:wide.example include:wide.example -all"),
        )
    )

    async def run(memo: SpfMemo | None) -> list[SpfResult]:
        return [await check_spf(resolver, d, memo=memo) for d in ("one.example", "two.example")]

    with_memo, without = asyncio.run(run(SpfMemo())), asyncio.run(run(None))
    assert with_memo == without
    assert [(r.lookups, r.void_lookups) for r in without] == [(31, 29), (62, 29 + 17)]


_octet = st.one_of(st.integers(0, 255).map(str), st.sampled_from(["256", "01", "00", "1a", ""]))
_prefix = st.one_of(
    st.just(""), st.integers(0, 40).map(lambda n: f"/{n}"), st.sampled_from(["/", "/05", "//8"])
)


@SETTINGS
@given(
    st.sampled_from(["", "+", "-", "~", "?"]),
    st.sampled_from(["ip4", "IP4", "iP4"]),
    st.lists(_octet, min_size=3, max_size=5),
    _prefix,
)
def test_ip4_terms_are_read_as_the_rfc_grammar_says(
    qualifier: str, name: str, octets: list[str], prefix: str
) -> None:
    # ip4-network = qnum "." qnum "." qnum "." qnum (no leading zeros), ip4-cidr-length =
    # "/" ("0" / %x31-39 0*1DIGIT) up to 32: what ipaddress reads, checked term by term.
    address = ".".join(octets)
    word = f"{qualifier}{name}:{address}{prefix}"
    digits = prefix[1:]
    valid = (
        len(octets) == 4
        and all(o.isdigit() and int(o) <= 255 and (o == "0" or o[0] != "0") for o in octets)
        and (
            not prefix
            or (digits.isdigit() and int(digits) <= 32 and (digits == "0" or digits[0] != "0"))
        )
    )
    try:
        term = parse_spf(f"v=spf1 {word}").terms[0]
    except RecordSyntaxError as exc:
        assert not valid, word
        assert exc.code in ("spf.bad_ip", "spf.bad_cidr")
        return
    assert valid, word
    assert isinstance(term, Mechanism)
    assert (term.qualifier.value, term.kind.value, term.text) == (qualifier or "+", "ip4", word)
    width = int(digits) if prefix else 32
    assert term.network == ipaddress.IPv4Network(f"{address}/{width}", strict=False)
    assert term.ip == (4, int(ipaddress.IPv4Address(address)), width)


_GLUE_TEXT = st.lists(
    st.one_of(_GLUE_ALPHABET, st.sampled_from([" ", "  ", "\n", "\t", "\n "])), max_size=12
).map("".join)


@SETTINGS
@given(_GLUE_TEXT)
def test_the_search_of_the_whole_value_finds_every_word_with_a_term_start_inside(
    text: str,
) -> None:
    # glued_term searches the words one by one only when one search of the whole value finds
    # a term start inside a word: it must find one whenever a word has one.
    inside = any(
        _TERM_START_ANY_CASE.search(word, 1) is not None for word in text.split(" ") if word
    )
    whole = (
        _INNER_TERM_START.search(text.lower())
        if text.isascii()
        else _INNER_TERM_START_ANY_CASE.search(text)
    )
    if inside:
        assert whole is not None, text


@SETTINGS
@given(
    st.sampled_from(["", "+", "-", "~", "?"]),
    st.one_of(
        st.builds(
            lambda a, p: f"ip4:{ipaddress.IPv4Address(a)}/{p}",
            st.integers(0, 2**32 - 1),
            st.integers(0, 32),
        ),
        st.builds(
            lambda a, p: f"ip6:{ipaddress.IPv6Address(a)}/{p}",
            st.integers(0, 2**128 - 1),
            st.integers(0, 128),
        ),
    ),
)
def test_address_terms_are_passed_over_only_when_they_have_no_warning(
    qualifier: str, term: str
) -> None:
    mechanism = parse_spf(f"v=spf1 {qualifier}{term}").terms[0]
    assert isinstance(mechanism, Mechanism)
    assert _network_notable(mechanism) == bool(_network_warnings("your record", mechanism))
