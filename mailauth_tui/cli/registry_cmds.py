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
import json
import shlex
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TextIO

from mailauth_tui.cli import signing_cmds
from mailauth_tui.cli.argtypes import positive_int, seconds_arg
from mailauth_tui.cli.json_out import outcome_json, outcome_line, to_jsonable
from mailauth_tui.cli.recheck_workers import (
    Flags,
    Tally,
    WorkerFailure,
    run_workers,
    shard_arg,
    worker_line,
    workers_arg,
)
from mailauth_tui.cli.timed_flush import TimedFlush
from mailauth_tui.cli.wiring import (
    WiringError,
    add_common_arguments,
    build_registry,
    build_settings,
)
from mailauth_tui.core.propagation import PropagationReport, Served
from mailauth_tui.core.results import DomainReport, Problem, Status
from mailauth_tui.core.textsafe import printable
from mailauth_tui.core.when import when
from mailauth_tui.registry.errors import RegistryError
from mailauth_tui.registry.models import (
    DomainRow,
    Ownership,
    RecordState,
    VerifyOutcome,
)
from mailauth_tui.registry.sender import parse_address
from mailauth_tui.registry.service import Registry
from mailauth_tui.registry.shards import Shard
from mailauth_tui.registry.zone_publish import FOLLOW_TIMEOUT
from mailauth_tui.services.identity import login_exists
from mailauth_tui.services.store import StoreError

# Domains in flight in a headless re-check: more than the console's, so that a process keeps
# its core busy while results wait for the write lock (`--workers` share it).
RECHECK_CONCURRENCY = 64

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
# recheck: not one look-up got an answer (timeouts, SERVFAIL, REFUSED): a DNS outage, not a
# clean pass; nothing was demoted. Cron tells it from 0 and 1 by this code.
EXIT_NO_ANSWER = 3

Command = Callable[[Registry, argparse.Namespace], Awaitable[int]]


# -- output ------------------------------------------------------------------------------


def safe(text: object) -> str:
    """Text that came from DNS or a user, made harmless for a terminal: control characters
    (escape sequences, C1 controls, line breaks) are shown as visible escapes."""
    return printable(str(text))


def _next(args: argparse.Namespace, *words: str) -> str:
    """A command to run next, with the --db and --config this one was given, so that pasting
    it works on the same registry."""
    line = ["mailauth-tui", *words]
    for option in ("db", "config"):
        value = getattr(args, option, None)
        if value is not None:
            line += [f"--{option}", str(value)]
    return safe(" ".join(shlex.quote(w) for w in line))


def _print(text: str = "", file: TextIO | None = None) -> None:
    print(text, file=file if file is not None else sys.stdout)


def _err(text: str) -> None:
    print(text, file=sys.stderr)


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
    created = registry.init()
    admins = sorted(registry.admins)
    if args.json:
        _dump({"created": created, "registry": str(args.where), "admins": admins})
        return EXIT_OK if created else EXIT_FAILED
    if not created:
        who = ", ".join(admins)
        _err(f"a registry exists at {safe(args.where)} already; its admins: {safe(who)}")
        return EXIT_FAILED
    _print(f"created the registry {safe(args.where)}; you ({safe(registry.actor)}) are its admin")
    _print(f"next: add a domain with: {_next(args, 'add', 'ADDRESS')}")
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
            _print(
                f"{safe(a.login)}  (added by {safe(a.added_by)} on {when(a.added_at, empty='-')})"
            )
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
    if args.json:
        _dump(sent)
        return EXIT_OK
    row = sent.domain
    _print(f"added {safe(_display(row))} (organisation address {safe(row.address)})")
    _print(f"a verification code was sent: {safe(sent.delivered_to)}")
    _print(f"it is valid until {when(row.code_expires_at, empty='-')}; enter it with:")
    _print(f"  {_next(args, 'code', row.domain, 'CODE')}")
    return EXIT_OK


async def _code(registry: Registry, args: argparse.Namespace) -> int:
    check = await registry.submit_code(args.domain, args.code)
    if args.json:
        _dump(check)
        return EXIT_OK if check.ok else EXIT_FAILED
    if check.ok:
        _print(safe(check.message))
        _print(f"next: publish the records shown by: {_next(args, 'records', check.domain.domain)}")
        return EXIT_OK
    message = safe(check.message)
    if check.domain.ownership in (Ownership.LOCKED, Ownership.EXPIRED):
        message += f"; send a new code with: {_next(args, 'resend', check.domain.domain)}"
    elif check.attempts_left:
        message += f" ({check.attempts_left} tries left)"
    _err(message)
    return EXIT_FAILED


async def _resend(registry: Registry, args: argparse.Namespace) -> int:
    sent = await registry.resend(args.domain)
    if args.json:
        _dump(sent)
        return EXIT_OK
    row = sent.domain
    _print(f"a new code was sent to {safe(row.address)}: {safe(sent.delivered_to)}")
    valid = when(row.code_expires_at, empty="-")
    _print(f"the previous code no longer works; the new one is valid until {valid}")
    return EXIT_OK


async def _records(registry: Registry, args: argparse.Namespace) -> int:
    records = await registry.records(args.domain)
    if args.json:
        _dump(records)
        return EXIT_OK
    if args.zone_file:
        for rec in records:
            need = "required" if rec.required else "recommended"
            state = ", already published" if rec.already_published else ""
            if not rec.value:
                state = ", nothing to publish yet"
            _print(f"; {rec.kind} ({need}{state}), host at a DNS provider: {safe(rec.short_host)}")
            _print(f"; {safe(rec.note)}")
            if rec.zone_line:
                _print(safe(rec.zone_line))
        return EXIT_OK
    for rec in records:
        need = "required" if rec.required else "recommended"
        state = " - already published" if rec.already_published else ""
        if not rec.value:  # SPF without sending sources: what is needed is in the note
            state = " - nothing to publish yet"
        _print(f"{rec.kind} ({need}){state}")
        _print(f"  host:  {safe(rec.host)}  (at a DNS provider: {safe(rec.short_host)})")
        _print(f"  type:  {rec.rtype}")
        _print(f"  value: {safe(rec.value) or '(none: see the note)'}")
        if rec.note:
            _print(f"  note:  {safe(rec.note)}")
        _print()
    return EXIT_OK


def _outcome_lines(outcome: VerifyOutcome) -> list[str]:
    row = outcome.domain
    badge = "verified" if row.verified else "not verified"
    if row.verified and _dkim_look_failed(outcome):
        badge = "verified until the next check confirms a failing DKIM look"
    if outcome.dry_run:
        badge = f"would be {badge} (dry run: nothing recorded)"
    lines = [f"{safe(_display(row))}: {badge}"]
    for verdict in outcome.verdicts:
        extra = _dmarc_applied(outcome.report) if verdict.kind == "DMARC" else ""
        lines.append(f"  {verdict.kind}: {verdict.state_line}{safe(extra)}")
        if verdict.found is not None:
            lines.append(f"    found: {safe(verdict.found)}")
        lines.extend(_problem_lines(verdict.problems))
    for test in outcome.selftests:
        lines.append(f"  DKIM self-test ({safe(test.selector)}): {test.status.value}")
        lines.append(f"    {safe(test.reason)}")
        if test.fix:
            lines.append(f"    fix: {safe(test.fix)}")
    lines.extend(f"  change: {safe(t)}" for t in outcome.transitions)
    if outcome.propagation:
        lines.append(f"  nameservers: {safe(outcome.propagation)}")
    return lines


def _dmarc_applied(report: DomainReport) -> str:
    """ ", policy quarantine (sp= of _dmarc.example.com)": the policy that applies to the
    domain, which an inherited record's sp= (or np=) sets rather than its p=."""
    dmarc = report.dmarc
    if dmarc.effective_policy is None:
        return ""
    source = dmarc.source_domain or report.domain
    if source == report.domain:
        return f", policy {dmarc.effective_policy}"
    if dmarc.effective_policy != dmarc.subdomain_policy:
        tag = "np="  # the domain does not exist
    else:
        tag = "p=" if dmarc.subdomain_policy == dmarc.policy else "sp="
    return f", policy {dmarc.effective_policy} ({tag} of _dmarc.{source})"


def _dkim_look_failed(outcome: VerifyOutcome) -> bool:
    """This look found the DKIM key wrong, though the domain stays verified until a second
    look confirms it (and verify exits 0): the first line says so."""
    return any(v.kind == "DKIM" and v.shown_state != v.state for v in outcome.verdicts)


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
        _dump(outcome_json(outcome))
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
        _err(f"the registry has no domains yet: add one with: {_next(args, 'add', 'ADDRESS')}")
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
                when(row.next_check_at, empty="-"),
            )
        )
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    for r in table:
        _print("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())
    return EXIT_OK


async def _journal(registry: Registry, args: argparse.Namespace) -> int:
    entries = registry.journal(args.domain, args.limit)
    if args.json:
        _dump(entries)
        return EXIT_OK
    if not entries:
        _err("the journal is empty" if args.domain is None else "nothing journaled for it yet")
        return EXIT_OK
    for e in reversed(entries):  # oldest first, as a log reads
        where = "" if args.domain is not None else f"{e.domain or '(registry)'}  "
        _print(f"{when(e.at)}  {safe(where)}{safe(e.actor)}  {e.event}: {safe(e.detail)}")
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
    if args.json:
        _dump({"removed": row.domain})
        return EXIT_OK
    _print(
        f"removed {safe(_display(row))}; remove its DNS records when no mail is signed with them"
    )
    return EXIT_OK


async def _recheck(registry: Registry, args: argparse.Namespace) -> int:
    # Each outcome is written as it arrives and then dropped (a JSON array, item by item):
    # memory stays flat however many domains are re-checked; only counts are kept.
    due_only = not args.all
    if args.shard is not None:  # a worker of `--workers`: its results go to the first process
        # Ctrl-C reaches the whole process group: the first process alone says "interrupted",
        # and stops its workers itself.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        await registry.recheck(
            due_only=due_only, on_result=_worker_show(args.json), keep=False, shard=args.shard
        )
        return EXIT_OK
    # Flushed within FLUSH_DELAY, with what else is ready by then, not once per result.
    stream = TimedFlush(sys.stdout)
    tally = Tally(as_json=args.json, wrote=stream.wrote)

    def show(outcome: VerifyOutcome) -> None:
        tally.add(_flags(outcome), _outcome_text(outcome, as_json=args.json))

    failures: list[WorkerFailure] = []
    if args.workers == 1:
        await stream.run(registry.recheck(due_only=due_only, on_result=show, keep=False))
    else:
        others = asyncio.ensure_future(
            run_workers(args.argv, args.workers, tally.add, as_json=args.json)
        )
        try:
            await stream.run(
                registry.recheck(
                    due_only=due_only, on_result=show, keep=False, shard=Shard(1, args.workers)
                )
            )
        except BaseException:  # its error is the one to tell; the workers stop with it
            others.cancel()
            await asyncio.gather(others, return_exceptions=True)
            raise
        failures = await stream.run(others)
    tally.close()
    for failure in failures:
        _err(f"mailauth-tui: {safe(failure)}")
    seen = tally.seen
    if not seen and not args.json:
        _err("no domain is due for a re-check" if not args.all else "no domain to check")
    _dry_run_note(registry)
    if not seen:
        return EXIT_FAILED if failures else EXIT_OK
    _err(
        f"re-checked {_count(seen, 'domain')}: {tally.verified} verified, {tally.failing} "
        f"failing, {tally.unanswered} without any DNS answer"
    )
    if tally.unanswered == seen:
        _err(
            "no DNS look-up got an answer (timeouts, SERVFAIL or REFUSED): is DNS reachable "
            "from here? Nothing was demoted"
        )
        return EXIT_NO_ANSWER
    return EXIT_FAILED if tally.failing or failures else EXIT_OK


def _flags(outcome: VerifyOutcome) -> Flags:
    row = outcome.domain
    return Flags(
        failing=RecordState.FAILING in (row.dkim_state, row.spf_state),
        unanswered=not _answered(outcome.report),
        verified=row.verified,
    )


def _outcome_text(outcome: VerifyOutcome, *, as_json: bool) -> str:
    if as_json:
        # One item a line: json's C encoder does no indenting, and the Python one it falls
        # back to for indent= took a fifth of a large re-check's time. ensure_ascii: as
        # _dump (nothing from DNS reaches a terminal raw). json.dumps(outcome_json(...)),
        # the same bytes, at a third of the cost (json_out).
        return outcome_line(outcome)
    return "\n".join(_outcome_lines(outcome))


def _worker_show(as_json: bool) -> Callable[[VerifyOutcome], None]:
    def show(outcome: VerifyOutcome) -> None:
        text = _outcome_text(outcome, as_json=as_json)
        sys.stdout.write(worker_line(_flags(outcome), text, as_json=as_json))
        # Flushed at once (not on a timer as the first process's output): a worker killed
        # mid-round still has every result it committed shown.
        sys.stdout.flush()

    return show


def _answered(report: DomainReport) -> bool:
    """Whether any of the domain's look-ups got an answer (a record, or a sure absence)."""
    statuses = [report.spf.status, report.dmarc.status, *(d.status for d in report.dkim)]
    return any(status is not Status.UNKNOWN for status in statuses)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


async def _sender(registry: Registry, args: argparse.Namespace) -> int:
    decision = registry.sender(args.address)
    if args.json:
        _dump(decision)
        return EXIT_OK
    _print(safe(decision.address))
    _err(safe(decision.reason))
    return EXIT_OK


async def _bulk_check(registry: Registry, args: argparse.Namespace) -> int:
    decision = registry.bulk_check(args.target)
    if args.json:
        _dump(decision)
        return EXIT_OK if decision.allowed else EXIT_FAILED
    if decision.allowed:
        _print(f"bulk sending allowed: {safe(decision.reason)}")
        return EXIT_OK
    _err(f"bulk sending refused: {safe(decision.reason)}")
    if decision.action:
        _err(f"to do: {safe(decision.action)}")
    if decision.record is not None:
        record = decision.record
        _err(f"  {safe(record.host)} TXT {safe(record.value)}")
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
    if args.json:
        _dump(row)
        return EXIT_OK
    newest = row.dkim_keys[-1]
    _print(f"new DKIM key for {safe(_display(row))}: selector {newest.selector}")
    if not newest.active:
        current = row.active_key
        if current is not None:
            _print(f"selector {current.selector} keeps signing until the new key is verified")
    _print(f"publish its record ({_next(args, 'records', row.domain)}),")
    _print(f"then check it with: {_next(args, 'verify', row.domain)}")
    return EXIT_OK


def _propagation_lines(report: PropagationReport) -> list[str]:
    if report.error:
        return [f"{safe(report.domain)}: {safe(report.error)}"]
    lines = [f"{safe(report.domain)} (zone {safe(report.zone)})"]
    for server in report.servers:
        serial = server.serial if server.serial is not None else f"unknown ({server.error})"
        lines.append(f"  {safe(server.name)} {safe(server.address)}  serial {safe(serial)}")
        for r in server.records:
            line = f"    {r.kind:<6}{safe(r.host)}  {r.state.value}"
            if r.detail:
                line += f": {safe(r.detail)}"
            lines.append(line)
            if r.found is not None and r.state is not Served.MATCH:
                lines.append(f"      found: {safe(r.found)}")
            lines.extend(_problem_lines(r.problems, indent="      "))
    lines.append("; ".join(report.badge(kind) for kind in report.kinds()))
    lines.append(safe(report.summary()))
    return lines


def _propagation_json(report: PropagationReport) -> dict[str, Any]:
    out: dict[str, Any] = to_jsonable(report)
    out["complete"] = report.complete
    out["badges"] = {kind: report.badge(kind) for kind in report.kinds()}
    out["summary"] = report.summary()
    return out


async def _propagation(registry: Registry, args: argparse.Namespace) -> int:
    report = await registry.propagation(args.domain)
    if args.json:
        _dump(_propagation_json(report))
    else:
        for line in _propagation_lines(report):
            _print(line)
    return EXIT_OK if report.complete else EXIT_FAILED


async def _publish(registry: Registry, args: argparse.Namespace) -> int:
    seen: list[str] = []

    def progress(report: PropagationReport) -> None:
        summary = report.summary()
        if not args.json and (not seen or seen[-1] != summary):
            seen.append(summary)
            _err(f"propagation: {safe(summary)}")

    outcome = await registry.publish(
        args.domain, dry_run=args.dry_run, on_report=progress, follow_timeout=args.wait
    )
    if args.json:
        out = to_jsonable(outcome)
        out["propagation"] = _propagation_json(outcome.propagation) if outcome.propagation else None
        out["verify"] = outcome_json(outcome.verify) if outcome.verify else None
        _dump(out)
    else:
        where = f"zone {safe(outcome.zone)} at {safe(outcome.server)}"
        if not outcome.changes:
            _print(f"nothing to update in {where}: every record is there already")
        else:
            head = "dry run: the update" if outcome.dry_run else "the update"
            _print(f"{head} of {where}:")
            for line in outcome.update:
                _print(f"  {safe(line)}")
        for note in outcome.notes:
            _print(f"  ; {safe(note)}")
        if outcome.propagation is not None:
            _print("; ".join(outcome.propagation.badge(k) for k in outcome.propagation.kinds()))
        if outcome.verify is not None:
            for line in _outcome_lines(outcome.verify):
                _print(line)
    if outcome.dry_run:
        _dry_run_note(registry)
        return EXIT_OK
    done = outcome.propagation is not None and outcome.propagation.complete
    verified = outcome.verify is not None and outcome.verify.domain.verified
    return EXIT_OK if done and verified else EXIT_FAILED


# -- running -----------------------------------------------------------------------------


def _runner(command: Command) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        return asyncio.run(_run(command, args))

    return run


# The commands that make a registry where there is none; the others never create one.
_CREATING = frozenset({"init", "add"})


def _refused_before_creating(args: argparse.Namespace) -> str:
    """Why ``add`` would refuse its address (""), checked before a new registry is created
    for it: a refused command changes nothing."""
    if args.command != "add":
        return ""
    try:
        parse_address(args.address, test_environment=build_settings(args).test_environment)
    except (RegistryError, WiringError) as exc:
        return str(exc)
    return ""


async def _run(command: Command, args: argparse.Namespace) -> int:
    if refusal := _refused_before_creating(args):
        _err(f"mailauth-tui: {safe(refusal)}")
        return EXIT_FAILED
    try:
        registry = build_registry(
            args, create=args.command in _CREATING, migrate=args.command == "migrate"
        )
    except WiringError as exc:
        _err(f"mailauth-tui: {safe(exc)}")
        return exc.exit_code
    args.where = registry.where
    try:
        if getattr(args, "shard", None) is None:  # a worker's first process told them
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

    p = command("init", _init, "create a registry; you become its first admin")
    p.add_argument("--json", action="store_true", help="as JSON")
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
    p.add_argument("--json", action="store_true", help="as JSON")

    p = command("code", _code, "enter the verification code mailed for a domain")
    p.add_argument("domain", metavar="DOMAIN")
    p.add_argument("code", metavar="CODE")
    p.add_argument("--json", action="store_true", help="as JSON")

    p = command("resend", _resend, "mail a new code (the previous one stops working)")
    p.add_argument("domain", metavar="DOMAIN")
    p.add_argument("--json", action="store_true", help="as JSON")

    p = command("records", _records, "the DKIM, SPF and DMARC records to publish")
    p.add_argument("domain", metavar="DOMAIN")
    form = p.add_mutually_exclusive_group()
    form.add_argument("--zone-file", action="store_true", help="as zone-file lines")
    form.add_argument("--json", action="store_true", help="as JSON (host and short_host)")

    p = command(
        "verify",
        _verify,
        "look the records up now (exit 1 when not verified; a dry run for non-admins)",
    )
    p.add_argument("domain", metavar="DOMAIN")
    p.add_argument("--json", action="store_true", help="as JSON")

    p = command("list", _list, "the registered domains and their states")
    p.add_argument("--json", action="store_true", help="as JSON")

    p = command("journal", _journal, "what changed and why, oldest first: who, when, evidence")
    p.add_argument("domain", metavar="DOMAIN", nargs="?", help="one domain (default: all)")
    p.add_argument("--limit", type=positive_int, default=100, metavar="N", help="the last N (100)")
    p.add_argument("--json", action="store_true", help="as JSON, newest first")

    p = command("remove", _remove, "remove a domain and delete its DKIM keys")
    p.add_argument("domain", metavar="DOMAIN")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument("--json", action="store_true", help="as JSON")

    p = command(
        "recheck", _recheck, "re-check the records (for cron; exit 1 when a record is failing)"
    )
    which = p.add_mutually_exclusive_group()
    which.add_argument("--due", action="store_true", help="only the domains due (default)")
    which.add_argument("--all", action="store_true", help="every domain, now")
    p.add_argument("--json", action="store_true", help="as JSON")
    p.add_argument(
        "--workers",
        type=workers_arg,
        default=1,
        metavar="N",
        help="N processes share the round, one core each (default: 1)",
    )
    p.add_argument(
        "--concurrency",
        type=positive_int,
        default=RECHECK_CONCURRENCY,
        metavar="N",
        help=f"domains in flight in each process (default: {RECHECK_CONCURRENCY})",
    )
    # A worker started by --workers: its share of the round, its results handed on.
    p.add_argument("--shard", type=shard_arg, default=None, help=argparse.SUPPRESS)

    p = command("sender", _sender, "the From address to use for an address (reason on stderr)")
    p.add_argument("address", metavar="ADDRESS")
    p.add_argument("--json", action="store_true", help="as JSON (reason included)")

    p = command("bulk-check", _bulk_check, "whether bulk sending is allowed (exit 1 when not)")
    p.add_argument("target", metavar="ADDRESS|DOMAIN")
    p.add_argument("--json", action="store_true", help="as JSON")

    p = command("report", _report, "the reliability report: recommended actions")
    p.add_argument("--json", action="store_true", help="as JSON")

    p = command(
        "propagation",
        _propagation,
        "ask each of the zone's nameservers for the records (exit 0 only when all serve all)",
    )
    p.add_argument("domain", metavar="DOMAIN")
    p.add_argument("--json", action="store_true", help="as JSON")

    p = command(
        "publish",
        _publish,
        "publish the records by an RFC 2136 update, follow them to every nameserver, verify",
    )
    p.add_argument("domain", metavar="DOMAIN")
    p.add_argument("--dry-run", action="store_true", help="print the exact update, send nothing")
    p.add_argument(
        "--wait",
        type=seconds_arg,
        default=FOLLOW_TIMEOUT,
        metavar="SECONDS",
        help=f"follow the propagation at most this long (default: {FOLLOW_TIMEOUT:g})",
    )
    p.add_argument("--json", action="store_true", help="as JSON")

    p = command("rotate", _rotate, "make a new DKIM key; it signs once verified in DNS")
    p.add_argument("domain", metavar="DOMAIN")
    p.add_argument("--json", action="store_true", help="as JSON")

    signing_cmds.register(command)
    signing_cmds.register_relay(command)
