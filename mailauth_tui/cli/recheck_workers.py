"""``recheck --workers N``: N processes share one re-check round, and it reads as one.

A re-check is CPU-bound in Python, one core a process. This process starts N-1 workers (the
same command line with ``--shard K/N``, see ``registry.shards``) and checks share 1 itself.
Each worker writes its results to the registry itself, so what a worker committed stays
whatever happens to the others, and hands each result on to this process, which writes them
all out as one output: one JSON array or one text listing, and one summary.

A worker's standard output is lines of ``FLAGS PAYLOAD``. FLAGS is three digits, 0 or 1:
failing, without any DNS answer, verified (the summary's counts). PAYLOAD is the JSON item
itself (``--json``: one line, as the C encoder writes it) or the text lines of the result as
one JSON string. Its standard error is this process's: errors reach the user as they come.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from mailauth_tui.core.textsafe import printable
from mailauth_tui.registry.shards import MAX_WORKERS, Shard

__all__ = [
    "Flags",
    "Tally",
    "WorkerFailure",
    "run_workers",
    "shard_arg",
    "worker_line",
    "workers_arg",
]

# A result line may be long (every problem of every record): far above asyncio's 64 KiB.
_LINE_LIMIT = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Flags:
    """What the summary counts of one result."""

    failing: bool
    unanswered: bool
    verified: bool

    def code(self) -> str:
        return f"{self.failing:d}{self.unanswered:d}{self.verified:d}"

    @classmethod
    def parse(cls, code: str) -> Flags:
        if len(code) != 3 or not set(code) <= {"0", "1"}:
            raise ValueError(f"bad flags {code!r}")
        return cls(code[0] == "1", code[1] == "1", code[2] == "1")


def worker_line(flags: Flags, text: str, *, as_json: bool) -> str:
    """One result as a worker hands it on (``text``: a JSON item, or lines of text)."""
    return f"{flags.code()} {text if as_json else json.dumps(text)}\n"


def _read_line(line: str, *, as_json: bool) -> tuple[Flags, str]:
    code, _, payload = line.rstrip("\n").partition(" ")
    flags = Flags.parse(code)
    if as_json:
        return flags, payload
    text = json.loads(payload)
    if not isinstance(text, str):
        raise ValueError("bad payload")
    return flags, text


class Tally:
    """Writes results as they come, from this process or its workers, and counts them."""

    def __init__(self, *, as_json: bool, wrote: Callable[[], None]) -> None:
        """``wrote``: called after each result is written (it sees to the flushing)."""
        self.as_json = as_json
        self._wrote = wrote
        self.seen = self.failing = self.unanswered = self.verified = 0

    def add(self, flags: Flags, text: str) -> None:
        self.seen += 1
        self.failing += flags.failing
        self.unanswered += flags.unanswered
        self.verified += flags.verified
        if self.as_json:
            sys.stdout.write(("[\n" if self.seen == 1 else ",\n") + text)
        else:
            sys.stdout.write(text + "\n")
        self._wrote()

    def close(self) -> None:
        """Ends the JSON array (an empty one when nothing came)."""
        if self.as_json:
            sys.stdout.write("\n]\n" if self.seen else "[]\n")
            sys.stdout.flush()


@dataclass(frozen=True, slots=True)
class WorkerFailure:
    shard: Shard
    why: str

    def __str__(self) -> str:
        return (
            f"worker {self.shard.number} of {self.shard.count} {self.why}: what it committed "
            "is kept, the rest of its share was not re-checked; run the re-check again"
        )


def _exit_words(code: int) -> str:
    if code < 0:
        try:
            return f"was stopped by {signal.Signals(-code).name}"
        except ValueError:
            return f"was stopped by signal {-code}"
    return f"stopped with exit code {code}"


async def run_workers(
    argv: Sequence[str], count: int, on_result: Callable[[Flags, str], None], *, as_json: bool
) -> list[WorkerFailure]:
    """Start workers 2..``count`` (``argv``: this process's command line, after the program
    name) and hand each result they send to ``on_result``; what went wrong with any of them.
    Cancelled, it stops them: a worker never outlives the re-check it belongs to."""
    shards = [Shard(number, count) for number in range(2, count + 1)]
    procs: list[asyncio.subprocess.Process] = []
    try:
        for shard in shards:
            try:
                proc = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "mailauth_tui",
                    *argv,
                    "--shard",
                    str(shard),
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=asyncio.subprocess.PIPE,
                    limit=_LINE_LIMIT,
                )
            except OSError as exc:  # no process left to start (ulimit), or no interpreter
                started, rest = shards[: len(procs)], shards[len(procs) :]
                unstarted = [WorkerFailure(s, f"could not start ({exc})") for s in rest]
                return [*await _follow_all(procs, started, on_result, as_json), *unstarted]
            procs.append(proc)
        return await _follow_all(procs, shards, on_result, as_json)
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.terminate()
        for proc in procs:
            await proc.wait()


async def _follow_all(
    procs: list[asyncio.subprocess.Process],
    shards: list[Shard],
    on_result: Callable[[Flags, str], None],
    as_json: bool,
) -> list[WorkerFailure]:
    followed = await asyncio.gather(
        *(_follow(p, s, on_result, as_json) for p, s in zip(procs, shards, strict=True))
    )
    return [failure for failure in followed if failure is not None]


async def _follow(
    proc: asyncio.subprocess.Process,
    shard: Shard,
    on_result: Callable[[Flags, str], None],
    as_json: bool,
) -> WorkerFailure | None:
    assert proc.stdout is not None
    bad = ""
    while line := await proc.stdout.readline():
        try:
            flags, text = _read_line(line.decode("ascii"), as_json=as_json)
        except ValueError:  # UnicodeDecodeError and JSONDecodeError included
            bad = bad or "sent a line that is not a result"
            continue
        on_result(flags, text)
    code = await proc.wait()
    if code != 0:
        return WorkerFailure(shard, _exit_words(code))
    return WorkerFailure(shard, bad) if bad else None


def workers_arg(text: str) -> int:
    """``recheck --workers``: processes sharing the round."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{printable(text)!r} is not a whole number") from None
    if not 1 <= value <= MAX_WORKERS:
        raise argparse.ArgumentTypeError(f"give a number of workers between 1 and {MAX_WORKERS}")
    return value


def shard_arg(text: str) -> Shard:
    try:
        return Shard.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(printable(str(exc))) from None
