"""The SQLite store: schema, round trips, transactions, and several processes on one file."""

from __future__ import annotations

import multiprocessing
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mailauth_tui.services.migrations import MIGRATIONS
from mailauth_tui.services.store import (
    DuplicateDomain,
    KeyRecord,
    RegistryDamaged,
    Store,
    StoreError,
    from_iso,
    to_iso,
)
from tests.fixtures.store import insert_domain

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def _add(store: Store, domain: str = "mail.example.com", **extra: object) -> None:
    with store.transaction() as tx:
        insert_domain(
            tx,
            domain,
            added_at=T0,
            ownership="pending",
            code_hash="h",
            code_expires_at=T0 + timedelta(days=15),
            code_sent_at=T0,
        )
        if extra:
            tx.update_domain(domain, extra)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "sub" / "registry.sqlite3")
    yield s
    s.close()


def test_new_file_has_wal_and_latest_schema(store: Store) -> None:
    assert store.path.exists()
    assert store.schema_version == len(MIGRATIONS)
    conn = sqlite3.connect(store.path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    conn.close()
    assert {"domains", "dkim_keys", "journal", "meta"} <= tables


def test_domain_round_trip_with_keys(store: Store) -> None:
    _add(store)
    key = KeyRecord("s1", "ed25519", None, "AAAA", "ref1", T0, True)
    with store.transaction() as tx:
        tx.add_key("mail.example.com", key)
        tx.add_key("mail.example.com", KeyRecord("s2", "rsa", 2048, "BBBB", "r2", T0, False))
        tx.update_domain(
            "mail.example.com",
            {"dkim_state": "verified", "next_check_at": T0 + timedelta(hours=48), "dkim_streak": 1},
        )
    rec = store.get_domain("mail.example.com")
    assert rec is not None
    assert rec.ownership == "pending"
    assert rec.code_hash == "h"
    assert rec.code_expires_at == T0 + timedelta(days=15)
    assert rec.code_expires_at.tzinfo is not None
    assert rec.dkim_state == "verified"
    assert rec.dkim_streak == 1
    assert rec.next_check_at == T0 + timedelta(hours=48)
    assert [k.selector for k in rec.keys] == ["s1", "s2"]
    assert rec.keys[0] == key
    assert rec.keys[1].active is False
    assert [r.domain for r in store.list_domains()] == ["mail.example.com"]
    assert store.list_domains()[0].keys == rec.keys
    assert store.get_domain("other.example.com") is None


def test_duplicate_domain_refused(store: Store) -> None:
    _add(store)
    with pytest.raises(DuplicateDomain):
        _add(store)


def test_failed_transaction_leaves_nothing(store: Store) -> None:
    with pytest.raises(RuntimeError), store.transaction() as tx:
        insert_domain(tx, "a.example", added_at=T0, ownership="pending")
        tx.add_journal(T0, "a.example", "alice", "added", "")
        raise RuntimeError("boom")
    assert store.list_domains() == []
    assert store.journal() == []


def test_update_refuses_unknown_columns_and_naive_times(store: Store) -> None:
    _add(store)
    with pytest.raises(ValueError, match="not updatable: domain"), store.transaction() as tx:
        tx.update_domain("mail.example.com", {"domain": "evil.example"})
    with pytest.raises(ValueError, match="naive"), store.transaction() as tx:
        tx.update_domain("mail.example.com", {"last_check_at": datetime(2025, 1, 1)})
    with pytest.raises(TypeError), store.transaction() as tx:
        tx.update_domain("mail.example.com", {"evidence": 1.5})


def test_delete_cascades_keys_and_keeps_journal(store: Store) -> None:
    _add(store)
    with store.transaction() as tx:
        tx.add_key("mail.example.com", KeyRecord("s1", "ed25519", None, "AAAA", "r", T0, True))
        tx.add_journal(T0, "mail.example.com", "alice", "added", "by alice")
    with store.transaction() as tx:
        assert tx.delete_domain("mail.example.com") is True
        assert tx.delete_domain("mail.example.com") is False
    with store.reading() as tx:
        assert tx.get_domain("mail.example.com") is None
    conn = sqlite3.connect(store.path)
    assert conn.execute("SELECT count(*) FROM dkim_keys").fetchone()[0] == 0
    conn.close()
    assert [e.event for e in store.journal("mail.example.com")] == ["added"]


def test_journal_newest_first_with_limit(store: Store) -> None:
    with store.transaction() as tx:
        for i in range(5):
            tx.add_journal(T0 + timedelta(minutes=i), "a.example", "alice", f"e{i}", "")
        tx.add_journal(T0, "b.example", "bob", "other", "")
    assert [e.event for e in store.journal("a.example", limit=3)] == ["e4", "e3", "e2"]
    assert store.journal(limit=1)[0].domain == "b.example"


def test_due_domains(store: Store) -> None:
    _add(store, "due.example", last_check_at=T0, next_check_at=T0)
    _add(store, "later.example", last_check_at=T0, next_check_at=T0 + timedelta(hours=1))
    _add(store, "never.example")  # never checked: not in the cycle
    assert [r.domain for r in store.due_domains(T0)] == ["due.example"]
    assert len(store.due_domains(T0 + timedelta(hours=2))) == 2


def test_meta_setdefault_keeps_the_first(store: Store) -> None:
    with store.transaction() as tx:
        assert tx.setdefault_meta("created_by", "alice") == "alice"
        assert tx.setdefault_meta("created_by", "bob") == "alice"
    assert store.get_meta("created_by") == "alice"
    assert store.get_meta("absent") is None


def test_two_store_objects_see_each_other(tmp_path: Path) -> None:
    a, b = Store(tmp_path / "r.db"), Store(tmp_path / "r.db")
    _add(a)
    assert b.get_domain("mail.example.com") is not None
    a.close()
    b.close()


def test_newer_schema_refused(tmp_path: Path) -> None:
    Store(tmp_path / "r.db").close()
    conn = sqlite3.connect(tmp_path / "r.db")
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(StoreError, match="newer mailauth-tui"):
        Store(tmp_path / "r.db")


def test_not_a_database(tmp_path: Path) -> None:
    junk = b"this is not sqlite" * 100
    (tmp_path / "r.db").write_bytes(junk)
    with pytest.raises(RegistryDamaged, match=r"^registry damaged: .*r\.db \(file is not a"):
        Store(tmp_path / "r.db")
    assert (tmp_path / "r.db").read_bytes() == junk


def test_unopenable_path(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(
        StoreError, match=r"cannot create the registry .*: .*file is a file, not a directory"
    ):
        Store(tmp_path / "file" / "r.db")


def test_iso_times_are_fixed_width_utc() -> None:
    text = to_iso(datetime(2025, 3, 1, 13, 0, tzinfo=UTC).astimezone())
    assert text == "2025-03-01T13:00:00.000000+00:00"
    assert from_iso(text) == datetime(2025, 3, 1, 13, 0, tzinfo=UTC)
    assert from_iso(None) is None


def _bump_attempts(path: str, times: int) -> None:
    store = Store(Path(path))
    for _ in range(times):
        with store.transaction() as tx:
            rec = tx.get_domain("mail.example.com")
            assert rec is not None
            tx.update_domain("mail.example.com", {"code_attempts": rec.code_attempts + 1})
    store.close()


def test_read_modify_write_from_several_processes_loses_nothing(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    with Store(path) as store:
        _add(store)
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_bump_attempts, args=(str(path), 25)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    with Store(path) as store:
        rec = store.get_domain("mail.example.com")
    assert rec is not None
    assert rec.code_attempts == 75
