"""The registry's SQLite store: one file shared by every process that uses the registry.

- WAL journal, so readers never wait for a writer, and a busy timeout, so writers from several
  processes (two admins over SSH, a cron re-check) queue instead of failing.
- Each state change is one transaction. Read-modify-write (a code attempt, a re-check result)
  runs under ``BEGIN IMMEDIATE``: the write lock is taken before the read, so two processes
  cannot both consume the same attempt. A process killed mid-way leaves the last committed
  state: SQLite rolls an unfinished transaction back when the file is next opened.
- A connection belongs to the process (and is shared by its threads under a lock); a forked
  child opens its own instead of reusing the parent's.
- Rows come back as frozen dataclasses (DomainRecord, KeyRecord, JournalRecord), never tuples;
  the registry maps them to its own models (services do not import the registry).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path

from mailauth_tui.services.migrations import MIGRATIONS

BUSY_TIMEOUT_S = 30.0


class StoreError(Exception):
    """The database cannot be opened or used; the message says which file and why."""


@dataclass(frozen=True, slots=True)
class KeyRecord:
    selector: str
    key_type: str
    key_bits: int | None
    public_key: str
    key_ref: str
    created_at: datetime
    active: bool


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
_KEY_COLUMNS = "domain, selector, key_type, key_bits, public_key, key_ref, created_at, active"


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

    def list_domains(self) -> list[DomainRecord]:
        keys: dict[str, list[KeyRecord]] = {}
        for row in self._conn.execute(
            f"SELECT {_KEY_COLUMNS} FROM dkim_keys ORDER BY created_at, id"
        ):
            keys.setdefault(row["domain"], []).append(_key(row))
        rows = self._conn.execute(f"SELECT {_DOMAIN_COLUMNS} FROM domains ORDER BY domain")
        return [_domain(r, tuple(keys.get(r["domain"], ()))) for r in rows]

    def due_domains(self, now: datetime) -> list[DomainRecord]:
        """Domains in the re-check cycle (checked at least once) whose next check is due."""
        names = [
            r["domain"]
            for r in self._conn.execute(
                "SELECT domain FROM domains WHERE last_check_at IS NOT NULL "
                "AND next_check_at IS NOT NULL AND next_check_at <= ? "
                "ORDER BY next_check_at, domain",
                (to_iso(now),),
            )
        ]
        return [row for name in names if (row := self.get_domain(name)) is not None]

    def insert_domain(
        self,
        *,
        domain: str,
        domain_unicode: str,
        address: str,
        added_by: str,
        added_at: datetime,
        ownership: str,
        code_hash: str | None,
        code_expires_at: datetime | None,
        code_sent_at: datetime | None,
    ) -> None:
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
            f"INSERT INTO dkim_keys ({_KEY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                domain,
                key.selector,
                key.key_type,
                key.key_bits,
                key.public_key,
                key.key_ref,
                to_iso(key.created_at),
                int(key.active),
            ),
        )

    def set_key_active(self, domain: str, selector: str, active: bool) -> None:
        self._conn.execute(
            "UPDATE dkim_keys SET active = ? WHERE domain = ? AND selector = ?",
            (int(active), domain, selector),
        )

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


class Store:
    """The registry database at ``path`` (created, with its directory, when missing)."""

    def __init__(self, path: Path, *, busy_timeout: float = BUSY_TIMEOUT_S) -> None:
        self.path = Path(path)
        self._busy_timeout = busy_timeout
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._pid = 0
        with self._lock:
            self._connection()  # open now: a bad path or a newer schema fails at start-up

    # -- connection ----------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        if self._conn is not None and self._pid == os.getpid():
            return self._conn
        # A connection inherited through fork() must not be used (or closed) by the child.
        self._conn = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                self.path,
                timeout=self._busy_timeout,
                isolation_level=None,  # transactions are begun explicitly
                check_same_thread=False,  # guarded by self._lock
            )
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the registry {self.path}: {exc}") from None
        try:
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout * 1000)}")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise StoreError(f"{self.path}: the file system does not allow WAL mode")
            # FULL: a transaction reported committed survives a power cut, not only a kill.
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
            _migrate(conn, self.path)
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise StoreError(f"cannot use the registry {self.path}: {exc}") from None
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        self._pid = os.getpid()
        return conn

    def close(self) -> None:
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        with self._lock:
            return int(self._connection().execute("PRAGMA user_version").fetchone()[0])

    # -- transactions --------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[StoreTx]:
        """A write transaction: the write lock is held from the first read to the commit.
        Keep it short and never await inside it."""
        with self._lock:
            conn = self._connection()
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
        """A read transaction: one consistent snapshot, never blocked by writers (WAL)."""
        with self._lock:
            conn = self._connection()
            conn.execute("BEGIN")
            try:
                yield StoreTx(conn)
            finally:
                conn.execute("ROLLBACK")

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

    def journal(self, domain: str | None = None, limit: int = 100) -> list[JournalRecord]:
        with self.reading() as tx:
            return tx.journal(domain, limit)

    def get_meta(self, key: str) -> str | None:
        with self.reading() as tx:
            return tx.get_meta(key)


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Bring the schema up to date in one transaction; refuse a newer database."""
    latest = len(MIGRATIONS)
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version == latest:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        # Another process may have migrated while this one waited for the lock.
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if version > latest:
            raise StoreError(
                f"{path} was written by a newer mailauth-tui (schema {version}, this one "
                f"knows {latest}): upgrade mailauth-tui"
            )
        for number in range(version, latest):
            MIGRATIONS[number](conn)
            conn.execute(f"PRAGMA user_version = {number + 1}")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
