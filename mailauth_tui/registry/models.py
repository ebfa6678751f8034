"""Typed rows and results of the registry. Frozen: a change goes through the store."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from mailauth_tui.core.results import DomainReport, Problem, PublishRecord
from mailauth_tui.registry.evidence import Evidence, read_evidence
from mailauth_tui.registry.selftest import SelfTest

__all__ = ["PublishRecord"]  # re-exported: defined in core, used by the registry


class Ownership(StrEnum):
    PENDING = "pending"  # code sent, not yet entered
    VERIFIED = "verified"
    EXPIRED = "expired"  # the code's 15 days are over: resend
    LOCKED = "locked"  # 5 wrong tries: resend


class RecordState(StrEnum):
    NOT_CHECKED = "not_checked"  # never looked up
    PENDING = "pending"  # looked up, not (yet) right: publish it
    VERIFIED = "verified"
    FAILING = "failing"  # was verified, seen gone or different twice in a row
    UNKNOWN = "unknown"  # the last look-up failed (timeout, SERVFAIL, REFUSED)


class DmarcState(StrEnum):
    NOT_CHECKED = "not_checked"
    CONFIGURED = "configured"
    NOT_CONFIGURED = "not_configured"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class DkimKey:
    selector: str
    key_type: str  # rsa | ed25519
    key_bits: int | None
    public_key: str  # base64, as in p=
    key_ref: str  # where the key store keeps the private key
    created_at: datetime
    active: bool = True
    retired_at: datetime | None = None  # when a newer key took over
    remove_after: datetime | None = None  # "safe to remove after": its record may go then


@dataclass(frozen=True, slots=True)
class DomainRow:
    domain: str  # ASCII (punycode)
    domain_unicode: str
    address: str  # the organisation email address that received the code
    added_by: str
    added_at: datetime
    ownership: Ownership
    code_expires_at: datetime | None = None
    code_attempts: int = 0  # wrong tries of the current code
    code_sent_at: datetime | None = None
    dkim_keys: tuple[DkimKey, ...] = ()
    dkim_state: RecordState = RecordState.NOT_CHECKED
    spf_state: RecordState = RecordState.NOT_CHECKED
    dmarc_state: DmarcState = DmarcState.NOT_CHECKED
    dmarc_policy: str | None = None  # none | quarantine | reject
    last_check_at: datetime | None = None
    next_check_at: datetime | None = None
    evidence: str = ""  # JSON of the last check: read it through last_check

    @property
    def last_check(self) -> Evidence:
        """The evidence of the last check, typed (``registry.evidence``)."""
        return read_evidence(self.evidence)

    @property
    def verified(self) -> bool:
        """The sender rule: ownership and DKIM verified (SPF is recommended, shown apart)."""
        return self.ownership is Ownership.VERIFIED and self.dkim_state is RecordState.VERIFIED

    @property
    def dkim_shown_state(self) -> str:
        """The DKIM state to show beside the last check's problems: "failing" when that look
        failed though the record stays verified until a second look confirms it."""
        state = self.dkim_state.value
        if state == RecordState.VERIFIED.value and any(
            n.kind == "DKIM" and n.look == "bad" for n in self.last_check.notes
        ):
            return RecordState.FAILING.value
        return state

    @property
    def active_key(self) -> DkimKey | None:
        return next((k for k in self.dkim_keys if k.active), None)


@dataclass(frozen=True, slots=True)
class JournalEntry:
    at: datetime
    domain: str
    actor: str
    event: str  # added, code_sent, code_ok, code_wrong, locked, check, state, removed, ...
    detail: str


@dataclass(frozen=True, slots=True)
class CodeSent:
    domain: DomainRow
    delivered_to: str  # "SMTP smtp.example.com:587" or the Maildir path, for the user


@dataclass(frozen=True, slots=True)
class CodeCheck:
    ok: bool
    attempts_left: int
    message: str
    domain: DomainRow


@dataclass(frozen=True, slots=True)
class RecordVerdict:
    kind: str  # DKIM | SPF | DMARC | BIMI (only when the domain publishes a BIMI record)
    state: str  # a RecordState or DmarcState value; BIMI: configured | invalid | unknown
    found: str | None  # what DNS returned, literally
    problems: tuple[Problem, ...] = ()
    look: str = ""  # this look: good | bad | unknown | none ("" when not looked)

    @property
    def shown_state(self) -> str:
        """The state to show beside this look's problems: a verified record seen wrong once
        stays verified (a second look confirms), but is shown as failing, never as
        "verified" next to the error."""
        if self.look == "bad" and self.state == "verified":
            return "failing"
        return self.state

    @property
    def state_line(self) -> str:
        """The state in words for the command line."""
        if self.shown_state != self.state:
            return "failing (this look failed; it stays verified until the next check confirms it)"
        return self.state


@dataclass(frozen=True, slots=True)
class VerifyOutcome:
    domain: DomainRow
    report: DomainReport
    verdicts: tuple[RecordVerdict, ...]
    transitions: tuple[str, ...] = ()  # human lines for what changed, also journaled
    # True when nothing was written: the actor may not change the registry, so the outcome
    # shows what DNS says and what would change (the row is the one that would be stored).
    dry_run: bool = False
    # The end-to-end DKIM self-test of each key checked (the active one, a waiting new one).
    selftests: tuple[SelfTest, ...] = ()
    # When not verified: where the records are, per nameserver of the zone ("published at
    # ns1, not yet at ns2 (serial 2026120701 vs 2026120699)"); "" when not looked at.
    propagation: str = ""


@dataclass(frozen=True, slots=True)
class AdminInfo:
    login: str
    added_by: str
    added_at: datetime


@dataclass(frozen=True, slots=True)
class SenderDecision:
    address: str  # the From address to use
    own_domain: bool
    reason: str


@dataclass(frozen=True, slots=True)
class BulkDecision:
    allowed: bool
    reason: str
    action: str = ""  # what to do to be allowed, e.g. "publish a DMARC record"
    record: PublishRecord | None = None  # the DMARC record to publish, when that is the fix


@dataclass(frozen=True, slots=True)
class ReportAction:
    code: str  # waiting_dmarc | waiting_ownership | waiting_dkim | code_expiring | failing ...
    title: str  # "3 domains waiting for DMARC setup"
    advice: str
    domains: tuple[str, ...] = field(default=())
