"""The registry on a PostgreSQL server: one registry for every host (``--db postgresql://``).

- The same :class:`StoreTx` SQL as SQLite, through a connection pool (psycopg_pool) that checks
  a connection before handing it out, so a connection the server dropped is replaced.
- Writers queue on one advisory lock taken at the start of each write transaction, as SQLite's
  ``BEGIN IMMEDIATE`` does: a read-modify-write (a code attempt, a check result) from any host
  sees the last committed row and no other writer in between, so five wrong codes entered on
  two hosts at once still lock the code after five.
- Who may do what is the server's business: :attr:`writable` is what the server says the
  session's role may do, and the actor is that role (``current_user``). See
  :mod:`pg_migrations` for the roles.
- A write transaction sends ``NOTIFY mailauth_changes`` (delivered at commit); an open console
  listens (:meth:`change_token`) and reloads within a second.
- Every message names the registry by its URL without the password (:func:`redact`).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from mailauth_tui.services.migrations import MIGRATIONS
from mailauth_tui.services.pg_migrations import (
    PG_MIGRATIONS,
    READER_DOMAIN_COLUMNS,
    SCHEMA,
    RoleNames,
    create_roles,
    grant,
)
from mailauth_tui.services.pg_url import check_url, redact
from mailauth_tui.services.store_api import (
    DOMAIN_COLUMNS,
    AdminRecord,
    DomainRecord,
    JournalRecord,
    PageKey,
    StoreError,
)
from mailauth_tui.services.store_sql import StoreTx
from mailauth_tui.services.store_writer import GroupWriter

T = TypeVar("T")

CHANNEL = "mailauth_changes"
# One advisory lock for every writer of a registry database ("mailauth" in ASCII).
_WRITE_LOCK = 0x6D61696C61757468
_MIGRATE_LOCK = _WRITE_LOCK + 1
CONNECT_TIMEOUT_S = 5


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0].strip() if text else type(exc).__name__


def _one(conn: psycopg.Connection[Any], query: str, params: Sequence[object] = ()) -> Any:
    """The one row a query about the session or the schema always returns."""
    row = conn.execute(query.encode(), params).fetchone()
    assert row is not None
    return row


class _PgSql:
    """A psycopg connection as :class:`StoreTx` uses it (``?`` placeholders become ``%s``)."""

    __slots__ = ("_conn", "domain_columns")
    integrity_errors: tuple[type[Exception], ...] = (psycopg.errors.UniqueViolation,)

    def __init__(self, conn: psycopg.Connection[Any], domain_columns: str) -> None:
        self._conn = conn
        self.domain_columns = domain_columns

    def execute(self, query: str, params: Sequence[object] = ()) -> psycopg.Cursor[Any]:
        return self._conn.execute(query.replace("?", "%s").encode(), params)


class PgStore(GroupWriter):
    """The registry in the database named by ``url``.

    ``migrate``: create the schema and the roles, or bring them up to date (``mailauth-tui
    migrate``; only a member of the admin role, or on a new database a role that may create
    roles, can). ``create``: the same, but only when something is missing (``init``, ``add``:
    nobody's role is checked on an up-to-date schema). Otherwise a missing or older schema is
    refused with what to run.
    A schema newer than this code is always refused. Raises StoreError in one line."""

    def __init__(
        self,
        url: str,
        *,
        migrate: bool = False,
        create: bool = False,
        roles: RoleNames | None = None,
        pool_size: int = 4,
        connect_timeout: float = CONNECT_TIMEOUT_S,
    ) -> None:
        try:
            self._url = check_url(url)
        except ValueError as exc:
            raise StoreError(str(exc)) from None
        GroupWriter.__init__(self)
        self._where = redact(url)
        self.roles = roles or RoleNames()
        self._timeout = connect_timeout
        self.migrated = 0
        with self._connect() as conn:
            if migrate or create:
                self.migrated = self._migrate(conn, check_role=migrate)
            self._inspect(conn)
        self._pool = ConnectionPool(
            self._url,
            min_size=1,
            max_size=max(1, pool_size),
            kwargs=self._connect_kwargs(),
            check=ConnectionPool.check_connection,
            timeout=max(30.0, connect_timeout),
            name="mailauth-registry",
            open=True,
        )
        self._listen_lock = threading.Lock()
        self._listener: threading.Thread | None = None
        self._changes = 0
        self._closed = threading.Event()

    # -- connections ---------------------------------------------------------------------

    def _connect_kwargs(self) -> dict[str, Any]:
        return {
            "autocommit": True,
            "row_factory": dict_row,
            "connect_timeout": max(1, round(self._timeout)),
            "options": f"-c search_path={SCHEMA}",
            "application_name": "mailauth-tui",
        }

    def _connect(self) -> psycopg.Connection[Any]:
        try:
            return psycopg.connect(self._url, **self._connect_kwargs())
        except psycopg.Error as exc:
            raise StoreError(
                f"cannot connect to the registry {self._where}: {_one_line(exc)}; check that "
                "the server runs and the URL, and that your password is in PGPASSWORD or "
                "~/.pgpass"
            ) from None

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except psycopg.errors.InsufficientPrivilege as exc:
            raise StoreError(
                f"the registry {self._where} refused: {_one_line(exc)}; ask its admin for "
                f"the role {self.roles.admin} (changes) or {self.roles.reader} (reading)"
            ) from None
        except psycopg.Error as exc:
            raise StoreError(f"the registry {self._where}: {_one_line(exc)}") from None

    def _retryable(self, exc: BaseException) -> bool:
        return isinstance(exc, psycopg.OperationalError) or (
            isinstance(exc, StoreError) and isinstance(exc.__context__, psycopg.OperationalError)
        )

    def _with_retry(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` (a read), once more on a new connection when the server dropped the
        one it had (a restart, a failover, an idle timeout)."""
        try:
            return fn()
        except StoreError as exc:
            if not self._retryable(exc):
                raise
        return fn()

    # -- schema --------------------------------------------------------------------------

    def _migrate(self, conn: psycopg.Connection[Any], *, check_role: bool) -> int:
        """Apply what is missing in one transaction; the number of migrations applied."""
        latest = len(PG_MIGRATIONS)
        with self._errors(), conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATE_LOCK,))
            exists = conn.execute(
                "SELECT 1 FROM pg_namespace WHERE nspname = %s", (SCHEMA,)
            ).fetchone()
            if exists is None:
                create_roles(conn, self.roles)
                conn.execute(
                    sql.SQL("CREATE SCHEMA {} AUTHORIZATION {}").format(
                        sql.Identifier(SCHEMA), sql.Identifier(self.roles.admin)
                    )
                )
            elif not check_role and self._stored_version(conn) == latest:
                return 0  # nothing to do: anyone's session may go on
            else:
                self._require_admin_role(conn)
            # Everything is made by, so owned by, the admin role: its members migrate later.
            conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(self.roles.admin)))
            conn.execute(f"SET LOCAL search_path = {SCHEMA}".encode())
            conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = conn.execute("SELECT version FROM schema_version").fetchone()
            if row is None:
                conn.execute("INSERT INTO schema_version (version) VALUES (0)")
                version = 0
            else:
                version = int(row["version"])
            self._refuse_newer(version)
            for number in range(version, latest):
                PG_MIGRATIONS[number](conn, self.roles)
            conn.execute("UPDATE schema_version SET version = %s", (latest,))
            grant(conn, self.roles)
        return latest - version

    @staticmethod
    def _stored_version(conn: psycopg.Connection[Any]) -> int | None:
        row = conn.execute(
            "SELECT to_regclass('mailauth.schema_version') IS NOT NULL AS present"
        ).fetchone()
        if row is None or not row["present"]:
            return None
        try:
            with conn.transaction():  # a savepoint: a refusal must not end the transaction
                version = conn.execute("SELECT version FROM mailauth.schema_version").fetchone()
        except psycopg.errors.InsufficientPrivilege:
            return None
        return None if version is None else int(version["version"])

    def _require_admin_role(self, conn: psycopg.Connection[Any]) -> None:
        row = _one(
            conn,
            "SELECT current_user AS who, "
            "EXISTS (SELECT 1 FROM pg_roles WHERE rolname = %s) "
            "AND pg_has_role(current_user, %s, 'MEMBER') AS member",
            (self.roles.admin, self.roles.admin),
        )
        if not row["member"]:
            raise StoreError(
                f"only the admin role {self.roles.admin} may migrate the registry "
                f"{self._where}; you are {row['who']}: ask its admin to run mailauth-tui migrate"
            )

    def _refuse_newer(self, version: int) -> None:
        if version > len(MIGRATIONS):
            raise StoreError(
                f"the registry {self._where} was written by a newer mailauth-tui (schema "
                f"{version}, this one knows {len(MIGRATIONS)}): upgrade mailauth-tui; "
                "nothing was changed"
            )

    def _inspect(self, conn: psycopg.Connection[Any]) -> None:
        """Who this session is, what the server lets it do, and whether the schema fits."""
        with self._errors():
            row = _one(
                conn, "SELECT current_user AS who, to_regclass('mailauth.schema_version') AS tbl"
            )
            self._role = str(row["who"])
            if row["tbl"] is None:
                raise StoreError(
                    f"no registry in {self._where} (or {self._role} may not see it): an admin "
                    "creates it with: mailauth-tui migrate --db URL; readers need the role "
                    f"{self.roles.reader}"
                )
        try:
            version_row = _one(conn, "SELECT version FROM schema_version")
        except psycopg.errors.InsufficientPrivilege:
            raise StoreError(
                f"{self._role} may not read the registry {self._where}: ask its admin to "
                f"grant you the role {self.roles.reader} (or {self.roles.admin})"
            ) from None
        version = int(version_row["version"])
        self._refuse_newer(version)
        if version < len(MIGRATIONS):
            raise StoreError(
                f"the registry {self._where} has schema {version}, older than this "
                f"mailauth-tui's ({len(MIGRATIONS)}): an admin upgrades it with: "
                "mailauth-tui migrate"
            )
        self._version = version
        with self._errors():
            rights = _one(
                conn,
                "SELECT has_table_privilege('mailauth.domains', 'UPDATE') "
                "AND has_table_privilege('mailauth.journal', 'INSERT') AS writable, "
                "has_column_privilege('mailauth.domains', 'code_hash', 'SELECT') AS codes",
            )
        self._writable = bool(rights["writable"])
        self._domain_columns = (
            DOMAIN_COLUMNS
            if rights["codes"]
            else READER_DOMAIN_COLUMNS.replace("ownership, ", "ownership, NULL AS code_hash, ", 1)
        )

    # -- what the registry asks ----------------------------------------------------------

    @property
    def where(self) -> str:
        return self._where

    @property
    def writable(self) -> bool:
        return self._writable

    @property
    def session_role(self) -> str | None:
        return self._role

    @property
    def schema_version(self) -> int:
        return self._version

    @contextmanager
    def transaction(self) -> Iterator[StoreTx]:
        """A write transaction, holding the registry's write lock from its first read to its
        commit (see the module's docstring)."""
        if not self._writable:
            raise StoreError(
                f"cannot change the registry {self._where}: the server gives {self._role} "
                "no write privilege on it"
            )
        with self._errors(), self._pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_WRITE_LOCK,))
            yield StoreTx(_PgSql(conn, self._domain_columns))
            conn.execute("SELECT pg_notify(%s, '')", (CHANNEL,))

    @contextmanager
    def reading(self) -> Iterator[StoreTx]:
        """One consistent snapshot (REPEATABLE READ), never waiting for writers."""
        with self._errors(), self._pool.connection() as conn, conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            yield StoreTx(_PgSql(conn, self._domain_columns))

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        """A pooled connection (autocommit), for the key store; errors in one line."""
        with self._errors(), self._pool.connection() as conn:
            yield conn

    def _read(self, fn: Callable[[StoreTx], T]) -> T:
        def once() -> T:
            with self.reading() as tx:
                return fn(tx)

        return self._with_retry(once)

    def get_domain(self, domain: str) -> DomainRecord | None:
        return self._read(lambda tx: tx.get_domain(domain))

    def list_domains(self) -> list[DomainRecord]:
        return self._read(lambda tx: tx.list_domains())

    def due_domains(self, now: datetime) -> list[DomainRecord]:
        return self._read(lambda tx: tx.due_domains(now))

    def recheck_page(
        self, now: datetime, *, due_only: bool, after: PageKey | None, limit: int
    ) -> tuple[list[str], PageKey | None]:
        return self._read(
            lambda tx: tx.recheck_page(now, due_only=due_only, after=after, limit=limit)
        )

    def journal(self, domain: str | None = None, limit: int = 100) -> list[JournalRecord]:
        return self._read(lambda tx: tx.journal(domain, limit))

    def get_meta(self, key: str) -> str | None:
        return self._read(lambda tx: tx.get_meta(key))

    def admins(self) -> list[AdminRecord]:
        return self._read(lambda tx: tx.admins())

    def claim_due(
        self, now: datetime, *, at: datetime, owner: str, until: datetime, limit: int
    ) -> list[str]:
        """Not under the write lock: workers on several hosts claim at once, each passing
        over the rows another is claiming (SKIP LOCKED)."""

        def once() -> list[str]:
            with self._errors(), self._pool.connection() as conn, conn.transaction():
                tx = StoreTx(_PgSql(conn, self._domain_columns))
                return tx.claim_due(
                    now,
                    at=at,
                    owner=owner,
                    until=until,
                    limit=limit,
                    lock="FOR UPDATE OF d SKIP LOCKED",
                )

        return self._with_retry(once)

    def leased_due(self, now: datetime, *, at: datetime) -> datetime | None:
        return self._read(lambda tx: tx.leased_due(now, at=at))

    def renew_leases(self, owner: str, until: datetime) -> int:
        """Not under the write lock either: only ``owner``'s own lease rows are touched, and
        those its write group holds are passed over (SKIP LOCKED)."""

        def once() -> int:
            with self._errors(), self._pool.connection() as conn, conn.transaction():
                tx = StoreTx(_PgSql(conn, self._domain_columns))
                return tx.renew_leases(owner, until, lock="FOR UPDATE SKIP LOCKED")

        return self._with_retry(once)

    # -- live updates --------------------------------------------------------------------

    def change_token(self) -> object:
        """A number that grows with every change any host commits (LISTEN/NOTIFY on a
        connection of its own, started on the first call)."""
        with self._listen_lock:
            if self._listener is None:
                self._listener = threading.Thread(
                    target=self._listen, name="mailauth-registry-listen", daemon=True
                )
                self._listener.start()
            return self._changes

    def _listen(self) -> None:
        while not self._closed.is_set():
            try:
                with psycopg.connect(self._url, **self._connect_kwargs()) as conn:
                    conn.execute(f"LISTEN {CHANNEL}".encode())
                    while not self._closed.is_set():
                        for _ in conn.notifies(timeout=0.5):
                            with self._listen_lock:
                                self._changes += 1
            except psycopg.Error:
                # Changes made while the connection was down were not heard: say "changed".
                with self._listen_lock:
                    self._changes += 1
                self._closed.wait(1.0)

    def close(self) -> None:
        self.stop_writer()
        self._closed.set()
        listener = self._listener
        if listener is not None and listener is not threading.current_thread():
            listener.join(timeout=2)
        with contextlib.suppress(psycopg.Error):
            self._pool.close()

    def __enter__(self) -> PgStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
