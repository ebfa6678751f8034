"""Argument parsing and dispatch. Each subcommand module adds its own parser with ``register``
and sets ``func`` (``(args) -> int``) as the parser default.

``mailauth-tui check`` is the command scripts run by the thousand (cron, CI, a shell loop), so
it starts without the registry, the mailer, the key store or Textual: when the command line
names ``check``, the parser holds only what ``check`` reads (its own options and the global
options it honours). Everything else, ``--help`` included, gets the full parser.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from mailauth_tui import __version__

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

_PROG = "mailauth-tui"
_DESCRIPTION = (
    "Prove ownership of sending domains and keep DKIM, SPF and DMARC verified. "
    "With no command, opens the console."
)
# The global options (tui_cmd.add_arguments and cli.wiring.add_common_arguments) that take a
# value, for finding the command name in a command line without building the full parser.
_GLOBAL_WITH_VALUE = frozenset({"--db", "--config", "--nameserver", "--timeout"})
_GLOBAL_FLAGS = frozenset({"--demo"})


def build_parser() -> argparse.ArgumentParser:
    """Every command: the console's options, ``check`` and the registry's subcommands."""
    from mailauth_tui.cli import check_cmd, copy_cmd, registry_cmds, tui_cmd

    parser = _base_parser()
    tui_cmd.add_arguments(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    check_cmd.register(sub)
    registry_cmds.register(sub)
    copy_cmd.register(sub)
    parser.set_defaults(func=tui_cmd.run)
    return parser


def build_check_parser() -> argparse.ArgumentParser:
    """What ``mailauth-tui [global options] check ...`` needs, and nothing that imports the
    registry: the global options accepted as the full parser accepts them (``--nameserver``
    and ``--timeout`` before ``check`` apply to it; the others are read and ignored)."""
    from mailauth_tui.cli import argtypes, check_cmd

    parser = _base_parser()
    parser.add_argument("--demo", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--config", help=argparse.SUPPRESS)
    parser.add_argument("--nameserver", action="append", type=argtypes.nameserver_arg)
    parser.add_argument(
        "--timeout",
        type=argtypes.seconds_arg,
        default=check_cmd.DEFAULT_TIMEOUT,
        help=argparse.SUPPRESS,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    check_cmd.register(sub)
    return parser


def _base_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=_PROG, description=_DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def command_name(argv: Sequence[str]) -> str | None:
    """The subcommand a command line names, None when it names none or cannot be told
    without the full parser (an unknown or abbreviated option before it, ``--help``)."""
    expect_value = False
    for arg in argv:
        if expect_value:
            expect_value = False
            continue
        if arg.startswith("-"):
            name = arg.split("=", 1)[0]
            if name in _GLOBAL_WITH_VALUE:
                expect_value = "=" not in arg
                continue
            if name in _GLOBAL_FLAGS:
                continue
            return None
        return arg
    return None


def main(argv: list[str] | None = None) -> int:
    args_in = sys.argv[1:] if argv is None else argv
    try:
        parser = build_check_parser() if command_name(args_in) == "check" else build_parser()
        args = parser.parse_args(args_in)
        args.argv = list(args_in)  # `recheck --workers` starts its workers with the same
        result: int = args.func(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (``verify ... | head -1``): what it wanted, it has. Later
        # writes, the interpreter's last flush included, go nowhere instead of failing.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return EXIT_OK
    return result
