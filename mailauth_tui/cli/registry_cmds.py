"""The registry's steps as subcommands, for scripts and admins with many domains.

Exit codes: 0 done; 1 refused (not an admin, no write access, no registry at the path, a
damaged registry, unknown domain, bad address or code, rate limit), or the result is negative
(a wrong code, a domain not verified, bulk sending refused, a re-check that found failing
records); 2 bad usage. Messages for people go to stderr; what a script consumes (an address,
JSON, zone lines) goes to stdout.

Only ``init`` and ``add`` create a registry where there is none (their actor becomes its first
admin); every other command says there is none and creates nothing. ``verify`` and ``recheck``
by someone who may not change the registry are dry runs, and say so.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from collections.abc import Awaitable, Callable
from dataclasses import fields, is_dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any, TextIO

from mailauth_tui.cli.wiring import WiringError, add_common_arguments, build_registry
from mailauth_tui.core.results import Problem
from mailauth_tui.core.textsafe import printable
from mailauth_tui.registry.errors import RegistryError
from mailauth_tui.registry.models import (
    DomainRow,
    Ownership,
    RecordState,
    VerifyOutcome,
)
from mailauth_tui.registry.service import Registry
from mailauth_tui.services.identity import login_exists
from mailauth_tui.services.store import StoreError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

Command = Callable[[Registry, argparse.Namespace], Awaitable[int]]


# -- output ------------------------------------------------------------------------------


def safe(text: object) -> str:
    """Text that came from DNS or a user, made harmless for a terminal: control characters
    (escape sequences, C1 controls, line breaks) are shown as visible escapes."""
    return printable(str(text))


def _print(text: str = "", file: TextIO | None = None) -> None:
    print(text, file=file if file is not None else sys.stdout)


def _err(text: str) -> None:
    print(text, file=sys.stderr)


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def to_jsonable(value: Any) -> Any:
    """Dataclasses, enums and times as JSON values. Evidence (a JSON string) is inlined."""
    if is_dataclass(value) and not isinstance(value, type):
        out = {f.name: to_jsonable(getattr(value, f.name)) for f in fields(value)}
        if isinstance(value, DomainRow):
            out["verified"] = value.verified
            with contextlib.suppress(ValueError):  # not JSON: keep it as the string it is
                out["evidence"] = json.loads(value.evidence) if value.evidence else None
        return out
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    return value


def _dump(value: Any) -> None:
    # ensure_ascii: every control character and every non-ASCII one comes out as \uXXXX, so
    # nothing from DNS reaches the terminal raw even when the JSON is printed.
    _print(json.dumps(to_jsonable(value), indent=2, ensure_ascii=True))


def _problem_lines(problems: tuple[Problem, ...], indent: str = "    ") -> list[str]:
    lines = []
    for p in problems:
        lines.append(f"{indent}{p.severity.value}: {safe(p.message)}")
        if p.fix:
            lines.append(f"{indent}  fix: {safe(p.fix)}")
    return lines


# -- commands ----------------------------------------------------------------------------


async def _init(registry: Registry, args: argparse.Namespace) -> int:
    if not registry.init():
        admins = ", ".join(sorted(registry.admins))
        _err(f"a registry exists at {safe(args.where)} already; its admins: {safe(admins)}")
        return EXIT_FAILED
    _print(f"created the registry {safe(args.where)}; you ({safe(registry.actor)}) are its admin")
    _print("next: add a domain with: mailauth-tui add ADDRESS")
    return EXIT_OK


async def _migrate(registry: Registry, args: argparse.Namespace) -> int:
    # Opening the store applied what was missing (build_registry with create): only the
    # admin role may on PostgreSQL; on SQLite, whoever may write the file.
    _print(f"the registry {safe(args.where)} is at schema {registry.schema_version}: up to date")
    return EXIT_OK


async def _admin(registry: Registry, args: argparse.Namespace) -> int:
    if args.action == "list":
        admins = registry.admin_list()
        if args.json:
            _dump({"you": registry.actor, "admin": registry.is_admin, "admins": admins})
            return EXIT_OK
        for a in admins:
            _print(f"{safe(a.login)}  (added by {safe(a.added_by)} on {_when(a.added_at)})")
        role = "an admin" if registry.is_admin else "not an admin"
        _err(f"you are {safe(registry.actor)}: {role}")
        return EXIT_OK
    if not args.login:
        _err(f"mailauth-tui admin {args.action}: give the LOGIN")
        return EXIT_USAGE
    if args.action == "add":
        added = registry.admin_add(args.login)
        if args.json:
            _dump(added)
        else:
            _print(f"{safe(added.login)} is an admin now")
            if not login_exists(added.login):
                _err(f"note: {safe(added.login)} is not a user on this host")
        return EXIT_OK
    registry.admin_remove(args.login)
    if args.json:
        _dump({"removed": args.login.strip()})
    else:
        _print(f"{safe(args.login.strip())} is no longer an admin")
    return EXIT_OK


async def _add(registry: Registry, args: argparse.Namespace) -> int:
    registry.init()  # the first add to a new registry makes its actor the first admin
    sent = await registry.add(args.address)
    row = sent.domain
    _print(f"added {safe(_display(row))} (organisation address {safe(row.address)})")
    _print(f"a verification code was sent: {safe(sent.delivered_to)}")
    _print(f"it is valid until {_when(row.code_expires_at)}; enter it with:")
    _print(f"  mailauth-tui code {row.domain} CODE")
    return EXIT_OK


async def _code(registry: Registry, args: argparse.Namespace) -> int:
    check = await registry.submit_code(args.domain, args.code)
    if check.ok:
        _print(safe(check.message))
        _print(f"next: publish the records shown by: mailauth-tui records {check.domain.domain}")
        return EXIT_OK
    message = safe(check.message)
    if check.domain.ownership in (Ownership.LOCKED, Ownership.EXPIRED):
        message += f"; send a new code with: mailauth-tui resend {check.domain.domain}"
    elif check.attempts_left:
        message += f" ({check.attempts_left} tries left)"
    _err(message)
    return EXIT_FAILED


async def _resend(registry: Registry, args: argparse.Namespace) -> int:
    sent = await registry.resend(args.domain)
    row = sent.domain
    _print(f"a new code was sent to {safe(row.address)}: {safe(sent.delivered_to)}")
    valid = _when(row.code_expires_at)
    _print(f"the previous code no longer works; the new one is valid until {valid}")
    return EXIT_OK


async def _records(registry: Registry, args: argparse.Namespace) -> int:
    records = await registry.records(args.domain)
    if args.zone_file:
        for rec in records:
            need = "required" if rec.required else "recommended"
            state = ", already published" if rec.already_published else ""
            _print(f"; {rec.kind} ({need}{state}): {safe(rec.note)}")
            _print(safe(rec.zone_line))
        return EXIT_OK
    for rec in records:
        need = "required" if rec.required else "recommended"
        state = " - already published" if rec.already_published else ""
        _print(f"{rec.kind} ({need}){state}")
        _print(f"  host:  {safe(rec.host)}")
        _print(f"  type:  {rec.rtype}")
        _print(f"  value: {safe(rec.value)}")
        if rec.note:
            _print(f"  note:  {safe(rec.note)}")
        _print()
    return EXIT_OK


def _outcome_lines(outcome: VerifyOutcome) -> list[str]:
    row = outcome.domain
    badge = "verified" if row.verified else "not verified"
    if outcome.dry_run:
        badge = f"would be {badge} (dry run: nothing recorded)"
    lines = [f"{safe(_display(row))}: {badge}"]
    for verdict in outcome.verdicts:
        lines.append(f"  {verdict.kind}: {verdict.state}")
        if verdict.found is not None:
            lines.append(f"    found: {safe(verdict.found)}")
        lines.extend(_problem_lines(verdict.problems))
    lines.extend(f"  change: {safe(t)}" for t in outcome.transitions)
    return lines


def _outcome_json(outcome: VerifyOutcome) -> dict[str, Any]:
    return {
        "domain": to_jsonable(outcome.domain),
        "verdicts": to_jsonable(outcome.verdicts),
        "transitions": list(outcome.transitions),
        "dry_run": outcome.dry_run,
    }


def _dry_run_note(registry: Registry) -> None:
    access = registry.access
    if not access.may_change:
        _err(
            f"dry run: {access.why_read_only()}, so nothing "
            f"is recorded; {access.how_to_get_rights()}"
        )


async def _verify(registry: Registry, args: argparse.Namespace) -> int:
    outcome = await registry.verify(args.domain)
    if args.json:
        _dump(_outcome_json(outcome))
    else:
        for line in _outcome_lines(outcome):
            _print(line)
    if outcome.dry_run:
        _dry_run_note(registry)
    return EXIT_OK if outcome.domain.verified else EXIT_FAILED


def _display(row: DomainRow) -> str:
    if row.domain_unicode and row.domain_unicode != row.domain:
        return f"{row.domain_unicode} ({row.domain})"
    return row.domain


async def _list(registry: Registry, args: argparse.Namespace) -> int:
    rows = registry.list_domains()
    if args.json:
        _dump(rows)
        return EXIT_OK
    if not rows:
        _err("the registry has no domains yet: add one with: mailauth-tui add ADDRESS")
        return EXIT_OK
    header = ("DOMAIN", "OWNERSHIP", "DKIM", "SPF", "DMARC", "NEXT CHECK")
    table = [header]
    for row in rows:
        dmarc = row.dmarc_state.value
        if row.dmarc_policy:
            dmarc += f" p={row.dmarc_policy}"
        table.append(
            (
                safe(_display(row)),
                row.ownership.value,
                row.dkim_state.value,
                row.spf_state.value,
                safe(dmarc),
                _when(row.next_check_at),
            )
        )
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    for r in table:
        _print("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())
    return EXIT_OK


async def _remove(registry: Registry, args: argparse.Namespace) -> int:
    row = registry.get(args.domain)
    if not args.yes:
        if not sys.stdin.isatty():
            _err(f"not removing {row.domain}: confirm with --yes")
            return EXIT_USAGE
        question = f"remove {safe(_display(row))} and delete its DKIM keys? [y/N] "
        answer = await asyncio.to_thread(input, question)
        if answer.strip().lower() not in ("y", "yes"):
            _err("not removed")
            return EXIT_FAILED
    registry.remove(row.domain)
    _print(
        f"removed {safe(_display(row))}; remove its DNS records when no mail is signed with them"
    )
    return EXIT_OK


async def _recheck(registry: Registry, args: argparse.Namespace) -> int:
    # Each outcome is written as it arrives and then dropped (a JSON array, item by item):
    # memory stays flat however many domains are re-checked.
    seen = 0
    failing = False

    def show(outcome: VerifyOutcome) -> None:
        nonlocal seen, failing
        seen += 1
        row = outcome.domain
        failing = failing or RecordState.FAILING in (row.dkim_state, row.spf_state)
        if args.json:
            item = json.dumps(_outcome_json(outcome), indent=2, ensure_ascii=True)
            sys.stdout.write(("[\n" if seen == 1 else ",\n") + item)
        else:
            for line in _outcome_lines(outcome):
                _print(line)
        sys.stdout.flush()

    await registry.recheck(due_only=not args.all, on_result=show, keep=False)
    if args.json:
        _print("\n]" if seen else "[]")
    elif not seen:
        _err("no domain is due for a re-check" if not args.all else "no domain to check")
    _dry_run_note(registry)
    return EXIT_FAILED if failing else EXIT_OK


async def _sender(registry: Registry, args: argparse.Namespace) -> int:
    decision = registry.sender(args.address)
    _print(safe(decision.address))
    _err(safe(decision.reason))
    return EXIT_OK


async def _bulk_check(registry: Registry, args: argparse.Namespace) -> int:
    decision = registry.bulk_check(args.target)
    if decision.allowed:
        _print(f"bulk sending allowed: {safe(decision.reason)}")
        return EXIT_OK
    _err(f"bulk sending refused: {safe(decision.reason)}")
    if decision.action:
        _err(f"to do: {safe(decision.action)}")
    return EXIT_FAILED


async def _report(registry: Registry, args: argparse.Namespace) -> int:
    actions = registry.report()
    if args.json:
        _dump(actions)
        return EXIT_OK
    if not actions:
        _print("nothing to do: every domain is verified with DKIM, SPF and DMARC")
        return EXIT_OK
    for action in actions:
        _print(action.title)
        _print(f"  {action.advice}")
        _print(f"  domains: {', '.join(safe(d) for d in action.domains)}")
    return EXIT_OK


async def _rotate(registry: Registry, args: argparse.Namespace) -> int:
    row = await registry.rotate_dkim(args.domain)
    newest = row.dkim_keys[-1]
    _print(f"new DKIM key for {safe(_display(row))}: selector {newest.selector}")
    if not newest.active:
        current = row.active_key
        if current is not None:
            _print(f"selector {current.selector} keeps signing until the new key is verified")
    _print(f"publish its record (mailauth-tui records {row.domain}),")
    _print(f"then check it with: mailauth-tui verify {row.domain}")
    return EXIT_OK


# -- running -----------------------------------------------------------------------------


def _runner(command: Command) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        return asyncio.run(_run(command, args))

    return run


# The commands that make a registry where there is none; the others never create one.
_CREATING = frozenset({"init", "add"})


async def _run(command: Command, args: argparse.Namespace) -> int:
    try:
        registry = build_registry(
            args, create=args.command in _CREATING, migrate=args.command == "migrate"
        )
    except WiringError as exc:
        _err(f"mailauth-tui: {safe(exc)}")
        return exc.exit_code
    args.where = registry.where
    try:
        for notice in registry.notices:
            _err(f"mailauth-tui: {safe(notice)}")
        return await command(registry, args)
    except RegistryError as exc:
        _err(f"mailauth-tui: {safe(exc)}")
        return EXIT_FAILED
    except StoreError as exc:
        _err(f"mailauth-tui: {safe(exc)}")
        return EXIT_FAILED
    finally:
        registry.close()


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the registry's subcommands to the main parser."""

    def command(name: str, func: Command, help_text: str) -> argparse.ArgumentParser:
        parser = subparsers.add_parser(name, help=help_text, description=help_text)
        add_common_arguments(parser, subcommand=True)
        parser.set_defaults(func=_runner(func))
        return parser

    command("init", _init, "create a registry; you become its first admin")
    command(
        "migrate",
        _migrate,
        "create or upgrade the registry's schema (PostgreSQL: its roles too; admin role only)",
    )

    p = command("admin", _admin, "list, add or remove the registry's admins")
    p.add_argument("action", choices=("list", "add", "remove"))
    p.add_argument("login", metavar="LOGIN", nargs="?", help="a user's login name")
    p.add_argument("--json", action="store_true", help="as JSON")

    p = command("add", _add, "add the domain of an organisation address and mail it a code")
    p.add_argument("address", metavar="ADDRESS", help="e.g. admin@mail.example.com")

    p = command("code", _code, "enter the verification code mailed for a domain")
    p.add_argument("domain", metavar="DOMAIN")
    p.add_argument("code", metavar="CODE")

    p = command("resend", _resend, "mail a new code (the previous one stops working)")
    p.add_argument("domain", metavar="DOMAIN")

    p = command("records", _records, "the DKIM, SPF and DMARC records to publish")
    p.add_argument("domain", metavar="DOMAIN")
    p.add_argument("--zone-file", action="store_true", help="as zone-file lines")

    p = command(
        "verify",
        _verify,
        "look the records up now (exit 1 when not verified; a dry run for non-admins)",
    )
    p.add_argument("domain", metavar="DOMAIN")
    p.add_argument("--json", action="store_true", help="as JSON")

    p = command("list", _list, "the registered domains and their states")
    p.add_argument("--json", action="store_true", help="as JSON")

    p = command("remove", _remove, "remove a domain and delete its DKIM keys")
    p.add_argument("domain", metavar="DOMAIN")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    p = command(
        "recheck", _recheck, "re-check the records (for cron; exit 1 when a record is failing)"
    )
    which = p.add_mutually_exclusive_group()
    which.add_argument("--due", action="store_true", help="only the domains due (default)")
    which.add_argument("--all", action="store_true", help="every domain, now")
    p.add_argument("--json", action="store_true", help="as JSON")

    p = command("sender", _sender, "the From address to use for an address (reason on stderr)")
    p.add_argument("address", metavar="ADDRESS")

    p = command("bulk-check", _bulk_check, "whether bulk sending is allowed (exit 1 when not)")
    p.add_argument("target", metavar="ADDRESS|DOMAIN")

    p = command("report", _report, "the reliability report: recommended actions")
    p.add_argument("--json", action="store_true", help="as JSON")

    p = command("rotate", _rotate, "make a new DKIM key; it signs once verified in DNS")
    p.add_argument("domain", metavar="DOMAIN")
