"""The registry's schema on PostgreSQL: the same numbered migrations as SQLite's
(:mod:`services.migrations`), written for PostgreSQL, plus the roles that enforce who reads
and writes what.

Everything lives in the schema ``mailauth``, owned by the admin role, so any member of that
role may apply later migrations and no one else can. ``mailauth.schema_version`` holds the
number of migrations applied (SQLite's ``PRAGMA user_version``).

The roles (NOLOGIN group roles; names from the settings' ``[registry]`` table) are granted to
login roles by whoever manages the server (README, "A PostgreSQL registry"):

- admin: owns every table: all reads and writes;
- reader: domain states, evidence, keys' public halves, the journal and the admins; not the
  code hashes (``domains.code_hash`` is left out of its column grant) and not the private keys
  (``dkim_private_keys`` is not granted at all);
- signer: the view ``signing_keys`` only (the active keys' private halves), for the services
  that sign mail.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from mailauth_tui.services.migrations import RECHECK_LEASES, SELFTEST_PASSED

SCHEMA = "mailauth"


@dataclass(frozen=True, slots=True)
class RoleNames:
    admin: str = "mailauth_admin"
    reader: str = "mailauth_reader"
    signer: str = "mailauth_signer"


PgMigration = Callable[[psycopg.Connection[Any], RoleNames], None]

# Every column of ``domains`` but the code hash: what the reader role may select.
READER_DOMAIN_COLUMNS = (
    "domain, domain_unicode, address, added_by, added_at, ownership, code_expires_at, "
    "code_attempts, code_sent_at, dkim_state, spf_state, dmarc_state, dmarc_policy, "
    "last_check_at, next_check_at, evidence, dkim_streak, spf_streak, dmarc_streak"
)


def _run(conn: psycopg.Connection[Any], statements: list[str]) -> None:
    for statement in statements:
        conn.execute(statement.encode())


def _v1_initial(conn: psycopg.Connection[Any], roles: RoleNames) -> None:
    # Times are ISO 8601 UTC text with microseconds, as on SQLite (see store_api).
    _run(
        conn,
        [
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
            """
            CREATE TABLE domains (
                domain          TEXT PRIMARY KEY,
                domain_unicode  TEXT NOT NULL,
                address         TEXT NOT NULL,
                added_by        TEXT NOT NULL,
                added_at        TEXT NOT NULL,
                ownership       TEXT NOT NULL,
                code_hash       TEXT,
                code_expires_at TEXT,
                code_attempts   INTEGER NOT NULL DEFAULT 0,
                code_sent_at    TEXT,
                dkim_state      TEXT NOT NULL DEFAULT 'not_checked',
                spf_state       TEXT NOT NULL DEFAULT 'not_checked',
                dmarc_state     TEXT NOT NULL DEFAULT 'not_checked',
                dmarc_policy    TEXT,
                last_check_at   TEXT,
                next_check_at   TEXT,
                evidence        TEXT NOT NULL DEFAULT '',
                dkim_streak     INTEGER NOT NULL DEFAULT 0,
                spf_streak      INTEGER NOT NULL DEFAULT 0,
                dmarc_streak    INTEGER NOT NULL DEFAULT 0
            )
            """,
            "CREATE INDEX domains_next_check ON domains (next_check_at)",
            """
            CREATE TABLE dkim_keys (
                id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                domain      TEXT NOT NULL REFERENCES domains (domain) ON DELETE CASCADE,
                selector    TEXT NOT NULL,
                key_type    TEXT NOT NULL,
                key_bits    INTEGER,
                public_key  TEXT NOT NULL,
                key_ref     TEXT NOT NULL,
                created_at  TEXT NOT NULL,
                active      INTEGER NOT NULL DEFAULT 1,
                UNIQUE (domain, selector)
            )
            """,
            """
            CREATE TABLE journal (
                id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                at      TEXT NOT NULL,
                domain  TEXT NOT NULL,
                actor   TEXT NOT NULL,
                event   TEXT NOT NULL,
                detail  TEXT NOT NULL DEFAULT ''
            )
            """,
            "CREATE INDEX journal_domain ON journal (domain, id)",
            # The private halves of the DKIM keys, in the database so every host that signs
            # reads the same ones: only the admin role (owner) and, through signing_keys, the
            # signer role read them.
            """
            CREATE TABLE dkim_private_keys (
                key_ref TEXT PRIMARY KEY,
                pem     BYTEA NOT NULL
            )
            """,
            """
            CREATE VIEW signing_keys AS
                SELECT k.domain, k.selector, k.key_type, p.pem
                FROM dkim_keys k JOIN dkim_private_keys p USING (key_ref)
                WHERE k.active = 1
            """,
        ],
    )


def _v2_admins(conn: psycopg.Connection[Any], roles: RoleNames) -> None:
    _run(
        conn,
        [
            """
            CREATE TABLE admins (
                login    TEXT PRIMARY KEY,
                added_by TEXT NOT NULL,
                added_at TEXT NOT NULL
            )
            """,
        ],
    )


def _v3_retired_keys(conn: psycopg.Connection[Any], roles: RoleNames) -> None:
    """As SQLite's version 3: when a key stopped signing, and from when its record may go."""
    _run(
        conn,
        [
            "ALTER TABLE dkim_keys ADD COLUMN retired_at TEXT",
            "ALTER TABLE dkim_keys ADD COLUMN remove_after TEXT",
        ],
    )


def _v4_recheck_leases(conn: psycopg.Connection[Any], roles: RoleNames) -> None:
    _run(conn, [RECHECK_LEASES])


def _v5_selftest_passed(conn: psycopg.Connection[Any], roles: RoleNames) -> None:
    """As SQLite's version 5: a hash (not the key) a reader may see like the rest of the row."""
    _run(conn, [SELFTEST_PASSED])


PG_MIGRATIONS: tuple[PgMigration, ...] = (
    _v1_initial,
    _v2_admins,
    _v3_retired_keys,
    _v4_recheck_leases,
    _v5_selftest_passed,
)


def create_roles(conn: psycopg.Connection[Any], roles: RoleNames) -> None:
    """The three group roles, where missing (roles belong to the whole server: another
    registry on it may have made them), and the admin role granted to the migrating user."""
    for name in (roles.admin, roles.reader, roles.signer):
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone()
        if exists is None:
            conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(name)))
    member = conn.execute(
        "SELECT pg_has_role(current_user, %s, 'MEMBER') AS member", (roles.admin,)
    ).fetchone()
    if member is None or not member["member"]:
        conn.execute(sql.SQL("GRANT {} TO CURRENT_USER").format(sql.Identifier(roles.admin)))


def grant(conn: psycopg.Connection[Any], roles: RoleNames) -> None:
    """What the reader and the signer may read (idempotent; run after every migration)."""
    reader, signer = sql.Identifier(roles.reader), sql.Identifier(roles.signer)
    schema = sql.Identifier(SCHEMA)
    for role in (reader, signer):
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(schema, role))
        conn.execute(sql.SQL("GRANT SELECT ON schema_version TO {}").format(role))
    conn.execute(sql.SQL("GRANT SELECT ON meta, dkim_keys, journal, admins TO {}").format(reader))
    conn.execute(
        sql.SQL("GRANT SELECT ({}) ON domains TO {}").format(sql.SQL(READER_DOMAIN_COLUMNS), reader)
    )
    conn.execute(sql.SQL("GRANT SELECT ON signing_keys TO {}").format(signer))
