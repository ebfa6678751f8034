"""The store across threads: a connection per thread, writers taking turns, the writer thread's
group commits (write_soon), close() waiting for them, and re-check pages read by key."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import CancelledError
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mailauth_tui.services.store import KeyRecord, Store, StoreTx, is_due
from tests.fixtures.store import insert_domain

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
DOMAIN = "mail.example.com"


def _insert(tx: StoreTx, domain: str, **changes: Any) -> None:
    insert_domain(tx, domain, added_at=T0, **changes)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "r.db")
    with s.transaction() as tx:
        _insert(tx, DOMAIN)
    yield s
    s.close()


def _evidence_on_disk(path: Path, domain: str = DOMAIN) -> str:
    """What another process would read now."""
    conn = sqlite3.connect(path)
    try:
        row = conn.execute("SELECT evidence FROM domains WHERE domain = ?", (domain,)).fetchone()
    finally:
        conn.close()
    return str(row[0]) if row else "<no row>"


def _set_evidence(text: str) -> Callable[[StoreTx], str]:
    def write(tx: StoreTx) -> str:
        tx.update_domain(DOMAIN, {"evidence": text})
        return text

    return write


def _pragma_synchronous(tx: StoreTx) -> int:
    return int(tx._conn.execute("PRAGMA synchronous").fetchone()[0])


def test_a_read_is_not_held_up_by_another_threads_open_transaction(store: Store) -> None:
    inside, release = threading.Event(), threading.Event()

    def writer() -> None:
        with store.transaction() as tx:
            tx.update_domain(DOMAIN, {"evidence": "new"})
            inside.set()
            release.wait(10)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert inside.wait(10)
        started = time.monotonic()
        rec = store.get_domain(DOMAIN)  # its own connection: the last committed snapshot
        assert time.monotonic() - started < 1.0
        assert rec is not None and rec.evidence == ""
    finally:
        release.set()
        thread.join(10)
    after = store.get_domain(DOMAIN)
    assert after is not None and after.evidence == "new"


def test_writers_of_one_process_take_turns_and_lose_nothing(store: Store) -> None:
    def bump(times: int) -> None:
        for _ in range(times):
            with store.transaction() as tx:
                rec = tx.get_domain(DOMAIN)
                assert rec is not None
                tx.update_domain(DOMAIN, {"code_attempts": rec.code_attempts + 1})

    threads = [threading.Thread(target=bump, args=(40,)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    rec = store.get_domain(DOMAIN)
    assert rec is not None and rec.code_attempts == 160


def test_close_closes_every_threads_connection_and_the_store_reopens(store: Store) -> None:
    seen: list[sqlite3.Connection] = []
    thread = threading.Thread(target=lambda: seen.append(store._connection()))
    thread.start()
    thread.join(10)
    main = store._connection()
    assert seen and seen[0] is not main
    store.close()
    for conn in (seen[0], main):
        with pytest.raises(sqlite3.ProgrammingError):
            conn.execute("SELECT 1")
    assert store.get_domain(DOMAIN) is not None  # used again: opens anew


def test_write_soon_resolves_once_the_write_is_on_disk(store: Store) -> None:
    future = store.write_soon(_set_evidence("checked"))
    assert future.result(10) == "checked"
    assert _evidence_on_disk(store.path) == "checked"


def test_write_soon_commits_what_waits_together_and_undoes_a_failure_alone(
    store: Store,
) -> None:
    gate, holding = threading.Event(), threading.Event()
    # The transactions themselves, kept alive: an id() can be reused once its object is gone,
    # so ids of a finished and a later transaction may be equal.
    txs: list[StoreTx] = []

    def blocker(tx: StoreTx) -> None:
        txs.append(tx)
        holding.set()
        gate.wait(10)

    def write(domain: str) -> Callable[[StoreTx], str]:
        def fn(tx: StoreTx) -> str:
            txs.append(tx)
            _insert(tx, domain)
            return domain

        return fn

    def fails(tx: StoreTx) -> None:
        txs.append(tx)
        _insert(tx, "undone.example")
        raise ValueError("bad result")

    first = store.write_soon(blocker)
    assert holding.wait(10)
    a = store.write_soon(write("a.example"))
    failed = store.write_soon(fails)
    b = store.write_soon(write("b.example"))
    gate.set()
    first.result(10)
    assert a.result(10) == "a.example"
    with pytest.raises(ValueError, match="bad result"):
        failed.result(10)
    assert b.result(10) == "b.example"
    # The three that waited shared one transaction (one fsync), not the blocker's.
    assert txs[1] is txs[2] is txs[3] and txs[1] is not txs[0]
    names = {r.domain for r in store.list_domains()}
    assert {"a.example", "b.example"} <= names
    assert "undone.example" not in names


def test_a_write_cancelled_before_its_turn_is_not_run(store: Store) -> None:
    gate, holding = threading.Event(), threading.Event()

    def blocker(tx: StoreTx) -> None:
        holding.set()
        gate.wait(10)

    first = store.write_soon(blocker)
    assert holding.wait(10)
    cancelled = store.write_soon(_set_evidence("never"))
    assert cancelled.cancel()
    gate.set()
    first.result(10)
    with pytest.raises(CancelledError):
        cancelled.result(10)
    assert store.write_soon(_set_evidence("later")).result(10) == "later"
    assert _evidence_on_disk(store.path) == "later"


def test_close_waits_for_the_writes_handed_over(store: Store) -> None:
    def slow(tx: StoreTx) -> None:
        time.sleep(0.2)
        tx.update_domain(DOMAIN, {"evidence": "kept"})

    future = store.write_soon(slow)
    store.close()
    assert future.done()
    assert _evidence_on_disk(store.path) == "kept"


def test_synchronous_is_full_in_every_thread_unless_chosen(tmp_path: Path, store: Store) -> None:
    with store.reading() as tx:
        assert _pragma_synchronous(tx) == 2  # FULL
    assert store.write_soon(_pragma_synchronous).result(10) == 2
    with Store(tmp_path / "n.db", synchronous="NORMAL") as normal, normal.reading() as tx:
        assert _pragma_synchronous(tx) == 1
    with pytest.raises(ValueError, match="synchronous"):
        Store(tmp_path / "x.db", synchronous="EXTRA")  # type: ignore[arg-type]


def _schedule(store: Store, spec: dict[str, timedelta | None]) -> None:
    """Domains due at T0 + offset (None: never checked, so not in the cycle)."""
    with store.transaction() as tx:
        for name, offset in spec.items():
            changes: dict[str, object] = {}
            if offset is not None:
                changes = {"last_check_at": T0 - timedelta(days=2), "next_check_at": T0 + offset}
            _insert(tx, name, **changes)
            tx.add_key(name, KeyRecord("s1", "ed25519", None, "AAAA", f"{name}.pem", T0, True))


def _pages(store: Store, now: datetime, *, due_only: bool, limit: int) -> list[list[str]]:
    pages: list[list[str]] = []
    names, after = store.recheck_page(now, due_only=due_only, after=None, limit=limit)
    pages.append(names)
    while after is not None:
        names, after = store.recheck_page(now, due_only=due_only, after=after, limit=limit)
        pages.append(names)
    return pages


def test_recheck_pages_due_most_overdue_first(tmp_path: Path) -> None:
    with Store(tmp_path / "r.db") as store:
        _schedule(
            store,
            {
                "c.example": -timedelta(hours=3),
                "a.example": -timedelta(hours=1),
                "b.example": -timedelta(hours=3),
                "later.example": timedelta(hours=1),
                "never.example": None,
                "d.example": timedelta(0),
            },
        )
        expected = ["b.example", "c.example", "a.example", "d.example"]
        assert _pages(store, T0, due_only=True, limit=2) == [expected[:2], expected[2:], []]
        assert _pages(store, T0, due_only=True, limit=3) == [expected[:3], expected[3:]]
        assert [r.domain for r in store.due_domains(T0)] == expected
        assert all(r.keys[0].selector == "s1" for r in store.due_domains(T0))
        assert all(is_due(r, T0) for r in store.due_domains(T0))
        rest = [r for r in store.list_domains() if r.domain in ("later.example", "never.example")]
        assert len(rest) == 2 and not any(is_due(r, T0) for r in rest)
        assert _pages(store, T0, due_only=False, limit=4) == [
            ["a.example", "b.example", "c.example", "d.example"],
            ["later.example", "never.example"],
        ]


def test_a_page_is_not_shifted_by_a_domain_checked_meanwhile(tmp_path: Path) -> None:
    with Store(tmp_path / "r.db") as store:
        _schedule(store, {f"d{i}.example": -timedelta(hours=10 - i) for i in range(6)})
        first, after = store.recheck_page(T0, due_only=True, after=None, limit=2)
        assert first == ["d0.example", "d1.example"]
        with store.transaction() as tx:  # both checked: they leave the due set
            for name in first:
                tx.update_domain(name, {"next_check_at": T0 + timedelta(hours=48)})
        second, _ = store.recheck_page(T0, due_only=True, after=after, limit=2)
        assert second == ["d2.example", "d3.example"]
