"""The Registry: the console's whole workflow without the screen.

Every mutating method checks the role first, commits one short store transaction per state
change (never awaiting inside one) and journals what it did. Slow work (hashing a code,
generating a key, DNS, mail) happens outside transactions; what it decided is then written
under ``BEGIN IMMEDIATE`` after re-reading the row, so a change made meanwhile by another
process (a resend, a removal, another admin's attempt) is respected, never overwritten.

Check results (verify, re-check) are written by the store's writer thread
(:meth:`Store.write_soon`): the fsync of a commit is waited for there, so the event loop keeps
answering keys during a bulk re-check, and results that arrive together share one commit, each
in a savepoint of its own (all of it or none of it). A result is reported only once committed.

DKIM rotation: :meth:`Registry.rotate_dkim` adds a new key with a new dated selector, not yet
active. The current key keeps signing, and stays the one verified, until a check finds the new
key valid in DNS; that check makes the new key active and retires the old one. The retired
key's private file is kept (mail signed with it may still be in transit); its DNS record can be
removed a few days later. Removing a domain deletes its private keys.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from functools import partial
from pathlib import Path
from typing import Any, Protocol, cast, runtime_checkable

from mailauth_tui.core.check import check_domain
from mailauth_tui.core.dns_types import Resolver
from mailauth_tui.core.names import DomainName, normalize_domain
from mailauth_tui.core.propagation import PropagationReport
from mailauth_tui.core.results import DomainReport, PublishRecord
from mailauth_tui.registry import zone_publish
from mailauth_tui.registry.codes import CODE_TTL, generate_code, hash_code, verify_code
from mailauth_tui.registry.dkim_keys import describe, gone_from_dns, make_key, passphrase
from mailauth_tui.registry.errors import (
    AlreadyExists,
    InvalidInput,
    NotFound,
    PermissionDenied,
    RateLimited,
    RegistryError,
)
from mailauth_tui.registry.messages import code_message
from mailauth_tui.registry.models import (
    AdminInfo,
    BulkDecision,
    CodeCheck,
    CodeSent,
    DkimKey,
    DomainRow,
    JournalEntry,
    Ownership,
    ReportAction,
    SenderDecision,
    VerifyOutcome,
)
from mailauth_tui.registry.ownership import (
    NOT_A_CODE,
    attempts_left,
    judge_attempt,
    plausible_code,
    resend_wait,
    when,
)
from mailauth_tui.registry.publishing import records_to_publish, with_registry_dmarc
from mailauth_tui.registry.report import build_report
from mailauth_tui.registry.roles import Access, check_login
from mailauth_tui.registry.rows import to_entry, to_row
from mailauth_tui.registry.selftest import SelfTest, SelfTestStatus, dkim_selftest
from mailauth_tui.registry.sender import (
    bulk_decision,
    parse_address,
    parse_address_or_domain,
    parse_domain,
    sender_decision,
)
from mailauth_tui.registry.shards import Shard
from mailauth_tui.registry.transitions import (
    Assessment,
    assess,
    checked_keys,
    key_roles,
    removable_keys,
)
from mailauth_tui.services.authoritative import AuthoritativeDns, ZoneLookupError
from mailauth_tui.services.dnsupdate import ZoneUpdater
from mailauth_tui.services.identity import login_exists
from mailauth_tui.services.keys import KeyStore
from mailauth_tui.services.mailer import MaildirMailer, Mailer, MailError
from mailauth_tui.services.migrations import LEGACY_ADMINS_KEY
from mailauth_tui.services.settings import Settings
from mailauth_tui.services.signer_export import ExportKey
from mailauth_tui.services.store_api import (
    DomainRecord,
    PageKey,
    RegistryStore,
    RegistryTx,
    StoreError,
    is_due,
)

CREATOR_KEY = "created_by"  # meta key: the login that created the registry
REGISTRY_EVENTS = ""  # the journal's "domain" of events about the registry itself (admins)

DEFAULT_CONCURRENCY = 16
# Names read at once by a re-check: enough to keep the checks fed, little for the loop to wait.
RECHECK_PAGE = 256
# Due domains leased at once by a `recheck --due` worker: small, so that workers on several
# hosts share a round evenly, and a killed one holds few domains until its leases expire.
LEASE_BATCH = 32
# Domains started between two clearings of the resolver's answers during a re-check: the
# cache would otherwise hold every answer of the round (memory growing with the registry).
FORGET_EVERY = 1024

OnResult = Callable[[VerifyOutcome], object | Awaitable[object]]


def utcnow() -> datetime:
    return datetime.now(UTC)


@runtime_checkable
class _CachingResolver(Protocol):
    def clear_cache(self) -> None: ...


@runtime_checkable
class _Closable(Protocol):
    def close(self) -> None: ...


class Registry:
    """The registry as one actor sees and changes it. The actor is who the process runs as
    (the entry point asks the OS), never a name the user typed or configured.

    Every change needs :attr:`access`'s ``may_change``: an admin kept in the registry, on a
    store the actor may write. For anyone else :meth:`verify` and :meth:`recheck` are dry
    runs that look DNS up and write nothing. ``dns_source`` names a DNS server chosen for this
    run instead of the system's (``--nameserver``): it is journaled with every verdict."""

    def __init__(
        self,
        store: RegistryStore,
        settings: Settings,
        mailer: Mailer,
        keys: KeyStore,
        resolver: Resolver,
        *,
        clock: Callable[[], datetime] = utcnow,
        actor: str,
        test_environment: bool | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        dns_source: str | None = None,
        authoritative: AuthoritativeDns | None = None,
        updater: ZoneUpdater | None = None,
        lease: timedelta | None = None,
    ) -> None:
        if not actor:
            raise ValueError("the registry needs the actor's login name")
        self._store = store
        self._settings = settings
        self._mailer = mailer
        self._keys = keys
        self._resolver = resolver
        self._clock = clock
        self._actor = actor
        self._test_env = settings.test_environment if test_environment is None else test_environment
        self._concurrency = max(1, concurrency)
        self._dns_source = dns_source
        self._authoritative = authoritative  # the zone's own nameservers (propagation)
        self._updater = updater  # RFC 2136 updates (publish)
        seconds = settings.recheck_lease_seconds
        self._lease = lease if lease is not None else timedelta(seconds=seconds)
        self._worker = f"{actor}:{os.getpid()}"
        self._access = self._read_access()
        self.notices: list[str] = []  # for the user, once: e.g. a settings key now ignored
        notice = self._legacy_admins(settings.admins)
        if notice:
            self.notices.append(notice)

    # -- who -----------------------------------------------------------------------------

    @property
    def actor(self) -> str:
        return self._actor

    @property
    def settings(self) -> Settings:
        return self._settings

    @property
    def where(self) -> str:
        """The registry's path or URL (without its password), for messages."""
        return self._store.where

    @property
    def schema_version(self) -> int:
        return self._store.schema_version

    @property
    def creator(self) -> str | None:
        return self._store.get_meta(CREATOR_KEY)

    @property
    def access(self) -> Access:
        """Who the actor is to the registry, as last read (see :meth:`refresh_access`)."""
        return self._access

    @property
    def admins(self) -> frozenset[str]:
        return self._access.admins

    @property
    def is_admin(self) -> bool:
        return self._access.is_admin

    @property
    def may_change(self) -> bool:
        return self._access.may_change

    def _read_access(self) -> Access:
        admins = frozenset(a.login for a in self._store.admins())
        return Access(self._actor, admins, self._store.writable, self._store.where)

    @property
    def code_folder(self) -> Path | None:
        """The local Maildir that verification codes are written into when no SMTP server is
        configured (whoever can read it can read the codes); None when codes are mailed."""
        return self._mailer.folder if isinstance(self._mailer, MaildirMailer) else None

    def refresh_access(self) -> Access:
        """Read the admins again (another admin may have changed them). When the store cannot
        be read just now, the last access read stands."""
        with suppress(StoreError):
            self._access = self._read_access()
        return self._access

    def close(self) -> None:
        """Close the store and the resolver (the registry owns the services it is given)."""
        self._store.close()
        if isinstance(self._resolver, _Closable):
            self._resolver.close()

    def _require(self, action: str) -> None:
        # Read afresh: an admin removed by another admin's session loses rights at once.
        self.refresh_access().require(action)

    @contextmanager
    def _changing(self, action: str) -> Iterator[RegistryTx]:
        """A write transaction that checks again, inside it, that the actor is an admin: the
        slow work before it (a code's hash, a key, mail) may have outlasted its rights."""
        with self._store.transaction() as tx:
            self._still_admin(tx, action)
            yield tx

    def _still_admin(self, tx: RegistryTx, action: str) -> None:
        if self._actor not in {a.login for a in tx.admins()}:
            raise PermissionDenied(
                f"only admins can {action}; you ({self._actor}) are no longer one"
            )

    # -- admins --------------------------------------------------------------------------

    def init(self) -> bool:
        """Make the actor the first admin of a registry that has none (a new one). False
        when it has admins already: nothing changes then."""
        if self._access.admins:
            return False
        if not self._store.writable:
            raise PermissionDenied(
                f"cannot create the registry at {self._store.where}: no write permission"
            )
        now = self._now()
        with self._store.transaction() as tx:
            if tx.admins():  # another process was first
                claimed = False
            else:
                tx.add_admin(self._actor, self._actor, now)
                tx.setdefault_meta(CREATOR_KEY, self._actor)
                tx.delete_meta(LEGACY_ADMINS_KEY)
                self._journal(tx, now, REGISTRY_EVENTS, "admin_added", "creator of the registry")
                claimed = True
        self.refresh_access()
        return claimed

    def admin_list(self) -> list[AdminInfo]:
        return [AdminInfo(a.login, a.added_by, a.added_at) for a in self._store.admins()]

    def admin_add(self, login: str) -> AdminInfo:
        """Give ``login`` admin rights (a no-op refusal when it has them)."""
        self._require("add admins")
        name = check_login(login)
        now = self._now()
        with self._changing("add admins") as tx:
            if not tx.add_admin(name, self._actor, now):
                raise AlreadyExists(f"{name} is an admin already")
            self._journal(tx, now, REGISTRY_EVENTS, "admin_added", name)
        self.refresh_access()
        return next(a for a in self.admin_list() if a.login == name)

    def admin_remove(self, login: str) -> None:
        """Take admin rights from ``login``; the last admin is never removed."""
        self._require("remove admins")
        name = login.strip()
        now = self._now()
        with self._changing("remove admins") as tx:
            logins = {a.login for a in tx.admins()}
            if name not in logins:
                raise NotFound(f"{name} is not an admin")
            if logins == {name}:
                raise InvalidInput(
                    f"{name} is the last admin and stays one: add another admin first "
                    "(mailauth-tui admin add LOGIN)"
                )
            others = sorted(logins - {name})
            if name == self._actor and not any(login_exists(o) for o in others):
                # Nobody left who can log in here to give the rights back.
                raise InvalidInput(
                    f"removing yourself would leave no admin who is a user on this host "
                    f"({', '.join(others)} are not): add one first (mailauth-tui admin add LOGIN)"
                )
            tx.remove_admin(name)
            self._journal(tx, now, REGISTRY_EVENTS, "admin_removed", name)
        self.refresh_access()

    def _legacy_admins(self, names: tuple[str, ...]) -> str:
        """The settings file's ``admins`` key: imported once into a registry made before
        admins were kept in it, by the first run of one of its admins (with the key or
        without: after that run no settings file is ever read for rights). Ignored ever after,
        and said so ("" when there is nothing to say)."""
        where = self._settings.source or "the settings"
        ignored = (
            f"the admins key in {where} is ignored: admins are kept in the registry now "
            "(mailauth-tui admin list); remove the key"
            if names
            else ""
        )
        if not self._access.may_change or self._store.get_meta(LEGACY_ADMINS_KEY) is None:
            return ignored
        now = self._now()
        added: list[str] = []
        with self._store.transaction() as tx:
            if tx.get_meta(LEGACY_ADMINS_KEY) is None:
                return ignored
            for name in names:
                try:
                    login = check_login(name)
                except InvalidInput:
                    continue
                if tx.add_admin(login, self._actor, now):
                    added.append(login)
                    detail = f"{login}, from the admins key in {where} (imported once)"
                    self._journal(tx, now, REGISTRY_EVENTS, "admin_added", detail)
            tx.delete_meta(LEGACY_ADMINS_KEY)
        self.refresh_access()
        if not names:
            return ""
        imported = ", ".join(added) or "nobody new"
        return (
            f"imported the admins key in {where} once ({imported}); it is ignored from now "
            "on: admins are kept in the registry (mailauth-tui admin list); remove the key"
        )

    # -- reading -------------------------------------------------------------------------

    def _now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None:
            raise ValueError("the registry clock must return aware (UTC) times")
        return now

    def _row(self, rec: DomainRecord) -> DomainRow:
        return to_row(rec, self._now())

    def _name(self, domain: str) -> str:
        return parse_domain(domain).ascii

    def _record(self, name: str) -> DomainRecord:
        rec = self._store.get_domain(name)
        if rec is None:
            raise NotFound(f"{name} is not in the registry")
        return rec

    @staticmethod
    def _tx_record(tx: RegistryTx, name: str) -> DomainRecord:
        rec = tx.get_domain(name)
        if rec is None:
            raise NotFound(f"{name} is not in the registry (it was removed)")
        return rec

    def _journal(self, tx: RegistryTx, now: datetime, name: str, event: str, detail: str) -> None:
        tx.add_journal(now, name, self._actor, event, detail)

    def change_token(self) -> object:
        """A value that changes when another process or host commits a change to the
        registry (compare it with the previous one; cheap enough to poll twice a second)."""
        return self._store.change_token()

    def list_domains(self) -> list[DomainRow]:
        now = self._now()
        return [to_row(rec, now) for rec in self._store.list_domains()]

    def get(self, domain: str) -> DomainRow:
        return self._row(self._record(self._name(domain)))

    def journal(self, domain: str | None, limit: int = 100) -> list[JournalEntry]:
        """The journal of one domain, or of the whole registry (None), newest first."""
        name = None if domain is None else self._name(domain)
        return [to_entry(e) for e in self._store.journal(name, max(1, limit))]

    def due_domains(self) -> list[DomainRow]:
        now = self._now()
        return [to_row(rec, now) for rec in self._store.due_domains(now)]

    # -- ownership -----------------------------------------------------------------------

    def _code_message(
        self, address: str, domain: DomainName, code: str, expires: datetime, now: datetime
    ) -> EmailMessage:
        try:
            return code_message(
                sender=self._settings.system_sender,
                to=address,
                domain_display=domain.display,
                code=code,
                expires_at=expires,
                organisation=self._settings.organisation,
                requested_by=self._actor,
                now=now,
            )
        except ValueError as exc:
            raise InvalidInput(f"cannot write the verification mail: {exc}") from None

    async def _new_code(self) -> tuple[str, str]:
        code = generate_code()
        # scrypt takes tens of milliseconds: off the event loop, like every CPU-bound step.
        return code, await asyncio.to_thread(hash_code, code)

    async def add(self, address: str) -> CodeSent:
        """Add the domain of ``address`` and mail a verification code to it."""
        self._require("add domains")
        addr, domain = parse_address(address, test_environment=self._test_env)
        name = domain.ascii
        if (existing := self._store.get_domain(name)) is not None:
            raise AlreadyExists(_already(existing))
        code, code_hash = await self._new_code()
        now = self._now()
        expires = now + CODE_TTL
        message = self._code_message(addr, domain, code, expires, now)
        with self._changing("add domains") as tx:
            if (existing := tx.get_domain(name)) is not None:
                raise AlreadyExists(_already(existing))
            tx.insert_domain(
                domain=name,
                domain_unicode=domain.unicode,
                address=addr,
                added_by=self._actor,
                added_at=now,
                ownership=Ownership.PENDING,
                code_hash=code_hash,
                code_expires_at=expires,
                code_sent_at=now,
            )
            self._journal(tx, now, name, "added", f"organisation address {addr}")
        try:
            delivered = await self._mailer.send(message)
        except MailError as exc:
            with self._store.transaction() as tx:
                rec = tx.get_domain(name)
                if rec is not None and rec.code_hash == code_hash:
                    tx.delete_domain(name)
                self._journal(tx, self._now(), name, "add_failed", f"code not sent: {exc}")
            raise RegistryError(
                f"could not send the verification code to {addr}: {exc}. "
                f"{domain.display} was not added; check the mail settings and add it again"
            ) from None
        return self._code_sent(name, now, str(addr), delivered, expires)

    async def submit_code(self, domain: str, code: str) -> CodeCheck:
        """Check a code typed by the user. A wrong code uses up one of MAX_ATTEMPTS tries;
        text that cannot be a code at all does not."""
        self._require("enter verification codes")
        name = self._name(domain)
        rec = self._record(name)
        if rec.ownership == Ownership.VERIFIED:
            raise InvalidInput(f"ownership of {name} is already verified")
        plain = plausible_code(code)
        if plain is None:
            return CodeCheck(False, attempts_left(rec), NOT_A_CODE, self._row(rec))
        seen_hash = rec.code_hash
        # scrypt takes tens of milliseconds: compare before taking the write lock.
        matched = await asyncio.to_thread(verify_code, plain, seen_hash) if seen_hash else False
        now = self._now()
        with self._changing("enter verification codes") as tx:
            rec = self._tx_record(tx, name)
            if rec.ownership == Ownership.VERIFIED:
                raise InvalidInput(f"ownership of {name} is already verified")
            attempt = judge_attempt(rec, plain, seen_hash, matched, now)
            tx.update_domain(name, attempt.changes)
            if attempt.journal is not None:
                self._journal(tx, now, name, *attempt.journal)
            rec = self._tx_record(tx, name)
        check = CodeCheck(attempt.ok, attempts_left(rec), attempt.message, self._row(rec))
        if check.ok:
            note = await self._first_key_note(name)
            check = replace(check, message=check.message + note, domain=self.get(name))
        return check

    async def resend(self, domain: str) -> CodeSent:
        """Mail a new code; the previous one stops working. At most once a minute."""
        self._require("resend codes")
        name = self._name(domain)
        rec = self._record(name)
        if rec.ownership == Ownership.VERIFIED:
            raise InvalidInput(f"ownership of {name} is already verified: no code is needed")
        self._check_rate(rec, self._now())
        code, code_hash = await self._new_code()
        now = self._now()
        expires = now + CODE_TTL
        domain_name = DomainName(ascii=rec.domain, unicode=rec.domain_unicode)
        message = self._code_message(rec.address, domain_name, code, expires, now)
        with self._changing("resend codes") as tx:
            rec = self._tx_record(tx, name)
            if rec.ownership == Ownership.VERIFIED:
                raise InvalidInput(f"ownership of {name} is already verified: no code is needed")
            self._check_rate(rec, now)  # again: another process may have just sent one
            previous_sent = rec.code_sent_at
            tx.update_domain(
                name,
                {
                    "ownership": Ownership.PENDING,
                    "code_hash": code_hash,
                    "code_expires_at": expires,
                    "code_attempts": 0,
                    "code_sent_at": now,
                },
            )
            self._journal(tx, now, name, "code_reissued", "a new code replaces the previous one")
        try:
            delivered = await self._mailer.send(message)
        except MailError as exc:
            with self._store.transaction() as tx:
                current = tx.get_domain(name)
                if current is not None and current.code_hash == code_hash:
                    # Not delivered: do not make the user wait a minute to try again.
                    tx.update_domain(name, {"code_sent_at": previous_sent})
                self._journal(tx, self._now(), name, "code_not_sent", str(exc))
            raise RegistryError(
                f"could not send the new code to {rec.address}: {exc}. "
                "Check the mail settings and resend"
            ) from None
        return self._code_sent(name, now, rec.address, delivered, expires)

    def _code_sent(
        self, name: str, now: datetime, address: str, delivered: str, expires: datetime
    ) -> CodeSent:
        """Journal a delivered code (add and resend alike) and return the fresh row."""
        with self._store.transaction() as tx:
            self._journal(
                tx,
                now,
                name,
                "code_sent",
                f"to {address} via {delivered}; valid until {when(expires)}",
            )
            rec = self._tx_record(tx, name)
        return CodeSent(domain=self._row(rec), delivered_to=delivered)

    @staticmethod
    def _check_rate(rec: DomainRecord, now: datetime) -> None:
        seconds = resend_wait(rec, now)
        if seconds is not None:
            raise RateLimited(
                f"a code was sent to {rec.address} less than a minute ago: "
                f"wait {seconds} s before sending another"
            )

    def remove(self, domain: str) -> None:
        """Remove the domain, its keys (private files too) and its schedule; the journal stays."""
        self._require("remove domains")
        name = self._name(domain)
        now = self._now()
        with self._changing("remove domains") as tx:
            rec = self._tx_record(tx, name)
            tx.delete_domain(name)
            selectors = ", ".join(k.selector for k in rec.keys) or "none"
            self._journal(
                tx, now, name, "removed", f"address {rec.address}; DKIM selectors: {selectors}"
            )
        for key in rec.keys:
            try:
                self._keys.delete(key.key_ref)
            except (OSError, ValueError):
                # The row is gone for good; a key file left behind is only clutter, and
                # removing it again is not possible from here. Say so in the journal.
                with self._store.transaction() as tx:
                    self._journal(tx, now, name, "key_left", f"could not delete {key.key_ref}")

    # -- DKIM keys -----------------------------------------------------------------------

    async def _ensure_first_key(self, name: str) -> None:
        rec = self._record(name)
        if rec.keys or rec.ownership != Ownership.VERIFIED:
            return
        now = self._now()
        key = await make_key(self._keys, self._settings.dkim, name, (), now, active=True)
        added = False
        with self._changing("make DKIM keys") as tx:
            current = tx.get_domain(name)
            if current is not None and not current.keys:
                tx.add_key(name, key)
                self._journal(tx, now, name, "dkim_key", describe(key))
                added = True
        if not added:  # removed, or another process made the first key meanwhile
            self._keys.delete(key.key_ref)

    async def _first_key_note(self, name: str) -> str:
        try:
            await self._ensure_first_key(name)
        except RegistryError as exc:
            return (
                f"; the DKIM key could not be made yet ({exc}): it is made when the records "
                "are opened"
            )
        rec = self._record(name)
        active, _ = key_roles(rec.keys)
        if active is None:
            return ""
        return f"; DKIM key made (selector {active.selector}): publish the records"

    async def rotate_dkim(self, domain: str) -> DomainRow:
        """Make a new key with a new selector; it takes over once verified in DNS."""
        self._require("rotate DKIM keys")
        name = self._name(domain)
        rec = self._record(name)
        if rec.ownership != Ownership.VERIFIED:
            raise InvalidInput(f"prove ownership of {name} first")
        _, waiting = key_roles(rec.keys)
        if waiting is not None:
            raise InvalidInput(
                f"a new key (selector {waiting.selector}) is already waiting: publish its "
                "record and verify"
            )
        now = self._now()
        taken = [k.selector for k in rec.keys]
        key = await make_key(self._keys, self._settings.dkim, name, taken, now, active=False)
        try:
            with self._changing("rotate DKIM keys") as tx:
                current = self._tx_record(tx, name)
                cur_active, cur_waiting = key_roles(current.keys)
                if cur_waiting is not None:
                    raise InvalidInput(
                        f"a new key (selector {cur_waiting.selector}) was just made by another "
                        "session: publish its record and verify"
                    )
                # With no key at all (the first one was never made) the new key signs at once.
                key = replace(key, active=cur_active is None)
                tx.add_key(name, key)
                detail = describe(key)
                if cur_active is not None:
                    detail += (
                        f"; selector {cur_active.selector} signs until {key.selector} is verified"
                    )
                self._journal(tx, now, name, "dkim_rotate", detail)
                rec = self._tx_record(tx, name)
        except RegistryError:
            self._keys.delete(key.key_ref)
            raise
        return self._row(rec)

    # -- records and checks --------------------------------------------------------------

    def _fresh_dns(self) -> None:
        # A verify right after publishing must ask DNS again, not reuse an earlier answer.
        if isinstance(self._resolver, _CachingResolver):
            self._resolver.clear_cache()

    async def _check(self, rec: DomainRecord) -> DomainReport:
        keys = checked_keys(rec.keys)
        sending = self._settings.sending
        report = await check_domain(
            self._resolver,
            rec.domain,
            selectors=tuple(k.selector for k in keys),
            ips=sending.ips,
            include=sending.include,
            expected_keys={k.selector: k.public_key for k in keys} or None,
        )
        return with_registry_dmarc(report, rec.address, self._settings.dmarc_rua)

    async def _selftests(self, rec: DomainRecord) -> tuple[SelfTest, ...]:
        """The end-to-end self-test of each checked key, after :meth:`_check` (whose answers
        the resolver has cached: the test judges what the check saw)."""
        keys = checked_keys(rec.keys)
        if not keys:
            return ()
        try:
            secret = passphrase(self._settings.dkim)
        except InvalidInput as exc:
            return tuple(
                SelfTest(k.selector, SelfTestStatus.UNKNOWN, f"the self-test could not run: {exc}")
                for k in keys
            )
        now = self._now()
        return tuple(
            await asyncio.gather(
                *(
                    dkim_selftest(self._resolver, self._keys, secret, rec.domain, k, now)
                    for k in keys
                )
            )
        )

    async def _gone_retired(self, rec: DomainRecord) -> tuple[str, ...]:
        """Selectors of retired keys past their date whose record DNS no longer has: their
        rows go with the check's result (the report stops recommending their removal)."""
        due = removable_keys(rec.keys, self._now())
        if not due:
            return ()
        return tuple(k.selector for k in await gone_from_dns(self._resolver, rec.domain, due))

    def _assess(
        self, rec: DomainRecord, report: DomainReport, now: datetime, tests: tuple[SelfTest, ...]
    ) -> Assessment:
        return assess(
            rec,
            report,
            include=self._settings.sending.include,
            now=now,
            interval=timedelta(hours=self._settings.recheck_interval_hours),
            selftests=tests,
        )

    def _apply_check(
        self,
        tx: RegistryTx,
        name: str,
        report: DomainReport,
        now: datetime,
        tests: tuple[SelfTest, ...] = (),
        gone: tuple[str, ...] = (),
    ) -> VerifyOutcome | None:
        """Write one check's result; None when the domain was removed. Runs in the store's
        writer thread, in a transaction (see :meth:`_commit`). ``gone``: retired selectors
        the check found removed from DNS, whose rows are deleted."""
        self._still_admin(tx, "record check results")
        rec = tx.get_domain(name)
        if rec is None:
            return None
        result = self._assess(rec, report, now, tests)
        tx.update_domain(name, result.changes)
        tx.release_lease(name)
        deleted: list[str] = []
        for old in removable_keys(rec.keys, now):  # still retired as this transaction sees it
            if old.selector in gone and tx.delete_key(name, old.selector):
                deleted.append(old.selector)
                detail = f"retired key (selector {old.selector}) is no longer in DNS: deleted"
                self._journal(tx, now, name, "dkim_removed", detail)
        # A pass is remembered (once per pair): the next re-check of it need not sign again.
        keys = {k.selector: k for k in rec.keys if k.selector not in deleted}
        for test in tests:
            key = keys.get(test.selector)
            if test.fingerprint and key is not None and key.selftest_passed != test.fingerprint:
                tx.set_key_selftest(name, test.selector, test.fingerprint)
        if result.promote is not None:
            tx.set_key_active(name, result.promote, True)
            if result.retire is not None:
                keep = timedelta(days=self._settings.dkim.keep_retired_days)
                tx.retire_key(name, result.retire, now, now + keep)
        # A verdict from a server chosen for this run says so: it may not be what the world sees.
        via = f" [DNS: {self._dns_source}]" if self._dns_source else ""
        self._journal(tx, now, name, "check", result.summary + via)
        for line in result.transitions:
            self._journal(tx, now, name, "state", line + via)
        # The row as just written, from the row read under the write lock and what was written
        # to it (not read back: two queries a result, while every other writer waits).
        return VerifyOutcome(
            domain=to_row(self._after(rec, result, now, tuple(deleted)), now),
            report=report,
            verdicts=result.verdicts,
            transitions=result.transitions,
            selftests=tests,
        )

    async def _commit(
        self,
        name: str,
        report: DomainReport,
        tests: tuple[SelfTest, ...] = (),
        gone: tuple[str, ...] = (),
        rec: DomainRecord | None = None,
    ) -> VerifyOutcome | None:
        """Record a check's result through the store's writer thread: the commit waits for its
        fsync (synchronous=FULL) there, not on the event loop, which keeps answering keys; and
        results arriving together share one fsync. It is awaited before anyone hears of the
        result, so what is shown is on disk."""
        now = self._now()  # the injected clock is read on the loop, as everywhere else
        written = self._store.write_soon(
            partial(self._apply_check, name=name, report=report, now=now, tests=tests, gone=gone)
        )
        outcome = await asyncio.wrap_future(written)
        if gone and outcome is not None and rec is not None:
            # The private halves of keys whose rows went: after the commit, so a failed
            # transaction never leaves a row without its key.
            kept = {k.selector for k in outcome.domain.dkim_keys}
            for key in rec.keys:
                if key.selector in gone and key.selector not in kept:
                    self._keys.delete(key.key_ref)
        return outcome

    def _after(
        self, rec: DomainRecord, result: Assessment, now: datetime, gone: tuple[str, ...] = ()
    ) -> DomainRecord:
        """``rec`` with a check's result applied, as :meth:`_apply_check` writes it (``gone``:
        retired selectors whose rows it deletes)."""
        keys = rec.keys
        if result.promote is not None:
            keep = timedelta(days=self._settings.dkim.keep_retired_days)
            keys = tuple(
                replace(k, active=True)
                if k.selector == result.promote
                else replace(k, active=False, retired_at=now, remove_after=now + keep)
                if k.selector == result.retire
                else k
                for k in rec.keys
            )
        keys = tuple(k for k in keys if k.selector not in gone)
        changes = cast(dict[str, Any], result.changes)  # columns of the row: its fields
        return replace(rec, keys=keys, **changes)

    def _preview(
        self,
        rec: DomainRecord,
        report: DomainReport,
        tests: tuple[SelfTest, ...],
        gone: tuple[str, ...] = (),
    ) -> VerifyOutcome:
        """What a check's result would change, written nowhere (a dry run)."""
        now = self._now()
        result = self._assess(rec, report, now, tests)
        return VerifyOutcome(
            domain=to_row(self._after(rec, result, now, gone), now),
            report=report,
            verdicts=result.verdicts,
            transitions=result.transitions,
            dry_run=True,
            selftests=tests,
        )

    async def verify(self, domain: str) -> VerifyOutcome:
        """Look the domain's records up now and record what DNS holds. For an actor who may
        not change the registry, a dry run: the outcome says what would change."""
        name = self._name(domain)
        rec = self._record(name)
        if not self.refresh_access().may_change:
            self._fresh_dns()
            report = await self._check(rec)
            tests = await self._selftests(rec)
            preview = self._preview(rec, report, tests, await self._gone_retired(rec))
            return await self._where_published(preview)
        if rec.ownership == Ownership.VERIFIED and not rec.keys:
            await self._ensure_first_key(name)
            rec = self._record(name)
        self._fresh_dns()
        report = await self._check(rec)
        tests = await self._selftests(rec)
        outcome = await self._commit(name, report, tests, await self._gone_retired(rec), rec)
        if outcome is None:
            raise NotFound(f"{name} was removed during the check")
        return await self._where_published(outcome)

    async def _where_published(self, outcome: VerifyOutcome) -> VerifyOutcome:
        """A failing verify says where the records are: at some nameservers, or none."""
        if outcome.domain.verified or self._authoritative is None:
            return outcome
        try:
            report = await self.propagation(outcome.domain.domain)
        except RegistryError:
            return outcome
        if report.error:  # no zone or nameservers found: nothing to say about them
            return outcome
        return replace(outcome, propagation=report.summary())

    async def recheck(
        self,
        due_only: bool = True,
        on_result: OnResult | None = None,
        *,
        keep: bool = True,
        shard: Shard | None = None,
    ) -> list[VerifyOutcome]:
        """Check every due domain (or all), at most ``concurrency`` at once. Each result is
        committed as soon as it arrives, before ``on_result`` hears of it, so an interrupted
        re-check keeps what it finished and shows nothing it did not keep.

        The names are read a page at a time and each domain's row just before its check, so
        the start costs one small read however many domains there are, and a domain removed
        meanwhile, or re-checked meanwhile by another process (no longer due), is skipped.
        ``on_result`` is called from here, one result at a time, in the order they arrive.
        For an actor who may not change the registry every outcome is a dry run.

        ``keep=False``: the outcomes are handed to ``on_result`` only and an empty list is
        returned, so memory stays flat however many domains there are (~15 KiB an outcome).

        ``shard``: this process checks only the names of its share (``recheck --workers``:
        the other shares are other processes'). A round of due domains an admin re-checks is
        shared through its leases already, so there it changes nothing: each worker leases
        what is left, as cron on several hosts does."""
        self._fresh_dns()
        dry_run = not self.refresh_access().may_change
        now = self._now()
        names: _RecheckNames | _LeasedNames
        if due_only and not dry_run:
            # cron may start one on every host: they share the round through leases
            # each walk leases under a name of its own: its leases are its domains in flight
            walk = f"{self._worker}:{uuid.uuid4().hex[:8]}"
            names = _LeasedNames(self._store, now, walk, self._lease, self._now)
        else:
            names = _RecheckNames(self._store, now, due_only, shard)
        running: set[asyncio.Future[VerifyOutcome | None]] = set()
        done: set[asyncio.Future[VerifyOutcome | None]] = set()
        outcomes: list[VerifyOutcome] = []
        started = 0
        try:
            while True:
                while len(running) < self._concurrency and (name := names.next()) is not None:
                    started += 1
                    if started % FORGET_EVERY == 0:
                        self._fresh_dns()
                    running.add(
                        asyncio.ensure_future(self._recheck_one(name, now, due_only, dry_run))
                    )
                if not running:
                    pause = names.wait_for_others()
                    if pause is None:
                        break
                    await asyncio.sleep(pause)
                    continue
                # Woken at least every renew_every seconds, even while every check in flight
                # waits for a slow server: the leases held are renewed before they run out.
                done, running = await asyncio.wait(
                    running, timeout=names.renew_every, return_when=asyncio.FIRST_COMPLETED
                )
                names.renew()
                for task in done:
                    outcome = task.result()
                    if outcome is None:
                        continue
                    if keep:
                        outcomes.append(outcome)
                    if on_result is not None:
                        called = on_result(outcome)
                        if inspect.isawaitable(called):
                            await called
        finally:
            names.close()
            for task in running:
                task.cancel()
            # Collects the errors of tasks cancelled here, or finished beside one that raised.
            await asyncio.gather(*running, *done, return_exceptions=True)
        return outcomes

    async def _recheck_one(
        self, name: str, start: datetime, due_only: bool, dry_run: bool
    ) -> VerifyOutcome | None:
        rec = self._store.get_domain(name)
        if rec is None or (due_only and not is_due(rec, start)):
            return None
        report = await self._check(rec)
        tests = await self._selftests(rec)
        gone = await self._gone_retired(rec)
        if dry_run:
            return self._preview(rec, report, tests, gone)
        return await self._commit(name, report, tests, gone, rec)

    async def records(self, domain: str) -> list[PublishRecord]:
        """The DKIM, SPF and DMARC records to publish, from what DNS holds now."""
        name = self._name(domain)
        rec = self._record(name)
        if rec.ownership != Ownership.VERIFIED:
            raise InvalidInput(
                f"prove ownership of {name} first: enter the code mailed to {rec.address}"
            )
        if not rec.keys:
            if not self.refresh_access().may_change:
                raise InvalidInput(f"{name} has no DKIM key yet: an admin must open its records")
            await self._ensure_first_key(name)
            rec = self._record(name)
        self._fresh_dns()
        return await records_to_publish(
            self._resolver, rec, self._settings.sending, self._settings.dmarc_rua
        )

    # -- publishing by RFC 2136 (registry/zone_publish.py) ---------------------------------

    @property
    def can_probe_zones(self) -> bool:
        """Whether the zone's nameservers can be asked directly (propagation)."""
        return self._authoritative is not None

    @property
    def can_publish(self) -> bool:
        """Whether RFC 2136 publishing is wired and some zone is set up for it."""
        return self._updater is not None and bool(self._settings.publish)

    def _zone_dns(self) -> AuthoritativeDns:
        if self._authoritative is None:
            raise InvalidInput("asking the nameservers directly is not set up in this session")
        return self._authoritative

    async def _expected(self, domain: str) -> list[PublishRecord]:
        """Every record the domain needs: those to publish, during a rotation the current
        key's too, and the BIMI record when there is one."""
        records = await self.records(domain)
        records = zone_publish.with_other_keys(records, self._record(self._name(domain)))
        return await zone_publish.with_bimi(self._resolver, self._name(domain), records)

    async def propagation(self, domain: str) -> PropagationReport:
        """Which of the zone's nameservers serve each record the domain needs, now."""
        expected = await self._expected(domain)
        return await zone_publish.probe(self._zone_dns(), self._name(domain), expected)

    async def publish(
        self,
        domain: str,
        *,
        dry_run: bool = False,
        follow_timeout: float = zone_publish.FOLLOW_TIMEOUT,
        on_report: zone_publish.OnReport | None = None,
    ) -> zone_publish.PublishOutcome:
        """Publish the records in the domain's zone by one RFC 2136 update, follow them to
        every nameserver, then verify. For an actor who may not change the registry, and with
        ``dry_run``, the update is planned and shown, never sent (no secret is read)."""
        name = self._name(domain)
        dry_run = dry_run or not self.refresh_access().may_change
        if not dry_run:
            self._require("publish records")
        if self._updater is None:
            raise InvalidInput("publishing by RFC 2136 is not set up in this session")
        expected = await self._expected(name)
        try:
            zone = (await self._zone_dns().zone_servers(name)).zone
        except ZoneLookupError as exc:
            raise zone_publish.PublishRefused(str(exc)) from None
        conf = zone_publish.zone_settings(self._settings, zone, name)
        retired = zone_publish.retired_keys(self._record(name), self._now())
        update = await zone_publish.plan(
            self._updater, conf, name, expected, self._settings, retired
        )
        outcome = zone_publish.PublishOutcome(
            domain=name,
            zone=zone,
            server=conf.server,
            update=tuple(update.lines()),
            changes=len(update.operations),
            notes=update.notes,
            applied=False,
            dry_run=dry_run,
        )
        if dry_run:
            return outcome
        if not update.empty:
            await zone_publish.send(self._updater, conf, update)
            now = self._now()
            with self._store.transaction() as tx:
                if tx.get_domain(name) is not None:
                    changes = ", ".join(f"{o.action} {o.name}" for o in update.operations)
                    detail = f"RFC 2136 update of {zone} at {conf.server}: {changes}"
                    self._journal(tx, now, name, "published", detail)
        report = await zone_publish.follow(
            self._zone_dns(), name, expected, within=follow_timeout, on_report=on_report
        )
        return replace(
            outcome,
            applied=not update.empty,
            propagation=report,
            verify=await self.verify(name),
        )

    # -- signing -------------------------------------------------------------------------

    def private_key_pem(self, key: DkimKey) -> bytes:
        """A key's private half, unencrypted, for a signer (the relay, an export). Whoever
        can read the 0600 key files can sign anyway: the files' owner is the guard here."""
        try:
            return self._keys.private_key_pem(key.key_ref, passphrase(self._settings.dkim))
        except PermissionError:
            raise PermissionDenied(
                f"you ({self._actor}) cannot read the private key of selector {key.selector}: "
                f"run this as the owner of {self._settings.keys_dir}"
            ) from None
        except (ValueError, OSError) as exc:
            raise RegistryError(f"cannot read the key of selector {key.selector}: {exc}") from None

    def export_keys(self) -> list[ExportKey]:
        """The active key of each verified domain, for a signer's configuration (during a
        rotation the old key until the new one is verified, then the new one). Only admins
        who may change the registry: an export copies private keys out of it."""
        self._require("export signing keys")
        out: list[ExportKey] = []
        for row in self.list_domains():
            key = row.active_key
            if row.verified and key is not None:
                pem = self.private_key_pem(key)
                out.append(ExportKey(row.domain, key.selector, key.key_type, pem))
        return out

    # -- rules and report ----------------------------------------------------------------

    def sender(self, address: str) -> SenderDecision:
        addr, domain = parse_address(address, test_environment=self._test_env)
        rec = self._store.get_domain(domain.ascii)
        row = self._row(rec) if rec is not None else None
        return sender_decision(addr, domain, row, self._settings.system_sender)

    def bulk_check(self, address_or_domain: str) -> BulkDecision:
        domain = parse_address_or_domain(address_or_domain, test_environment=self._test_env)
        rec = self._store.get_domain(domain.ascii)
        row = self._row(rec) if rec is not None else None
        return bulk_decision(domain, row, self._settings.dmarc_rua)

    def bulk_for(self, row: DomainRow) -> BulkDecision:
        """:meth:`bulk_check` for a row already read (the console's panel): no store read."""
        return bulk_decision(normalize_domain(row.domain), row, self._settings.dmarc_rua)

    def report(self) -> list[ReportAction]:
        return build_report(self.list_domains(), self._now())


class _RecheckNames:
    """The names a re-check goes through, read from the store a page at a time."""

    def __init__(
        self, store: RegistryStore, now: datetime, due_only: bool, shard: Shard | None = None
    ) -> None:
        self._store = store
        self._now = now
        self._due_only = due_only
        self._shard = shard
        self._page: deque[str] = deque()
        self._after: PageKey | None = None
        self._more = True
        # A row can move behind the read position while the re-check runs (another process
        # re-scheduled it): it is checked once all the same.
        self._seen: set[str] = set()

    renew_every: float | None = None  # nothing is held: nothing to renew

    def wait_for_others(self) -> float | None:
        return None  # nobody else shares this walk

    def renew(self) -> None:
        """Nothing is held."""

    def close(self) -> None:
        """Nothing is held."""

    def next(self) -> str | None:
        while not self._page and self._more:
            names, self._after = self._store.recheck_page(
                self._now, due_only=self._due_only, after=self._after, limit=RECHECK_PAGE
            )
            self._more = self._after is not None
            shard = self._shard
            self._page.extend(
                n for n in names if n not in self._seen and (shard is None or shard.holds(n))
            )
        if not self._page:
            return None
        name = self._page.popleft()
        self._seen.add(name)
        return name


class _LeasedNames:
    """The due domains of a round shared by several workers: leased a batch at a time.

    A worker that finds nothing left to lease while due domains are still leased by others
    waits for the first of those leases to expire: when its holder was killed, the lease
    runs out and this worker takes the domain over, so the round completes.

    A live worker keeps what it holds: every third of the lease it extends all its leases
    (the batch not started yet and the domains in flight) to a full lease from then, so a
    batch that takes longer than one lease (slow or silent servers) is not taken over by
    another worker while this one still checks it. Each lease thus always has at least two
    thirds of its length left while its holder runs."""

    def __init__(
        self,
        store: RegistryStore,
        now: datetime,
        worker: str,
        lease: timedelta,
        clock: Callable[[], datetime],
    ) -> None:
        self._store = store
        self._now = now
        self._worker = worker
        self._lease = lease
        self._clock = clock
        self._page: deque[str] = deque()
        self.renew_every = lease.total_seconds() / 3
        self._renewed = clock()

    def renew(self) -> None:
        """Extend this walk's leases when a third of the lease has passed since the last
        renewal (a lease claimed since then got a full one already)."""
        at = self._clock()
        if (at - self._renewed).total_seconds() >= self.renew_every:
            self._store.renew_leases(self._worker, at + self._lease)
            self._renewed = at

    def next(self) -> str | None:
        if not self._page:
            at = self._clock()
            until = at + self._lease
            self._page.extend(
                self._store.claim_due(
                    self._now, at=at, owner=self._worker, until=until, limit=LEASE_BATCH
                )
            )
        return self._page.popleft() if self._page else None

    def close(self) -> None:
        """Hand back what this walk still holds (it was interrupted: the domains not
        started, or cancelled in flight), so no worker waits for those leases to expire."""
        self._page.clear()
        with self._store.transaction() as tx:
            tx.release_leases_of(self._worker)

    def wait_for_others(self) -> float | None:
        """Seconds to wait before trying to lease again; None when the round is over."""
        at = self._clock()
        first = self._store.leased_due(self._now, at=at)
        if first is None:
            return None
        left = (first - at).total_seconds()
        # Short: the others usually finish (and release) long before their leases expire.
        return min(max(left, 0.05), 0.2)


def _already(rec: DomainRecord) -> str:
    return (
        f"{rec.domain} is already in the registry (added by {rec.added_by} on "
        f"{rec.added_at:%Y-%m-%d})"
    )
