"""Stored records (services.store) to the registry's typed rows (registry.models)."""

from __future__ import annotations

from datetime import datetime
from typing import TypeVar

from mailauth_tui.registry.models import (
    DkimKey,
    DmarcState,
    DomainRow,
    JournalEntry,
    Ownership,
    RecordState,
)
from mailauth_tui.services.store import DomainRecord, JournalRecord, KeyRecord


def to_key(rec: KeyRecord) -> DkimKey:
    return DkimKey(
        selector=rec.selector,
        key_type=rec.key_type,
        key_bits=rec.key_bits,
        public_key=rec.public_key,
        key_ref=rec.key_ref,
        created_at=rec.created_at,
        active=rec.active,
        retired_at=rec.retired_at,
        remove_after=rec.remove_after,
    )


_E = TypeVar("_E", Ownership, RecordState, DmarcState)


def _enum(kind: type[_E], value: str, default: _E) -> _E:
    # A value written by a newer version is shown as the safe default, not a crash.
    try:
        return kind(value)
    except ValueError:
        return default


def to_row(rec: DomainRecord, now: datetime) -> DomainRow:
    """The row as users see it at ``now``: a pending code past its expiry shows as EXPIRED
    even before anyone tried it (the store is updated on the next attempt)."""
    ownership = _enum(Ownership, rec.ownership, Ownership.PENDING)
    if (
        ownership is Ownership.PENDING
        and rec.code_expires_at is not None
        and now >= rec.code_expires_at
    ):
        ownership = Ownership.EXPIRED
    return DomainRow(
        domain=rec.domain,
        domain_unicode=rec.domain_unicode,
        address=rec.address,
        added_by=rec.added_by,
        added_at=rec.added_at,
        ownership=ownership,
        code_expires_at=rec.code_expires_at,
        code_attempts=rec.code_attempts,
        code_sent_at=rec.code_sent_at,
        dkim_keys=tuple(to_key(k) for k in rec.keys),
        dkim_state=_enum(RecordState, rec.dkim_state, RecordState.UNKNOWN),
        spf_state=_enum(RecordState, rec.spf_state, RecordState.UNKNOWN),
        dmarc_state=_enum(DmarcState, rec.dmarc_state, DmarcState.UNKNOWN),
        dmarc_policy=rec.dmarc_policy,
        last_check_at=rec.last_check_at,
        next_check_at=rec.next_check_at,
        evidence=rec.evidence,
    )


def to_entry(rec: JournalRecord) -> JournalEntry:
    return JournalEntry(
        at=rec.at, domain=rec.domain, actor=rec.actor, event=rec.event, detail=rec.detail
    )
