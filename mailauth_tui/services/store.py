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
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Literal

from mailauth_tui.services.migrations import MIGRATIONS
from mailauth_tui.services.store_api import (
    DOMAIN_COLUMNS,
    AdminRecord,
    DomainRecord,
    DuplicateDomain,
    JournalRecord,
    KeyRecord,
    NoRegistry,
    PageKey,
    RegistryDamaged,
    StoreError,
    from_iso,
    is_due,
    to_iso,
)
from mailauth_tui.services.store_files import (
    can_write,
    connect_read_only,
    create_registry_file,
    unreadable,
    wal_exists,
)
from mailauth_tui.services.store_sql import StoreTx
from mailauth_tui.services.store_writer import MAX_GROUP, GroupWriter

__all__ = [
    "MAX_GROUP",
    "AdminRecord",
    "DomainRecord",
    "DuplicateDomain",
    "JournalRecord",
    "KeyRecord",
    "NoRegistry",
    "PageKey",
    "RegistryDamaged",
    "Store",
    "StoreError",
    "StoreTx",
    "from_iso",
    "is_due",
    "to_iso",
]

BUSY_TIMEOUT_S = 30.0

# FULL is the default and what the registry runs with. NORMAL (in WAL mode: durable when the
# process is killed, not on power loss) is for callers that choose so; OFF is for measuring
# what the syncs cost, never for a registry anyone relies on.
Synchronous = Literal["FULL", "NORMAL", "OFF"]


class _Sql:
    """A SQLite connection as :class:`StoreTx` uses it."""

    __slots__ = ("_conn",)
    domain_columns = DOMAIN_COLUMNS
    integrity_errors: tuple[type[Exception], ...] = (sqlite3.IntegrityError,)

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, query: str, params: Sequence[object] = ()) -> sqlite3.Cursor:
        return self._conn.execute(query, params)


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


class Store(GroupWriter):
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
        GroupWriter.__init__(self)
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
        self.stop_writer()
        with self._handles_lock:
            handles, self._handles = self._handles, []
        for handle in handles:
            self._close_handle(handle)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def where(self) -> str:
        return str(self.path)

    @property
    def session_role(self) -> str | None:
        return None  # the OS login of the process is the actor

    def change_token(self) -> object:
        """Changes when another connection commits (``PRAGMA data_version``, per connection:
        each thread polls with its own), for a console that shows others' changes live."""
        with self._use() as conn:
            return int(conn.execute("PRAGMA data_version").fetchone()[0])

    @property
    def schema_version(self) -> int:
        with self._use() as conn:
            return int(conn.execute("PRAGMA user_version").fetchone()[0])

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
                yield StoreTx(_Sql(conn))
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
                    yield StoreTx(_Sql(conn))
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

    def claim_due(
        self, now: datetime, *, at: datetime, owner: str, until: datetime, limit: int
    ) -> list[str]:
        with self.transaction() as tx:  # BEGIN IMMEDIATE: claims of several workers queue
            return tx.claim_due(now, at=at, owner=owner, until=until, limit=limit)

    def leased_due(self, now: datetime, *, at: datetime) -> datetime | None:
        with self.reading() as tx:
            return tx.leased_due(now, at=at)

    def renew_leases(self, owner: str, until: datetime) -> int:
        with self.transaction() as tx:
            return tx.renew_leases(owner, until)

    def journal(self, domain: str | None = None, limit: int = 100) -> list[JournalRecord]:
        with self.reading() as tx:
            return tx.journal(domain, limit)

    def get_meta(self, key: str) -> str | None:
        with self.reading() as tx:
            return tx.get_meta(key)

    def admins(self) -> list[AdminRecord]:
        with self.reading() as tx:
            return tx.admins()


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
