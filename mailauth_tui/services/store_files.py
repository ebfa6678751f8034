"""The registry file on disk: created without world access, opened read-only by readers.

On SQLite the file system is the real guard of the registry: whoever can write the file can
change it, whatever the client says. So a new registry is created owner-only (directory 0700
where this makes it, file 0600), and an organisation shares it by giving a Unix group write
access for admins and read access for readers (README, "Sharing a registry").

A reader without write permission opens the file with ``mode=ro``. In WAL mode that needs the
``-wal`` and ``-shm`` files beside the database, which SQLite deletes when the last writer
closes, and which a reader may not create. When they are missing the whole registry is in the
main file and no writer has it open, so it is read as ``immutable``; the store goes back to a
plain read-only connection as soon as a writer has made the WAL again (see ``wal_exists``).
"""

from __future__ import annotations

import os
import pwd
import sqlite3
from pathlib import Path


def create_registry_file(path: Path) -> bool:
    """Create an empty, owner-only registry file (and its directory, owner-only, when
    missing). False when another process created it first. Raises OSError."""
    # mkdir's mode applies to the directories it makes, never to one that exists (an
    # organisation's shared directory keeps its modes).
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        return False
    os.close(fd)
    return True


def _may(path: Path, mode: int) -> bool:
    # As the effective uid, the identity the registry journals (os.access checks the real one).
    return os.access(path, mode, effective_ids=os.access in os.supports_effective_ids)


def can_write(path: Path) -> bool:
    """Whether this process may write the registry: the file, and the directory where SQLite
    makes its ``-wal`` and ``-shm`` files (or those files, when they exist)."""
    if not _may(path, os.W_OK):
        return False
    if _may(path.parent, os.W_OK | os.X_OK):
        return True
    sidecars = [_sidecar(path, "-wal"), _sidecar(path, "-shm")]
    return all(_may(p, os.W_OK) for p in sidecars)


def unreadable(path: Path) -> str:
    """Why this process cannot read the registry file ("" when it can): its owner and mode,
    so that the user knows whom to ask."""
    if _may(path, os.R_OK):
        return ""
    info = path.stat()
    try:
        owner = pwd.getpwuid(info.st_uid).pw_name
    except KeyError:
        owner = f"uid {info.st_uid}"
    return f"owned by {owner}, mode {info.st_mode & 0o7777:04o}"


def wal_exists(path: Path) -> bool:
    return _sidecar(path, "-wal").exists()


def _sidecar(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def connect_read_only(path: Path, timeout: float) -> tuple[sqlite3.Connection, bool]:
    """A read-only connection, and whether it is the ``immutable`` kind (see the module's
    docstring). Raises sqlite3.Error."""
    uri = path.resolve().as_uri()
    conn = _connect(f"{uri}?mode=ro", timeout)
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.OperationalError:
        conn.close()
        if wal_exists(path):
            raise  # a writer's WAL that this reader cannot share: not safe to read around it
        return _connect(f"{uri}?mode=ro&immutable=1", timeout), True
    return conn, False


def _connect(uri: str, timeout: float) -> sqlite3.Connection:
    return sqlite3.connect(
        uri, uri=True, timeout=timeout, isolation_level=None, check_same_thread=False
    )
