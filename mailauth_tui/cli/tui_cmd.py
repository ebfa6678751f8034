"""``mailauth-tui`` with no command: open the console (``--demo``: on a sample world)."""

from __future__ import annotations

import argparse
import asyncio
import sys

from mailauth_tui.cli.wiring import WiringError, add_common_arguments, build_registry
from mailauth_tui.services.identity import os_login


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--demo",
        action="store_true",
        help=(
            "open the console on a sample zone served on loopback, with a temporary registry "
            "and outbox and sample domains in every state (no network, nothing kept)"
        ),
    )
    add_common_arguments(parser)


def run(args: argparse.Namespace) -> int:
    # Textual is imported here, not at the top: the headless subcommands never load it.
    from mailauth_tui.ui.app import MailauthApp

    if getattr(args, "demo", False):
        return _run_demo()
    try:
        registry = build_registry(args)
    except WiringError as exc:
        print(f"mailauth-tui: {exc}", file=sys.stderr)
        return exc.exit_code
    try:
        app = MailauthApp(registry)
        app.run()
    finally:
        registry.close()
    return app.return_code or 0


def _run_demo() -> int:
    from mailauth_tui.demo.session import open_demo
    from mailauth_tui.ui.app import MailauthApp

    print("mailauth-tui: preparing the demo (loopback DNS, temporary registry)…", file=sys.stderr)
    session = asyncio.run(open_demo(actor=os_login()))
    try:
        app = MailauthApp(session.registry, demo=session.hooks, clock=session.clock)
        app.run()
    finally:
        session.close()
    return app.return_code or 0
