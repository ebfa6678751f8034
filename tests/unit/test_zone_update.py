"""The RFC 2136 update planned from what the primary holds (core/zone_update.py) and the
per-nameserver verdicts (core/propagation.py)."""

from __future__ import annotations

import base64

from mailauth_tui.core.dns_types import Answer, AnswerStatus, RType
from mailauth_tui.core.propagation import Served, build_report, judge
from mailauth_tui.core.publish import dkim_publish, dmarc_publish, spf_publish
from mailauth_tui.core.zone_update import Operation, Prerequisite, plan_update

KEY = base64.b64encode(bytes(range(32))).decode()
RSA_LIKE = base64.b64encode(bytes(300)).decode()
DKIM = dkim_publish("example.com", "mt202612", "ed25519", KEY)
SPF = spf_publish("example.com", "v=spf1 mx -all", None, ["192.0.2.10"])
DMARC = dmarc_publish("example.com", None, None)
VERIFY = ("google-site-verification=abc",)


def test_spf_replaces_only_the_spf_record_and_dmarc_is_added_when_missing() -> None:
    current = {"example.com": (VERIFY, ("v=spf1 mx -all",))}
    plan = plan_update("example.com", [DKIM, SPF, DMARC], current, 3600)
    assert plan.prerequisites == (
        Prerequisite(DKIM.host, ()),
        Prerequisite("example.com", (VERIFY, ("v=spf1 mx -all",))),
        Prerequisite("_dmarc.example.com", ()),
    )
    assert plan.operations == (
        Operation("add", DKIM.host, DKIM.chunks, 3600),
        Operation("delete", "example.com", ("v=spf1 mx -all",)),
        Operation("add", "example.com", ("v=spf1 mx ip4:192.0.2.10 -all",), 3600),
        Operation("add", "_dmarc.example.com", ("v=DMARC1; p=none",), 3600),
    )
    assert plan.lines() == [
        "zone example.com.",
        f"prereq nxrrset {DKIM.host}. TXT",
        'prereq yxrrset example.com. TXT "google-site-verification=abc"',
        'prereq yxrrset example.com. TXT "v=spf1 mx -all"',
        "prereq nxrrset _dmarc.example.com. TXT",
        f'update add {DKIM.host}. 3600 TXT "{DKIM.value}"',
        'update delete example.com. TXT "v=spf1 mx -all"',
        'update add example.com. 3600 TXT "v=spf1 mx ip4:192.0.2.10 -all"',
        'update add _dmarc.example.com. 3600 TXT "v=DMARC1; p=none"',
        "send",
    ]


def test_what_is_there_already_is_left_alone() -> None:
    current = {
        DKIM.host: ((DKIM.value,),),
        "example.com": ((SPF.value,),),
        "_dmarc.example.com": (("v=DMARC1; p=reject",),),
    }
    plan = plan_update("example.com", [DKIM, SPF, DMARC], current, 3600)
    assert plan.empty and plan.prerequisites == ()
    assert plan.notes == (
        f"DKIM at {DKIM.host}: already published",
        "SPF at example.com: already published",
        "DMARC at _dmarc.example.com: a DMARC record is there, left as it is",
    )


def test_a_long_dkim_key_goes_in_255_byte_strings_and_outside_the_zone_is_skipped() -> None:
    rsa = dkim_publish("example.com", "s1", "rsa", RSA_LIKE)
    plan = plan_update("example.com", [rsa, dmarc_publish("other.net", None, None)], {}, 300)
    (add,) = plan.operations
    assert len(add.chunks) == 2 and all(len(c.encode()) <= 255 for c in add.chunks)
    assert plan.notes == ("DMARC at _dmarc.other.net: outside the zone example.com, left as it is",)


def _answer(status: AnswerStatus, *values: str) -> Answer:
    chunks = tuple((v,) for v in values)
    return Answer("x", RType.TXT, status, records=values, chunks=chunks)


def test_judge_each_state() -> None:
    ok = judge(SPF, _answer(AnswerStatus.RECORDS, *VERIFY, SPF.value))
    assert ok.state is Served.MATCH
    other = judge(SPF, _answer(AnswerStatus.RECORDS, "v=spf1 mx -all"))
    assert other.state is Served.DIFFERENT
    assert other.detail == "lacks ip4:192.0.2.10"
    two = judge(SPF, _answer(AnswerStatus.RECORDS, SPF.value, "v=spf1 -all"))
    assert two.detail == "2 SPF records: receivers take none of them (only one allowed)"
    assert judge(SPF, _answer(AnswerStatus.NXDOMAIN)).state is Served.ABSENT
    assert judge(SPF, _answer(AnswerStatus.RECORDS, *VERIFY)).state is Served.ABSENT
    failed = judge(DKIM, _answer(AnswerStatus.SERVFAIL))
    assert (failed.state, failed.detail) == (Served.UNKNOWN, "server failure (SERVFAIL)")
    quoted = judge(DMARC, _answer(AnswerStatus.RECORDS, '"v=DMARC1; p=none"'))
    assert quoted.state is Served.DIFFERENT and quoted.problems
    assert quoted.problems[0].code == "txt.literal_quotes"
    rotated = judge(DKIM, _answer(AnswerStatus.RECORDS, f"v=DKIM1; k=ed25519; p={RSA_LIKE}"))
    assert rotated.state is Served.DIFFERENT and "different key" in rotated.detail


def test_report_badges_and_the_verify_line() -> None:
    good = [_answer(AnswerStatus.RECORDS, DKIM.value), _answer(AnswerStatus.RECORDS, SPF.value)]
    late = [_answer(AnswerStatus.NXDOMAIN), _answer(AnswerStatus.NODATA)]
    report = build_report(
        "example.com",
        "example.com",
        [DKIM, SPF],
        [
            ("ns1.example.com", "192.0.2.1", 2026120701, "", good),
            ("ns2.example.com", "192.0.2.2", 2026120699, "", late),
            ("ns3.example.com", "192.0.2.3", 2026120701, "", good),
        ],
    )
    assert not report.complete
    assert report.badge("DKIM") == "DKIM at 2 of 3 nameservers"
    assert report.summary() == (
        "published at ns1, ns3, not yet at ns2 (serial 2026120701 vs 2026120699 vs 2026120701)"
    )
