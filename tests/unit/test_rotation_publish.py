"""Rotation by publish: the new selector goes beside the current one; a retired key's record
is removed only once the overlap the registry records is over (issue 19)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

from mailauth_tui.core.publish import dkim_publish
from mailauth_tui.core.zone_update import Operation, Prerequisite, plan_update
from mailauth_tui.registry.models import JournalEntry
from mailauth_tui.registry.zone_publish import ROTATION_OVERLAP, retired_keys
from mailauth_tui.services.store import DomainRecord, KeyRecord

T0 = datetime(2026, 12, 1, tzinfo=UTC)
OLD = base64.b64encode(bytes(32)).decode()
NEW = base64.b64encode(bytes(range(32))).decode()


def _domain(*keys: KeyRecord) -> DomainRecord:
    return DomainRecord(
        "example.com", "example.com", "a@example.com", "alice", T0, "verified",
        None, None, 0, None, "verified", "verified", "configured", "none",
        None, None, "", 0, 0, 0, keys,
    )  # fmt: skip


def _key(selector: str, public: str, created: datetime, active: bool) -> KeyRecord:
    return KeyRecord(selector, "ed25519", None, public, selector, created, active)


def _retired_line(at: datetime) -> JournalEntry:
    detail = "DKIM key s2 is published and now signs; the previous key (selector s1) is retired"
    return JournalEntry(at, "example.com", "alice", "state", detail)


def test_a_retired_key_is_removed_only_after_the_overlap() -> None:
    rec = _domain(_key("s1", OLD, T0, False), _key("s2", NEW, T0 + timedelta(days=1), True))
    journal = [_retired_line(T0 + timedelta(days=2))]
    assert retired_keys(rec, journal, T0 + timedelta(days=2) + ROTATION_OVERLAP / 2) == []
    (old,) = retired_keys(rec, journal, T0 + timedelta(days=2) + ROTATION_OVERLAP)
    assert old.host == "s1._domainkey.example.com"
    assert retired_keys(rec, [], T0 + timedelta(days=365)) == []  # no record of when: kept

    other = ("v=DKIM1; p=somebody-elses",)
    current = {old.host: ((old.value,), other)}
    plan = plan_update("example.com", [], current, 3600, retired=[old])
    assert plan.prerequisites == (Prerequisite(old.host, ((old.value,), other)),)
    assert plan.operations == (Operation("delete", old.host, (old.value,)),)


def test_during_a_rotation_both_selectors_are_kept() -> None:
    rec = _domain(_key("s1", OLD, T0, True), _key("s2", NEW, T0 + timedelta(days=1), False))
    assert retired_keys(rec, [_retired_line(T0)], T0 + timedelta(days=30)) == []
    new = dkim_publish("example.com", "s2", "ed25519", NEW)
    plan = plan_update("example.com", [new], {}, 3600)
    assert [op.name for op in plan.operations] == ["s2._domainkey.example.com"]
