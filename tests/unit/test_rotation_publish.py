"""Rotation by publish: the new selector goes beside the current one; a retired key's record
is removed only once the overlap the registry records is over (issue 19)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

from mailauth_tui.core.publish import dkim_publish
from mailauth_tui.core.zone_update import Operation, Prerequisite, plan_update
from mailauth_tui.registry.zone_publish import retired_keys
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


def _key(
    selector: str, public: str, created: datetime, active: bool, after: datetime | None = None
) -> KeyRecord:
    return KeyRecord(selector, "ed25519", None, public, selector, created, active, None, after)


def test_a_retired_key_is_removed_only_after_the_overlap() -> None:
    after = T0 + timedelta(days=9)  # what the registry recorded when s2 took over
    rec = _domain(_key("s1", OLD, T0, False, after), _key("s2", NEW, T0 + timedelta(days=1), True))
    assert retired_keys(rec, after - timedelta(hours=1)) == []
    (old,) = retired_keys(rec, after)
    assert old.host == "s1._domainkey.example.com"
    unknown = _domain(_key("s1", OLD, T0, False), _key("s2", NEW, T0 + timedelta(days=1), True))
    assert retired_keys(unknown, T0 + timedelta(days=365)) == []  # no date recorded: kept

    other = ("v=DKIM1; p=somebody-elses",)
    current = {old.host: ((old.value,), other)}
    plan = plan_update("example.com", [], current, 3600, retired=[old])
    assert plan.prerequisites == (Prerequisite(old.host, ((old.value,), other)),)
    assert plan.operations == (Operation("delete", old.host, (old.value,)),)


def test_during_a_rotation_both_selectors_are_kept() -> None:
    rec = _domain(_key("s1", OLD, T0, True), _key("s2", NEW, T0 + timedelta(days=1), False))
    assert retired_keys(rec, T0 + timedelta(days=30)) == []
    new = dkim_publish("example.com", "s2", "ed25519", NEW)
    plan = plan_update("example.com", [new], {}, 3600)
    assert [op.name for op in plan.operations] == ["s2._domainkey.example.com"]
