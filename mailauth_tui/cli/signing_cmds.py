"""``export``: OpenDKIM and rspamd configuration from the registry's verified domains."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from mailauth_tui.core.textsafe import printable
from mailauth_tui.registry.service import Registry
from mailauth_tui.services.signer_export import export_opendkim, export_rspamd

EXIT_OK = 0
EXIT_FAILED = 1

Command = Callable[[Registry, argparse.Namespace], Awaitable[int]]
AddCommand = Callable[[str, Command, str], argparse.ArgumentParser]


EXIT_USAGE = 2


async def _export(registry: Registry, args: argparse.Namespace) -> int:
    if args.opendkim is None and args.rspamd is None:
        print(
            "mailauth-tui export: give --opendkim DIR or --rspamd FILE (or both)", file=sys.stderr
        )
        return EXIT_USAGE
    keys = registry.export_keys()
    written: list[Path] = []
    try:
        if args.opendkim is not None:
            written += export_opendkim(Path(args.opendkim), keys)
        if args.rspamd is not None:
            written += export_rspamd(Path(args.rspamd), keys)
    except OSError as exc:
        where = exc.filename or "the export"
        print(
            f"mailauth-tui: cannot write {printable(str(where))}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return EXIT_FAILED
    domains = ", ".join(f"{k.domain} ({k.selector})" for k in keys) or "none verified yet"
    print(f"exported {len(keys)} signing key(s): {printable(domains)}")
    for path in written:
        print(f"  wrote {printable(str(path))}")
    return EXIT_OK


def register(command: AddCommand) -> None:
    p = command(
        "export",
        _export,
        "write OpenDKIM tables or rspamd dkim_signing settings for the verified domains "
        "(admins only)",
    )
    p.add_argument("--opendkim", metavar="DIR", help="KeyTable, SigningTable and keys/ in DIR")
    p.add_argument("--rspamd", metavar="FILE", help="dkim_signing settings, keys in FILE.keys/")
