"""Judging a verification-code attempt and the resend limit: pure decisions the Registry
applies inside its write transaction (so the row judged is the row as it is now)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from mailauth_tui.registry.codes import (
    ALPHABET,
    MAX_ATTEMPTS,
    MIN_CODE_LENGTH,
    RESEND_INTERVAL,
    normalize_code,
    verify_code,
)
from mailauth_tui.registry.models import Ownership
from mailauth_tui.services.store import DomainRecord

MAX_CODE_CHARS = 64
NOT_A_CODE = (
    "that is not a verification code: codes are letters and digits as in the mail "
    "(no 0, O, 1, I or L); this try was not counted"
)


def when(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def plausible_code(text: str) -> str | None:
    """The code as compared (case, spaces and dashes dropped), or None when the text cannot
    be a code at all: such text is refused without using up a try."""
    plain = normalize_code(text[: MAX_CODE_CHARS * 4])
    if not MIN_CODE_LENGTH <= len(plain) <= MAX_CODE_CHARS:
        return None
    if any(c not in ALPHABET for c in plain):
        return None
    return plain


@dataclass(frozen=True, slots=True)
class Attempt:
    ok: bool
    message: str
    changes: dict[str, object] = field(default_factory=dict)  # to the domains row
    journal: tuple[str, str] | None = None  # (event, detail); never the code itself


def judge_attempt(
    rec: DomainRecord, plain: str, seen_hash: str | None, matched: bool, now: datetime
) -> Attempt:
    """Judge ``plain`` against ``rec`` as read inside the write transaction.

    ``matched`` is the (slow, scrypt) comparison made before the transaction against
    ``seen_hash``; when a resend replaced the code meanwhile, the new one is compared here.
    """
    if rec.ownership == Ownership.LOCKED or rec.code_attempts >= MAX_ATTEMPTS:
        return Attempt(False, f"{MAX_ATTEMPTS} wrong tries: this code no longer works")
    if rec.code_hash is None:
        return Attempt(False, "there is no valid code for this domain")
    if rec.code_expires_at is not None and now >= rec.code_expires_at:
        message = f"the code expired on {when(rec.code_expires_at)}"
        if rec.ownership == Ownership.EXPIRED:
            return Attempt(False, message)
        return Attempt(
            False,
            message,
            {"ownership": Ownership.EXPIRED},
            ("expired", f"code expired {when(rec.code_expires_at)}"),
        )
    if rec.code_hash != seen_hash:
        matched = verify_code(plain, rec.code_hash)
    if matched:
        return Attempt(
            True,
            f"ownership of {rec.domain} is verified",
            {
                "ownership": Ownership.VERIFIED,
                "code_hash": None,
                "code_expires_at": None,
                "code_attempts": 0,
            },
            ("code_ok", "ownership verified"),
        )
    attempts = rec.code_attempts + 1
    if attempts >= MAX_ATTEMPTS:
        return Attempt(
            False,
            f"wrong code; {MAX_ATTEMPTS} wrong tries: this code no longer works",
            {"code_attempts": attempts, "ownership": Ownership.LOCKED, "code_hash": None},
            ("locked", f"{attempts} wrong codes: the code is void"),
        )
    return Attempt(
        False,
        "wrong code",
        {"code_attempts": attempts},
        ("code_wrong", f"wrong code (try {attempts} of {MAX_ATTEMPTS})"),
    )


def attempts_left(rec: DomainRecord) -> int:
    return 0 if rec.code_hash is None else max(MAX_ATTEMPTS - rec.code_attempts, 0)


def resend_wait(rec: DomainRecord, now: datetime) -> int | None:
    """Whole seconds to wait before another code may be sent, or None when it may be now."""
    if rec.code_sent_at is None:
        return None
    wait = rec.code_sent_at + RESEND_INTERVAL - now
    if wait <= timedelta(0):
        return None
    return max(1, int(wait.total_seconds() + 0.999))
