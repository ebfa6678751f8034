"""The registry's SQLite store: one file shared by every process that uses the registry.

- WAL journal, so readers never wait for a writer, and a busy timeout, so writers from several
  processes (two admins over SSH, a cron re-check) queue instead of failing.
- Each state change is one transaction. Read-modify-write (a code attempt, a re-check result)
  runs under ``BEGIN IMMEDIATE``: the write lock is taken before the read, so two processes
  cannot both consume the same attempt. A process killed mid-way leaves the last committed
  state: SQLite rolls an unfinished transaction back when the file is next opened.
- One connection per thread (a forked child opens its own instead of reusing the parent's), so
  a thread reading never waits for another thread's commit: WAL gives it the last committed
  snapshot. Writers of one process queue on a lock, not on SQLite's busy handler, which
  sleeps in steps of milliseconds.
- ``synchronous = FULL``: a commit returns once the WAL is on disk, so what was reported
  committed survives a power cut, not only a killed process. That wait (an fsync) is why an
  event loop hands its writes to :meth:`Store.write_soon` (the store's one writer thread).
- Rows come back as frozen dataclasses (DomainRecord, KeyRecord, JournalRecord), never tuples;
  the registry maps them to its own models (services do not import the registry).
"""

from __future__ import annotations

import os
import re
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Any, Literal, TypeVar

from mailauth_tui.services.migrations import MIGRATIONS
from mailauth_tui.services.store_files import (
    can_write,
    connect_read_only,
    create_registry_file,
    unreadable,
    wal_exists,
)

BUSY_TIMEOUT_S = 30.0

# FULL is the default and what the registry runs with. NORMAL (in WAL mode: durable when the
# process is killed, not on power loss) is for callers that choose so; OFF is for measuring
# what the syncs cost, never for a registry anyone relies on.
Synchronous = Literal["FULL", "NORMAL", "OFF"]

T = TypeVar("T")

# Most writes committed together by the writer thread: a group holds SQLite's write lock,
# which other processes wait for, so it stays short.
MAX_GROUP = 64

# Where a page of names to re-check ends: pass it back to get the next page. Opaque to callers.
PageKey = tuple[str, str]


class StoreError(Exception):
    """The database cannot be opened or used; the message says which file and why."""


class NoRegistry(StoreError):
    """No registry at the path, and the caller did not ask to create one."""

    def __init__(self, path: Path) -> None:
        super().__init__(
            f"no registry at {path}: create one with: mailauth-tui init --db {path} "
            "(or give the --db of an existing one)"
        )
        self.path = path


class RegistryDamaged(StoreError):
    """The file is not a registry this version can read (corrupt, another program's database,
    an unreadable schema); nothing was changed."""


@dataclass(frozen=True, slots=True)
class KeyRecord:
    selector: str
    key_type: str
    key_bits: int | None
    public_key: str
    key_ref: str
    created_at: datetime
    active: bool
    retired_at: datetime | None = None  # when a newer key took over
    remove_after: datetime | None = None  # its DNS record may be removed after this


@dataclass(frozen=True, slots=True)
class DomainRecord:
    """One row of ``domains`` with its keys. States are the stored strings: the registry
    turns them into its enums (services do not import the registry)."""

    domain: str
    domain_unicode: str
    address: str
    added_by: str
    added_at: datetime
    ownership: str
    code_hash: str | None
    code_expires_at: datetime | None
    code_attempts: int
    code_sent_at: datetime | None
    dkim_state: str
    spf_state: str
    dmarc_state: str
    dmarc_policy: str | None
    last_check_at: datetime | None
    next_check_at: datetime | None
    evidence: str
    # consecutive looks that found a verified record gone or different
    dkim_streak: int
    spf_streak: int
    dmarc_streak: int
    keys: tuple[KeyRecord, ...] = ()


@dataclass(frozen=True, slots=True)
class JournalRecord:
    at: datetime
    domain: str
    actor: str
    event: str
    detail: str


@dataclass(frozen=True, slots=True)
class AdminRecord:
    login: str
    added_by: str
    added_at: datetime


def to_iso(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the store: times must be aware (UTC)")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def from_iso(value: str | None) -> datetime | None:
    if value is None:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _required_time(value: str) -> datetime:
    parsed = from_iso(value)
    assert parsed is not None
    return parsed


# Columns the registry may change with update_domain, and nothing else.
_UPDATABLE = frozenset(
    {
        "address",
        "ownership",
        "code_hash",
        "code_expires_at",
        "code_attempts",
        "code_sent_at",
        "dkim_state",
        "spf_state",
        "dmarc_state",
        "dmarc_policy",
        "last_check_at",
        "next_check_at",
        "evidence",
        "dkim_streak",
        "spf_streak",
        "dmarc_streak",
    }
)

_DOMAIN_COLUMNS = (
    "domain, domain_unicode, address, added_by, added_at, ownership, code_hash, "
    "code_expires_at, code_attempts, code_sent_at, dkim_state, spf_state, dmarc_state, "
    "dmarc_policy, last_check_at, next_check_at, evidence, dkim_streak, spf_streak, dmarc_streak"
)
_KEY_COLUMNS = (
    "domain, selector, key_type, key_bits, public_key, key_ref, created_at, active, "
    "retired_at, remove_after"
)


_ALL = "1"
# In the re-check cycle (checked at least once) and due: the one definition, see is_due.
_DUE = "last_check_at IS NOT NULL AND next_check_at IS NOT NULL AND next_check_at <= ?"


def is_due(rec: DomainRecord, now: datetime) -> bool:
    """What the ``_DUE`` condition says, for a row already read."""
    return (
        rec.last_check_at is not None and rec.next_check_at is not None and rec.next_check_at <= now
    )


def _sql_value(value: object) -> object:
    if isinstance(value, datetime):
        return to_iso(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, bool):
        return int(value)
    if value is None or isinstance(value, int | str):
        return value
    raise TypeError(f"the store cannot hold a {type(value).__name__}")


def _key(row: sqlite3.Row) -> KeyRecord:
    return KeyRecord(
        selector=row["selector"],
        key_type=row["key_type"],
        key_bits=row["key_bits"],
        public_key=row["public_key"],
        key_ref=row["key_ref"],
        created_at=_required_time(row["created_at"]),
        active=bool(row["active"]),
        retired_at=from_iso(row["retired_at"]),
        remove_after=from_iso(row["remove_after"]),
    )


def _domain(row: sqlite3.Row, keys: tuple[KeyRecord, ...]) -> DomainRecord:
    return DomainRecord(
        domain=row["domain"],
        domain_unicode=row["domain_unicode"],
        address=row["address"],
        added_by=row["added_by"],
        added_at=_required_time(row["added_at"]),
        ownership=row["ownership"],
        code_hash=row["code_hash"],
        code_expires_at=from_iso(row["code_expires_at"]),
        code_attempts=row["code_attempts"],
        code_sent_at=from_iso(row["code_sent_at"]),
        dkim_state=row["dkim_state"],
        spf_state=row["spf_state"],
        dmarc_state=row["dmarc_state"],
        dmarc_policy=row["dmarc_policy"],
        last_check_at=from_iso(row["last_check_at"]),
        next_check_at=from_iso(row["next_check_at"]),
        evidence=row["evidence"],
        dkim_streak=row["dkim_streak"],
        spf_streak=row["spf_streak"],
        dmarc_streak=row["dmarc_streak"],
        keys=keys,
    )


class StoreTx:
    """Reads and writes inside one open transaction (see :meth:`Store.transaction`)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    # -- domains -------------------------------------------------------------------------

    def get_domain(self, domain: str) -> DomainRecord | None:
        row = self._conn.execute(
            f"SELECT {_DOMAIN_COLUMNS} FROM domains WHERE domain = ?", (domain,)
        ).fetchone()
        if row is None:
            return None
        return _domain(row, self._keys(domain))

    def _with_keys(self, where: str, args: tuple[object, ...], order: str) -> list[DomainRecord]:
        """The domains matching ``where`` with their keys, in two queries (not one per row)."""
        keys: dict[str, list[KeyRecord]] = {}
        of = "" if where == _ALL else f"WHERE domain IN (SELECT domain FROM domains WHERE {where})"
        for row in self._conn.execute(
            f"SELECT {_KEY_COLUMNS} FROM dkim_keys {of} ORDER BY created_at, id",
            args,
        ):
            keys.setdefault(row["domain"], []).append(_key(row))
        rows = self._conn.execute(
            f"SELECT {_DOMAIN_COLUMNS} FROM domains WHERE {where} ORDER BY {order}", args
        )
        return [_domain(r, tuple(keys.get(r["domain"], ()))) for r in rows]

    def list_domains(self) -> list[DomainRecord]:
        return self._with_keys(_ALL, (), "domain")

    def due_domains(self, now: datetime) -> list[DomainRecord]:
        """Domains in the re-check cycle (checked at least once) whose next check is due."""
        return self._with_keys(_DUE, (to_iso(now),), "next_check_at, domain")

    def recheck_page(
        self, now: datetime, *, due_only: bool, after: PageKey | None, limit: int
    ) -> tuple[list[str], PageKey | None]:
        """One page of the names a re-check goes through: the due ones, most overdue first
        (as :meth:`due_domains`), or all by name. Returns the names and the key to pass as
        ``after`` for the next page (None after the last page).

        Paging by key, not by offset: a domain checked meanwhile leaves the due set without
        shifting the pages, and a re-check never reads its whole list in one step."""
        limit = max(1, limit)
        if due_only:
            where, args = _DUE, [to_iso(now)]
            if after is not None:
                where += " AND (next_check_at, domain) > (?, ?)"
                args += after
            rows = self._conn.execute(
                f"SELECT next_check_at, domain FROM domains WHERE {where} "
                "ORDER BY next_check_at, domain LIMIT ?",
                (*args, limit),
            ).fetchall()
            keys = [(str(r[0]), str(r[1])) for r in rows]
        else:
            rows = self._conn.execute(
                "SELECT domain FROM domains WHERE domain > ? ORDER BY domain LIMIT ?",
                ("" if after is None else after[1], limit),
            ).fetchall()
            keys = [("", str(r[0])) for r in rows]
        names = [k[1] for k in keys]
        return names, (keys[-1] if len(keys) == limit else None)

    def insert_domain(
        self,
        *,
        domain: str,
        domain_unicode: str,
        address: str,
        added_by: str,
        added_at: datetime,
        ownership: str,
        code_hash: str | None = None,
        code_expires_at: datetime | None = None,
        code_sent_at: datetime | None = None,
    ) -> None:
        """A new domain row. The code columns stay empty for a row whose ownership is already
        settled (a verified row written straight to the store by tests and benchmarks)."""
        try:
            self._conn.execute(
                "INSERT INTO domains (domain, domain_unicode, address, added_by, added_at, "
                "ownership, code_hash, code_expires_at, code_sent_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    domain,
                    domain_unicode,
                    address,
                    added_by,
                    to_iso(added_at),
                    _sql_value(ownership),
                    code_hash,
                    None if code_expires_at is None else to_iso(code_expires_at),
                    None if code_sent_at is None else to_iso(code_sent_at),
                ),
            )
        except sqlite3.IntegrityError:
            raise DuplicateDomain(domain) from None

    def update_domain(self, domain: str, changes: Mapping[str, object]) -> None:
        unknown = set(changes) - _UPDATABLE
        if unknown:
            raise ValueError(f"not updatable: {', '.join(sorted(unknown))}")
        if not changes:
            return
        columns = list(changes)
        assignments = ", ".join(f"{c} = ?" for c in columns)
        values = [_sql_value(changes[c]) for c in columns]
        self._conn.execute(f"UPDATE domains SET {assignments} WHERE domain = ?", (*values, domain))

    def delete_domain(self, domain: str) -> bool:
        cur = self._conn.execute("DELETE FROM domains WHERE domain = ?", (domain,))
        return cur.rowcount > 0

    # -- DKIM keys -----------------------------------------------------------------------

    def _keys(self, domain: str) -> tuple[KeyRecord, ...]:
        rows = self._conn.execute(
            f"SELECT {_KEY_COLUMNS} FROM dkim_keys WHERE domain = ? ORDER BY created_at, id",
            (domain,),
        )
        return tuple(_key(r) for r in rows)

    def add_key(self, domain: str, key: KeyRecord) -> None:
        self._conn.execute(
            f"INSERT INTO dkim_keys ({_KEY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                domain,
                key.selector,
                key.key_type,
                key.key_bits,
                key.public_key,
                key.key_ref,
                to_iso(key.created_at),
                int(key.active),
                to_iso(key.retired_at) if key.retired_at else None,
                to_iso(key.remove_after) if key.remove_after else None,
            ),
        )

    def retire_key(self, domain: str, selector: str, at: datetime, remove_after: datetime) -> None:
        """The key stops signing at ``at``; its record must stay published until
        ``remove_after``."""
        self._conn.execute(
            "UPDATE dkim_keys SET active = 0, retired_at = ?, remove_after = ? "
            "WHERE domain = ? AND selector = ?",
            (to_iso(at), to_iso(remove_after), domain, selector),
        )

    def set_key_active(self, domain: str, selector: str, active: bool) -> None:
        self._conn.execute(
            "UPDATE dkim_keys SET active = ? WHERE domain = ? AND selector = ?",
            (int(active), domain, selector),
        )

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """Undo what the block wrote if it raises; the transaction goes on."""
        self._conn.execute("SAVEPOINT one_change")
        try:
            yield
        except BaseException:
            self._conn.execute("ROLLBACK TO one_change")
            self._conn.execute("RELEASE one_change")
            raise
        self._conn.execute("RELEASE one_change")

    # -- journal and meta ----------------------------------------------------------------

    def add_journal(self, at: datetime, domain: str, actor: str, event: str, detail: str) -> None:
        self._conn.execute(
            "INSERT INTO journal (at, domain, actor, event, detail) VALUES (?, ?, ?, ?, ?)",
            (to_iso(at), domain, actor, event, detail),
        )

    def journal(self, domain: str | None = None, limit: int = 100) -> list[JournalRecord]:
        if domain is None:
            rows = self._conn.execute(
                "SELECT at, domain, actor, event, detail FROM journal ORDER BY id DESC LIMIT ?",
                (limit,),
            )
        else:
            rows = self._conn.execute(
                "SELECT at, domain, actor, event, detail FROM journal WHERE domain = ? "
                "ORDER BY id DESC LIMIT ?",
                (domain, limit),
            )
        return [
            JournalRecord(
                at=_required_time(r["at"]),
                domain=r["domain"],
                actor=r["actor"],
                event=r["event"],
                detail=r["detail"],
            )
            for r in rows
        ]

    def get_meta(self, key: str) -> str | None:
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self._conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def delete_meta(self, key: str) -> None:
        self._conn.execute("DELETE FROM meta WHERE key = ?", (key,))

    # -- admins --------------------------------------------------------------------------

    def admins(self) -> list[AdminRecord]:
        rows = self._conn.execute("SELECT login, added_by, added_at FROM admins ORDER BY login")
        return [AdminRecord(r["login"], r["added_by"], _required_time(r["added_at"])) for r in rows]

    def add_admin(self, login: str, added_by: str, added_at: datetime) -> bool:
        """False when ``login`` was an admin already."""
        cur = self._conn.execute(
            "INSERT OR IGNORE INTO admins (login, added_by, added_at) VALUES (?, ?, ?)",
            (login, added_by, to_iso(added_at)),
        )
        return cur.rowcount > 0

    def remove_admin(self, login: str) -> bool:
        cur = self._conn.execute("DELETE FROM admins WHERE login = ?", (login,))
        return cur.rowcount > 0

    def setdefault_meta(self, key: str, value: str) -> str:
        """Store ``value`` unless the key is set; return what the key holds afterwards."""
        self._conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", (key, value))
        current = self.get_meta(key)
        assert current is not None
        return current


class DuplicateDomain(StoreError):
    def __init__(self, domain: str) -> None:
        super().__init__(f"{domain} is already in the registry")
        self.domain = domain


class _Handle:
    """One thread's connection. Only that thread uses it, under ``lock``, which is there for
    :meth:`Store.close` (called from another thread) to wait until the connection is idle."""

    __slots__ = ("closed", "conn", "immutable", "lock", "pid", "thread")

    def __init__(self, conn: sqlite3.Connection, immutable: bool = False) -> None:
        self.conn = conn
        self.immutable = immutable  # a reader's connection to a file with no WAL beside it
        self.lock = threading.RLock()
        self.pid = os.getpid()
        self.thread = threading.current_thread()
        self.closed = False


class Store:
    """The registry database at ``path``.

    ``create``: make the registry (owner-only, see :mod:`store_files`) when the file is
    missing; otherwise a missing file raises :class:`NoRegistry` and nothing is created.
    A file this process may not write is opened read-only (:attr:`writable` is False): the
    file system, not the client, decides who changes the registry.

    Usable from any thread: each thread gets its own connection. ``synchronous`` is FULL
    unless a caller chooses otherwise (see :data:`Synchronous`)."""

    def __init__(
        self,
        path: Path,
        *,
        create: bool = True,
        busy_timeout: float = BUSY_TIMEOUT_S,
        synchronous: Synchronous = "FULL",
    ) -> None:
        if synchronous not in ("FULL", "NORMAL", "OFF"):
            raise ValueError(f"synchronous must be FULL, NORMAL or OFF, not {synchronous!r}")
        self.path = Path(path)
        self._create = create
        self.created = self._prepare_file(create)
        self.writable = can_write(self.path)
        self.synchronous: Synchronous = synchronous
        self._busy_timeout = busy_timeout
        self._local = threading.local()
        self._handles: list[_Handle] = []
        self._handles_lock = threading.Lock()
        # Writers of this process take turns here (a prompt hand-over) rather than in
        # SQLite's busy handler; other processes are still kept out by SQLite's own lock.
        self._write_lock = threading.RLock()
        self._writer: ThreadPoolExecutor | None = None
        self._writer_pid = 0
        self._writer_lock = threading.Lock()
        self._group: list[tuple[Callable[[StoreTx], Any], Future[Any]]] = []
        self._group_lock = threading.Lock()
        self._draining = False
        self._connection()  # open now: a bad path or a newer schema fails at start-up

    def _prepare_file(self, create: bool) -> bool:
        """Check the file exists (or create it); True when this call created it."""
        try:
            if self.path.exists():
                if not self.path.is_file():
                    raise StoreError(f"the registry {self.path} is not a file: give another --db")
                if why := unreadable(self.path):
                    raise StoreError(
                        f"cannot read the registry {self.path} ({why}): ask its admins for read "
                        'access (README, "Sharing a registry")'
                    )
                return False
        except OSError as exc:
            raise StoreError(
                f"cannot reach the registry {self.path}: {exc.strerror or exc}; ask an admin "
                "for read access to its directory"
            ) from None
        if not create:
            raise NoRegistry(self.path)
        try:
            return create_registry_file(self.path)
        except OSError as exc:
            why = exc.strerror or str(exc)
            if isinstance(exc, FileExistsError | NotADirectoryError):
                why = f"{exc.filename} is a file, not a directory"
            raise StoreError(f"cannot create the registry {self.path}: {why}") from None

    # -- connections ---------------------------------------------------------------------

    def _handle(self) -> _Handle:
        handle: _Handle | None = getattr(self._local, "handle", None)
        # A connection inherited through fork() must not be used (or closed) by the child.
        # A reader's immutable connection is traded for a plain one once a writer made a WAL.
        if (
            handle is not None
            and not handle.closed
            and handle.pid == os.getpid()
            and not (handle.immutable and wal_exists(self.path))
        ):
            return handle
        if handle is not None and handle.immutable and handle.pid == os.getpid():
            self._close_handle(handle)
        handle = _Handle(*self._open())
        self._local.handle = handle
        with self._handles_lock:
            # Threads come and go (an executor's workers): close what the dead ones left.
            for old in [h for h in self._handles if not h.thread.is_alive()]:
                self._close_handle(old)
            self._handles = [h for h in self._handles if not h.closed]
            self._handles.append(handle)
        return handle

    def _connection(self) -> sqlite3.Connection:
        """The calling thread's connection (opened on first use)."""
        return self._handle().conn

    def _open(self) -> tuple[sqlite3.Connection, bool]:
        """A new connection, and whether it is a reader's immutable one."""
        immutable = False
        try:
            if self.writable:
                conn = sqlite3.connect(
                    self.path,
                    timeout=self._busy_timeout,
                    isolation_level=None,  # transactions are begun explicitly
                    # Used by the thread that opened it only; close() may come from another
                    # thread, and waits for the handle's lock first.
                    check_same_thread=False,
                )
            else:
                conn, immutable = connect_read_only(self.path, self._busy_timeout)
        except sqlite3.DatabaseError as exc:
            raise self._damaged_or_unusable(exc) from None
        except OSError as exc:
            raise StoreError(f"cannot open the registry {self.path}: {exc}") from None
        try:
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout * 1000)}")
            # Refuse what is not a registry before anything is written to the file; an empty
            # file is no registry either, unless the caller is creating one.
            if _schema_version(conn, self.path) == 0 and not self._create:
                raise NoRegistry(self.path)
            if self.writable:
                mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                if str(mode).lower() != "wal":
                    raise StoreError(f"{self.path}: the file system does not allow WAL mode")
                # FULL: a transaction reported committed survives a power cut, not only a kill.
                conn.execute(f"PRAGMA synchronous = {self.synchronous}")
                conn.execute("PRAGMA foreign_keys = ON")
                _migrate(conn, self.path)
            else:
                _check_schema(conn, self.path)
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise self._damaged_or_unusable(exc) from None
        except BaseException:
            conn.close()
            raise
        return conn, immutable

    def _damaged_or_unusable(self, exc: sqlite3.DatabaseError) -> StoreError:
        if isinstance(exc, sqlite3.OperationalError):  # locked, unreadable, out of space...
            return StoreError(f"cannot use the registry {self.path}: {exc}")
        return self._damaged(exc)

    def _damaged(self, exc: Exception) -> RegistryDamaged:
        return RegistryDamaged(
            f"registry damaged: {self.path} ({exc}): restore it from a backup, or give another --db"
        )

    @staticmethod
    def _close_handle(handle: _Handle) -> None:
        with handle.lock:
            if not handle.closed and handle.pid == os.getpid():
                handle.conn.close()
            handle.closed = True

    @contextmanager
    def _use(self) -> Iterator[sqlite3.Connection]:
        handle = self._handle()
        with handle.lock:
            if handle.closed:  # closed by another thread just now: this thread opens anew
                handle = self._handle()
                with handle.lock:
                    yield handle.conn
            else:
                yield handle.conn

    def close(self) -> None:
        """Let the writer thread finish what it was given, then close every connection. The
        store opens new ones if it is used again."""
        with self._writer_lock:
            writer, self._writer = self._writer, None
        if writer is not None and self._writer_pid == os.getpid():
            # From the writer thread itself, waiting would wait for this very call.
            writer.shutdown(wait=not getattr(self._local, "writer", False))
        with self._handles_lock:
            handles, self._handles = self._handles, []
        for handle in handles:
            self._close_handle(handle)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        with self._use() as conn:
            return int(conn.execute("PRAGMA user_version").fetchone()[0])

    # -- the writer thread ---------------------------------------------------------------

    def write_soon(self, fn: Callable[[StoreTx], T]) -> Future[T]:
        """Run ``fn(tx)`` in the store's writer thread, inside a write transaction; the future
        is resolved once that transaction is committed (on disk, with synchronous=FULL).

        For an event loop (``await asyncio.wrap_future(store.write_soon(fn))``): the commit
        waits for its fsync in the writer thread, not on the loop. Writes handed over while one
        commits are committed together after it (a group commit: one fsync for the group, up
        to MAX_GROUP); each ``fn`` runs in a savepoint of its own, so one that raises is undone
        alone and only its future gets the error. A future cancelled before its turn is not
        run. :meth:`close` waits for what was handed over."""
        fut: Future[T] = Future()
        with self._group_lock:
            self._group.append((fn, fut))
            if self._draining:
                return fut
            self._draining = True
        try:
            self._submit(self._drain)
        except BaseException:
            with self._group_lock:
                self._draining = False
            raise
        return fut

    def _drain(self) -> None:
        while True:
            with self._group_lock:
                group, self._group = self._group[:MAX_GROUP], self._group[MAX_GROUP:]
                if not group:
                    self._draining = False
                    return
            self._commit_group(
                [(fn, fut) for fn, fut in group if fut.set_running_or_notify_cancel()]
            )

    def _commit_group(self, group: list[tuple[Callable[[StoreTx], Any], Future[Any]]]) -> None:
        if not group:
            return
        done: list[tuple[Future[Any], Any, BaseException | None]] = []
        try:
            with self.transaction() as tx:
                for fn, fut in group:
                    try:
                        with tx.savepoint():
                            done.append((fut, fn(tx), None))
                    except Exception as exc:  # handed to its caller, who raises it
                        done.append((fut, None, exc))
        except BaseException as exc:  # no transaction, or no commit: none of it was written
            # Each caller gets the error (and raises it): the writer thread goes on.
            for _, fut in group:
                fut.set_exception(exc)
            return
        for fut, value, error in done:
            if error is None:
                fut.set_result(value)
            else:
                fut.set_exception(error)

    def _submit(self, fn: Callable[[], None]) -> None:
        with self._writer_lock:
            if self._writer is None or self._writer_pid != os.getpid():
                self._writer = ThreadPoolExecutor(
                    max_workers=1, thread_name_prefix=_WRITER_NAME, initializer=self._mark_writer
                )
                self._writer_pid = os.getpid()
            self._writer.submit(fn)

    def _mark_writer(self) -> None:
        self._local.writer = True

    # -- transactions --------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[StoreTx]:
        """A write transaction: the write lock is held from the first read to the commit.
        Keep it short and never await inside it."""
        if not self.writable:
            raise StoreError(
                f"cannot change the registry {self.path}: you have no write permission on it"
            )
        with self._write_lock, self._use() as conn:
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise StoreError(f"the registry {self.path} is busy: {exc}") from None
            try:
                yield StoreTx(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            else:
                conn.execute("COMMIT")

    @contextmanager
    def reading(self) -> Iterator[StoreTx]:
        """A read transaction: one consistent snapshot, never blocked by writers (WAL).

        A reader's connection can meet the moment a writer removes or recreates the WAL
        (SQLite then says "attempt to write a readonly database"): the error is one line, and
        the next read opens a fresh connection."""
        try:
            with self._use() as conn:
                conn.execute("BEGIN")
                try:
                    yield StoreTx(conn)
                finally:
                    conn.execute("ROLLBACK")
        except sqlite3.OperationalError as exc:
            if _DAMAGE.search(str(exc)):
                raise self._damaged(exc) from None
            handle = getattr(self._local, "handle", None)
            if handle is not None:
                self._close_handle(handle)
            raise StoreError(
                f"cannot read the registry {self.path} just now ({exc}): try again"
            ) from None
        except (sqlite3.DatabaseError, ValueError) as exc:
            # A value the store cannot read back (a timestamp that is not one, text that is
            # not UTF-8) was not written by mailauth-tui.
            raise self._damaged(exc) from None

    # -- reads, for convenience ----------------------------------------------------------

    def get_domain(self, domain: str) -> DomainRecord | None:
        with self.reading() as tx:
            return tx.get_domain(domain)

    def list_domains(self) -> list[DomainRecord]:
        with self.reading() as tx:
            return tx.list_domains()

    def due_domains(self, now: datetime) -> list[DomainRecord]:
        with self.reading() as tx:
            return tx.due_domains(now)

    def recheck_page(
        self, now: datetime, *, due_only: bool, after: PageKey | None, limit: int
    ) -> tuple[list[str], PageKey | None]:
        with self.reading() as tx:
            return tx.recheck_page(now, due_only=due_only, after=after, limit=limit)

    def journal(self, domain: str | None = None, limit: int = 100) -> list[JournalRecord]:
        with self.reading() as tx:
            return tx.journal(domain, limit)

    def get_meta(self, key: str) -> str | None:
        with self.reading() as tx:
            return tx.get_meta(key)

    def admins(self) -> list[AdminRecord]:
        with self.reading() as tx:
            return tx.admins()


_WRITER_NAME = "registry-store-writer"
# SQLite's words for a schema or a value that is not what mailauth-tui wrote.
_DAMAGE = re.compile(r"no such (table|column)|could not decode|malformed", re.IGNORECASE)


def _schema_version(conn: sqlite3.Connection, path: Path) -> int:
    """The schema version, after refusing what is not a registry this version can use."""
    latest = len(MIGRATIONS)
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version > latest:
        raise StoreError(
            f"{path} was written by a newer mailauth-tui (schema {version}, this one "
            f"knows {latest}): upgrade mailauth-tui; nothing was changed"
        )
    if version < 0:
        raise RegistryDamaged(
            f"registry damaged: {path} (schema version {version}): restore it from a backup, "
            "or give another --db"
        )
    if version == 0 and conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
        raise RegistryDamaged(
            f"{path} is another program's database, not a mailauth-tui registry: "
            "give another --db; nothing was changed"
        )
    return version


def _check_schema(conn: sqlite3.Connection, path: Path) -> None:
    """What a reader (who cannot migrate) needs: the schema this version uses."""
    version = _schema_version(conn, path)
    if version == 0:
        raise NoRegistry(path)  # an empty file: nobody made a registry in it yet
    if version < len(MIGRATIONS):
        raise StoreError(
            f"the registry {path} has schema {version}, older than this mailauth-tui's "
            f"({len(MIGRATIONS)}), and you cannot write it: an admin upgrades it by running "
            "any mailauth-tui command on it once"
        )


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Bring the schema up to date in one transaction; refuse a newer database."""
    latest = len(MIGRATIONS)
    version = _schema_version(conn, path)
    if version == latest:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        # Another process may have migrated while this one waited for the lock.
        version = _schema_version(conn, path)
        for number in range(version, latest):
            MIGRATIONS[number](conn)
            conn.execute(f"PRAGMA user_version = {number + 1}")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
