"""Build the registry's services from the command line: settings, store, mailer, key store,
resolver. Nothing is opened at import; the entry points (subcommands, the console) call
:func:`build_registry` once and close the result."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from mailauth_tui.cli.argtypes import db_arg, seconds_arg
from mailauth_tui.registry.errors import RegistryError
from mailauth_tui.registry.service import DEFAULT_CONCURRENCY, Registry
from mailauth_tui.services.authoritative import DirectDns, ZoneLookupError
from mailauth_tui.services.dns import DnsResolver
from mailauth_tui.services.dnsupdate import Rfc2136Updater
from mailauth_tui.services.identity import os_login
from mailauth_tui.services.keys import FileKeyStore, KeyStore
from mailauth_tui.services.mailer import mailer_from_settings
from mailauth_tui.services.settings import (
    Settings,
    SettingsError,
    default_config_path,
    load_settings,
)
from mailauth_tui.services.split import SplitResolver, make_resolver
from mailauth_tui.services.store import Store, StoreError
from mailauth_tui.services.store_api import RegistryStore

if TYPE_CHECKING:  # psycopg (~60 ms to import) only for a PostgreSQL registry
    from mailauth_tui.services.pg_migrations import RoleNames

DEFAULT_TIMEOUT = 3.0


class WiringError(Exception):
    """The services cannot be built; ``str(err)`` is for the user, ``exit_code`` for the shell
    (2: a bad command-line value, 1: a bad settings file or an unusable database)."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def add_common_arguments(parser: argparse.ArgumentParser, *, subcommand: bool = False) -> None:
    """Add --db, --config, --nameserver and --timeout.

    With ``subcommand=True`` the options have no defaults of their own, so a value given
    before the subcommand name (``mailauth-tui --db X list``) is not reset by the subparser.
    """

    def default(value: object) -> object:
        return argparse.SUPPRESS if subcommand else value

    group = parser.add_argument_group("registry options")
    group.add_argument(
        "--db",
        type=db_arg,
        metavar="PATH|URL",
        default=default(None),
        help="the registry: a SQLite file, or postgresql://USER@HOST/DB (default: [registry] "
        "url in the settings, else registry.sqlite3 in your data directory)",
    )
    group.add_argument(
        "--config",
        type=Path,
        metavar="PATH",
        default=default(None),
        help=f"the settings file (default: {default_config_path()})",
    )
    group.add_argument(
        "--nameserver",
        action="append",
        metavar="HOST[:PORT]",
        default=default(None),
        help="ask this DNS server (default: the system's); repeat for several, asked in turn "
        "and the next one on a timeout. A name a server refuses as outside its zones (an "
        "authoritative-only server) is asked of the other servers, then the system's resolver",
    )
    group.add_argument(
        "--timeout",
        type=seconds_arg,
        metavar="SECONDS",
        default=default(DEFAULT_TIMEOUT),
        help=f"DNS timeout per attempt (default: {DEFAULT_TIMEOUT:g})",
    )


def build_settings(args: argparse.Namespace) -> Settings:
    config: Path | None = getattr(args, "config", None)
    db: Path | str | None = getattr(args, "db", None)
    if config is not None and not config.is_file():
        raise WiringError(f"no settings file at {config}", exit_code=2)
    try:
        settings = load_settings(config, db=db if isinstance(db, Path) else None)
    except SettingsError as exc:
        raise WiringError(str(exc)) from None
    return settings.with_url(db) if isinstance(db, str) else settings


def role_names(settings: Settings) -> RoleNames:
    from mailauth_tui.services.pg_migrations import RoleNames

    r = settings.registry
    return RoleNames(admin=r.admin_role, reader=r.reader_role, signer=r.signer_role)


def build_store(
    settings: Settings, *, create: bool = False, migrate: bool = False
) -> RegistryStore:
    """The registry's store: PostgreSQL when the settings (or ``--db``) give a URL, else the
    SQLite file. ``create``: make the SQLite file, or the schema and roles on PostgreSQL;
    ``migrate``: upgrade PostgreSQL's schema (only the admin role may; a writer of a SQLite
    file upgrades it on opening). Raises StoreError."""
    url = settings.registry.url
    if url is not None:
        from mailauth_tui.services.pg_store import PgStore

        return PgStore(url, migrate=migrate, create=create, roles=role_names(settings))
    return Store(settings.db, create=create)


def build_keys(settings: Settings, store: RegistryStore) -> KeyStore:
    """Private keys live with the registry: in the database on PostgreSQL (every host that
    signs reads the same ones), in owner-only files beside the SQLite file otherwise."""
    # Never imported (a SQLite registry): no PgStore exists, and psycopg stays unloaded.
    pg = sys.modules.get("mailauth_tui.services.pg_store")
    if pg is not None and isinstance(store, pg.PgStore):
        from mailauth_tui.services.pg_keys import PgKeyStore

        return PgKeyStore(store)
    return FileKeyStore(settings.keys_dir)


def resolver_timeout(args: argparse.Namespace) -> float:
    timeout: float = getattr(args, "timeout", DEFAULT_TIMEOUT)
    return timeout


def build_resolver(args: argparse.Namespace) -> DnsResolver | SplitResolver:
    nameservers: list[str] = getattr(args, "nameserver", None) or []
    timeout = resolver_timeout(args)
    try:
        return make_resolver(nameservers, timeout=timeout)
    except ValueError as exc:
        raise WiringError(f"bad --nameserver or --timeout: {exc}", exit_code=2) from None


def build_registry(
    args: argparse.Namespace, *, create: bool = False, migrate: bool = False
) -> Registry:
    """Everything the registry needs, from parsed arguments. Raises WiringError.

    The actor is the OS login of this process (:func:`os_login`), never an environment
    variable or a setting. ``create``: make the registry file when it does not exist (``init``
    and ``add``, which then make the actor its first admin with :meth:`Registry.init`);
    otherwise a missing registry is an error and nothing is created. The caller owns the
    result and closes it (:meth:`Registry.close`) when done.
    """
    settings = build_settings(args)
    smtp = settings.smtp
    try:
        mailer = mailer_from_settings(
            smtp.host, smtp.port, smtp.security, smtp.username, smtp.password_env, settings.maildir
        )
    except ValueError as exc:
        raise WiringError(f"bad [smtp] settings: {exc}") from None
    resolver = build_resolver(args)
    try:
        store = build_store(settings, create=create, migrate=migrate)
    except StoreError as exc:
        resolver.close()
        raise WiringError(str(exc)) from None
    nameservers: list[str] = getattr(args, "nameserver", None) or []
    try:
        # The zone's own nameservers, found through the same --nameserver (propagation).
        authoritative: DirectDns | None = DirectDns(nameservers, timeout=resolver_timeout(args))
    except (ZoneLookupError, ValueError):
        authoritative = None  # no resolver configured: propagation says it is not set up
    try:
        registry = Registry(
            store,
            settings,
            mailer,
            build_keys(settings, store),
            resolver,
            # On PostgreSQL the session's role, which the server authenticated; else the OS.
            actor=store.session_role or os_login(),
            dns_source=f"--nameserver {' '.join(nameservers)}" if nameservers else None,
            authoritative=authoritative,
            updater=Rfc2136Updater(),
            # Domains in flight in a re-check: `recheck --concurrency`, else the console's.
            concurrency=getattr(args, "concurrency", DEFAULT_CONCURRENCY),
        )
        return registry
    except (StoreError, RegistryError, ValueError) as exc:
        store.close()
        resolver.close()
        raise WiringError(str(exc)) from None
