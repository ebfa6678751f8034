"""Publishing mistakes common to every TXT record kind."""

from __future__ import annotations

import pytest

from mailauth_tui.core.results import Severity
from mailauth_tui.core.txt_diagnostics import (
    escaped_semicolons,
    find_zone_doubled,
    glued_chunks,
    literal_quotes,
    reglued,
    relative_host,
    repaired_value,
    without_quotes,
    zone_doubled_name,
    zone_doubled_problem,
)
from tests.unit.dns_fakes import FakeResolver


def test_literal_quotes() -> None:
    assert literal_quotes("v=DKIM1; p=abc") is None
    problem = literal_quotes('"v=DKIM1; p=abc"', "dkim")
    assert problem is not None
    assert (problem.code, problem.severity) == ("txt.literal_quotes", Severity.ERROR)
    assert "DKIM record" in problem.message
    assert problem.fix == "edit the record and enter the value without quotes: v=DKIM1; p=abc"


def test_quoted_strings_pasted_together_are_joined_like_dns_would() -> None:
    assert without_quotes('"v=DKIM1; k=rsa; " "p=MIIB" "AQAB"') == "v=DKIM1; k=rsa; p=MIIBAQAB"
    assert without_quotes('v="spf1" -all') == "v=spf1 -all"  # a stray quote is just dropped


def test_escaped_semicolons() -> None:
    assert escaped_semicolons("v=DMARC1; p=none") is None
    problem = escaped_semicolons("v=DMARC1\\; p=none\\; rua=mailto:a@example.com", "dmarc")
    assert problem is not None and problem.code == "txt.escaped_semicolon"
    assert problem.fix.endswith(": v=DMARC1; p=none; rua=mailto:a@example.com")


def test_repaired_value_undoes_both() -> None:
    assert repaired_value('"v=DMARC1\\; p=none"') == "v=DMARC1; p=none"


@pytest.mark.parametrize(
    ("chunks", "kind", "glued"),
    [
        (("v=spf1 include:a.example", "include:b.example -all"), "spf", True),
        (("v=spf1 ip4:192.0.2.1", "ip4:192.0.2.2 -all"), "spf", True),
        (("v=spf1 ip4:192.0.2.1", "-all"), "spf", True),
        (("v=spf1", "include:a.example -all"), "spf", True),
        (("v=spf1 include:a.example ", "include:b.example -all"), "spf", False),
        (("v=spf1 include:a.example", " include:b.example -all"), "spf", False),
        (("v=spf1 include:_spf.goo", "gle.com -all"), "spf", False),
        (("v=spf1 include:", "mx.example.com -all"), "spf", False),
        (("v=spf1 include:b", "all.example.com -all"), "spf", False),
        (("v=spf1 ip6:2001:db8::1", "a -all"), "spf", False),
        (("v=DKIM1; k=rsa", "p=MIIBIjAN"), "dkim", True),
        (("v=DKIM1; k=rsa ", "p=MIIBIjAN"), "dkim", True),
        (("v=DKIM1; k=rsa;", "p=MIIBIjAN"), "dkim", False),
        (("v=DKIM1; k=rsa", "; p=MIIBIjAN"), "dkim", False),
        (("v=DKIM1; p=MIIBIjANxy", "k="), "dkim", False),  # base64 padding, not a tag
        (("v=DKIM1; p=MIIBIjAN", "Q==; t=y"), "dkim", False),
        (("v=DMARC1; p=reject", "rua=mailto:a@example.com"), "dmarc", True),
        (("v=DMARC1; p=reject; ", "rua=mailto:a@example.com"), "dmarc", False),
        (("v=BIMI1", "l=https://example.com/l.svg"), "bimi", True),
        (("v=spf1 -all",), "spf", False),
    ],
)
def test_glued_chunks(chunks: tuple[str, ...], kind: str, glued: bool) -> None:
    problem = glued_chunks(chunks, kind)
    assert (problem is not None) is glued
    if problem is not None:
        assert problem.code == "txt.glued_terms" and problem.severity is Severity.ERROR
        assert "string 1" in problem.fix


def test_reglued_puts_the_lost_separator_back_only_where_it_was_lost() -> None:
    assert reglued(("v=DMARC1; p=reject", "rua=mailto:d@example.com"), "dmarc") == (
        "v=DMARC1; p=reject; rua=mailto:d@example.com"
    )
    assert reglued(("v=spf1 include:a.example", "~all"), "spf") == "v=spf1 include:a.example ~all"
    # A key cut inside its base64 is one value: nothing is inserted.
    assert reglued(("v=DKIM1; p=MIIBIjAN", "BgkqhkiG9w0B"), "dkim") == (
        "v=DKIM1; p=MIIBIjANBgkqhkiG9w0B"
    )


def test_glued_message_shows_what_receivers_read() -> None:
    problem = glued_chunks(("v=spf1 ip4:192.0.2.1", "-all"), "spf")
    assert problem is not None
    assert "'v=spf1 ip4:192.0.2.1-all'" in problem.message and "a space" in problem.fix


def test_no_split_of_a_correct_spf_record_looks_glued() -> None:
    record = (
        "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::1a a mx:mail.example.com "
        "include:_spf.example.net exists:%{i}._spf.example.com redirect=_spf.example.org"
    )
    for i in range(1, len(record)):
        assert glued_chunks((record[:i], record[i:]), "spf") is None, record[:i]


def test_several_glued_boundaries_are_counted() -> None:
    problem = glued_chunks(("v=spf1 a", "mx", "-all"), "spf")
    assert problem is not None and "2 boundaries" in problem.message


def test_zone_doubled_name_and_relative_host() -> None:
    assert zone_doubled_name("s1._domainkey.example.com", "example.com") == (
        "s1._domainkey.example.com.example.com"
    )
    assert (
        zone_doubled_name("_dmarc.Example.com.", "EXAMPLE.com") == "_dmarc.example.com.example.com"
    )
    assert relative_host("s1._domainkey.mail.example.com", "example.com") == "s1._domainkey.mail"
    assert relative_host("example.com", "example.com") == "@"


def test_zone_doubled_problem_wording() -> None:
    problem = zone_doubled_problem(
        "dkim", "s1._domainkey.example.com", "s1._domainkey.example.com.example.com", "example.com"
    )
    assert problem.code == "dkim.zone_doubled" and problem.severity is Severity.ERROR
    assert problem.fix.startswith(
        "your DNS provider appends the zone: enter the host as `s1._domainkey` only"
    )


async def test_find_zone_doubled_asks_each_zone_once() -> None:
    dns = FakeResolver().txt("_dmarc.mail.example.com.example.com", "v=DMARC1; p=none")
    found = await find_zone_doubled(
        dns,
        "_dmarc.mail.example.com",
        ("mail.example.com", "example.com", "example.com"),
        lambda text: text.startswith("v=DMARC1"),
    )
    assert found == ("_dmarc.mail.example.com.example.com", "example.com")
    assert dns.asked() == [
        "_dmarc.mail.example.com.mail.example.com",
        "_dmarc.mail.example.com.example.com",
    ]
    assert await find_zone_doubled(dns, "x.example.org", ("example.org",), bool) is None
