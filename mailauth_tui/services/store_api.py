"""What every registry store gives the registry, whatever holds the data.

Two backends satisfy :class:`RegistryStore`: SQLite (:mod:`services.store`, one file shared by
the processes of one host) and PostgreSQL (:mod:`services.pg_store`, one server shared by many
hosts). The registry sees only this Protocol; the entry point (``cli/wiring.py``) picks the
backend from ``--db``. Rows come back as frozen dataclasses; times are stored as ISO 8601 UTC
text with microseconds on both backends (fixed width, so they sort as text), so one mapping
serves both.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import Future
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


class Row(Protocol):
    """A row by column name: ``sqlite3.Row`` and psycopg's dict rows alike."""

    def __getitem__(self, key: str) -> Any: ...


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
    # Fingerprint of the (private key, published record) pair that last passed the DKIM
    # self-test (registry.selftest.fingerprint); None until one passes.
    selftest_passed: str | None = None


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


def required_time(value: str) -> datetime:
    parsed = from_iso(value)
    assert parsed is not None
    return parsed


UPDATABLE = frozenset(
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

DOMAIN_COLUMNS = (
    "domain, domain_unicode, address, added_by, added_at, ownership, code_hash, "
    "code_expires_at, code_attempts, code_sent_at, dkim_state, spf_state, dmarc_state, "
    "dmarc_policy, last_check_at, next_check_at, evidence, dkim_streak, spf_streak, dmarc_streak"
)
KEY_COLUMNS = (
    "domain, selector, key_type, key_bits, public_key, key_ref, created_at, active, "
    "retired_at, remove_after, selftest_passed"
)


def is_due(rec: DomainRecord, now: datetime) -> bool:
    """What the ``_DUE`` condition says, for a row already read."""
    return (
        rec.last_check_at is not None and rec.next_check_at is not None and rec.next_check_at <= now
    )


def sql_value(value: object) -> object:
    if isinstance(value, datetime):
        return to_iso(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, bool):
        return int(value)
    if value is None or isinstance(value, int | str):
        return value
    raise TypeError(f"the store cannot hold a {type(value).__name__}")


def key_from_row(row: Row) -> KeyRecord:
    return KeyRecord(
        selector=row["selector"],
        key_type=row["key_type"],
        key_bits=row["key_bits"],
        public_key=row["public_key"],
        key_ref=row["key_ref"],
        created_at=required_time(row["created_at"]),
        active=bool(row["active"]),
        retired_at=from_iso(row["retired_at"]),
        remove_after=from_iso(row["remove_after"]),
        selftest_passed=row["selftest_passed"],
    )


def domain_from_row(row: Row, keys: tuple[KeyRecord, ...]) -> DomainRecord:
    return DomainRecord(
        domain=row["domain"],
        domain_unicode=row["domain_unicode"],
        address=row["address"],
        added_by=row["added_by"],
        added_at=required_time(row["added_at"]),
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


class DuplicateDomain(StoreError):
    def __init__(self, domain: str) -> None:
        super().__init__(f"{domain} is already in the registry")
        self.domain = domain


class RegistryTx(Protocol):
    """Reads and writes inside one open transaction."""

    def get_domain(self, domain: str) -> DomainRecord | None: ...
    def list_domains(self) -> list[DomainRecord]: ...
    def due_domains(self, now: datetime) -> list[DomainRecord]: ...
    def recheck_page(
        self, now: datetime, *, due_only: bool, after: PageKey | None, limit: int
    ) -> tuple[list[str], PageKey | None]: ...
    def claim_due(
        self,
        now: datetime,
        *,
        at: datetime,
        owner: str,
        until: datetime,
        limit: int,
        lock: str = "",
    ) -> list[str]: ...
    def leased_due(self, now: datetime, *, at: datetime) -> datetime | None: ...
    def release_lease(self, domain: str) -> None: ...
    def release_leases_of(self, owner: str) -> None: ...
    def renew_leases(self, owner: str, until: datetime) -> int: ...
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
    ) -> None: ...
    def update_domain(self, domain: str, changes: Mapping[str, object]) -> None: ...
    def delete_domain(self, domain: str) -> bool: ...
    def add_key(self, domain: str, key: KeyRecord) -> None: ...
    def set_key_active(self, domain: str, selector: str, active: bool) -> None: ...
    def delete_key(self, domain: str, selector: str) -> bool: ...
    def set_key_selftest(self, domain: str, selector: str, fingerprint: str) -> None: ...
    def retire_key(
        self, domain: str, selector: str, at: datetime, remove_after: datetime
    ) -> None: ...
    def savepoint(self) -> AbstractContextManager[None]: ...
    def add_journal(
        self, at: datetime, domain: str, actor: str, event: str, detail: str
    ) -> None: ...
    def journal(self, domain: str | None = None, limit: int = 100) -> list[JournalRecord]: ...
    def get_meta(self, key: str) -> str | None: ...
    def set_meta(self, key: str, value: str) -> None: ...
    def delete_meta(self, key: str) -> None: ...
    def setdefault_meta(self, key: str, value: str) -> str: ...
    def admins(self) -> list[AdminRecord]: ...
    def add_admin(self, login: str, added_by: str, added_at: datetime) -> bool: ...
    def remove_admin(self, login: str) -> bool: ...


class RegistryStore(Protocol):
    """A registry's storage. ``where`` names it in messages (a path, or a URL without its
    password); ``writable`` says whether the storage lets this session write (the file's
    modes on SQLite, the privileges the server reports on PostgreSQL); ``session_role`` is
    the database's name for the session (PostgreSQL's ``current_user``), None where the
    operating system's login is the actor (SQLite)."""

    @property
    def where(self) -> str: ...
    @property
    def writable(self) -> bool: ...
    @property
    def session_role(self) -> str | None: ...
    @property
    def schema_version(self) -> int: ...

    def transaction(self) -> AbstractContextManager[RegistryTx]: ...
    def reading(self) -> AbstractContextManager[RegistryTx]: ...
    def write_soon(self, fn: Callable[[RegistryTx], T]) -> Future[T]: ...
    def get_domain(self, domain: str) -> DomainRecord | None: ...
    def list_domains(self) -> list[DomainRecord]: ...
    def due_domains(self, now: datetime) -> list[DomainRecord]: ...
    def recheck_page(
        self, now: datetime, *, due_only: bool, after: PageKey | None, limit: int
    ) -> tuple[list[str], PageKey | None]: ...
    def journal(self, domain: str | None = None, limit: int = 100) -> list[JournalRecord]: ...
    def get_meta(self, key: str) -> str | None: ...
    def admins(self) -> list[AdminRecord]: ...
    def claim_due(
        self, now: datetime, *, at: datetime, owner: str, until: datetime, limit: int
    ) -> list[str]:
        """Lease a batch of due domains to ``owner`` (see StoreTx.claim_due), committed."""
        ...

    def leased_due(self, now: datetime, *, at: datetime) -> datetime | None: ...
    def renew_leases(self, owner: str, until: datetime) -> int:
        """Extend every lease ``owner`` still holds to ``until``, committed; how many."""
        ...

    def change_token(self) -> object: ...
    def close(self) -> None: ...
