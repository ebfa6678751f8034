"""The registry's pure rules: re-check transitions, sender and bulk rules, the report."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from mailauth_tui.core.names import normalize_domain
from mailauth_tui.core.results import (
    BimiResult,
    DkimResult,
    DmarcResult,
    DomainReport,
    Problem,
    Severity,
    SourceVerdict,
    SpfResult,
    Status,
)
from mailauth_tui.registry.codes import hash_code
from mailauth_tui.registry.errors import InvalidInput, PermissionDenied
from mailauth_tui.registry.evidence import RecordNote, read_evidence
from mailauth_tui.registry.models import (
    DmarcState,
    DomainRow,
    Ownership,
    RecordState,
)
from mailauth_tui.registry.ownership import judge_attempt, plausible_code, resend_wait
from mailauth_tui.registry.report import build_report
from mailauth_tui.registry.roles import Access, check_login
from mailauth_tui.registry.sender import (
    bulk_decision,
    parse_address,
    parse_address_or_domain,
    sender_decision,
)
from mailauth_tui.registry.transitions import (
    RETRY_SOON,
    Assessment,
    assess,
    key_roles,
)
from mailauth_tui.services.store import DomainRecord, KeyRecord

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
INTERVAL = timedelta(hours=48)
KEY = KeyRecord("mt202503", "ed25519", None, "PUBKEY", "d+mt202503.pem", NOW - DAY, True)


def record(**kw: object) -> DomainRecord:
    base = DomainRecord(
        domain="mail.example.com",
        domain_unicode="mail.example.com",
        address="admin@mail.example.com",
        added_by="alice",
        added_at=NOW - 2 * DAY,
        ownership="verified",
        code_hash=None,
        code_expires_at=None,
        code_attempts=0,
        code_sent_at=NOW - 2 * DAY,
        dkim_state="not_checked",
        spf_state="not_checked",
        dmarc_state="not_checked",
        dmarc_policy=None,
        last_check_at=None,
        next_check_at=None,
        evidence="",
        dkim_streak=0,
        spf_streak=0,
        dmarc_streak=0,
        keys=(KEY,),
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def dkim(status: Status, selector: str = "mt202503", key: str | None = "PUBKEY") -> DkimResult:
    problems: tuple[Problem, ...] = ()
    if status is not Status.VALID:
        problems = (Problem(f"dkim.{status}", Severity.ERROR, f"dkim is {status}", "fix it"),)
    return DkimResult(
        selector=selector,
        status=status,
        host=f"{selector}._domainkey.mail.example.com",
        record=f"v=DKIM1; k=ed25519; p={key}" if status is Status.VALID else None,
        public_key=key if status is Status.VALID else None,
        problems=problems,
    )


def report(
    dkim_results: tuple[DkimResult, ...] = (),
    spf: Status = Status.VALID,
    dmarc: Status = Status.VALID,
    include_ok: bool | None = True,
    policy: str = "none",
    sources: tuple[SourceVerdict, ...] = (),
) -> DomainReport:
    return DomainReport(
        domain="mail.example.com",
        domain_unicode="mail.example.com",
        spf=SpfResult(
            status=spf,
            record="v=spf1 include:_spf.sender.example ~all" if spf is Status.VALID else None,
            include_authorized=include_ok,
            sources=sources,
        ),
        dmarc=DmarcResult(
            status=dmarc,
            record=f"v=DMARC1; p={policy}" if dmarc is Status.VALID else None,
            policy=policy if dmarc is Status.VALID else None,
        ),
        bimi=BimiResult(status=Status.MISSING),
        dkim=dkim_results,
    )


def run(rec: DomainRecord, rep: DomainReport) -> tuple[DomainRecord, Assessment]:
    result = assess(rec, rep, include="_spf.sender.example", now=NOW, interval=INTERVAL)
    updated = replace(rec, **{k: v for k, v in result.changes.items()})  # type: ignore[arg-type]
    return updated, result


def test_first_good_check_verifies_everything() -> None:
    rec, result = run(record(), report((dkim(Status.VALID),)))
    assert (rec.dkim_state, rec.spf_state, rec.dmarc_state) == (
        "verified",
        "verified",
        "configured",
    )
    assert rec.dmarc_policy == "none"
    assert rec.next_check_at == NOW + INTERVAL
    assert rec.last_check_at == NOW
    evidence = json.loads(rec.evidence)
    assert evidence["records"]["DKIM"]["found"] == "v=DKIM1; k=ed25519; p=PUBKEY"
    assert evidence["unknown"] == []
    assert "DKIM not_checked -> verified" in result.transitions


def test_missing_before_verification_is_pending() -> None:
    rec, _ = run(
        record(), report((dkim(Status.MISSING),), spf=Status.MISSING, dmarc=Status.MISSING)
    )
    assert (rec.dkim_state, rec.spf_state, rec.dmarc_state) == (
        "pending",
        "pending",
        "not_configured",
    )
    assert rec.next_check_at == NOW + RETRY_SOON  # a fix shows within the hour


def test_a_domain_not_verified_is_retried_sooner_backing_off() -> None:
    missing = report((dkim(Status.MISSING),), spf=Status.MISSING, dmarc=Status.MISSING)
    rec, gaps = record(), []
    for _ in range(8):
        now = rec.next_check_at or NOW
        result = assess(rec, missing, include=None, now=now, interval=INTERVAL)
        rec = replace(rec, **result.changes)  # type: ignore[arg-type]
        assert rec.next_check_at is not None
        gaps.append((rec.next_check_at - now) / timedelta(hours=1))
    assert gaps == [1, 2, 4, 8, 16, 32, 48, 48]
    assert "retried in" not in result.summary  # at the regular interval again
    # published at last: back to the regular interval
    result = assess(rec, report((dkim(Status.VALID),)), include=None, now=NOW, interval=INTERVAL)
    assert result.changes["next_check_at"] == NOW + INTERVAL


def test_a_retry_says_so_in_the_journal_summary() -> None:
    missing = report((dkim(Status.MISSING),), spf=Status.MISSING, dmarc=Status.MISSING)
    result = assess(record(), missing, include=None, now=NOW, interval=INTERVAL)
    assert result.summary.endswith("(not verified: retried in 1h, backing off to 48h)")


def test_transient_failure_never_demotes() -> None:
    verified = record(
        dkim_state="verified", spf_state="verified", dmarc_state="configured", dmarc_policy="reject"
    )
    rec, result = run(
        verified, report((dkim(Status.UNKNOWN),), spf=Status.UNKNOWN, dmarc=Status.UNKNOWN)
    )
    assert (rec.dkim_state, rec.spf_state, rec.dmarc_state) == (
        "verified",
        "verified",
        "configured",
    )
    assert rec.dmarc_policy == "reject"
    assert rec.next_check_at == NOW + RETRY_SOON  # retried sooner
    evidence = read_evidence(rec.evidence)
    assert evidence.unknown == ("DKIM", "SPF", "DMARC")
    assert [n.kind for n in evidence.notes] == ["DKIM", "SPF", "DMARC"]
    assert any("stays verified" in t for t in result.transitions)


def test_unknown_on_an_unverified_record_is_unknown() -> None:
    rec, _ = run(record(), report((dkim(Status.UNKNOWN),)))
    assert rec.dkim_state == "unknown"


def test_record_gone_demotes_only_on_the_second_look() -> None:
    verified = record(dkim_state="verified", spf_state="verified", dmarc_state="configured")
    gone = report((dkim(Status.MISSING),), spf=Status.MISSING, dmarc=Status.MISSING)
    once, _ = run(verified, gone)
    assert (once.dkim_state, once.spf_state, once.dmarc_state) == (
        "verified",
        "verified",
        "configured",
    )
    assert once.dkim_streak == 1
    assert once.next_check_at == NOW + RETRY_SOON
    # an unknown in between does not break the run of bad looks
    between, _ = run(
        once, report((dkim(Status.UNKNOWN),), spf=Status.UNKNOWN, dmarc=Status.UNKNOWN)
    )
    assert between.dkim_state == "verified" and between.dkim_streak == 1
    twice, result = run(between, gone)
    assert (twice.dkim_state, twice.spf_state, twice.dmarc_state) == (
        "failing",
        "failing",
        "not_configured",
    )
    assert twice.dmarc_policy is None
    assert any("verified -> failing" in t for t in result.transitions)


def test_a_good_look_resets_the_streak() -> None:
    verified = record(dkim_state="verified", dkim_streak=1)
    rec, _ = run(verified, report((dkim(Status.VALID),)))
    assert rec.dkim_state == "verified" and rec.dkim_streak == 0
    failing = record(dkim_state="failing", dkim_streak=3)
    rec, result = run(failing, report((dkim(Status.VALID),)))
    assert rec.dkim_state == "verified"
    assert "DKIM failing -> verified" in result.transitions


def test_a_different_key_is_a_failure() -> None:
    rec, _ = run(record(), report((dkim(Status.VALID, key="OTHERKEY"),)))
    assert rec.dkim_state == "pending"
    why = json.loads(rec.evidence)["records"]["DKIM"]["why"]
    assert "differs from the generated key" in why


def test_spf_without_the_include_or_failing_ips_is_not_verified() -> None:
    rec, _ = run(record(), report((dkim(Status.VALID),), include_ok=False))
    assert rec.spf_state == "pending"
    rec, _ = run(
        record(), report((dkim(Status.VALID),), sources=(SourceVerdict("192.0.2.1", "fail"),))
    )
    assert rec.spf_state == "pending"
    rec, _ = run(
        record(), report((dkim(Status.VALID),), sources=(SourceVerdict("192.0.2.1", "temperror"),))
    )
    assert rec.spf_state == "unknown"


def test_no_key_leaves_dkim_unchecked() -> None:
    rec, result = run(record(keys=()), report(()))
    assert rec.dkim_state == "not_checked"
    assert result.verdicts[0].problems[0].code == "registry.no_dkim_key"


def test_rotation_promotes_the_new_key_once_published() -> None:
    new = KeyRecord("mt20250301", "ed25519", None, "NEWKEY", "d+new.pem", NOW, False)
    rotating = record(keys=(KEY, new), dkim_state="verified")
    assert key_roles(rotating.keys) == (KEY, new)
    # new key not yet in DNS: the old one stays active and verified
    rec, result = run(rotating, report((dkim(Status.VALID), dkim(Status.MISSING, "mt20250301"))))
    assert rec.dkim_state == "verified"
    assert result.promote is None
    codes = [p.code for p in result.verdicts[0].problems]
    assert "registry.rotation_waiting" in codes
    # published: promoted, the old one retired
    rec, result = run(
        rotating, report((dkim(Status.VALID), dkim(Status.VALID, "mt20250301", key="NEWKEY")))
    )
    assert (result.promote, result.retire) == ("mt20250301", "mt202503")
    assert rec.dkim_state == "verified"


def test_retired_keys_are_not_waiting() -> None:
    retired = replace(KEY, active=False, created_at=NOW - 3 * DAY)
    current = KeyRecord("mt202502", "ed25519", None, "K2", "r2", NOW - 2 * DAY, True)
    assert key_roles((retired, current)) == (current, None)


@pytest.mark.parametrize(
    ("raw", "is_json"), [("", False), ("not json", False), ("[1]", True), ('{"records": 3}', True)]
)
def test_evidence_of_another_shape_is_read_as_nothing(raw: str, is_json: bool) -> None:
    evidence = read_evidence(raw)
    assert (evidence.raw, evidence.is_json, evidence.unknown, evidence.notes) == (
        raw,
        is_json,
        (),
        (),
    )


def test_evidence_notes_keep_problems_or_the_reason_and_skip_junk() -> None:
    raw = json.dumps(
        {
            "unknown": ["SPF"],
            "records": {
                "DKIM": {
                    "found": "v=DKIM1; p=x",
                    "problems": [{"severity": "warning", "message": "weak"}, 7],
                },
                "SPF": {"look": "unknown", "why": "timeout", "found": None},
                "DMARC": "junk",
            },
        }
    )
    evidence = read_evidence(raw)
    assert evidence.unknown == ("SPF",)
    assert evidence.notes == (
        RecordNote("DKIM", "v=DKIM1; p=x", (("warning", "weak"),)),
        RecordNote("SPF", None, (("error", "timeout"),), look="unknown"),
    )


# -- roles -----------------------------------------------------------------------------


ADMINS = frozenset({"alice", "carol"})


def test_an_admin_on_a_writable_store_may_change() -> None:
    access = Access("carol", ADMINS, writable=True, where="/srv/reg.sqlite3")
    assert access.may_change and access.read_only_reason() == ""
    access.require("add domains")


def test_a_refusal_says_who_may_and_how_rights_are_given() -> None:
    access = Access("mallory", ADMINS, writable=True, where="/srv/reg.sqlite3")
    assert not access.may_change
    assert access.read_only_reason() == "read-only: mallory is not an admin"
    with pytest.raises(PermissionDenied) as err:
        access.require("add domains")
    assert str(err.value) == (
        "only admins can add domains; you are mallory, with read-only access; admins are: "
        "alice, carol; one of them gives you rights with: mailauth-tui admin add mallory"
    )


def test_an_admin_without_write_access_only_reads() -> None:
    access = Access("alice", ADMINS, writable=False, where="/srv/reg.sqlite3")
    assert access.is_admin and not access.may_change
    assert access.read_only_reason() == "read-only: no write access to the registry"
    with pytest.raises(PermissionDenied, match=r"cannot write the registry /srv/reg\.sqlite3"):
        access.require("verify records")


@pytest.mark.parametrize("login", ["", " ", "a b", "-x", "x/y", "ünï", "a" * 65, "x;drop"])
def test_login_names_are_checked(login: str) -> None:
    with pytest.raises(InvalidInput, match="is not a login name"):
        check_login(login)


def test_good_login_names_pass() -> None:
    assert [check_login(n) for n in ("alice", " bob ", "svc-mail.1", "host$")] == [
        "alice",
        "bob",
        "svc-mail.1",
        "host$",
    ]


# -- sender and bulk ----------------------------------------------------------------------


def row(**kw: object) -> DomainRow:
    base = DomainRow(
        domain="mail.example.com",
        domain_unicode="mail.example.com",
        address="admin@mail.example.com",
        added_by="alice",
        added_at=NOW,
        ownership=Ownership.VERIFIED,
        dkim_state=RecordState.VERIFIED,
        dmarc_state=DmarcState.CONFIGURED,
        dmarc_policy="none",
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def test_parse_address() -> None:
    addr, domain = parse_address(" Admin@Mail.Example.COM ")
    assert addr == "Admin@mail.example.com"
    assert domain.ascii == "mail.example.com"
    _, idn = parse_address("info@bücher.example")
    assert (idn.ascii, idn.unicode) == ("xn--bcher-kva.example", "bücher.example")
    for bad in ("", "nobody", "a@b", "a@@b.example", "x" * 2000, "a b@c.example", "a@-x.example"):
        with pytest.raises(InvalidInput):
            parse_address(bad)
    with pytest.raises(InvalidInput):
        parse_address("admin@mail.test")  # special-use: only in a test environment
    assert parse_address("admin@mail.test", test_environment=True)[1].ascii == "mail.test"


def test_a_local_part_over_64_octets_is_refused() -> None:
    assert parse_address("a" * 64 + "@mail.example.com")[0].startswith("a" * 64)
    for local in ("a" * 65, "é" * 33):  # 65 and 66 octets (RFC 5321 4.5.3.1.1)
        with pytest.raises(InvalidInput, match=r"is \d+ octets long, and mail servers accept"):
            parse_address(f"{local}@mail.example.com")


def test_parse_address_or_domain() -> None:
    assert parse_address_or_domain("mail.example.com").ascii == "mail.example.com"
    assert parse_address_or_domain("x@mail.example.com").ascii == "mail.example.com"
    with pytest.raises(InvalidInput):
        parse_address_or_domain("not a domain")


def test_sender_rule() -> None:
    domain = normalize_domain("mail.example.com")
    ok = sender_decision("news@mail.example.com", domain, row(), "noreply@corp.example")
    assert (ok.address, ok.own_domain) == ("news@mail.example.com", True)
    for r, why in [
        (None, "not in the registry"),
        (row(ownership=Ownership.PENDING), "ownership of mail.example.com is not proven"),
        (row(dkim_state=RecordState.PENDING), "DKIM of mail.example.com is not verified"),
        (row(dkim_state=RecordState.FAILING), "DKIM record of mail.example.com is failing"),
    ]:
        d = sender_decision("news@mail.example.com", domain, r, "noreply@corp.example")
        assert (d.address, d.own_domain) == ("noreply@corp.example", False)
        assert why in d.reason


def test_bulk_rule() -> None:
    domain = normalize_domain("mail.example.com")
    assert bulk_decision(domain, row()).allowed
    no_dmarc = bulk_decision(domain, row(dmarc_state=DmarcState.NOT_CONFIGURED))
    assert (no_dmarc.allowed, no_dmarc.action) == (False, "publish a DMARC record")
    no_dkim = bulk_decision(domain, row(dkim_state=RecordState.PENDING))
    assert (no_dkim.allowed, no_dkim.action) == (False, "verify DKIM first")
    assert not bulk_decision(domain, None).allowed
    assert not bulk_decision(domain, row(dmarc_state=DmarcState.UNKNOWN)).allowed


# -- report -------------------------------------------------------------------------------


def test_report_titles_and_domains() -> None:
    rows = [
        row(domain="a.example", dmarc_state=DmarcState.NOT_CONFIGURED),
        row(domain="b.example", dmarc_state=DmarcState.NOT_CONFIGURED),
        row(domain="c.example", dmarc_state=DmarcState.NOT_CONFIGURED),
        row(domain="d.example", ownership=Ownership.PENDING, code_expires_at=NOW + DAY),
        row(domain="e.example", dkim_state=RecordState.FAILING),
        row(domain="f.example", dkim_state=RecordState.PENDING),
        row(domain="g.example", evidence=json.dumps({"unknown": ["SPF"]})),
    ]
    actions = {a.code: a for a in build_report(rows, NOW)}
    assert actions["waiting_dmarc"].title == "3 domains waiting for DMARC setup"
    assert actions["waiting_dmarc"].domains == ("a.example", "b.example", "c.example")
    assert actions["waiting_ownership"].title == "1 domain waiting for ownership proof"
    assert actions["code_expiring"].title == "1 verification code expiring within 2 days"
    assert actions["failing"].domains == ("e.example",)
    assert actions["waiting_dkim"].domains == ("f.example",)
    assert actions["unknown"].domains == ("g.example",)
    assert next(iter(actions)) == "failing"  # most urgent first


def test_report_of_a_healthy_registry_is_empty() -> None:
    assert build_report([row(dmarc_policy="reject", spf_state=RecordState.VERIFIED)], NOW) == []


# -- code attempts ------------------------------------------------------------------------


def test_judge_attempt_uses_the_code_current_at_commit() -> None:
    old, new = "ABCDEFGHJK", "KJHGFEDCBA"
    new_hash = hash_code(new)
    pending = record(ownership="pending", code_hash=new_hash, code_expires_at=NOW + DAY)
    # judged against an old hash before a resend replaced it: the new code is what counts
    ok = judge_attempt(pending, new, seen_hash="scrypt$old", matched=False, now=NOW)
    assert ok.ok and ok.journal == ("code_ok", "ownership verified")
    stale = judge_attempt(pending, old, seen_hash="scrypt$old", matched=True, now=NOW)
    assert not stale.ok and stale.changes == {"code_attempts": 1}


def test_judge_attempt_edges() -> None:
    pending = record(ownership="pending", code_hash="h", code_expires_at=NOW + DAY)
    assert not judge_attempt(record(ownership="locked"), "X", "h", True, NOW).ok
    assert judge_attempt(replace(pending, code_hash=None), "X", None, True, NOW).message == (
        "there is no valid code for this domain"
    )
    expired = judge_attempt(pending, "X", "h", True, NOW + 2 * DAY)
    assert (expired.ok, expired.changes) == (False, {"ownership": Ownership.EXPIRED})
    last = judge_attempt(replace(pending, code_attempts=4), "X", "h", False, NOW)
    assert last.changes["ownership"] is Ownership.LOCKED and last.changes["code_hash"] is None


def test_plausible_code_and_resend_wait() -> None:
    assert plausible_code(" abcd-efgh-jk ") == "ABCDEFGHJK"
    assert plausible_code("ABCD") is None  # too short
    assert plausible_code("ABCD-EFGH-J0") is None  # 0 is not in the alphabet
    sent = record(code_sent_at=NOW)
    assert resend_wait(sent, NOW + timedelta(seconds=59.5)) == 1
    assert resend_wait(sent, NOW + timedelta(seconds=60)) is None
    assert resend_wait(record(code_sent_at=None), NOW) is None
