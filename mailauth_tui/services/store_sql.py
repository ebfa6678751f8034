"""The SQL both backends share: reads and writes inside one open transaction.

Written once, in the SQL that SQLite and PostgreSQL both accept (``ON CONFLICT``, row-value
comparisons, ``TRUE``), with ``?`` placeholders; a backend hands :class:`StoreTx` a
:class:`Connection` that runs it (PostgreSQL's turns ``?`` into ``%s``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Protocol

from mailauth_tui.services.store_api import (
    KEY_COLUMNS,
    UPDATABLE,
    AdminRecord,
    DomainRecord,
    DuplicateDomain,
    JournalRecord,
    KeyRecord,
    PageKey,
    domain_from_row,
    from_iso,
    key_from_row,
    required_time,
    sql_value,
    to_iso,
)


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """What StoreTx needs of a backend's connection."""

    # the columns of ``domains`` this session reads (PostgreSQL's reader role: no code hash)
    domain_columns: str
    integrity_errors: tuple[type[Exception], ...]

    def execute(self, query: str, params: Sequence[object] = ()) -> Cursor: ...


_ALL = "TRUE"
# In the re-check cycle (checked at least once) and due: the one definition, see is_due.
_DUE = "last_check_at IS NOT NULL AND next_check_at IS NOT NULL AND next_check_at <= ?"
# The same, on the domains table named ``d`` in a join.
_DUE_D = "d.last_check_at IS NOT NULL AND d.next_check_at IS NOT NULL AND d.next_check_at <= ?"


class StoreTx:
    """Reads and writes inside one open transaction (see :meth:`Store.transaction`)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        # Read once a transaction: every check result of a write group asks (the writer
        # holds the write lock, so no other writer changes them meanwhile).
        self._admins: list[AdminRecord] | None = None

    # -- domains -------------------------------------------------------------------------

    def get_domain(self, domain: str) -> DomainRecord | None:
        row = self._conn.execute(
            f"SELECT {self._conn.domain_columns} FROM domains WHERE domain = ?", (domain,)
        ).fetchone()
        if row is None:
            return None
        return domain_from_row(row, self._keys(domain))

    def _with_keys(self, where: str, args: tuple[object, ...], order: str) -> list[DomainRecord]:
        """The domains matching ``where`` with their keys, in two queries (not one per row)."""
        keys: dict[str, list[KeyRecord]] = {}
        of = "" if where == _ALL else f"WHERE domain IN (SELECT domain FROM domains WHERE {where})"
        for row in self._conn.execute(
            f"SELECT {KEY_COLUMNS} FROM dkim_keys {of} ORDER BY created_at, id",
            args,
        ):
            keys.setdefault(row["domain"], []).append(key_from_row(row))
        rows = self._conn.execute(
            f"SELECT {self._conn.domain_columns} FROM domains WHERE {where} ORDER BY {order}", args
        )
        return [domain_from_row(r, tuple(keys.get(r["domain"], ()))) for r in rows]

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
            keys = [(str(r["next_check_at"]), str(r["domain"])) for r in rows]
        else:
            rows = self._conn.execute(
                "SELECT domain FROM domains WHERE domain > ? ORDER BY domain LIMIT ?",
                ("" if after is None else after[1], limit),
            ).fetchall()
            keys = [("", str(r["domain"])) for r in rows]
        names = [k[1] for k in keys]
        return names, (keys[-1] if len(keys) == limit else None)

    def claim_due(
        self,
        now: datetime,
        *,
        at: datetime,
        owner: str,
        until: datetime,
        limit: int,
        lock: str = "",
    ) -> list[str]:
        """Lease up to ``limit`` domains due at ``now`` (the round's start) that nobody holds
        a live lease on at ``at`` (the time now), the most overdue first, to ``owner`` until
        ``until``; their names. ``lock`` is PostgreSQL's
        ``FOR UPDATE OF d SKIP LOCKED``: rows another worker is leasing now are passed over
        instead of waited for (SQLite's writers take turns: no clause needed)."""
        rows = self._conn.execute(
            "SELECT d.domain FROM domains d LEFT JOIN recheck_leases l ON l.domain = d.domain "
            f"WHERE {_DUE_D} "
            "AND (l.until IS NULL OR l.until <= ?) "
            f"ORDER BY d.next_check_at, d.domain LIMIT ? {lock}",
            (to_iso(now), to_iso(at), max(1, limit)),
        ).fetchall()
        names = [str(r["domain"]) for r in rows]
        for name in names:
            self._conn.execute(
                "INSERT INTO recheck_leases (domain, owner, until) VALUES (?, ?, ?) "
                "ON CONFLICT (domain) DO UPDATE SET owner = excluded.owner, "
                "until = excluded.until",
                (name, owner, to_iso(until)),
            )
        return names

    def leased_due(self, now: datetime, *, at: datetime) -> datetime | None:
        """When the first lease live at ``at`` on a domain due at ``now`` expires (None: no
        due domain is left): a worker that found nothing to claim waits for it, in case its
        holder was killed. A due domain without a live lease counts as ``at``: the claim
        passed it over because a transaction still holds its row (PostgreSQL's SKIP LOCKED:
        a killed worker's, until its server session has rolled back), so it is tried again
        soon rather than left out of the round."""
        row = self._conn.execute(
            "SELECT min(CASE WHEN l.until > ? THEN l.until ELSE ? END) AS first "
            "FROM domains d LEFT JOIN recheck_leases l "
            f"ON d.domain = l.domain WHERE {_DUE_D}",
            (to_iso(at), to_iso(at), to_iso(now)),
        ).fetchone()
        return from_iso(row["first"]) if row is not None else None

    def release_lease(self, domain: str) -> None:
        self._conn.execute("DELETE FROM recheck_leases WHERE domain = ?", (domain,))

    def release_leases_of(self, owner: str) -> None:
        """Drop what ``owner`` still holds (an interrupted walk hands its domains back)."""
        self._conn.execute("DELETE FROM recheck_leases WHERE owner = ?", (owner,))

    def renew_leases(self, owner: str, until: datetime, lock: str = "") -> int:
        """Extend what ``owner`` holds: a released lease (its domain done) or one another
        worker took over (expired, claimed anew) is not owner's any more and stays as it is.
        ``lock`` is PostgreSQL's ``FOR UPDATE SKIP LOCKED``: the renewal runs beside the
        owner's own write group, which releases leases row by row; waiting for those rows
        in another order deadlocks, and a row being released needs no renewal anyway."""
        cur = self._conn.execute(
            "UPDATE recheck_leases SET until = ? WHERE owner = ? AND domain IN "
            f"(SELECT domain FROM recheck_leases WHERE owner = ? {lock})",
            (to_iso(until), owner, owner),
        )
        return cur.rowcount

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
                    sql_value(ownership),
                    code_hash,
                    None if code_expires_at is None else to_iso(code_expires_at),
                    None if code_sent_at is None else to_iso(code_sent_at),
                ),
            )
        except self._conn.integrity_errors:
            raise DuplicateDomain(domain) from None

    def update_domain(self, domain: str, changes: Mapping[str, object]) -> None:
        unknown = set(changes) - UPDATABLE
        if unknown:
            raise ValueError(f"not updatable: {', '.join(sorted(unknown))}")
        if not changes:
            return
        columns = list(changes)
        assignments = ", ".join(f"{c} = ?" for c in columns)
        values = [sql_value(changes[c]) for c in columns]
        self._conn.execute(f"UPDATE domains SET {assignments} WHERE domain = ?", (*values, domain))

    def delete_domain(self, domain: str) -> bool:
        cur = self._conn.execute("DELETE FROM domains WHERE domain = ?", (domain,))
        return cur.rowcount > 0

    # -- DKIM keys -----------------------------------------------------------------------

    def _keys(self, domain: str) -> tuple[KeyRecord, ...]:
        rows = self._conn.execute(
            f"SELECT {KEY_COLUMNS} FROM dkim_keys WHERE domain = ? ORDER BY created_at, id",
            (domain,),
        )
        return tuple(key_from_row(r) for r in rows)

    def add_key(self, domain: str, key: KeyRecord) -> None:
        self._conn.execute(
            f"INSERT INTO dkim_keys ({KEY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
                key.selftest_passed,
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

    def delete_key(self, domain: str, selector: str) -> bool:
        cur = self._conn.execute(
            "DELETE FROM dkim_keys WHERE domain = ? AND selector = ?", (domain, selector)
        )
        return cur.rowcount > 0

    def set_key_active(self, domain: str, selector: str, active: bool) -> None:
        self._conn.execute(
            "UPDATE dkim_keys SET active = ? WHERE domain = ? AND selector = ?",
            (int(active), domain, selector),
        )

    def set_key_selftest(self, domain: str, selector: str, fingerprint: str) -> None:
        self._conn.execute(
            "UPDATE dkim_keys SET selftest_passed = ? WHERE domain = ? AND selector = ?",
            (fingerprint, domain, selector),
        )

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """Undo what the block wrote if it raises; the transaction goes on."""
        self._conn.execute("SAVEPOINT one_change")
        try:
            yield
        except BaseException:
            self._admins = None  # an admin added or removed in the block is undone too
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
                at=required_time(r["at"]),
                domain=r["domain"],
                actor=r["actor"],
                event=r["event"],
                detail=r["detail"],
            )
            for r in rows
        ]

    def all_meta(self) -> dict[str, str]:
        return {str(r["key"]): str(r["value"]) for r in self._conn.execute("SELECT * FROM meta")}

    def journal_in_order(self, after: int, limit: int) -> list[tuple[int, JournalRecord]]:
        """Journal entries with ids above ``after``, oldest first (for copying a registry
        a batch at a time)."""
        rows = self._conn.execute(
            "SELECT id, at, domain, actor, event, detail FROM journal WHERE id > ? "
            "ORDER BY id LIMIT ?",
            (after, limit),
        )
        return [
            (
                int(r["id"]),
                JournalRecord(
                    required_time(r["at"]), r["domain"], r["actor"], r["event"], r["detail"]
                ),
            )
            for r in rows
        ]

    def is_empty(self) -> bool:
        """No domain, journal entry or admin: a registry nothing was done with."""
        row = self._conn.execute(
            "SELECT (SELECT count(*) FROM domains) + (SELECT count(*) FROM journal) "
            "+ (SELECT count(*) FROM admins) AS n"
        ).fetchone()
        return int(row["n"]) == 0

    def put_private_key(self, key_ref: str, pem: bytes) -> None:
        """PostgreSQL only (the private keys' table): a key copied from a SQLite registry."""
        self._conn.execute(
            "INSERT INTO dkim_private_keys (key_ref, pem) VALUES (?, ?)", (key_ref, pem)
        )

    def get_meta(self, key: str) -> str | None:
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row["value"])

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
        if self._admins is None:
            rows = self._conn.execute("SELECT login, added_by, added_at FROM admins ORDER BY login")
            self._admins = [
                AdminRecord(r["login"], r["added_by"], required_time(r["added_at"])) for r in rows
            ]
        return list(self._admins)

    def add_admin(self, login: str, added_by: str, added_at: datetime) -> bool:
        """False when ``login`` was an admin already."""
        self._admins = None
        cur = self._conn.execute(
            "INSERT INTO admins (login, added_by, added_at) VALUES (?, ?, ?) "
            "ON CONFLICT (login) DO NOTHING",
            (login, added_by, to_iso(added_at)),
        )
        return cur.rowcount > 0

    def remove_admin(self, login: str) -> bool:
        self._admins = None
        cur = self._conn.execute("DELETE FROM admins WHERE login = ?", (login,))
        return cur.rowcount > 0

    def setdefault_meta(self, key: str, value: str) -> str:
        """Store ``value`` unless the key is set; return what the key holds afterwards."""
        self._conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING", (key, value)
        )
        current = self.get_meta(key)
        assert current is not None
        return current
