"""SPF evaluation over an in-memory resolver: check_host(), check_spf(), spf_lookup_count()."""

from __future__ import annotations

import pytest

from mailauth_tui.core.dns_types import RType
from mailauth_tui.core.errors import RecordSyntaxError
from mailauth_tui.core.results import Severity, SourceVerdict, Status
from mailauth_tui.core.spf_eval import SpfOutcome, check_host, check_spf, spf_lookup_count
from tests.unit.spf_fakes import FakeResolver, zone

TXT, A, AAAA, MX, PTR = RType.TXT, RType.A, RType.AAAA, RType.MX, RType.PTR

BASE = zone(
    ("example.com", TXT, ["v=spf1 include:_spf.provider.net mx ip6:2001:db8::/48 -all", "site=1"]),
    ("_spf.provider.net", TXT, "v=spf1 ip4:192.0.2.0/24 include:_nb.provider.net ~all"),
    ("_nb.provider.net", TXT, "v=spf1 ip4:198.51.100.0/25 -all"),
    ("example.com", MX, ["mx1.example.com", "mx2.example.com"]),
    ("mx1.example.com", A, "203.0.113.10"),
    ("mx2.example.com", A, "203.0.113.20"),
    ("mx2.example.com", AAAA, "2001:db8:ffff::25"),
)


def codes(result: object) -> list[str]:
    return [p.code for p in getattr(result, "problems", ())]


# --- check_host ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ip", "result", "mechanism"),
    [
        ("192.0.2.77", SpfOutcome.PASS, "include:_spf.provider.net"),
        ("198.51.100.5", SpfOutcome.PASS, "include:_spf.provider.net"),  # two includes down
        ("198.51.100.200", SpfOutcome.FAIL, "-all"),  # nested -all is a non-match
        ("203.0.113.20", SpfOutcome.PASS, "mx"),
        ("::ffff:203.0.113.10", SpfOutcome.PASS, "mx"),  # IPv4-mapped is IPv4
        ("2001:db8:0:1::9", SpfOutcome.PASS, "ip6:2001:db8::/48"),
        ("2001:db8:ffff::25", SpfOutcome.PASS, "mx"),
        ("203.0.113.99", SpfOutcome.FAIL, "-all"),
    ],
)
async def test_check_host_per_ip(ip: str, result: SpfOutcome, mechanism: str) -> None:
    got = await check_host(FakeResolver(BASE), ip, "example.com")
    assert (got.result, got.mechanism, got.matched_domain) == (result, mechanism, "example.com")


async def test_check_host_counts_lookups() -> None:
    got = await check_host(FakeResolver(BASE), "203.0.113.10", "example.com")
    assert (got.lookups, got.void_lookups) == (3, 0)  # include, the nested include, mx


async def test_check_host_none_and_bad_input() -> None:
    resolver = FakeResolver(BASE)
    assert (await check_host(resolver, "192.0.2.1", "nowhere.example")).result is SpfOutcome.NONE
    bad_domain = await check_host(resolver, "192.0.2.1", "localhost")
    assert bad_domain.result is SpfOutcome.NONE
    bad_ip = await check_host(resolver, "192.0.2.300", "example.com")
    assert (bad_ip.result, bad_ip.code) == (SpfOutcome.PERMERROR, "spf.bad_source")


async def test_qualifiers_and_default() -> None:
    z = zone(
        ("q.example", TXT, "v=spf1 ?ip4:192.0.2.1 ~ip4:192.0.2.2 -ip4:192.0.2.3 +ip4:192.0.2.4"),
    )
    resolver = FakeResolver(z)
    results = [
        (await check_host(resolver, f"192.0.2.{i}", "q.example")).result for i in range(1, 6)
    ]
    assert results == ["neutral", "softfail", "fail", "pass", "neutral"]


async def test_a_with_cidr_and_dual_cidr() -> None:
    z = zone(
        ("c.example", TXT, "v=spf1 a/24//64 a:other.example -all"),
        ("c.example", A, "192.0.2.1"),
        ("c.example", AAAA, "2001:db8:1:2::1"),
        ("other.example", A, "198.51.100.7"),
    )
    resolver = FakeResolver(z)
    assert (await check_host(resolver, "192.0.2.200", "c.example")).result is SpfOutcome.PASS
    assert (await check_host(resolver, "2001:db8:1:2:ffff::1", "c.example")).result == "pass"
    assert (await check_host(resolver, "2001:db8:1:3::1", "c.example")).result == "fail"
    assert (await check_host(resolver, "198.51.100.7", "c.example")).mechanism == "a:other.example"


async def test_redirect_uses_the_target_domain() -> None:
    z = zone(
        ("r.example", TXT, "v=spf1 ip4:192.0.2.1 redirect=_spf.r.example"),
        ("_spf.r.example", TXT, "v=spf1 a -all"),
        ("_spf.r.example", A, "192.0.2.2"),
    )
    resolver = FakeResolver(z)
    got = await check_host(resolver, "192.0.2.2", "r.example")
    assert (got.result, got.mechanism, got.lookups) == (SpfOutcome.PASS, "a", 2)
    assert (await check_host(resolver, "192.0.2.9", "r.example")).result is SpfOutcome.FAIL
    # redirect is not reached when all matches first
    z2 = zone(("t.example", TXT, "v=spf1 redirect=x.example ~all"))
    assert (await check_host(FakeResolver(z2), "192.0.2.9", "t.example")).result == "softfail"


async def test_redirect_and_include_to_nothing_are_permerrors() -> None:
    z = zone(
        ("r.example", TXT, "v=spf1 redirect=gone.example"),
        ("i.example", TXT, "v=spf1 include:nospf.example -all"),
        ("nospf.example", TXT, "just text"),
    )
    resolver = FakeResolver(z)
    got = await check_host(resolver, "192.0.2.1", "r.example")
    assert (got.result, got.code) == (SpfOutcome.PERMERROR, "spf.redirect_missing")
    got = await check_host(resolver, "192.0.2.1", "i.example")
    assert (got.result, got.code) == (SpfOutcome.PERMERROR, "spf.include_missing")


def _includes(n: int) -> dict[tuple[str, RType], list[str | tuple[str, ...]]]:
    terms = " ".join(f"include:i{k}.example" for k in range(n))
    entries = [("many.example", TXT, f"v=spf1 {terms} ip4:192.0.2.1 -all")]
    entries += [(f"i{k}.example", TXT, f"v=spf1 ip4:198.51.100.{k} -all") for k in range(n)]
    return zone(*entries)


async def test_ten_lookups_pass_eleven_are_permerror() -> None:
    at_limit = await check_host(FakeResolver(_includes(10)), "192.0.2.1", "many.example")
    assert (at_limit.result, at_limit.lookups) == (SpfOutcome.PASS, 10)
    over = await check_host(FakeResolver(_includes(11)), "192.0.2.1", "many.example")
    assert (over.result, over.code) == (SpfOutcome.PERMERROR, "spf.too_many_lookups")
    # An IP matched before the limit is reached still passes: the limit is met on the way.
    early = await check_host(FakeResolver(_includes(11)), "198.51.100.3", "many.example")
    assert early.result is SpfOutcome.PASS


async def test_mechanisms_over_limit() -> None:
    z = zone(
        ("e6.example", TXT, "v=spf1 a mx a mx a mx a mx a ptr ip4:1.2.3.4 -all"),
        ("e7.example", TXT, "v=spf1 a mx a mx a mx a mx a ptr a ip4:1.2.3.4 -all"),
        ("e6.example", A, "1.2.3.8"),
        ("e7.example", A, "1.2.3.20"),
        ("e6.example", MX, "e6.example"),
    )
    resolver = FakeResolver(z)
    assert (await check_host(resolver, "1.2.3.4", "e6.example")).result is SpfOutcome.PASS
    assert (await check_host(resolver, "1.2.3.4", "e7.example")).result is SpfOutcome.PERMERROR


async def test_void_lookup_limit() -> None:
    z = zone(
        ("two.example", TXT, "v=spf1 a:err1.example a:err2.example ?all"),
        ("three.example", TXT, "v=spf1 a:err1.example a:err2.example a:err3.example ?all"),
        ("err2.example", MX, "mx.err2.example"),  # exists, but has no A: NODATA
    )
    resolver = FakeResolver(z)
    two = await check_host(resolver, "192.0.2.1", "two.example")
    assert (two.result, two.void_lookups) == (SpfOutcome.NEUTRAL, 2)
    three = await check_host(resolver, "192.0.2.1", "three.example")
    assert (three.result, three.code) == (SpfOutcome.PERMERROR, "spf.too_many_void_lookups")


async def test_loops() -> None:
    z = zone(
        ("a.example", TXT, "v=spf1 include:b.example -all"),
        ("b.example", TXT, "v=spf1 include:a.example -all"),
        ("r.example", TXT, "v=spf1 ip4:1.1.1.1 redirect=r.example"),
    )
    resolver = FakeResolver(z)
    got = await check_host(resolver, "192.0.2.1", "a.example")
    assert (got.result, got.code) == (SpfOutcome.PERMERROR, "spf.loop")
    assert "a.example -> b.example -> a.example" in got.reason
    got = await check_host(resolver, "192.0.2.1", "r.example")
    assert (got.result, got.code) == (SpfOutcome.PERMERROR, "spf.loop")


def _mx_zone(n: int) -> dict[tuple[str, RType], list[str | tuple[str, ...]]]:
    return zone(
        ("m.example", TXT, "v=spf1 mx -all"),
        ("m.example", MX, [f"mx{k}.m.example" for k in range(n)]),
        *[(f"mx{k}.m.example", A, f"192.0.2.{k}") for k in range(n)],
    )


async def test_mx_limit() -> None:
    assert (await check_host(FakeResolver(_mx_zone(10)), "192.0.2.9", "m.example")).result == "pass"
    got = await check_host(FakeResolver(_mx_zone(11)), "192.0.2.9", "m.example")
    assert (got.result, got.code) == (SpfOutcome.PERMERROR, "spf.mx_too_many")


async def test_null_mx_matches_nothing() -> None:
    z = zone(("n.example", TXT, "v=spf1 mx"), ("n.example", MX, ""))
    assert (await check_host(FakeResolver(z), "192.0.2.1", "n.example")).result == "neutral"


async def test_temperror() -> None:
    z = zone(("t.example", TXT, "v=spf1 include:slow.example -all"))
    resolver = FakeResolver(z, timeouts=["slow.example"])
    got = await check_host(resolver, "192.0.2.1", "t.example")
    assert (got.result, got.code) == (SpfOutcome.TEMPERROR, "spf.unknown")
    resolver = FakeResolver(z, failing=["t.example"])
    assert (await check_host(resolver, "192.0.2.1", "t.example")).result is SpfOutcome.TEMPERROR


async def test_exists_with_macros() -> None:
    z = zone(
        ("x.example", TXT, "v=spf1 exists:%{ir}.%{l1r-}.lp._spf.%{d} -all"),
        ("5.2.0.192.smith.lp._spf.x.example", A, "127.0.0.2"),
    )
    resolver = FakeResolver(z)
    got = await check_host(resolver, "192.0.2.5", "x.example", "smith-bob@x.example")
    assert got.result is SpfOutcome.PASS
    got = await check_host(resolver, "192.0.2.6", "x.example", "smith-bob@x.example")
    assert (got.result, got.void_lookups) == (SpfOutcome.FAIL, 1)


async def test_ptr_mechanism() -> None:
    z = zone(
        ("p.example", TXT, "v=spf1 ptr -all"),
        ("4.3.2.1.in-addr.arpa", PTR, ["other.example.net", "mail.p.example"]),
        ("mail.p.example", A, "1.2.3.4"),
        ("5.3.2.1.in-addr.arpa", PTR, "fake.p.example"),
        ("fake.p.example", A, "9.9.9.9"),
    )
    resolver = FakeResolver(z)
    assert (await check_host(resolver, "1.2.3.4", "p.example")).result is SpfOutcome.PASS
    # the forward lookup does not lead back to the client: not validated
    assert (await check_host(resolver, "1.2.3.5", "p.example")).result is SpfOutcome.FAIL


async def test_p_macro() -> None:
    z = zone(
        ("p.example", TXT, "v=spf1 exists:%{p}.ok.p.example -all"),
        ("4.3.2.1.in-addr.arpa", PTR, "mail.p.example"),
        ("mail.p.example", A, "1.2.3.4"),
        ("mail.p.example.ok.p.example", A, "127.0.0.2"),
    )
    assert (await check_host(FakeResolver(z), "1.2.3.4", "p.example")).result is SpfOutcome.PASS


async def test_each_name_asked_once() -> None:
    z = zone(
        ("d.example", TXT, "v=spf1 include:s.example include:s.example a a mx mx ~all"),
        ("s.example", TXT, "v=spf1 ip4:192.0.2.1 -all"),
        ("d.example", MX, "mx.d.example"),
    )
    resolver = FakeResolver(z)
    result = await check_spf(resolver, "d.example", ips=["198.51.100.1", "198.51.100.2"])
    assert result.lookups == 6
    assert max(resolver.asked.values()) == 1


# --- check_spf ------------------------------------------------------------------------------- ---


async def test_check_spf_valid_with_sources_and_include() -> None:
    resolver = FakeResolver(BASE)
    result = await check_spf(
        resolver, "example.com", ips=["192.0.2.10", "203.0.113.99"], include="_nb.provider.net"
    )
    assert result.status is Status.VALID
    assert result.record == "v=spf1 include:_spf.provider.net mx ip6:2001:db8::/48 -all"
    assert (result.lookups, result.void_lookups) == (3, 0)
    assert result.include_authorized is True  # referenced two levels down
    assert result.sources == (
        SourceVerdict(
            "192.0.2.10",
            "pass",
            "include:_spf.provider.net",
            "matched 'include:_spf.provider.net' in the record of example.com",
        ),
        SourceVerdict(
            "203.0.113.99", "fail", "-all", "matched '-all' in the record of example.com"
        ),
    )
    problem = next(p for p in result.problems if p.code == "spf.source_not_authorized")
    assert problem.severity is Severity.ERROR
    assert "203.0.113.99 (fail)" in problem.message
    assert problem.fix.endswith(
        "v=spf1 include:_spf.provider.net mx ip6:2001:db8::/48 ip4:203.0.113.99 -all"
    )


async def test_check_spf_include_not_authorized() -> None:
    result = await check_spf(FakeResolver(BASE), "example.com", include="mail.zoho.example")
    assert result.include_authorized is False
    problem = next(p for p in result.problems if p.code == "spf.include_not_authorized")
    assert "include:mail.zoho.example -all" in problem.fix
    plain = await check_spf(FakeResolver(BASE), "example.com")
    assert plain.include_authorized is None
    assert plain.problems == ()


@pytest.mark.parametrize("values", [None, "some-verification=abc"])
async def test_check_spf_missing(values: str | None) -> None:
    z = zone(("m.example", TXT, values)) if values else zone(("m.example", A, "192.0.2.1"))
    result = await check_spf(FakeResolver(z), "m.example", include="_spf.p.net", ips=["192.0.2.1"])
    assert result.status is Status.MISSING
    assert result.include_authorized is False
    (problem,) = result.problems
    assert problem.code == "spf.missing"
    assert problem.fix.endswith("v=spf1 include:_spf.p.net ip4:192.0.2.1 ~all")


async def test_check_spf_nxdomain_is_missing_and_starting_record() -> None:
    result = await check_spf(FakeResolver({}), "gone.example")
    assert result.status is Status.MISSING
    assert "NXDOMAIN" in result.problems[0].message
    assert result.problems[0].fix.endswith("v=spf1 mx ~all")


@pytest.mark.parametrize("kind", ["failing", "timeouts"])
async def test_check_spf_dns_failure_is_unknown_never_missing(kind: str) -> None:
    resolver = FakeResolver({}, **{kind: ["u.example"]})
    result = await check_spf(resolver, "u.example", include="_spf.p.net", ips=["192.0.2.1"])
    assert result.status is Status.UNKNOWN
    assert codes(result) == ["spf.unknown"]
    assert result.include_authorized is None
    assert [(v.source, v.result) for v in result.sources] == [("192.0.2.1", "temperror")]
    assert "u.example failed" in result.sources[0].reason


async def test_check_spf_temperror_in_the_tree_is_unknown() -> None:
    z = zone(("u.example", TXT, "v=spf1 include:slow.example -all"))
    result = await check_spf(FakeResolver(z, timeouts=["slow.example"]), "u.example")
    assert result.status is Status.UNKNOWN
    assert "spf.unknown" in codes(result)


async def test_check_spf_two_records() -> None:
    z = zone(("two.example", TXT, ["v=spf1 include:a.example -all", "v=spf1 ip4:192.0.2.1 ~all"]))
    result = await check_spf(FakeResolver(z), "two.example")
    assert result.status is Status.INVALID
    assert codes(result)[0] == "spf.multiple_records"
    assert "v=spf1 include:a.example ip4:192.0.2.1 -all" in result.problems[0].fix


async def test_check_spf_syntax_error() -> None:
    z = zone(("s.example", TXT, "v=spf1 include:_spf.example.net ip4:192.0.2 -all"))
    result = await check_spf(FakeResolver(z), "s.example")
    assert result.status is Status.INVALID
    problem = result.problems[0]
    assert problem.code == "spf.syntax"
    assert "position 32" in problem.message and "ip4:192.0.2" in problem.fix


async def test_check_spf_over_lookup_limit_counts_the_whole_tree() -> None:
    resolver = FakeResolver(_includes(11))
    result = await check_spf(resolver, "many.example")
    assert result.status is Status.INVALID
    assert result.lookups == 11
    problem = next(p for p in result.problems if p.code == "spf.too_many_lookups")
    assert "needs 11 DNS lookups" in problem.message and "include:i0.example (1)" in problem.message


async def test_check_spf_counts_terms_a_single_ip_would_not_reach() -> None:
    # For 192.0.2.1 the first include already matches, but an unlisted client walks everything.
    z = zone(
        ("w.example", TXT, "v=spf1 include:first.example include:big.example -all"),
        ("first.example", TXT, "v=spf1 ip4:192.0.2.1 -all"),
        (
            "big.example",
            TXT,
            "v=spf1 " + " ".join(f"include:n{k}.example" for k in range(9)) + " -all",
        ),
        *[(f"n{k}.example", TXT, "v=spf1 -all") for k in range(9)],
    )
    resolver = FakeResolver(z)
    assert (await check_host(resolver, "192.0.2.1", "w.example")).lookups == 1
    result = await check_spf(resolver, "w.example")
    assert (result.status, result.lookups) == (Status.INVALID, 11)


async def test_check_spf_walk_stops_at_its_cap() -> None:
    chain = [(f"c{k}.example", TXT, f"v=spf1 include:c{k + 1}.example -all") for k in range(80)]
    result = await check_spf(FakeResolver(zone(*chain)), "c0.example")
    assert result.status is Status.INVALID
    assert 50 <= result.lookups <= 51
    problem = next(p for p in result.problems if p.code == "spf.too_many_lookups")
    assert "at least" in problem.message


async def test_check_spf_void_lookups() -> None:
    z = zone(("v.example", TXT, "v=spf1 a:n1.example mx:n2.example exists:n3.example ~all"))
    result = await check_spf(FakeResolver(z), "v.example")
    assert (result.status, result.void_lookups) == (Status.INVALID, 3)
    problem = next(p for p in result.problems if p.code == "spf.too_many_void_lookups")
    assert "a:n1.example -> n1.example" in problem.message


async def test_check_spf_a_is_void_only_without_any_address() -> None:
    z = zone(("v6.example", TXT, "v=spf1 a -all"), ("v6.example", AAAA, "2001:db8::1"))
    result = await check_spf(FakeResolver(z), "v6.example")
    assert (result.status, result.void_lookups) == (Status.VALID, 0)


async def test_check_spf_loop_and_include_missing() -> None:
    z = zone(
        ("l.example", TXT, "v=spf1 include:m.example include:gone.example -all"),
        ("m.example", TXT, "v=spf1 include:l.example -all"),
    )
    result = await check_spf(FakeResolver(z), "l.example")
    assert result.status is Status.INVALID
    assert {"spf.loop", "spf.include_missing"} <= set(codes(result))
    missing = next(p for p in result.problems if p.code == "spf.include_missing")
    assert (
        "include:gone.example" in missing.message
        and "gone.example has no SPF record" in missing.message
    )


async def test_check_spf_include_with_syntax_error() -> None:
    z = zone(
        ("i.example", TXT, "v=spf1 include:broken.example -all"),
        ("broken.example", TXT, "v=spf1 ip4:1.2.3.4/33 -all"),
    )
    result = await check_spf(FakeResolver(z), "i.example")
    assert result.status is Status.INVALID
    assert "spf.include_invalid" in codes(result)


async def test_check_spf_mx_with_eleven_names() -> None:
    result = await check_spf(FakeResolver(_mx_zone(11)), "m.example")
    assert result.status is Status.INVALID
    assert "spf.mx_too_many" in codes(result)


@pytest.mark.parametrize(
    ("record", "code", "severity"),
    [
        ("v=spf1 +all", "spf.plus_all", Severity.WARNING),
        ("v=spf1 mx all", "spf.plus_all", Severity.WARNING),
        ("v=spf1 mx ?all", "spf.softfail_neutral_all", Severity.WARNING),
        ("v=spf1 mx ~all", "spf.softfail_neutral_all", Severity.INFO),
        ("v=spf1 ptr -all", "spf.ptr", Severity.WARNING),
        ("v=spf1 mx", "spf.no_all", Severity.WARNING),
        ("v=spf1 -all mx", "spf.terms_after_all", Severity.WARNING),
        ("v=spf1 mx -all redirect=x.example", "spf.redirect_ignored", Severity.WARNING),
        ("v=spf1 mx mx -all", "spf.duplicate_term", Severity.INFO),
        ("v=spf1 mx foo=bar -all", "spf.unknown_modifier", Severity.INFO),
        ("v=spf1 ip4:192.0.2.1/24 -all", "spf.ip_host_bits", Severity.INFO),
        ("v=spf1 ip4:0.0.0.0/1 -all", "spf.wide_range", Severity.WARNING),
        ("v=spf1 exists:%{i}.bl.example -all", "spf.macro_unchecked", Severity.INFO),
    ],
)
async def test_check_spf_warnings(record: str, code: str, severity: Severity) -> None:
    z = zone(("w.example", TXT, record), ("w.example", MX, "mx.w.example"))
    result = await check_spf(FakeResolver(z), "w.example")
    assert result.status is Status.VALID
    problem = next(p for p in result.problems if p.code == code)
    assert problem.severity is severity
    assert problem.message


async def test_check_spf_warns_about_plus_all_in_an_include() -> None:
    z = zone(
        ("w.example", TXT, "v=spf1 include:open.example -all"), ("open.example", TXT, "v=spf1 +all")
    )
    result = await check_spf(FakeResolver(z), "w.example")
    assert "spf.plus_all" in codes(result)


async def test_check_spf_redirect_chain_owns_the_all() -> None:
    z = zone(
        ("r.example", TXT, "v=spf1 redirect=_spf.r.example"), ("_spf.r.example", TXT, "v=spf1 ?all")
    )
    result = await check_spf(FakeResolver(z), "r.example")
    assert "spf.softfail_neutral_all" in codes(result)
    assert "spf.no_all" not in codes(result)


# --- how the value was published -----------------------------------------------------------------


async def test_glued_chunks() -> None:
    z = zone(("g.example", TXT, ("v=spf1 include:a.example", "include:b.example -all")))
    result = await check_spf(FakeResolver(z), "g.example")
    assert result.status is Status.INVALID
    glued = next(p for p in result.problems if p.code == "txt.glued_terms")
    assert glued.severity is Severity.ERROR
    assert "string 1" in glued.fix
    assert "spf.include_missing" in codes(result)  # a.exampleinclude:b.example does not exist


async def test_glued_after_version() -> None:
    z = zone(("g.example", TXT, ("v=spf1", "include:b.example -all")))
    result = await check_spf(FakeResolver(z), "g.example")
    # Joined, the value reads "v=spf1include:..." : its version section is not "v=spf1" then a
    # space, so receivers discard it (RFC 7208 4.5) and see no SPF record at all.
    assert result.status is Status.MISSING and result.record is None
    glued = next(p for p in result.problems if p.code == "txt.glued_terms")
    assert glued.severity is Severity.ERROR and "'v=spf1include:b.example -all'" in glued.message


async def test_glued_inside_one_string() -> None:
    z = zone(
        ("g.example", TXT, "v=spf1 include:_spf.a.example~all"),
        ("_spf.a.example", TXT, "v=spf1 -all"),
    )
    result = await check_spf(FakeResolver(z), "g.example")
    glued = next(p for p in result.problems if p.code == "txt.glued_terms")
    assert "'include:_spf.a.example ~all'" in glued.fix
    assert result.status is Status.INVALID


async def test_chunks_split_inside_a_term_are_fine() -> None:
    z = zone(("s.example", TXT, ("v=spf1 ip4:", "192.0.2.5 -all")))
    result = await check_spf(FakeResolver(z), "s.example")
    assert result.status is Status.VALID and result.problems == ()


@pytest.mark.parametrize(
    ("value", "code", "fixed", "status"),
    [
        # RFC 7208 4.5: a value not starting with exactly "v=spf1" (then a space or the end) is
        # discarded, so receivers see no SPF record at all: missing, with the look-alike
        # explained. A real v=spf1 record with a stray line break is a record with a syntax
        # error (permerror): invalid.
        ('"v=spf1 mx -all"', "txt.literal_quotes", "v=spf1 mx -all", Status.MISSING),
        (" v=spf1 mx -all", "txt.whitespace", "v=spf1 mx -all", Status.MISSING),
        ("v=spf1 mx -all\n", "txt.whitespace", "v=spf1 mx -all", Status.INVALID),
        ("v=spf mx -all", "spf.version_typo", "v=spf1 mx -all", Status.MISSING),
        ("v=spf2.0 mx -all", "spf.version_typo", "v=spf1 mx -all", Status.MISSING),
        ("v=spf10 mx -all", "spf.version_typo", "v=spf1 mx -all", Status.MISSING),
        ("V = SPF1 mx -all", "spf.version_typo", "v=spf1 mx -all", Status.MISSING),
        ("spf1 mx -all", "spf.version_typo", "v=spf1 mx -all", Status.MISSING),
    ],
)
async def test_published_form_mistakes(value: str, code: str, fixed: str, status: Status) -> None:
    z = zone(("f.example", TXT, value))
    result = await check_spf(FakeResolver(z), "f.example")
    assert result.status is status
    problem = next(p for p in result.problems if p.code == code)
    assert problem.severity is Severity.ERROR
    assert problem.fix.endswith(fixed)
    if status is Status.MISSING:
        # The look-alike is not an SPF record: nothing is reported as "the record", and its
        # diagnostic replaces the plain spf.missing one.
        assert result.record is None and "spf.missing" not in codes(result)


async def test_look_alike_does_not_authorise_the_include() -> None:
    z = zone(("f.example", TXT, '"v=spf1 include:_spf.a.example -all"'))
    result = await check_spf(FakeResolver(z), "f.example", include="_spf.a.example")
    assert result.status is Status.MISSING and result.include_authorized is False


async def test_sender_id_record_is_not_a_typo() -> None:
    z = zone(("f.example", TXT, "spf2.0/mfrom,pra mx -all"))
    result = await check_spf(FakeResolver(z), "f.example")
    assert result.status is Status.MISSING


async def test_look_alike_beside_a_valid_record_is_a_warning() -> None:
    z = zone(
        ("f.example", TXT, ["v=spf1 mx -all", "v=spf10 a -all"]), ("f.example", MX, "mx.f.example")
    )
    result = await check_spf(FakeResolver(z), "f.example")
    assert result.status is Status.VALID
    problem = next(p for p in result.problems if p.code == "spf.version_typo")
    assert problem.severity is Severity.WARNING


# --- lookup counting for a record not yet published ------------------------------------------ ---


async def test_spf_lookup_count_before_and_after() -> None:
    resolver = FakeResolver(BASE)
    before = await spf_lookup_count(
        resolver, "example.com", "v=spf1 include:_spf.provider.net mx -all"
    )
    after = await spf_lookup_count(
        resolver, "example.com", "v=spf1 include:_spf.provider.net mx include:new.example -all"
    )
    assert before == (3, 0)
    assert after == (4, 1)  # new.example has no record: one more lookup, and a void one


async def test_spf_lookup_count_rejects_bad_records() -> None:
    with pytest.raises(RecordSyntaxError):
        await spf_lookup_count(FakeResolver(BASE), "example.com", "v=spf1 include: -all")


# --- edge semantics of RFC 7208 -------------------------------------------------------------

EDGE = zone(
    ("ptrlimit.example", TXT, "v=spf1 ptr"),
    (
        "5.3.2.1.in-addr.arpa",
        PTR,
        [f"h{k}.ptrlimit.example" for k in range(10)] + ["ok.ptrlimit.example"],
    ),
    ("ok.ptrlimit.example", A, "1.2.3.5"),
    ("mapped.example", TXT, "v=spf1 a//0 -all"),
    ("mapped.example", AAAA, "1234::1"),
    ("ex6.example", TXT, "v=spf1 exists:mail.ex6.example -all"),
    ("mail.ex6.example", A, "192.0.2.1"),
    ("helo.example", TXT, "v=spf1 a:%{h} -all"),
    ("empty-label.example", TXT, "v=spf1 a:mail.example...com -all"),
    ("colon.example", TXT, "v=spf1 a:foo:bar/baz.example.com -all"),
    ("foo:bar/baz.example.com", A, "1.2.3.4"),
    ("macro-mania.example", TXT, "v=spf1 a:macro%%percent%_%_space%-url-space.example.com -all"),
    ("macro%percent  space%20url-space.example.com", A, "1.2.3.4"),
    ("trunc.example", TXT, "v=spf1 a:%{l}.%{l}.%{l}.%{l}.%{l}.example.com -all"),
)


@pytest.mark.parametrize(
    ("ip", "domain", "sender", "helo", "expected"),
    [
        # only the first 10 PTR names are looked at: the 11th, valid one is ignored
        ("1.2.3.5", "ptrlimit.example", None, None, SpfOutcome.NEUTRAL),
        # an IPv4-mapped client is IPv4: the a query is for A records, which do not exist
        ("::ffff:1.2.3.4", "mapped.example", None, None, SpfOutcome.FAIL),
        ("1234::9", "mapped.example", None, None, SpfOutcome.PASS),
        # exists asks for A records even for an IPv6 client
        ("2001:db8::1", "ex6.example", None, None, SpfOutcome.PASS),
        # a HELO that is not a domain gives a malformed name, which matches nothing
        ("192.0.2.1", "helo.example", None, "[192.0.2.1]", SpfOutcome.FAIL),
        ("1.2.3.4", "empty-label.example", None, None, SpfOutcome.FAIL),
        ("1.2.3.4", "colon.example", None, None, SpfOutcome.PASS),
        ("1.2.3.4", "macro-mania.example", None, None, SpfOutcome.PASS),
        # over 253 characters, the left-most labels are dropped (RFC 7208 7.3)
        ("1.2.3.4", "trunc.example", "a" * 60 + "@trunc.example", None, SpfOutcome.FAIL),
    ],
)
async def test_edge_semantics(
    ip: str, domain: str, sender: str | None, helo: str | None, expected: SpfOutcome
) -> None:
    got = await check_host(FakeResolver(EDGE), ip, domain, sender, helo=helo)
    assert got.result is expected


async def test_long_names_are_truncated_from_the_left() -> None:
    resolver = FakeResolver(EDGE)
    await check_host(resolver, "1.2.3.4", "trunc.example", "a" * 60 + "@trunc.example")
    (asked,) = [name for name, rtype in resolver.asked if rtype is A]
    assert len(asked) <= 253 and asked.endswith(".example.com")
    assert asked.count("a" * 60) == 3


async def test_hostile_records_stay_cheap() -> None:
    import time

    huge = "v=spf1 " + " ".join(["include:a.example"] * 3000 + ["a:a.cominclude:b.example"] * 2000)
    z = zone(("h.example", TXT, huge), ("a.example", TXT, "v=spf1 include:h.example -all"))
    started = time.perf_counter()
    result = await check_spf(FakeResolver(z), "h.example", ips=["192.0.2.1"])
    assert time.perf_counter() - started < 5
    assert result.status is Status.INVALID
    assert {"spf.loop", "spf.too_many_lookups", "txt.glued_terms"} <= set(codes(result))
