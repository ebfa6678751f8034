"""The check's fraction of the resolver bound, counted in instructions instead of seconds.

``bench_check`` times the check against the raw resolver rate. On a shared machine the speed of
the CPU wanders between seconds (the check's CPU time for the same work has gone from 0.60 to
0.97 s within one run), so timed fractions cannot settle a change of a few per cent.
Instruction counts can: valgrind counts the user-space instructions a process executes, the
same on every run (the hash seed is fixed).

Each side is one process run under ``valgrind --tool=cachegrind --cache-sim=no``, less a
process that only starts up and imports the same modules, so interpreter start-up and imports
count on neither side:

- the check: ``cli.main.main(["check", "--json", ...])`` over the corpus, as ``bench_check``
  runs it;
- the raw pass: ``bench_check._raw``, the resolver asking ``--raw-queries`` distinct names.

fraction = (raw instructions per query x queries per domain) / check instructions per domain,
the instruction form of ``bench_check``'s fraction of the resolver bound. What it leaves out:
time in the kernel (the same system calls per query on both sides) and the rate at which the
CPU executes each side's instructions, which timed runs measure and this does not.

Needs valgrind (Debian: ``apt install valgrind``). A run takes a few minutes::

    /work/venv/bin/python -m benchmarks.bench_instructions [--domains 1000]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from benchmarks.bench_check import ServerProcess, _check_argv, _check_in_flight, child_env
from benchmarks.gen_domains import (
    DEFAULT_DOMAINS,
    DEFAULT_SEED,
    RESULTS_DIR,
    generate,
    write_corpus,
)

# RUN=1 runs the measured work, RUN=0 only what comes before it; both end at once (os._exit),
# so neither counts the interpreter's teardown.
_CHILD = r"""
import asyncio, os, sys
from mailauth_tui.cli.main import main
import mailauth_tui.cli.check_cmd
from mailauth_tui.cli.gc_policy import batch_gc
from benchmarks.bench_check import _raw
run = os.environ["RUN"] == "1"
if sys.argv[1] == "check":
    if run:
        try:
            main(sys.argv[2:])
        except SystemExit:
            pass
        sys.stdout.flush()
elif run:
    with batch_gc():
        asyncio.run(_raw(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), 3.0))
os._exit(0)
"""
_ROOT = Path(__file__).resolve().parent.parent
_I_REFS = re.compile(r"^==\d+== I\s+refs:\s+([\d,]+)\s*$", re.MULTILINE)


@dataclass(slots=True)
class InstructionResult:
    domains: int
    raw_queries: int
    queries_per_domain: float
    check_per_domain: float
    raw_per_query: float
    fraction: float


def instructions(stderr: str) -> int:
    """The ``I refs`` total from valgrind's report on stderr."""
    match = _I_REFS.search(stderr)
    if match is None:
        raise RuntimeError(f"no instruction count in valgrind's output:\n{stderr[-2000:]}")
    return int(match.group(1).replace(",", ""))


def fraction(raw_per_query: float, queries_per_domain: float, check_per_domain: float) -> float:
    """What the check's own resolver work would cost, per domain, over what the check costs."""
    return raw_per_query * queries_per_domain / check_per_domain


def _count(child_args: list[str], run: bool, out_dir: Path, *, valgrind: bool = True) -> int:
    env = child_env(out_dir) | {"RUN": "1" if run else "0", "PYTHONHASHSEED": "0"}
    tool = ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null"]
    proc = subprocess.run(
        [*(tool if valgrind else []), sys.executable, "-c", _CHILD, *child_args],
        env=env,
        cwd=_ROOT,  # where ``benchmarks`` imports from, wherever this was started
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"the measured process failed:\n{proc.stderr[-2000:]}")
    return instructions(proc.stderr) if valgrind else 0


def _measured(child_args: list[str], out_dir: Path) -> int:
    """Instructions of the work alone: the run less the start-up."""
    _count(child_args, False, out_dir, valgrind=False)  # writes the bytecode caches first
    return _count(child_args, True, out_dir) - _count(child_args, False, out_dir)


def measure(
    domains: int, seed: int, selector: str, raw_queries: int, out_dir: Path
) -> InstructionResult:
    corpus = generate(domains, seed)
    paths = write_corpus(corpus, out_dir / "corpus")
    server = ServerProcess(paths["zone"], 0.0, raw_queries, False)
    try:
        # The command bench_check times, with the check's own concurrency and timeout.
        same = argparse.Namespace(selector=selector, concurrency=None, timeout=None)
        check_args = ["check", *_check_argv(same, server.address, paths["domains"])]
        print(f"check over {domains} domains, under valgrind...", flush=True)
        server.reset()
        check = _measured(check_args, out_dir)
        queries = server.counts()[0]  # only the measured run asks
        print(f"raw pass over {raw_queries} names, under valgrind...", flush=True)
        raw_args = ["raw", server.address, str(raw_queries), str(_check_in_flight())]
        raw = _measured(raw_args, out_dir)
    finally:
        server.stop()
    qpd = queries / domains
    per_domain, per_query = check / domains, raw / raw_queries
    return InstructionResult(
        domains=domains,
        raw_queries=raw_queries,
        queries_per_domain=qpd,
        check_per_domain=per_domain,
        raw_per_query=per_query,
        fraction=fraction(per_query, qpd, per_domain),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--domains", type=int, default=DEFAULT_DOMAINS)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--selector", default="s1")
    parser.add_argument("--raw-queries", type=int, default=5000)
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    if args.domains < 1 or args.raw_queries < 1:
        parser.error("--domains and --raw-queries must be at least 1")
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (Debian: apt install valgrind)", file=sys.stderr)
        return 2
    out_dir: Path = args.out
    out_dir.mkdir(parents=True, exist_ok=True)
    result = measure(args.domains, args.seed, args.selector, args.raw_queries, out_dir)
    print(f"check, instructions per domain   {result.check_per_domain:>12,.0f}")
    print(f"raw pass, instructions per query {result.raw_per_query:>12,.0f}")
    print(f"queries per domain               {result.queries_per_domain:>12.3f}")
    print(f"fraction of the resolver bound   {result.fraction:>12.3f}")
    report = json.dumps({"started": time.time(), **asdict(result)}, indent=1)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for name in (f"instructions_{stamp}.json", "instructions_latest.json"):
        (out_dir / name).write_text(report, encoding="utf-8")
    print(f"written: {out_dir / f'instructions_{stamp}.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
