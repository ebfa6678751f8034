"""``mailauth-tui check``: SPF, DKIM, DMARC and BIMI of many domains, headless.

Domains are checked concurrently; results are written in input order, each as soon as it and
every domain before it are done, and flushed within FLUSH_DELAY (so a long run streams, and two
runs diff cleanly).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import BinaryIO, TextIO, cast

import orjson

from mailauth_tui.cli.argtypes import (
    address_arg,
    helo_arg,
    nameserver_arg,
    positive_int,
    seconds_arg,
)
from mailauth_tui.cli.gc_policy import batch_gc
from mailauth_tui.core import psl
from mailauth_tui.core.check import check_domain, internal_error_report, with_servers
from mailauth_tui.core.dns_types import Resolver
from mailauth_tui.core.report_json import report_to_dict
from mailauth_tui.core.results import (
    DmarcResult,
    DomainReport,
    Severity,
    Status,
)
from mailauth_tui.core.spf_memo import SpfMemo
from mailauth_tui.core.textsafe import printable
from mailauth_tui.services.split import make_resolver

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
DEFAULT_TIMEOUT = 3.0
RETRIES = 2
# Queries in flight, across all domains: enough to hide a network's latency, few enough not
# to flood a recursive resolver. Separate from --concurrency (domains in flight).
RESOLVER_IN_FLIGHT = 128
# Domains in flight. Each asks about one question at a time (a few side by side now and
# then), so this many keep the resolver busy and stay under its bound: a question that has to
# queue for a slot costs a future and a wake-up more, and once one queues, all behind it do.
DEFAULT_CONCURRENCY = 100
# Reports ready are written out at most this long after the first of them (seconds): a run
# still streams, without a write to the output per domain.
FLUSH_DELAY = 0.05
_SELECTOR = re.compile(r"^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62})(?:\.[A-Za-z0-9_-]{1,63})*$")


def _selector(text: str) -> str:
    if not _SELECTOR.match(text) or len(text) > 200:
        raise argparse.ArgumentTypeError(
            f"{printable(text)!r} is not a DKIM selector (letters, digits, '-', '_', dots)"
        )
    return text


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``check`` to the main parser."""
    text = "check the SPF, DKIM, DMARC and BIMI records of domains (no registry needed)"
    parser = subparsers.add_parser(
        "check",
        help=text,
        description=(
            f"{text[0].upper()}{text[1:]}. Exit status: 0 when every domain is valid, 1 when "
            "any is not (or could not be checked), 2 on bad usage."
        ),
    )
    add_arguments(parser)
    parser.set_defaults(func=run)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("domains", nargs="*", metavar="DOMAIN", help="domains to check")
    parser.add_argument("--json", action="store_true", help="one JSON object per domain per line")
    # SUPPRESS: a value given before the subcommand (`mailauth-tui --timeout 1 check ...`)
    # is kept rather than reset by this subparser's default.
    parser.add_argument(
        "--nameserver",
        action="append",
        type=nameserver_arg,
        metavar="HOST[:PORT]",
        default=argparse.SUPPRESS,
        help="ask this DNS server (default: the system's); repeat for several, asked in turn "
        "and the next one on a timeout. A name a server refuses as outside its zones (an "
        "authoritative-only server) is asked of the other servers, then the system's resolver",
    )
    parser.add_argument(
        "--selector",
        action="append",
        type=_selector,
        default=[],
        metavar="S",
        help="a DKIM selector to check at S._domainkey.DOMAIN (repeat for several; without "
        "one DKIM is not checked, as DNS cannot list a domain's selectors)",
    )
    parser.add_argument(
        "--ip",
        action="append",
        type=address_arg,
        default=[],
        metavar="ADDR",
        help="a sending server's address: evaluate SPF check_host for it against each domain "
        "(repeat for several); the domain is not valid unless every address passes",
    )
    parser.add_argument(
        "--helo",
        type=helo_arg,
        default=None,
        metavar="NAME",
        help="the name those servers give in HELO/EHLO, for records whose macros use it "
        "(default: the domain)",
    )
    parser.add_argument(
        "--file",
        metavar="F",
        help="read domains from F ('-' for standard input), one per line, '#' starts a comment",
    )
    parser.add_argument(
        "--concurrency",
        type=positive_int,
        default=DEFAULT_CONCURRENCY,
        metavar="N",
        help=f"domains checked at once (default: {DEFAULT_CONCURRENCY})",
    )
    parser.add_argument(
        "--timeout",
        type=seconds_arg,
        default=argparse.SUPPRESS,
        metavar="S",
        help=f"seconds to wait for each DNS attempt, {RETRIES + 1} attempts "
        f"(default: {DEFAULT_TIMEOUT:g})",
    )


def read_domains(lines: Iterator[str]) -> Iterator[str]:
    """Domains from a file's lines: blank lines and ``#`` comments skipped."""
    for line in lines:
        text = line.split("#", 1)[0].strip()
        if text:
            yield text


def run(args: argparse.Namespace) -> int:
    domains: list[str] = list(args.domains)
    if args.file:
        try:
            if args.file == "-":
                domains.extend(read_domains(iter(sys.stdin)))
            else:
                with open(args.file, encoding="utf-8", errors="replace") as fh:
                    domains.extend(read_domains(iter(fh)))
        except OSError as exc:
            print(f"mailauth-tui check: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
            return EXIT_USAGE
    domains = list(dict.fromkeys(domains))
    if not domains:
        print("mailauth-tui check: give at least one DOMAIN or --file F", file=sys.stderr)
        return EXIT_USAGE
    nameservers: list[str] = getattr(args, "nameserver", None) or []
    timeout: float = getattr(args, "timeout", None) or DEFAULT_TIMEOUT
    try:
        resolver = make_resolver(
            nameservers, timeout=timeout, retries=RETRIES, concurrency=RESOLVER_IN_FLIGHT
        )
    except ValueError as exc:
        print(f"mailauth-tui check: {exc}", file=sys.stderr)
        return EXIT_USAGE
    selectors: list[str] = list(dict.fromkeys(args.selector))
    writer: _Writer = (
        _JsonWriter(sys.stdout)
        if args.json
        else _TableWriter(sys.stdout, domains, dkim_checked=bool(selectors))
    )
    try:
        with batch_gc():
            all_valid = asyncio.run(
                _check_all(
                    resolver,
                    domains,
                    selectors,
                    args.concurrency,
                    writer,
                    servers=bool(nameservers),
                    ips=list(dict.fromkeys(args.ip)),
                    helo=args.helo,
                )
            )
        writer.finish()
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, and keep Python's exit flush quiet too.
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives until the process exits
        return EXIT_FAILED
    finally:
        resolver.close()
    return EXIT_OK if all_valid else EXIT_FAILED


async def _check_all(
    resolver: Resolver,
    domains: Sequence[str],
    selectors: Sequence[str],
    concurrency: int,
    writer: _Writer,
    *,
    servers: bool = False,
    ips: Sequence[str] = (),
    helo: str | None = None,
) -> bool:
    """Check with ``concurrency`` workers; hand reports to ``writer`` in input order.
    ``servers``: say which server answered each record (the servers were given). ``ips``:
    sending addresses for check_host, ``helo`` their HELO name (``--ip``, ``--helo``)."""
    done: dict[int, DomainReport] = {}
    next_out = 0
    all_valid = True
    todo = iter(enumerate(domains))
    workers = min(concurrency, len(domains))
    # The resolver keeps every answer for the run, so a provider's include tree walked for one
    # domain is the same for the next.
    memo = SpfMemo()
    loop = asyncio.get_running_loop()
    flush: asyncio.TimerHandle | None = None
    failure: Exception | None = None

    def flush_now() -> None:
        nonlocal flush, failure
        flush = None
        try:
            writer.flush()
        except Exception as exc:
            # Raised in a timer callback, it would only be logged, once per flush, while the
            # run went on: the workers stop instead, and the run raises it (a reader gone
            # away, BrokenPipeError, then ends the run quietly).
            failure = exc
            for task in runs:
                task.cancel()

    async def worker() -> None:
        nonlocal next_out, all_valid, flush
        for index, domain in todo:
            try:
                report = await check_domain(
                    resolver, domain, selectors=selectors, spf_memo=memo, ips=ips, helo=helo
                )
                done[index] = await with_servers(resolver, report) if servers else report
            except Exception as exc:  # one domain's failure must not end a run over thousands
                done[index] = internal_error_report(domain, exc, selectors)
            if next_out not in done:
                continue
            while next_out in done:
                report = done.pop(next_out)
                all_valid = all_valid and passes(report)
                writer.write(report)
                next_out += 1
            if flush is None:
                flush = loop.call_later(FLUSH_DELAY, flush_now)

    runs = [loop.create_task(worker()) for _ in range(workers)]
    # The Public Suffix List is read while the first questions are out, not before one of
    # them: a round of steps after the workers' first, each of which sends a question or
    # starts the task that does.
    loop.call_soon(loop.call_soon, psl.load)
    try:
        await asyncio.gather(*runs)
    except asyncio.CancelledError:
        if failure is None:
            raise
    finally:
        if flush is not None:
            flush.cancel()
    if failure is not None:
        raise failure
    writer.flush()
    return all_valid


def passes(report: DomainReport) -> bool:
    """Valid, and every ``--ip`` address authorised (check_host "pass")."""
    return report.valid and all(v.result == "pass" for v in report.spf.sources)


class _Writer:
    def write(self, report: DomainReport) -> None:
        raise NotImplementedError

    def flush(self) -> None:
        """Called once reports have waited FLUSH_DELAY, and at the end (a run streams)."""

    def finish(self) -> None:
        """Called once after the last report."""


# Output is ASCII, so every control character (C1 too) leaves as a \\u escape: orjson escapes
# those below U+0020 and writes the rest as UTF-8, so a line with anything beyond ASCII (an IDN,
# odd DNS text) goes through the standard library's ensure_ascii encoder instead, with the same
# compact separators. orjson is ten times faster on the ~3 KB of a report.
_ASCII_JSON = json.JSONEncoder(ensure_ascii=True, check_circular=False, separators=(",", ":"))


def report_json(report: DomainReport) -> bytes:
    """One report as one line of ASCII JSON, newline included."""
    data = report_to_dict(report)
    try:
        encoded = orjson.dumps(data, option=orjson.OPT_APPEND_NEWLINE)
    except orjson.JSONEncodeError:
        pass  # a lone surrogate (a command-line argument that was not UTF-8) is no UTF-8 either
    else:
        if encoded.isascii():
            return encoded
    return (_ASCII_JSON.encode(data) + "\n").encode("ascii")


def report_line(report: DomainReport) -> str:
    """One report as one line of ASCII JSON (no newline)."""
    return report_json(report)[:-1].decode("ascii")


def _ascii_compatible(encoding: str) -> bool:
    try:
        return "{}\n".encode(encoding) == b"{}\n"
    except (LookupError, ValueError):
        return False


@dataclass
class _JsonWriter(_Writer):
    out: TextIO
    # The bytes under a text stream (a file, a pipe, a terminal), written to directly: the
    # JSON is ASCII bytes already, which the text layer would decode and encode again.
    binary: BinaryIO | None = field(init=False, default=None)
    # Lines waiting for the next flush, written to the bytes as one: a stream's buffer (8 KB)
    # holds two or three lines, so writing each made a system call for nearly every domain.
    pending: list[bytes] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        binary = getattr(self.out, "buffer", None)
        encoding = getattr(self.out, "encoding", None) or ""
        if (
            isinstance(binary, io.BufferedIOBase)
            and _ascii_compatible(encoding)
            and os.linesep == "\n"  # else the text layer would translate the newline
        ):
            self.out.flush()  # anything written as text so far goes first
            self.binary = cast(BinaryIO, binary)

    def write(self, report: DomainReport) -> None:
        if self.binary is not None:
            self.pending.append(report_json(report))
        else:
            self.out.write(report_line(report) + "\n")

    def flush(self) -> None:
        if self.pending:
            assert self.binary is not None
            lines = b"".join(self.pending)
            self.pending.clear()
            self.binary.write(lines)
        self.out.flush()


_NO_SELECTOR = (
    "DKIM was not checked: give --selector S (a selector is the s= tag of the DKIM-Signature "
    "header in a message the domain sent).\n"
)
_HEAD = ("DOMAIN", "SPF", "DKIM", "DMARC", "BIMI", "PROBLEMS")
_WIDTHS = (0, 8, 12, 18, 8, 8)
_MAX_DOMAIN_WIDTH = 48


def _dkim_cell(report: DomainReport) -> str:
    if not report.dkim:
        return "-"
    states = {d.status for d in report.dkim}
    if len(states) == 1:
        return next(iter(states)).value
    return ",".join(f"{d.selector}:{d.status.value}" for d in report.dkim)


def _dmarc_cell(dmarc: DmarcResult) -> str:
    if dmarc.status is Status.VALID and dmarc.effective_policy:
        return f"p={dmarc.effective_policy}"
    if dmarc.effective_policy:
        return f"{dmarc.status.value} p={dmarc.effective_policy}"
    return dmarc.status.value


def _problems_cell(report: DomainReport) -> str:
    problems = report.all_problems
    errors = sum(p.severity is Severity.ERROR for p in problems)
    return f"{len(problems)} ({errors} err)" if errors else str(len(problems))


class _TableWriter(_Writer):
    """Rows as they come (fixed column widths), then every problem with its fix."""

    def __init__(self, out: TextIO, domains: Sequence[str], *, dkim_checked: bool = True) -> None:
        self.out = out
        self.dkim_checked = dkim_checked
        longest = max((len(printable(d)) for d in domains), default=6)
        self.widths = (min(max(longest, 6), _MAX_DOMAIN_WIDTH), *_WIDTHS[1:])
        self.with_problems: list[DomainReport] = []
        self.count = 0
        self.valid = 0
        self._line(_HEAD)

    def _line(self, cells: Sequence[str]) -> None:
        parts = [c.ljust(w) for c, w in zip(cells, self.widths, strict=True)]
        self.out.write("  ".join(parts).rstrip() + "\n")

    def write(self, report: DomainReport) -> None:
        name = report.domain_unicode if report.domain_unicode else report.domain
        cells = (
            printable(name),
            report.spf.status.value,
            _dkim_cell(report),
            _dmarc_cell(report.dmarc),
            report.bimi.status.value,
            _problems_cell(report),
        )
        self._line(cells)
        self.count += 1
        self.valid += passes(report)
        if report.all_problems or report.servers or report.spf.sources:
            self.with_problems.append(report)

    def flush(self) -> None:
        self.out.flush()

    def finish(self) -> None:
        out = self.out
        out.write(f"\n{self.valid} of {self.count} domains valid.\n")
        if not self.dkim_checked:
            # DNS cannot list a domain's selectors, so "-" alone would leave the reader guessing.
            out.write(_NO_SELECTOR)
        for report in self.with_problems:
            title = report.domain
            if report.domain_unicode != report.domain:
                title = f"{report.domain_unicode} ({report.domain})"
            out.write(f"\n{printable(title)}\n")
            for host, server in report.servers:
                out.write(f"  {printable(host)}: answered by {server}\n")
            for v in report.spf.sources:
                out.write(f"  check_host({v.source}): {v.result}: {printable(v.reason)}\n")
            for problem in report.all_problems:
                out.write(
                    f"  {problem.severity.value:<7} {printable(problem.code)}: "
                    f"{printable(problem.message)}\n"
                )
                if problem.fix:
                    out.write(f"          fix: {printable(problem.fix)}\n")
        out.flush()
