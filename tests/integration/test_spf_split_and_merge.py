"""SPF values split by a DNS provider inside a term, and the merge that leaves out what an
include already authorises (issue 16), over the loopback zone server."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from mailauth_tui.core.results import Problem
from mailauth_tui.core.spf_eval import check_spf
from mailauth_tui.demo.zoneserver import Zone
from mailauth_tui.services.dns import DnsResolver

JOINED = "v=spf1 include:_spf.google.com -all"


def split_problem(problems: Sequence[Problem]) -> Problem:
    (problem,) = [p for p in problems if p.code == "spf.split_value"]
    return problem


@pytest.mark.parametrize(
    ("published", "said"),
    [
        # The provider cut the value inside the include and a space came in at the cut.
        ([["v=spf1 include:_spf.goo ", "gle.com -all"]], "a space came in at the cut"),
        (["v=spf1 include:_spf.goo", "gle.com -all"], "two TXT records"),
    ],
)
async def test_a_value_cut_inside_a_term(
    zone: Zone, resolver: DnsResolver, published: list[object], said: str
) -> None:
    for value in published:
        zone.add("example.com", "TXT", value)
    zone.add("_spf.google.com", "TXT", "v=spf1 ip4:192.0.2.0/24 -all")
    result = await check_spf(resolver, "example.com")
    problem = split_problem(result.problems)
    assert "split inside the term 'include:_spf.google.com'" in problem.message
    assert said in problem.message
    assert problem.fix.endswith(f": {JOINED}")


async def test_a_whole_record_beside_other_txt_is_no_split(
    zone: Zone, resolver: DnsResolver
) -> None:
    zone.add("example.com", "TXT", "v=spf1 ip4:192.0.2.1 -all")
    zone.add("example.com", "TXT", "google-site-verification=abc")
    zone.add("other.example", "TXT", ["v=spf1 ip4:192.0.2.1", " -all"])
    assert not [p for p in (await check_spf(resolver, "example.com")).problems if "split" in p.code]
    other = await check_spf(resolver, "other.example")
    assert not [p for p in other.problems if "split" in p.code]
