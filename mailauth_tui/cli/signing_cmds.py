"""``export``: OpenDKIM and rspamd configuration from the registry's verified domains."""

from __future__ import annotations

import argparse
import json
import os
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
    if args.json:
        shown = {
            "exported": [{"domain": k.domain, "selector": k.selector} for k in keys],
            "written": [str(p) for p in written],
        }
        print(json.dumps(shown, indent=2, ensure_ascii=True))
        return EXIT_OK
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
    p.add_argument("--json", action="store_true", help="as JSON")


RELAY_PASSWORD_ENV = "MAILAUTH_RELAY_UPSTREAM_PASSWORD"
RELAY_CREDENTIALS_ENV = "MAILAUTH_RELAY_CREDENTIALS"


def _parse_credentials(text: str, where: str) -> dict[str, str]:
    creds: dict[str, str] = {}
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            login, sep, password = line.partition(":")
            if not sep or not login.strip():
                raise ValueError(f"{where}: each line is login:password")
            creds[login.strip()] = password
    return creds


def _credentials(path: str | None) -> dict[str, str] | None:
    """The clients' ``login:password`` lines: from an owner-only file, or from the
    environment variable; secrets never come from the settings file."""
    if path is None:
        env = os.environ.get(RELAY_CREDENTIALS_ENV)
        return _parse_credentials(env, f"${RELAY_CREDENTIALS_ENV}") if env else None
    file = Path(path)
    if file.stat().st_mode & 0o077:
        raise ValueError(f"{path} must be readable by its owner only: chmod 600 {path}")
    return _parse_credentials(file.read_text(encoding="utf-8"), path)


def _host_port(value: str, default_port: int) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep:
        return value, default_port
    return host.strip("[]"), int(port)


async def _relay(registry: Registry, args: argparse.Namespace) -> int:
    import asyncio
    import logging

    from mailauth_tui.registry.relay_policy import RelayPolicy
    from mailauth_tui.services.relay_server import (
        RelayConfig,
        Upstream,
        make_controller,
        parse_networks,
    )

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        host, port = _host_port(args.listen, 2525)
        up_host, up_port = _host_port(args.upstream, 25)
        config = RelayConfig(
            host=host,
            port=port,
            allowed=parse_networks(args.allow or ["127.0.0.0/8", "::1"]),
            upstream=Upstream(
                up_host,
                up_port,
                tls=args.upstream_tls,
                username=args.upstream_user,
                password=os.environ.get(RELAY_PASSWORD_ENV) if args.upstream_user else None,
            ),
            credentials=_credentials(args.auth_file),
        )
    except (ValueError, OSError) as exc:
        print(f"mailauth-tui relay: {printable(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    policy = RelayPolicy(registry, bulk_header=args.bulk_header)
    controller = make_controller(config, policy.decide)
    controller.start()
    print(f"relaying from {host}:{port} to {up_host}:{up_port} (ctrl-c to stop)", flush=True)
    try:
        await asyncio.Event().wait()  # until interrupted: the relay runs in its own thread
    except (KeyboardInterrupt, asyncio.CancelledError):
        pass
    finally:
        controller.stop()
    return EXIT_OK


def register_relay(command: AddCommand) -> None:
    p = command(
        "relay",
        _relay,
        "an SMTP relay that signs verified domains' mail and applies the sender and bulk rules",
    )
    p.add_argument("--listen", default="127.0.0.1:2525", metavar="HOST:PORT")
    p.add_argument(
        "--allow", action="append", metavar="NETWORK", help="client networks (default loopback)"
    )
    p.add_argument("--upstream", required=True, metavar="HOST[:PORT]", help="the smarthost")
    p.add_argument("--upstream-tls", choices=("starttls", "tls", "none"), default="starttls")
    p.add_argument("--upstream-user", metavar="LOGIN", help=f"password from ${RELAY_PASSWORD_ENV}")
    p.add_argument(
        "--auth-file",
        metavar="FILE",
        help=f"clients' login:password lines (mode 0600; or ${RELAY_CREDENTIALS_ENV})",
    )
    p.add_argument("--bulk-header", metavar="NAME", help="another header that marks bulk mail")
