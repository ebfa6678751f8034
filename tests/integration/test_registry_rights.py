"""Who may change the registry, at the Registry's level: admins kept in the registry and
managed by admins, settings that grant nothing, dry runs for everyone else, and the DNS
server of a verdict in the journal."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from mailauth_tui.demo.zoneserver import Zone
from mailauth_tui.registry.errors import AlreadyExists, InvalidInput, NotFound, PermissionDenied
from mailauth_tui.registry.service import Registry
from mailauth_tui.services.migrations import MIGRATIONS
from mailauth_tui.services.settings import Settings
from mailauth_tui.services.store import Store
from tests.fixtures.registry import REGISTRY_T0, FakeClock, MakeRegistry, seed_verified

NAMES = ["a.example.org", "b.example.org", "c.example.org"]


def _events(registry: Registry) -> list[tuple[str, str, str]]:
    return [(e.actor, e.event, e.detail) for e in registry.journal(None) if not e.domain]


async def test_admins_are_managed_by_admins(make_registry: MakeRegistry) -> None:
    alice, bob = make_registry("alice"), make_registry("bob")
    with pytest.raises(PermissionDenied, match="only admins can add admins; you are bob"):
        bob.admin_add("bob")
    assert alice.admin_add("bob").added_by == "alice"
    assert bob.is_admin is False  # as last read ...
    bob.admin_add("carol")  # ... but rights are read afresh for every change
    assert bob.is_admin and {a.login for a in bob.admin_list()} == {"alice", "bob", "carol"}
    with pytest.raises(AlreadyExists, match="carol is an admin already"):
        alice.admin_add("carol")
    with pytest.raises(InvalidInput, match="is not a login name"):
        alice.admin_add("bob; rm -rf /")

    alice.admin_remove("carol")
    bob.admin_remove("alice")
    with pytest.raises(PermissionDenied, match="only admins can add domains; you are alice"):
        await alice.add("admin@mail.example.com")  # alice lost her rights at once
    with pytest.raises(InvalidInput, match="bob is the last admin and stays one"):
        bob.admin_remove("bob")
    with pytest.raises(NotFound, match="carol is not an admin"):
        bob.admin_remove("carol")
    assert _events(bob)[:4] == [
        ("bob", "admin_removed", "alice"),
        ("alice", "admin_removed", "carol"),
        ("bob", "admin_added", "carol"),
        ("alice", "admin_added", "bob"),
    ]


def test_an_admin_cannot_lock_everyone_out(make_registry: MakeRegistry) -> None:
    alice = make_registry("alice")
    alice.admin_add("zz-not-a-user-here")
    with pytest.raises(InvalidInput, match="would leave no admin who is a user on this host"):
        alice.admin_remove("alice")
    alice.admin_add("root")  # a user on every host these tests run on
    alice.admin_remove("alice")
    assert not alice.is_admin


async def test_rights_taken_away_meanwhile_stop_a_change(
    make_registry: MakeRegistry, registry_store: Store
) -> None:
    alice = make_registry("alice")
    assert alice.is_admin
    # Another admin's session removes alice between her check and her write.
    with registry_store.transaction() as tx:
        tx.add_admin("bob", "bob", REGISTRY_T0)
        tx.remove_admin("alice")
    alice._require = lambda action: None  # type: ignore[method-assign]  # as if checked before
    with pytest.raises(PermissionDenied, match=r"you \(alice\) are no longer one"):
        await alice.add("admin@mail.example.com")
    assert alice.list_domains() == []


async def test_a_settings_file_grants_nothing(
    make_registry: MakeRegistry, registry_settings: Settings
) -> None:
    settings = replace(registry_settings, admins=("mallory",))
    mallory = make_registry("mallory", settings=settings)
    assert not mallory.is_admin and mallory.admins == {"alice"}
    assert "is ignored: admins are kept in the registry now" in mallory.notices[0]
    with pytest.raises(PermissionDenied, match="only admins can add domains; you are mallory"):
        await mallory.add("admin@mail.example.com")


def _version_1_registry(path: Path, creator: str) -> None:
    """A registry as version 1 left it: the creator in meta, admins in the settings."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    MIGRATIONS[0](conn)
    conn.execute("INSERT INTO meta (key, value) VALUES ('created_by', ?)", (creator,))
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()


@pytest.mark.sqlite_only  # a registry made by version 1, which only SQLite had
@pytest.mark.sqlite_only
async def test_settings_admins_are_imported_once_by_an_admin(
    make_registry: MakeRegistry, registry_settings: Settings, tmp_path: Path
) -> None:
    db = tmp_path / "old" / "registry.sqlite3"
    _version_1_registry(db, "zoe")
    old = replace(registry_settings, db_path=db, admins=("yann", "mallory"))
    # Not an admin: nothing is imported, however the file is worded.
    mallory = make_registry("mallory", settings=old)
    assert mallory.admins == {"zoe"} and "is ignored" in mallory.notices[0]
    # The creator's first run imports the key it had, once.
    zoe = make_registry("zoe", settings=old)
    assert zoe.admins == {"zoe", "yann", "mallory"}
    assert zoe.notices[0].startswith("imported the admins key in the settings once (yann, mallory)")
    later = make_registry("zoe", settings=replace(old, admins=("trudy",)))
    assert later.admins == {"zoe", "yann", "mallory"} and "is ignored" in later.notices[0]


@pytest.mark.sqlite_only
async def test_an_admins_first_run_without_the_key_ends_the_import(
    make_registry: MakeRegistry, registry_settings: Settings, tmp_path: Path
) -> None:
    db = tmp_path / "old" / "registry.sqlite3"
    _version_1_registry(db, "zoe")
    zoe = make_registry("zoe", settings=replace(registry_settings, db_path=db, admins=()))
    assert zoe.notices == []
    # An admin's stale settings file, read months later, grants nothing.
    stale = make_registry("zoe", settings=replace(registry_settings, db_path=db, admins=("x",)))
    assert stale.admins == {"zoe"} and "is ignored" in stale.notices[0]


async def test_a_non_admin_recheck_is_a_dry_run_and_demotes_nothing(
    make_registry: MakeRegistry,
    registry_store: Store,
    registry_settings: Settings,
    zone: Zone,
    fake_clock: FakeClock,
) -> None:
    due = REGISTRY_T0 - timedelta(minutes=1)
    seed_verified(registry_store, zone, NAMES, due, keys_dir=registry_settings.keys_dir)
    zone.clear()  # pointed at an empty zone: every record looks gone
    bob = make_registry("bob")
    before = bob.list_domains()
    for _ in range(3):  # two bad looks in a row would demote
        outcomes = await bob.recheck(due_only=False)
        assert {o.domain.domain for o in outcomes} == set(NAMES)
        assert all(o.dry_run for o in outcomes)
        fake_clock.advance(hours=2)
    assert bob.list_domains() == before
    assert all(bob.journal(name) == [] for name in NAMES)
    # Each dry run shows what one look would change: a first bad look, not yet failing.
    for outcome in outcomes:
        assert outcome.domain.dkim_state.value == "verified"
        assert "DKIM no DKIM record" in outcome.transitions[0]
        assert "seen once, stays verified" in outcome.transitions[0]


async def test_a_verdict_from_an_override_server_says_so_in_the_journal(
    make_registry: MakeRegistry, registry_store: Store, registry_settings: Settings, zone: Zone
) -> None:
    seed_verified(registry_store, zone, NAMES[:1], REGISTRY_T0, keys_dir=registry_settings.keys_dir)
    plain = make_registry("alice")
    await plain.verify(NAMES[0])
    [entry] = [e for e in plain.journal(NAMES[0]) if e.event == "check"]
    assert "[DNS:" not in entry.detail
    zone.clear()
    override = make_registry("alice", dns_source="--nameserver 127.0.0.1:5353")
    outcome = await override.verify(NAMES[0])
    assert outcome.transitions  # the records look gone: that is journaled too
    new = [e for e in override.journal(NAMES[0]) if e.event in ("check", "state")]
    new = new[: 1 + len(outcome.transitions)]
    assert [e.event for e in new][-1] == "check"
    assert all(e.detail.endswith(" [DNS: --nameserver 127.0.0.1:5353]") for e in new)
