"""Argument types shared by the command-line parsers (``check`` and the registry commands):
each turns bad input into argparse's usage error (exit 2) with a plain message."""

from __future__ import annotations

import argparse
import ipaddress
from pathlib import Path

from mailauth_tui.core.errors import InvalidDomainError
from mailauth_tui.core.names import normalize_domain
from mailauth_tui.core.textsafe import printable
from mailauth_tui.services.dns import parse_nameserver
from mailauth_tui.services.pg_url import check_url, is_postgres_url


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= 100_000:
        raise argparse.ArgumentTypeError("give a number between 1 and 100000")
    return value


def seconds_arg(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value <= 60:
        raise argparse.ArgumentTypeError("give a timeout between 0 and 60 seconds")
    return value


def nameserver_arg(text: str) -> str:
    try:
        parse_nameserver(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def address_arg(text: str) -> str:
    """``--ip``: one IPv4 or IPv6 address (a sending server), written back in its usual form."""
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{printable(text)!r} is not an IP address (e.g. 192.0.2.10 or 2001:db8::10)"
        ) from None


def helo_arg(text: str) -> str:
    """``--helo``: the name a sending server gives in HELO/EHLO."""
    try:
        return normalize_domain(text).ascii
    except InvalidDomainError as exc:
        raise argparse.ArgumentTypeError(f"--helo: {exc}") from None


def db_arg(text: str) -> Path | str:
    """``--db``: a SQLite file's path, or a ``postgresql://`` URL (kept as text: a Path would
    fold its ``//``). A password in the URL is accepted here but never shown."""
    if not is_postgres_url(text):
        return Path(text)
    try:
        return check_url(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
