"""DMARC: the record grammar of RFC 7489 / RFC 9989, and check_dmarc's DNS tree walk."""

from __future__ import annotations

import pytest

from mailauth_tui.core import dmarc as dmarc_module
from mailauth_tui.core import psl
from mailauth_tui.core.dmarc import (
    ReportUri,
    check_dmarc,
    corrected_record,
    looks_like_dmarc,
    parse_dmarc,
    starts_with_dmarc1,
    tree_walk_targets,
)
from mailauth_tui.core.dns_types import Answer, AnswerStatus, RType
from mailauth_tui.core.errors import RecordSyntaxError
from mailauth_tui.core.results import DmarcResult, Severity, Status
from tests.unit.dns_fakes import FakeResolver


def codes(result: DmarcResult) -> list[str]:
    return [p.code for p in result.problems]


def problem(result: DmarcResult, code: str) -> tuple[Severity, str, str]:
    found = [p for p in result.problems if p.code == code]
    assert len(found) == 1, codes(result)
    return found[0].severity, found[0].message, found[0].fix


GOOD = "v=DMARC1; p=reject; rua=mailto:dmarc@example.com"

# ---------------------------------------------------------------------------- parser


def test_rfc7489_appendix_b_examples() -> None:
    b21 = parse_dmarc("v=DMARC1; p=none; rua=mailto:dmarc-feedback@example.com")
    assert b21.policy == "none" and b21.policy_explicit
    assert b21.rua == (
        ReportUri(
            uri="mailto:dmarc-feedback@example.com",
            scheme="mailto",
            address="dmarc-feedback@example.com",
            domain="example.com",
        ),
    )
    b22 = parse_dmarc(
        "v=DMARC1; p=none; rua=mailto:dmarc-feedback@example.com; "
        "ruf=mailto:auth-reports@thirdparty.example.net"
    )
    assert [u.domain for u in b22.ruf] == ["thirdparty.example.net"]
    b23 = parse_dmarc(
        "v=DMARC1; p=quarantine; rua=mailto:dmarc-feedback@example.com; "
        "ruf=mailto:auth-reports@thirdparty.example.net; pct=25"
    )
    assert (b23.policy, b23.pct) == ("quarantine", 25)


def test_rfc7489_uri_list_with_size_limit() -> None:
    rec = parse_dmarc(
        "v=DMARC1; p=none; "
        "rua=mailto:dmarc-feedback@example.com,mailto:tld-test@thirdparty.example.net!10m"
    )
    assert [(u.domain, u.max_size) for u in rec.rua] == [
        ("example.com", None),
        ("thirdparty.example.net", "10m"),
    ]


def test_defaults() -> None:
    rec = parse_dmarc("v=DMARC1; p=none")
    assert rec.subdomain_policy is None and rec.nonexistent_policy is None
    assert (rec.psd, rec.testing, rec.pct, rec.adkim, rec.aspf) == ("u", False, None, "r", "r")
    assert (rec.fo, rec.rf, rec.ri, rec.rua, rec.unknown_tags) == (("0",), ("afrf",), None, (), ())


def test_every_tag_of_both_rfcs() -> None:
    rec = parse_dmarc(
        "v=DMARC1; p=Reject; sp=quarantine; np=reject; psd=n; t=y; pct=100; "
        "rua=mailto:a@example.com , https://reports.example.net/dmarc; "
        "ruf=mailto:f@example.com; adkim=s; aspf=s; fo=1:d:s; rf=afrf; ri=86400; "
    )
    assert (rec.policy, rec.subdomain_policy, rec.nonexistent_policy) == (
        "reject",
        "quarantine",
        "reject",
    )
    assert (rec.psd, rec.testing, rec.pct, rec.adkim, rec.aspf) == ("n", True, 100, "s", "s")
    assert (rec.fo, rec.rf, rec.ri) == (("1", "d", "s"), ("afrf",), 86400)
    assert [u.scheme for u in rec.rua] == ["mailto", "https"]


def test_tag_names_and_keywords_are_case_insensitive_but_dmarc1_is_not() -> None:
    assert parse_dmarc("V=DMARC1; P=QUARANTINE; SP=None").subdomain_policy == "none"
    with pytest.raises(RecordSyntaxError) as info:
        parse_dmarc("v=dmarc1; p=none")
    assert info.value.code == "version"


def test_missing_p_with_valid_rua_is_none_rfc9989() -> None:
    rec = parse_dmarc("v=DMARC1; rua=mailto:dmarc@example.com")
    assert rec.policy == "none" and not rec.policy_explicit


def test_unknown_tags_are_kept_not_refused() -> None:
    assert parse_dmarc("v=DMARC1; p=none; foo=bar; x=1").unknown_tags == ("foo", "x")


@pytest.mark.parametrize(
    ("text", "code", "fragment"),
    [
        # Not a DMARC record at all: receivers discard a value whose first tag is not exactly
        # v=DMARC1 (RFC 7489 6.6.3 step 3, RFC 9989 4.10).
        ("p=none; v=DMARC1", "version", "start with v=DMARC1"),
        ("v=DMARC2; p=none", "version", "DMARC1"),
        ("v=DMARC1 p=none", "version", "DMARC1"),
        ("v=DMARC1\\; p=none", "version", "DMARC1"),
        ('"v=DMARC1; p=none"', "version", "start with v=DMARC1"),
        # A tag given twice makes the whole tag list invalid (RFC 6376 3.2, RFC 7489 6.4).
        ("v=DMARC1; p=none; p=reject", "duplicate_tag", "twice"),
        ("v=DMARC1; p=none; P=reject", "duplicate_tag", "twice"),
        ("v=DMARC1; p=none; v=DMARC1", "duplicate_tag", "twice"),
    ],
)
def test_not_a_usable_record(text: str, code: str, fragment: str) -> None:
    with pytest.raises(RecordSyntaxError) as info:
        parse_dmarc(text)
    assert info.value.code == code
    assert fragment in info.value.message


# RFC 9989 4.8 (RFC 7489 6.3 said SHOULD): "Syntax errors in the remainder of the record MUST
# be discarded in favor of default values (if any) or ignored outright". Formerly each of these
# raised and made the record invalid; receivers use the record with the tag's default, so the
# parser keeps the record and lists the tag in ``ignored`` with the value to write instead.
@pytest.mark.parametrize(
    ("text", "tag", "fragment", "replacement", "field", "effective"),
    [
        ("v=DMARC1; p=rejected", "p", "none / quarantine / reject", "p=reject", "policy", "none"),
        ("v=DMARC1; p=", "p", "none / quarantine / reject", "p=none", "policy", "none"),
        ("v=DMARC1; p=none; sp=block", "sp", "sp=", None, "subdomain_policy", None),
        ("v=DMARC1; p=none; sp=quarantin", "sp", "sp=", "sp=quarantine", "subdomain_policy", None),
        ("v=DMARC1; p=none; np=maybe", "np", "np=", None, "nonexistent_policy", None),
        ("v=DMARC1; p=none; psd=yes", "psd", "psd=", None, "psd", "u"),
        ("v=DMARC1; p=none; t=1", "t", "t=", None, "testing", False),
        ("v=DMARC1; p=none; pct=101", "pct", "0 to 100", "pct=100", "pct", None),
        ("v=DMARC1; p=none; pct=150", "pct", "0 to 100", "pct=100", "pct", None),
        ("v=DMARC1; p=none; pct=-1", "pct", "0 to 100", "pct=0", "pct", None),
        ("v=DMARC1; p=none; pct=50%", "pct", "0 to 100", "pct=50", "pct", None),
        ("v=DMARC1; p=none; adkim=relaxed", "adkim", "adkim=", "adkim=r", "adkim", "r"),
        ("v=DMARC1; p=none; adkim=x", "adkim", "adkim=", None, "adkim", "r"),
        ("v=DMARC1; p=none; aspf=strict", "aspf", "aspf=", "aspf=s", "aspf", "r"),
        ("v=DMARC1; p=none; fo=2", "fo", "fo=", None, "fo", ("0",)),
        ("v=DMARC1; p=none; fo=1:x", "fo", "fo=", "fo=1", "fo", ("0",)),
        ("v=DMARC1; p=none; rf=iodef", "rf", "rf=", None, "rf", ("afrf",)),
        ("v=DMARC1; p=none; ri=daily", "ri", "ri=", None, "ri", None),
        (
            "v=DMARC1; p=none; rua=dmarc@example.com",
            "rua",
            "write mailto:dmarc@example.com",
            "rua=mailto:dmarc@example.com",
            "rua",
            (),
        ),
        ("v=DMARC1; p=none; rua=mailto:nobody", "rua", "mailto", None, "rua", ()),
        (
            "v=DMARC1; p=none; rua=mailto:a@example.com!10x",
            "rua",
            "size",
            "rua=mailto:a@example.com",
            "rua",
            (),
        ),
        (
            "v=DMARC1; p=none; rua=mailto:d@example.com\\",  # what a pasted "\\;" leaves
            "rua",
            "not a valid mailto: address",
            "rua=mailto:d@example.com",
            "rua",
            (),
        ),
        ("v=DMARC1; p=none; ruf=mailto:d@ex ample.com", "ruf", "mailto", None, "ruf", ()),
        ("v=DMARC1; p=none; adkim=s\x01", "adkim", "printable ASCII", None, "adkim", "r"),
    ],
)
def test_discarded_values_leave_the_record_with_defaults(
    text: str, tag: str, fragment: str, replacement: str | None, field: str, effective: object
) -> None:
    rec = parse_dmarc(text)
    assert [t.name for t in rec.ignored] == [tag]
    ignored = rec.ignored[0]
    assert fragment in ignored.reason and ignored.replacement == replacement
    assert text[ignored.pos :].lower().startswith(f"{tag}=")
    assert getattr(rec, field) == effective
    # The corrected record carries the replacement, or drops the tag, and reads cleanly.
    again = parse_dmarc(rec.corrected)
    assert again.ignored == () and again.corrected == rec.corrected
    assert (replacement in rec.corrected) if replacement else (f"{tag}=" not in rec.corrected)


def test_a_missing_or_invalid_p_is_none_rfc9989() -> None:
    bare = parse_dmarc("v=DMARC1")
    assert (bare.policy, bare.policy_explicit, bare.ignored) == ("none", False, ())
    bad = parse_dmarc("v=DMARC1; p=block; rua=mailto:d@example.com")
    assert (bad.policy, bad.policy_explicit) == ("none", False)
    assert bad.corrected == "v=DMARC1; p=none; rua=mailto:d@example.com"


def test_a_uri_list_keeps_its_usable_entries() -> None:
    text = "v=DMARC1; p=none; rua=mailto:a@example.com, b@example.com,, mailto:bad"
    rec = parse_dmarc(text)
    assert [u.uri for u in rec.rua] == ["mailto:a@example.com"]
    (ignored,) = rec.ignored
    assert text[ignored.pos :].startswith("rua=")
    assert "'b@example.com'" in ignored.reason and "empty entry" in ignored.reason
    assert ignored.replacement == "rua=mailto:a@example.com,mailto:b@example.com"


def test_fragments_that_are_no_tags_are_ignored() -> None:
    rec = parse_dmarc("v=DMARC1;; p=reject; adkim; =s")
    assert rec.policy == "reject"
    assert [(t.name, t.text) for t in rec.ignored] == [("", "adkim"), ("", "=s")]
    assert rec.corrected == "v=DMARC1; p=reject"


@pytest.mark.parametrize(
    ("text", "corrected"),
    [
        (
            "p=none; v=DMARC1; rua=mailto:d@example.com",
            "v=DMARC1; p=none; rua=mailto:d@example.com",
        ),
        ('"v=DMARC1; p=reject"', "v=DMARC1; p=reject"),
        ("v=DMARC1\\; p=reject\\; pct=150", "v=DMARC1; p=reject; pct=100"),
        ("v=DMARC1 p=quarantine", "v=DMARC1; p=quarantine"),
        ("v=dmarc1; p=none", "v=DMARC1; p=none"),
        ("V = DMARC2; p=none", "v=DMARC1; p=none"),
        ("v=DMARC1p=none", "v=DMARC1; p=none"),
    ],
)
def test_corrected_record_of_look_alikes(text: str, corrected: str) -> None:
    assert looks_like_dmarc(text)
    assert corrected_record(text) == corrected


def test_no_corrected_record_without_a_version_or_with_duplicates() -> None:
    assert corrected_record("p=none; rua=mailto:d@example.com") is None
    assert corrected_record("p=none; v=DMARC1; p=reject") is None


def test_record_recognition() -> None:
    assert starts_with_dmarc1("v=DMARC1; p=none") and starts_with_dmarc1("v = DMARC1 ")
    # RFC 7489 6.6.3: nothing before the version, white space included.
    assert not starts_with_dmarc1(" v=DMARC1; p=none") and looks_like_dmarc(" v=DMARC1")
    assert looks_like_dmarc("dmarc v=DMARC1; p=none")
    assert not starts_with_dmarc1("v=DMARC1 p=none") and not starts_with_dmarc1("v=dmarc1;")
    assert looks_like_dmarc('"v=DMARC1; p=none"') and looks_like_dmarc("v=dmarc1 p=none")
    assert looks_like_dmarc("p=none; v=DMARC1") and looks_like_dmarc("v=DMARC1\\; p=none")
    assert not looks_like_dmarc("v=spf1 -all") and not looks_like_dmarc("p=none; rua=x")


# ---------------------------------------------------------------------------- tree walk


def test_rfc9989_tree_walk_example_asks_eight_names() -> None:
    assert tree_walk_targets("a.b.c.d.e.f.g.h.i.j.mail.example.com") == (
        "a.b.c.d.e.f.g.h.i.j.mail.example.com",
        "g.h.i.j.mail.example.com",
        "h.i.j.mail.example.com",
        "i.j.mail.example.com",
        "j.mail.example.com",
        "mail.example.com",
        "example.com",
        "com",
    )


def test_short_names_walk_one_label_at_a_time() -> None:
    assert tree_walk_targets("a.mail.example.com") == (
        "a.mail.example.com",
        "mail.example.com",
        "example.com",
        "com",
    )
    assert len(tree_walk_targets("a.b.c.d.e.f.example.com")) == 8  # 8 labels: parent next
    assert tree_walk_targets("a.b.c.d.e.f.example.com")[1] == "b.c.d.e.f.example.com"


async def test_check_asks_the_rfc9989_walk_names_and_no_more() -> None:
    dns = FakeResolver()
    domain = "a.b.c.d.e.f.g.h.i.j.mail.example.com"
    result = await check_dmarc(dns, domain)
    assert result.status is Status.MISSING
    walked = [n for n in dns.asked() if n.startswith("_dmarc.") and not n.endswith(".com.com")]
    assert walked[:8] == ["_dmarc." + t for t in tree_walk_targets(domain)]
    assert all(n.startswith("_dmarc.") for n in dns.asked())  # no other look-ups


async def test_rfc9989_org_domain_is_the_record_with_fewest_labels() -> None:
    # RFC 9989: records at mail.example.com and example.com, none at a.mail.example.com or
    # com: the organisational domain is example.com, whose record applies (sp=).
    dns = (
        FakeResolver()
        .txt("_dmarc.mail.example.com", "v=DMARC1; p=reject; rua=mailto:d@example.com")
        .txt("_dmarc.example.com", "v=DMARC1; p=none; sp=quarantine; rua=mailto:d@example.com")
        .txt("a.mail.example.com", "v=spf1 -all")
    )
    result = await check_dmarc(dns, "a.mail.example.com")
    assert result.status is Status.VALID
    assert result.treewalk_org_domain == "example.com" == result.org_domain
    assert (result.source_domain, result.policy, result.subdomain_policy) == (
        "example.com",
        "none",
        "quarantine",
    )
    assert result.effective_policy == "quarantine"
    assert "dmarc.inherited" in codes(result)


async def test_rfc9989_psd_n_marks_the_org_domain() -> None:
    dns = FakeResolver().txt(
        "_dmarc.mail.example.com", "v=DMARC1; p=reject; psd=n; rua=mailto:d@mail.example.com"
    )
    result = await check_dmarc(dns, "a.mail.example.com")
    assert result.treewalk_org_domain == "mail.example.com"
    assert result.source_domain == "mail.example.com" and result.effective_policy == "reject"
    # RFC 7489 receivers look at a.mail.example.com, then at the PSL organisational domain
    # example.com, and find nothing there: the two kinds of receivers apply different records.
    severity, message, _ = problem(result, "dmarc.org_domain_disagree")
    assert severity is Severity.WARNING and "apply no record" in message


async def test_rfc9989_psd_y_org_domain_is_one_label_below() -> None:
    # Only _dmarc.com, with psd=y: the organisational domain of a.mail.example.com is
    # example.com, which has no record, so the public suffix operator's policy applies.
    dns = FakeResolver().txt(
        "_dmarc.com", "v=DMARC1; p=reject; sp=quarantine; psd=y; rua=mailto:psd@registry.example"
    )
    dns.txt("a.mail.example.com", "v=spf1 -all")
    result = await check_dmarc(dns, "a.mail.example.com")
    assert result.treewalk_org_domain == "example.com"
    assert result.source_domain == "com" and result.effective_policy == "quarantine"
    assert "public suffix operator" in problem(result, "dmarc.inherited")[1]


async def test_record_at_the_domain_itself_applies_p() -> None:
    dns = FakeResolver().txt("_dmarc.example.com", f"{GOOD}; sp=none")
    result = await check_dmarc(dns, "example.com")
    assert result.status is Status.VALID
    assert (result.record, result.policy, result.subdomain_policy) == (
        f"{GOOD}; sp=none",
        "reject",
        "none",
    )
    assert (result.effective_policy, result.pct, result.source_domain) == (
        "reject",
        100,
        "example.com",
    )
    assert result.rua == ("mailto:dmarc@example.com",) and result.ruf == ()
    assert (result.org_domain, result.treewalk_org_domain) == ("example.com", "example.com")
    assert result.problems == ()
    assert dns.asked() == ["_dmarc.example.com", "_dmarc.com"]


async def test_subdomain_with_its_own_record_uses_its_p() -> None:
    dns = (
        FakeResolver()
        .txt("_dmarc.example.com", "v=DMARC1; p=none; rua=mailto:d@example.com")
        .txt("_dmarc.mail.example.com", "v=DMARC1; p=reject; rua=mailto:d@example.com")
    )
    result = await check_dmarc(dns, "mail.example.com")
    assert (result.source_domain, result.effective_policy) == ("mail.example.com", "reject")
    assert result.treewalk_org_domain == "example.com"
    assert codes(result) == []


async def test_np_applies_to_a_non_existent_subdomain() -> None:
    dns = FakeResolver().txt(
        "_dmarc.example.com", "v=DMARC1; p=reject; sp=none; np=quarantine; rua=mailto:d@example.com"
    )
    dns.txt("www.example.com", "v=spf1 -all")
    ghost = await check_dmarc(dns, "ghost.example.com")
    assert ghost.effective_policy == "quarantine"
    assert "does not exist" in problem(ghost, "dmarc.inherited")[1]
    real = await check_dmarc(dns, "www.example.com")
    assert real.effective_policy == "none"


async def test_missing_record_gives_a_starting_record() -> None:
    result = await check_dmarc(FakeResolver(), "mail.example.com")
    assert result.status is Status.MISSING
    assert (result.org_domain, result.treewalk_org_domain) == ("example.com", "mail.example.com")
    severity, message, fix = problem(result, "dmarc.missing")
    assert severity is Severity.ERROR and "mail.example.com" in message
    assert fix == (
        "publish a TXT record at _dmarc.mail.example.com with the value: "
        "v=DMARC1; p=none; rua=mailto:dmarc-reports@example.com"
    )
    assert codes(result) == ["dmarc.missing"]  # no org-domain chatter when nothing is published


@pytest.mark.parametrize(
    "status", [AnswerStatus.SERVFAIL, AnswerStatus.TIMEOUT, AnswerStatus.REFUSED]
)
async def test_failed_lookup_at_the_domain_is_unknown(status: AnswerStatus) -> None:
    dns = FakeResolver().fail("_dmarc.example.com", status)
    result = await check_dmarc(dns, "example.com")
    assert result.status is Status.UNKNOWN and codes(result) == ["dmarc.unknown"]


async def test_failed_lookup_on_the_walk_is_unknown_not_missing() -> None:
    dns = FakeResolver().fail("_dmarc.example.com")
    result = await check_dmarc(dns, "mail.example.com")
    assert result.status is Status.UNKNOWN


async def test_failed_parent_lookup_does_not_hide_the_domain_record() -> None:
    dns = FakeResolver().txt("_dmarc.example.com", GOOD).fail("_dmarc.com", AnswerStatus.TIMEOUT)
    result = await check_dmarc(dns, "example.com")
    assert result.status is Status.VALID and result.effective_policy == "reject"
    assert result.treewalk_org_domain is None


_FAILURES = [AnswerStatus.SERVFAIL, AnswerStatus.TIMEOUT, AnswerStatus.REFUSED]
QUARANTINE = "v=DMARC1; p=quarantine; rua=mailto:dmarc@example.com"


@pytest.mark.parametrize("status", _FAILURES)
async def test_failure_at_the_tld_keeps_the_inherited_policy(status: AnswerStatus) -> None:
    # Issue 17: an authoritative server for example.com REFUSES _dmarc.com; a resolver may
    # time out or fail there. The record at _dmarc.example.com applies all the same.
    dns = FakeResolver().txt("_dmarc.example.com", QUARANTINE).fail("_dmarc.com", status)
    result = await check_dmarc(dns, "sub.example.com")
    assert result.status is Status.VALID
    assert (result.policy, result.subdomain_policy, result.effective_policy) == (
        "quarantine",
        "quarantine",
        "quarantine",
    )
    assert result.source_domain == "example.com" and result.org_domain == "example.com"
    assert result.treewalk_org_domain is None
    severity, message, _ = problem(result, "dmarc.org_domain_unknown")
    assert severity is Severity.INFO
    assert f"_dmarc.com failed ({status.value})" in message
    assert "dmarc.unknown" not in codes(result)


@pytest.mark.parametrize("status", _FAILURES)
async def test_failure_at_an_intermediate_public_suffix_keeps_the_policy_below(
    status: AnswerStatus,
) -> None:
    # _dmarc.co.uk is above the PSL organisational domain example.co.uk: a public suffix.
    dns = (
        FakeResolver()
        .txt("_dmarc.example.co.uk", "v=DMARC1; p=reject; sp=none")
        .fail("_dmarc.co.uk", status)
    )
    result = await check_dmarc(dns, "mail.example.co.uk")
    assert result.status is Status.VALID
    assert result.source_domain == "example.co.uk" and result.org_domain == "example.co.uk"
    assert (result.policy, result.subdomain_policy, result.effective_policy) == (
        "reject",
        "none",
        "none",
    )
    assert "_dmarc.co.uk failed" in problem(result, "dmarc.org_domain_unknown")[1]
    assert "dmarc.org_domain_disagree" not in codes(result)


@pytest.mark.parametrize("status", _FAILURES)
async def test_failure_at_the_organisational_domain_is_unknown(status: AnswerStatus) -> None:
    # Review of issue 17, probe B: _dmarc.example.com (the PSL organisational domain) failed.
    # A record there would apply (RFC 7489 asks no other parent; under RFC 9989 it has the
    # fewest labels): dept's record cannot be called the policy.
    dns = (
        FakeResolver()
        .txt("_dmarc.dept.example.com", "v=DMARC1; p=reject; sp=none")
        .fail("_dmarc.example.com", status)
    )
    result = await check_dmarc(dns, "mail.dept.example.com")
    assert result.status is Status.UNKNOWN and result.effective_policy is None
    assert codes(result) == ["dmarc.unknown"]
    assert "_dmarc.example.com failed" in result.problems[0].message


async def test_the_organisational_domain_record_applies_over_a_deeper_one() -> None:
    # Probe A: what a failure at example.com would hide.
    dns = (
        FakeResolver()
        .txt("_dmarc.dept.example.com", "v=DMARC1; p=reject")
        .txt("_dmarc.example.com", "v=DMARC1; p=none")
    )
    result = await check_dmarc(dns, "mail.dept.example.com")
    assert (result.status, result.source_domain, result.effective_policy) == (
        Status.VALID,
        "example.com",
        "none",
    )


async def test_failure_at_the_org_domain_under_a_psd_record_is_unknown() -> None:
    # Probe D: _dmarc.com has psd=y, example.com timed out. Without the failure the public
    # suffix's record would decide (probe C); with it nothing can be concluded.
    dns = (
        FakeResolver()
        .txt("_dmarc.dept.example.com", "v=DMARC1; p=reject")
        .fail("_dmarc.example.com", AnswerStatus.TIMEOUT)
        .txt("_dmarc.com", "v=DMARC1; p=none; psd=y")
    )
    result = await check_dmarc(dns, "mail.dept.example.com")
    assert result.status is Status.UNKNOWN and codes(result) == ["dmarc.unknown"]


async def test_levels_above_a_tolerated_failure_count() -> None:
    # _dmarc.co.uk failed and is taken as empty; _dmarc.uk above it (psd=y) is kept, as when
    # nothing fails: co.uk is then the RFC 9989 organisational domain, with no record, so
    # uk's applies. RFC 7489 receivers (example.co.uk, no record) differ, and that is said.
    dns = (
        FakeResolver()
        .txt("_dmarc.dept.example.co.uk", "v=DMARC1; p=reject")
        .fail("_dmarc.co.uk", AnswerStatus.SERVFAIL)
        .txt("_dmarc.uk", "v=DMARC1; p=none; psd=y")
    )
    result = await check_dmarc(dns, "mail.dept.example.co.uk")
    assert result.status is Status.VALID
    assert (result.source_domain, result.effective_policy) == ("uk", "none")
    assert result.treewalk_org_domain is None
    assert "dmarc.org_domain_unknown" in codes(result)
    assert "dmarc.org_domain_disagree" in codes(result)


async def test_a_tolerated_failure_keeps_the_disagreement_warning() -> None:
    # No record at example.co.uk (the PSL organisational domain), dept's below it, co.uk
    # failed: RFC 7489 receivers find no policy, RFC 9989 receivers apply dept's.
    dns = (
        FakeResolver()
        .txt("_dmarc.dept.example.co.uk", "v=DMARC1; p=reject")
        .txt("example.co.uk", "v=spf1 -all")
        .fail("_dmarc.co.uk", AnswerStatus.TIMEOUT)
    )
    result = await check_dmarc(dns, "mail.dept.example.co.uk")
    assert (result.status, result.source_domain) == (Status.VALID, "dept.example.co.uk")
    severity, message, _ = problem(result, "dmarc.org_domain_disagree")
    assert severity is Severity.WARNING and "RFC 7489 receivers apply no record" in message


@pytest.mark.parametrize("status", _FAILURES)
async def test_failure_above_the_org_domain_with_nothing_below_is_unknown(
    status: AnswerStatus,
) -> None:
    # The failed public suffix level could hold the (psd=y) record that applies: not missing.
    dns = FakeResolver().txt("example.com", "v=spf1 -all").fail("_dmarc.com", status)
    result = await check_dmarc(dns, "mail.example.com")
    assert result.status is Status.UNKNOWN and codes(result) == ["dmarc.unknown"]


async def test_org_domain_unknown_says_the_status_once_and_how_to_fix_a_refusal() -> None:
    detail = "REFUSED from 127.0.0.170:53: not authoritative for this name"
    dns = FakeResolver().txt("_dmarc.example.com", QUARANTINE)
    dns.zone[("_dmarc.com", RType.TXT)] = Answer(
        "_dmarc.com", RType.TXT, AnswerStatus.REFUSED, detail=detail, outside_zones=True
    )
    _, message, fix = problem(await check_dmarc(dns, "sub.example.com"), "dmarc.org_domain_unknown")
    assert f"_dmarc.com failed ({detail}):" in message and "(refused)" not in message
    assert "recursive resolver as a further --nameserver" in fix and "later" not in fix
    dns.zone[("_dmarc.com", RType.TXT)] = Answer(
        "_dmarc.com", RType.TXT, AnswerStatus.SERVFAIL, detail="SERVFAIL from 127.0.0.1:53"
    )
    _, message, fix = problem(await check_dmarc(dns, "sub.example.com"), "dmarc.org_domain_unknown")
    assert "failed (SERVFAIL from 127.0.0.1:53):" in message and "later" in fix


@pytest.mark.parametrize("status", _FAILURES)
async def test_failure_below_the_first_record_is_unknown(status: AnswerStatus) -> None:
    # The failed level could hold the record that applies: nothing can be concluded.
    dns = (
        FakeResolver().fail("_dmarc.dept.example.com", status).txt("_dmarc.example.com", QUARANTINE)
    )
    result = await check_dmarc(dns, "mail.dept.example.com")
    assert result.status is Status.UNKNOWN and result.effective_policy is None
    assert codes(result) == ["dmarc.unknown"]


async def test_failure_above_the_domain_record_is_reported_as_lower_severity() -> None:
    dns = FakeResolver().txt("_dmarc.example.com", GOOD).fail("_dmarc.com", AnswerStatus.REFUSED)
    result = await check_dmarc(dns, "example.com")
    assert result.status is Status.VALID and result.effective_policy == "reject"
    assert problem(result, "dmarc.org_domain_unknown")[0] is Severity.INFO


async def test_failure_above_several_records_keeps_them_invalid() -> None:
    dns = (
        FakeResolver()
        .txt("_dmarc.example.com", GOOD, "v=DMARC1; p=none")
        .fail("_dmarc.com", AnswerStatus.TIMEOUT)
    )
    result = await check_dmarc(dns, "example.com")
    assert result.status is Status.INVALID
    assert codes(result) == ["dmarc.multiple_records", "dmarc.org_domain_unknown"]


async def test_several_records_at_the_domain() -> None:
    dns = FakeResolver().txt("_dmarc.example.com", GOOD, "v=DMARC1; p=none", "unrelated")
    result = await check_dmarc(dns, "example.com")
    assert result.status is Status.INVALID and codes(result) == ["dmarc.multiple_records"]


async def test_several_records_at_the_parent_explain_the_subdomain() -> None:
    dns = FakeResolver().txt("_dmarc.example.com", GOOD, "v=DMARC1; p=none")
    result = await check_dmarc(dns, "mail.example.com")
    assert result.status is Status.INVALID and codes(result) == ["dmarc.multiple_records"]
    assert "_dmarc.example.com" in result.problems[0].fix


async def test_invalid_policy_is_none_with_a_warning_rfc9989() -> None:
    # Formerly invalid (dmarc.bad_policy). RFC 9989 4.8: the bad value is discarded and the
    # record applies with p=none; the warning gives the corrected record.
    dns = FakeResolver().txt("_dmarc.example.com", "v=DMARC1; p=block; rua=mailto:d@example.com")
    result = await check_dmarc(dns, "example.com")
    assert result.status is Status.VALID
    assert (result.policy, result.effective_policy) == ("none", "none")
    assert codes(result) == ["dmarc.invalid_tag_value", "dmarc.policy_none"]
    severity, message, fix = problem(result, "dmarc.invalid_tag_value")
    assert severity is Severity.WARNING and "'p=block'" in message and "p=none" in message
    assert fix.endswith("the corrected record: v=DMARC1; p=none; rua=mailto:d@example.com")


async def test_bare_version_is_none_with_a_warning() -> None:
    # Formerly invalid (dmarc.no_policy, an error). RFC 9989 receivers read it as p=none;
    # RFC 7489 receivers ignore it (no p, no valid rua): a warning that says both.
    dns = FakeResolver().txt("_dmarc.example.com", "v=DMARC1")
    result = await check_dmarc(dns, "example.com")
    assert result.status is Status.VALID and result.effective_policy == "none"
    assert codes(result) == ["dmarc.no_policy", "dmarc.policy_none", "dmarc.no_rua"]
    severity, message, fix = problem(result, "dmarc.no_policy")
    assert severity is Severity.WARNING and "RFC 7489" in message
    assert fix.endswith("v=DMARC1; p=none; rua=mailto:dmarc-reports@example.com")


@pytest.mark.parametrize(
    ("value", "policy", "pct", "bad"),
    [
        ("v=DMARC1; p=reject; pct=150", "reject", 100, "pct=150"),
        ("v=DMARC1; p=quarantine; adkim=x", "quarantine", 100, "adkim=x"),
        ("v=DMARC1; p=quarantine; fo=2", "quarantine", 100, "fo=2"),
        ("v=DMARC1; p=none; rua=dmarc@example.com", "none", 100, "rua=dmarc@example.com"),
        ("v=DMARC1; p=rejected; rua=mailto:d@example.com", "none", 100, "p=rejected"),
    ],
)
async def test_discarded_tag_values_leave_a_valid_record(
    value: str, policy: str, pct: int, bad: str
) -> None:
    dns = FakeResolver().txt("_dmarc.example.com", value)
    result = await check_dmarc(dns, "example.com")
    assert result.status is Status.VALID and result.record == value
    assert (result.effective_policy, result.pct) == (policy, pct)
    severity, message, _ = problem(result, "dmarc.invalid_tag_value")
    assert severity is Severity.WARNING and repr(bad) in message
    assert all(p.severity is not Severity.ERROR for p in result.problems)


async def test_escaped_semicolon_inside_a_value() -> None:
    value = "v=DMARC1; p=none; rua=mailto:d@example.com\\;"
    dns = FakeResolver().txt("_dmarc.example.com", value)
    result = await check_dmarc(dns, "example.com")
    # The record starts with v=DMARC1: receivers use it, without the broken rua=.
    assert result.status is Status.VALID and result.rua == ()
    # No dmarc.no_rua beside it: the rua= warning already says what to write.
    assert codes(result) == [
        "txt.escaped_semicolon",
        "dmarc.invalid_tag_value",
        "dmarc.policy_none",
    ]
    escaped = result.problems[0]
    assert escaped.severity is Severity.WARNING
    assert escaped.fix.endswith("v=DMARC1; p=none; rua=mailto:d@example.com")


async def test_quotes_inside_a_record_spoil_only_their_tag() -> None:
    dns = FakeResolver().txt("_dmarc.example.com", 'v=DMARC1; p=reject; rua="mailto:d@example.com"')
    result = await check_dmarc(dns, "example.com")
    assert result.status is Status.VALID and result.effective_policy == "reject"
    assert codes(result) == ["txt.literal_quotes", "dmarc.invalid_tag_value"]
    quotes = result.problems[0]
    assert quotes.severity is Severity.WARNING and "ignore the tag values" in quotes.message
    assert quotes.fix.endswith("v=DMARC1; p=reject; rua=mailto:d@example.com")


async def test_duplicate_tags_make_the_record_invalid() -> None:
    dns = FakeResolver().txt("_dmarc.example.com", "v=DMARC1; p=none; p=reject")
    result = await check_dmarc(dns, "example.com")
    assert result.status is Status.INVALID and codes(result) == ["dmarc.duplicate_tag"]
    assert result.record == "v=DMARC1; p=none; p=reject"


async def test_version_not_first_is_missing_with_the_corrected_record() -> None:
    # RFC 7489 6.6.3 / RFC 9989 4.10: receivers discard a value not starting with v=DMARC1,
    # so no policy applies: missing (checkdmarc says invalid), explained as an error.
    value = "p=quarantine; v=DMARC1; rua=mailto:d@example.com"
    dns = FakeResolver().txt("_dmarc.example.com", value, "unrelated=1")
    result = await check_dmarc(dns, "example.com")
    assert result.status is Status.MISSING and result.record is None
    assert codes(result) == ["dmarc.version_not_first"]
    severity, message, fix = problem(result, "dmarc.version_not_first")
    assert severity is Severity.ERROR and value in message
    assert fix.endswith(": v=DMARC1; p=quarantine; rua=mailto:d@example.com")
    assert "_dmarc.example.com.example.com" not in dns.asked()  # explained: no zone probe


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("v=DMARC1 p=none", "dmarc.version"),
        ("v=dmarc1; p=none", "dmarc.version"),
        ("v=DMARC2; p=none", "dmarc.version"),
    ],
)
async def test_wrong_version_is_missing(value: str, code: str) -> None:
    dns = FakeResolver().txt("_dmarc.example.com", value)
    result = await check_dmarc(dns, "example.com")
    assert result.status is Status.MISSING and codes(result) == [code]
    assert result.problems[0].fix.endswith(": v=DMARC1; p=none")


async def test_look_alike_at_a_subdomain_falls_back_to_the_org_record() -> None:
    dns = (
        FakeResolver()
        .txt("_dmarc.mail.example.com", "p=reject; v=DMARC1")
        .txt("_dmarc.example.com", "v=DMARC1; p=quarantine; rua=mailto:d@example.com")
    )
    result = await check_dmarc(dns, "mail.example.com")
    # Receivers discard the look-alike and walk on to the organisational domain's record.
    assert result.status is Status.VALID and result.source_domain == "example.com"
    assert result.effective_policy == "quarantine"
    severity, message, fix = problem(result, "dmarc.version_not_first")
    assert severity is Severity.WARNING and "_dmarc.mail.example.com" in message
    assert fix.startswith("delete it, or:") and fix.endswith("v=DMARC1; p=reject")


async def test_look_alike_beside_a_record_is_a_warning() -> None:
    dns = FakeResolver().txt("_dmarc.example.com", GOOD, "p=none; v=DMARC1")
    result = await check_dmarc(dns, "example.com")
    assert result.status is Status.VALID and result.record == GOOD
    assert codes(result) == ["dmarc.version_not_first"]
    assert result.problems[0].severity is Severity.WARNING


async def test_no_policy_tag_with_rua_is_valid_none_with_warnings() -> None:
    dns = FakeResolver().txt("_dmarc.example.com", "v=DMARC1; rua=mailto:d@example.com")
    result = await check_dmarc(dns, "example.com")
    assert result.status is Status.VALID and result.effective_policy == "none"
    assert codes(result) == ["dmarc.no_policy_tag", "dmarc.policy_none"]


async def test_warnings_for_none_pct_no_rua_test_mode_and_unknown_tags() -> None:
    dns = FakeResolver().txt("_dmarc.example.com", "v=DMARC1; p=none; pct=50; t=y; rue=x")
    result = await check_dmarc(dns, "example.com")
    assert result.status is Status.VALID and result.pct == 50
    assert codes(result) == [
        "dmarc.policy_none",
        "dmarc.pct_partial",
        "dmarc.no_rua",
        "dmarc.testing",
        "dmarc.unknown_tag",
    ]
    _, message, _ = problem(result, "dmarc.policy_none")
    assert "Gmail and Yahoo" in message
    assert "rua=mailto:dmarc-reports@example.com" in problem(result, "dmarc.no_rua")[2]
    assert all(p.severity is Severity.WARNING for p in result.problems)


async def test_external_report_destination_needs_authorisation() -> None:
    record = (
        "v=DMARC1; p=reject; rua=mailto:dmarc@example.com,mailto:agg@reports.example.net; "
        "ruf=mailto:forensic@reports.example.net!10m, mailto:x@sub.example.com"
    )
    dns = FakeResolver().txt("_dmarc.example.com", record)
    result = await check_dmarc(dns, "example.com")
    assert result.status is Status.VALID
    severity, message, fix = problem(result, "dmarc.external_destination_unauthorized")
    assert severity is Severity.WARNING and "reports.example.net" in message
    assert "example.com._report._dmarc.reports.example.net" in fix
    # Asked once per destination outside the organisation, never for sub.example.com.
    report_queries = [n for n in dns.asked() if "._report._dmarc." in n]
    assert report_queries == ["example.com._report._dmarc.reports.example.net"]


async def test_authorised_external_destination_rfc7489_7_1() -> None:
    dns = (
        FakeResolver()
        .txt("_dmarc.example.com", "v=DMARC1; p=reject; rua=mailto:tld-test@thirdparty.example.net")
        .txt("example.com._report._dmarc.thirdparty.example.net", "v=DMARC1;")
    )
    result = await check_dmarc(dns, "example.com")
    assert codes(result) == []


async def test_external_destination_lookup_failure_is_only_info() -> None:
    dns = (
        FakeResolver()
        .txt("_dmarc.example.com", "v=DMARC1; p=reject; rua=mailto:a@thirdparty.example.net")
        .fail("example.com._report._dmarc.thirdparty.example.net")
    )
    result = await check_dmarc(dns, "example.com")
    assert result.status is Status.VALID
    assert problem(result, "dmarc.external_destination_unknown")[0] is Severity.INFO


async def test_psl_and_tree_walk_disagree_on_which_record_applies() -> None:
    # blogspot.com is a public suffix (private section of the list): RFC 7489 receivers take
    # foo.blogspot.com as its own organisation and find nothing; the tree walk finds the
    # record at blogspot.com.
    dns = FakeResolver().txt("_dmarc.blogspot.com", "v=DMARC1; p=reject; rua=mailto:d@blogspot.com")
    dns.txt("foo.blogspot.com", "v=spf1 -all")
    result = await check_dmarc(dns, "foo.blogspot.com")
    assert result.status is Status.VALID
    assert (result.org_domain, result.treewalk_org_domain) == ("foo.blogspot.com", "blogspot.com")
    severity, message, fix = problem(result, "dmarc.org_domain_disagree")
    assert severity is Severity.WARNING
    assert "RFC 7489" in message and "RFC 9989" in message and "no record" in message
    assert "_dmarc.foo.blogspot.com" in fix


async def test_psl_and_tree_walk_disagree_on_alignment_only() -> None:
    dns = FakeResolver().txt(
        "_dmarc.mail.example.com", "v=DMARC1; p=reject; rua=mailto:d@example.com"
    )
    result = await check_dmarc(dns, "mail.example.com")
    assert (result.org_domain, result.treewalk_org_domain) == ("example.com", "mail.example.com")
    severity, _, fix = problem(result, "dmarc.org_domain_disagree")
    assert severity is Severity.INFO and "mail.example.com" in fix


async def test_zone_appended_twice() -> None:
    dns = FakeResolver().txt("_dmarc.example.com.example.com", GOOD)
    result = await check_dmarc(dns, "example.com")
    assert result.status is Status.MISSING and codes(result) == ["dmarc.zone_doubled"]
    assert "enter the host as `_dmarc` only" in result.problems[0].fix


async def test_literal_quotes_at_the_domain() -> None:
    # Formerly invalid. The quoted value does not start with v=DMARC1: receivers discard it
    # and see no DMARC record (missing); the error says so and gives the value to enter.
    dns = FakeResolver().txt("_dmarc.example.com", f'"{GOOD}"')
    result = await check_dmarc(dns, "example.com")
    assert result.status is Status.MISSING and codes(result) == ["txt.literal_quotes"]
    assert result.problems[0].severity is Severity.ERROR
    assert result.problems[0].fix.endswith(f": {GOOD}")


async def test_glued_strings() -> None:
    # Formerly invalid. Joined, the strings read "p=rejectrua=mailto:...": receivers use the
    # record with the discarded p= as none (RFC 9989), which the warnings explain.
    dns = FakeResolver().txt(
        "_dmarc.example.com", ("v=DMARC1; p=reject", "rua=mailto:d@example.com")
    )
    result = await check_dmarc(dns, "example.com")
    assert result.status is Status.VALID and result.effective_policy == "none"
    assert codes(result)[:2] == ["txt.glued_terms", "dmarc.invalid_tag_value"]
    glued = result.problems[0]
    assert glued.severity is Severity.WARNING and "string 1" in glued.message
    # The fix puts the lost ';' back, so rua= is kept.
    assert glued.fix.endswith(": v=DMARC1; p=reject; rua=mailto:d@example.com")
    assert problem(result, "dmarc.invalid_tag_value")[2].endswith(glued.fix.split(": ", 1)[1])


async def test_glued_version_is_missing() -> None:
    dns = FakeResolver().txt("_dmarc.example.com", ("v=DMARC1", "p=reject"))
    result = await check_dmarc(dns, "example.com")
    assert result.status is Status.MISSING
    assert codes(result) == ["txt.glued_terms", "dmarc.version"]
    assert all(p.severity is Severity.ERROR for p in result.problems)


async def test_psd_y_on_an_ordinary_domain_is_flagged_and_stops_the_walk() -> None:
    dns = FakeResolver().txt("_dmarc.example.com", f"{GOOD}; psd=y")
    result = await check_dmarc(dns, "example.com")
    assert result.status is Status.VALID and result.treewalk_org_domain == "example.com"
    assert codes(result) == ["dmarc.psd_misused"]
    assert "psd=y" in result.problems[0].fix


async def test_org_domain_jumped_over_by_the_shortcut_is_asked_once_more() -> None:
    # Ten labels: the walk jumps from the domain to its last seven labels, where psd=y says
    # the organisational domain is the eight-label name below it, which the walk skipped.
    domain = "x.y.a.b.c.d.e.f.example.com"
    dns = (
        FakeResolver()
        .txt("_dmarc.b.c.d.e.f.example.com", "v=DMARC1; p=none; psd=y; rua=mailto:r@example.com")
        .txt("_dmarc.a.b.c.d.e.f.example.com", "v=DMARC1; p=reject; rua=mailto:r@example.com")
        .txt(domain, "v=spf1 -all")
    )
    result = await check_dmarc(dns, domain)
    assert result.treewalk_org_domain == "a.b.c.d.e.f.example.com"
    assert (result.source_domain, result.effective_policy) == ("a.b.c.d.e.f.example.com", "reject")
    walk = [n for n in dns.asked() if n.startswith("_dmarc.")]
    # The walk stops at the psd=y level (the second it asks), then asks the skipped name.
    assert tree_walk_targets(domain)[1] == "b.c.d.e.f.example.com"
    assert walk == [f"_dmarc.{t}" for t in tree_walk_targets(domain)[:2]] + [
        "_dmarc.a.b.c.d.e.f.example.com"
    ]


async def test_the_walks_first_question_goes_out_before_the_suffix_list_is_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The list's first reading in a run takes milliseconds: the question must not wait for it.
    dns = FakeResolver().txt("_dmarc.example.com", "v=DMARC1; p=reject")
    asked_at_first_use: list[int] = []
    real = psl.org_domain

    def spy(name: str) -> str:
        asked_at_first_use.append(len(dns.queries))
        return real(name)

    monkeypatch.setattr(dmarc_module, "org_domain", spy)
    result = await check_dmarc(dns, "example.com")
    assert result.status is Status.VALID
    assert asked_at_first_use and asked_at_first_use[0] >= 1


def test_a_level_without_records_holds_its_own_answer() -> None:
    answer = Answer("_dmarc.com", RType.TXT, AnswerStatus.NXDOMAIN)
    level = dmarc_module._level("com", answer)
    assert level.answer is answer
    assert (level.present, level.records, level.psd) == (False, (), "u")
