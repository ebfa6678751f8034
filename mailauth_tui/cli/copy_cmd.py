"""``mailauth-tui registry copy --to postgresql://...``: move a SQLite registry (the one
``--db`` / the settings name) into an empty PostgreSQL database, in one transaction.

Exit codes: 0 copied; 1 refused (no SQLite registry, a target that is not empty or not
reachable, no write privilege there, a private key file missing); 2 bad usage.
"""

from __future__ import annotations

import argparse
import sys

from mailauth_tui.cli.wiring import (
    WiringError,
    add_common_arguments,
    build_settings,
    role_names,
)
from mailauth_tui.core.textsafe import printable
from mailauth_tui.services.keys import FileKeyStore
from mailauth_tui.services.pg_url import check_url, is_postgres_url, redact
from mailauth_tui.services.store import Store
from mailauth_tui.services.store_api import StoreError


def _url_arg(text: str) -> str:
    if not is_postgres_url(text):
        raise argparse.ArgumentTypeError(f"{redact(text)}: give a postgresql:// URL")
    try:
        return check_url(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _err(text: str) -> None:
    print(f"mailauth-tui: {printable(text)}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    if isinstance(getattr(args, "db", None), str):  # a URL: the source must be a file
        _err("registry copy reads a SQLite registry: give its --db PATH (the target is --to)")
        return 2
    try:
        settings = build_settings(args)
    except WiringError as exc:
        _err(str(exc))
        return exc.exit_code
    # psycopg (~60 ms to import) only for this command, not for every one
    from mailauth_tui.services.pg_store import PgStore
    from mailauth_tui.services.store_copy import copy_registry

    source_path = settings.db
    try:
        with (
            Store(source_path, create=False) as source,
            PgStore(args.to, create=True, roles=role_names(settings)) as target,
        ):
            copied = copy_registry(source, FileKeyStore(settings.keys_dir), target)
    except StoreError as exc:
        _err(str(exc))
        return 1
    print(
        f"copied {source_path} to {redact(args.to)}: {copied.domains} domains, "
        f"{copied.keys} DKIM keys, {copied.journal} journal entries, {copied.admins} admins"
    )
    print(f'next: set url = "{redact(args.to)}" under [registry] in the settings of each host')
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "registry", help="move a registry", description="move a registry"
    )
    actions = parser.add_subparsers(dest="registry_action", metavar="ACTION", required=True)
    copy = actions.add_parser(
        "copy",
        help="copy this SQLite registry into an empty PostgreSQL one, in one transaction",
        description="copy this SQLite registry into an empty PostgreSQL one, in one transaction",
    )
    add_common_arguments(copy, subcommand=True)
    copy.add_argument("--to", type=_url_arg, required=True, metavar="URL", help="the target")
    copy.set_defaults(func=run)
