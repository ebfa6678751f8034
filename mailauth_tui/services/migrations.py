"""The registry's schema, as a list of migrations.

The database's ``PRAGMA user_version`` is the number of migrations applied. A migration is
appended, never edited: a database made by an older version is brought forward step by step,
inside one transaction, by whichever process opens it first.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

Migration = Callable[[sqlite3.Connection], None]


def _v1_initial(conn: sqlite3.Connection) -> None:
    statements = [
        """
        CREATE TABLE meta (
            key   TEXT PRIMARY KEY,
            value TEXT NOT NULL
        )
        """,
        # Times are ISO 8601 UTC text with microseconds (fixed width, so they compare as text).
        """
        CREATE TABLE domains (
            domain          TEXT PRIMARY KEY,      -- ASCII (punycode), lower case
            domain_unicode  TEXT NOT NULL,
            address         TEXT NOT NULL,
            added_by        TEXT NOT NULL,
            added_at        TEXT NOT NULL,
            ownership       TEXT NOT NULL,
            code_hash       TEXT,                  -- salted hash only, never the code
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
            -- consecutive looks that found a verified record gone or different
            dkim_streak     INTEGER NOT NULL DEFAULT 0,
            spf_streak      INTEGER NOT NULL DEFAULT 0,
            dmarc_streak    INTEGER NOT NULL DEFAULT 0
        )
        """,
        "CREATE INDEX domains_next_check ON domains (next_check_at)",
        """
        CREATE TABLE dkim_keys (
            id          INTEGER PRIMARY KEY,
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
        # No foreign key: the journal outlives a removed domain.
        """
        CREATE TABLE journal (
            id      INTEGER PRIMARY KEY,
            at      TEXT NOT NULL,
            domain  TEXT NOT NULL,
            actor   TEXT NOT NULL,
            event   TEXT NOT NULL,
            detail  TEXT NOT NULL DEFAULT ''
        )
        """,
        "CREATE INDEX journal_domain ON journal (domain, id)",
    ]
    for statement in statements:
        conn.execute(statement)


# Set by _v2_admins on a registry made before admins were kept in it: the settings file's
# ``admins`` list, which granted rights until then, is imported once by an admin.
LEGACY_ADMINS_KEY = "import_settings_admins"


def _v2_admins(conn: sqlite3.Connection) -> None:
    """Admins are kept in the registry: a per-user settings file can no longer grant rights.
    The creator recorded by version 1 (meta ``created_by``) becomes the first admin."""
    conn.execute(
        """
        CREATE TABLE admins (
            login    TEXT PRIMARY KEY,   -- the OS login (SQLite) or database role
            added_by TEXT NOT NULL,
            added_at TEXT NOT NULL
        )
        """
    )
    row = conn.execute("SELECT value FROM meta WHERE key = 'created_by'").fetchone()
    if row is not None:
        conn.execute(
            "INSERT INTO admins (login, added_by, added_at) "
            "VALUES (?, ?, strftime('%Y-%m-%dT%H:%M:%f000+00:00', 'now'))",
            (row[0], row[0]),
        )
        conn.execute("INSERT INTO meta (key, value) VALUES (?, 'pending')", (LEGACY_ADMINS_KEY,))


def _v3_retired_keys(conn: sqlite3.Connection) -> None:
    """When a key stopped signing, and from when its DNS record may go: mail signed with it
    can still be in transit or verified again later (forwarded, re-checked) until then."""
    conn.execute("ALTER TABLE dkim_keys ADD COLUMN retired_at TEXT")
    conn.execute("ALTER TABLE dkim_keys ADD COLUMN remove_after TEXT")


def _v4_recheck_leases(conn: sqlite3.Connection) -> None:
    """Re-checks started on several hosts share the due domains: a worker leases a batch
    before checking it; a lease that was not released (a killed worker) expires."""
    conn.execute(RECHECK_LEASES)


RECHECK_LEASES = """
    CREATE TABLE recheck_leases (
        domain TEXT PRIMARY KEY REFERENCES domains (domain) ON DELETE CASCADE,
        owner  TEXT NOT NULL,   -- host:pid:random of the worker
        until  TEXT NOT NULL    -- ISO time: after it, any worker may take the domain
    )
"""


def _v5_selftest_passed(conn: sqlite3.Connection) -> None:
    """The fingerprint of the private key and published record that last passed the DKIM
    self-test: a re-check that finds the same pair does not sign and verify it again."""
    conn.execute(SELFTEST_PASSED)


SELFTEST_PASSED = "ALTER TABLE dkim_keys ADD COLUMN selftest_passed TEXT"

MIGRATIONS: tuple[Migration, ...] = (
    _v1_initial,
    _v2_admins,
    _v3_retired_keys,
    _v4_recheck_leases,
    _v5_selftest_passed,
)
