"""Argument parsing and dispatch. Each subcommand module adds its own parser with ``register``
and sets ``func`` (``(args) -> int``) as the parser default."""

from __future__ import annotations

import argparse
import sys

from mailauth_tui import __version__
from mailauth_tui.cli import check_cmd, registry_cmds, tui_cmd

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mailauth-tui",
        description=(
            "Prove ownership of sending domains and keep DKIM, SPF and DMARC verified. "
            "With no command, opens the console."
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    tui_cmd.add_arguments(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    check_cmd.register(sub)
    registry_cmds.register(sub)
    parser.set_defaults(func=tui_cmd.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result: int = args.func(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return result
