"""Benchmark ``mailauth-tui check`` against its resolver's own limit and against checkdmarc.

One run, per server delay (5 ms and 0 by default), all over loopback:

a. raw resolver limit: queries/s of ``DnsResolver`` asking many distinct names, with the
   check's concurrency and a fresh cache;
b. ``mailauth-tui check --json`` over every domain: domains/s end to end (the console script,
   interpreter start included) and steady state (``cli.main.main`` timed inside the process,
   imports excluded), and DNS queries per domain from the server's counter. The resolver bound
   for the check is raw qps / queries per domain;
c. checkdmarc, run as its users run it (CLI, JSON to a file), against a second server on
   127.0.0.2:53 over the same zone (its CLI asks port 53 only): domains/s and queries/domain;
d. SPF and DMARC verdicts of both, per domain: every disagreement to a file, grouped by kind.

The zone server runs in its own process, so that the clients measured never share a GIL with
it. Results go to ``benchmarks/results/``. Run::

    /work/venv/bin/python -m benchmarks.bench_check [--domains 1000] [--delay 0.005]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import pstats
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

from benchmarks.gen_domains import (
    DEFAULT_DOMAINS,
    DEFAULT_SEED,
    RESULTS_DIR,
    BenchDomain,
    generate,
    write_corpus,
)

CHECKDMARC_HOST = "127.0.0.2"  # its CLI takes addresses only and asks port 53
RAW_ZONE = "raw-bench.net"
RAW_VALUE = "v=spf1 include:_spf.provider-a.net ~all"
TARGET_RATIO = 80.0  # the floor (issue 15): end to end, on the same domains
TARGET_FRACTION = 0.5
# requests (BIMI logo, MTA-STS policy fetches in checkdmarc) would resolve the URL's host
# through the system resolver, which is not on loopback: route HTTP(S) to a closed loopback
# port instead, so the fetch fails at once and nothing leaves the machine.
_NO_NETWORK_ENV = {
    "HTTPS_PROXY": "http://127.0.0.1:9",
    "HTTP_PROXY": "http://127.0.0.1:9",
    "https_proxy": "http://127.0.0.1:9",
    "http_proxy": "http://127.0.0.1:9",
    "NO_PROXY": "",
    "no_proxy": "",
}


def child_env(out_dir: Path) -> dict[str, str]:
    """The environment of every measured process: compiled bytecode kept (under
    ``<out>/pycache``, not in the source tree), as an installed package has it. Without this a
    PYTHONDONTWRITEBYTECODE=1 in the caller's environment makes every run compile the whole
    package from source first, which no user's run does. Likewise PYTHONUNBUFFERED=1 (set on
    some development machines) would make the check's output a write to the file per line,
    where a user's is buffered."""
    dropped = ("PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED")
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env["PYTHONPYCACHEPREFIX"] = str((out_dir / "pycache").resolve())
    return env


# Timing of cli.main.main() inside the check's own process: the same code path as the console
# script, without interpreter start-up and imports. Optionally under cProfile.
_RUNNER = r"""
import json, sys, time
t0 = time.perf_counter()
from mailauth_tui.cli.main import main
import mailauth_tui.cli.check_cmd  # main() imports the check on demand: not part of the run
t1 = time.perf_counter()
prof_path, argv = sys.argv[1], sys.argv[2:]
prof = None
c0 = time.process_time()
if prof_path:
    import cProfile
    prof = cProfile.Profile()
    prof.enable()
t2 = time.perf_counter()
try:
    code = main(argv)
except SystemExit as exc:
    code = exc.code
t3 = time.perf_counter()
c1 = time.process_time()
if prof is not None:
    prof.disable()
    prof.dump_stats(prof_path)
sys.stdout.flush()
timing = {"import_s": t1 - t0, "run_s": t3 - t2, "cpu_s": c1 - c0, "exit": code}
print("BENCH-TIMING " + json.dumps(timing), file=sys.stderr)
"""


# --- the zone server, in its own process ------------------------------------------------------


def _serve(zone_path: Path, delay: float, raw_names: int, with_port53: bool) -> int:
    """Child process: serve the zone, answer ``counts`` / ``reset`` / ``stop`` on stdin."""
    from mailauth_tui.demo.zoneserver import Zone, ZoneServer

    zone = Zone()
    for name, rtype, value in json.loads(zone_path.read_text(encoding="utf-8")):
        zone.add(name, rtype, tuple(value) if isinstance(value, list) else value)
    for i in range(raw_names):
        zone.add(f"r{i}.{RAW_ZONE}", "TXT", RAW_VALUE)
    servers = [ZoneServer(zone, "127.0.0.1", 0, delay).start()]
    error = ""
    if with_port53:
        try:
            servers.append(ZoneServer(zone, CHECKDMARC_HOST, 53, delay).start())
        except OSError as exc:
            error = f"cannot bind {CHECKDMARC_HOST}:53: {exc}"
    out = sys.stdout

    def reply(obj: dict[str, Any]) -> None:
        out.write(json.dumps(obj) + "\n")
        out.flush()

    reply({"address": servers[0].address, "port53": len(servers) > 1, "error": error})
    for line in sys.stdin:
        command = line.strip()
        if command == "counts":
            reply(
                {"queries": [s.queries for s in servers], "tcp": [s.tcp_queries for s in servers]}
            )
        elif command == "reset":
            for s in servers:
                s.reset_counts()
            reply({"ok": True})
        elif command == "stop":
            break
    for s in servers:
        s.stop()
    return 0


class ServerProcess:
    """Handle on the zone server child process."""

    def __init__(self, zone_path: Path, delay: float, raw_names: int, with_port53: bool) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable, "-m", "benchmarks.bench_check", "--serve", str(zone_path),
                "--delay", str(delay), "--raw-queries", str(raw_names),
                *(["--port53"] if with_port53 else []),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).resolve().parent.parent,
        )  # fmt: skip
        hello = self._read()
        self.address: str = hello["address"]
        self.port53: bool = hello["port53"]
        self.error: str = hello["error"]

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the zone server process exited before answering")
        data: dict[str, Any] = json.loads(line)
        return data

    def _ask(self, command: str) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self._read()

    def reset(self) -> None:
        self._ask("reset")

    def counts(self) -> tuple[int, int]:
        """Queries received by (the 127.0.0.1 server, the 127.0.0.2:53 server)."""
        queries = self._ask("counts")["queries"]
        return int(queries[0]), int(queries[1]) if len(queries) > 1 else 0

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(OSError):
                assert self.proc.stdin is not None
                self.proc.stdin.write("stop\n")
                self.proc.stdin.flush()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# --- measurements -----------------------------------------------------------------------------


@dataclass(slots=True)
class RawResult:
    queries: int
    seconds: float
    qps: float
    concurrency: int
    statuses: dict[str, int]
    server_queries: int


async def _raw(address: str, n: int, concurrency: int, wait: float) -> RawResult:
    from mailauth_tui.core.dns_types import RType
    from mailauth_tui.services.dns import DnsResolver

    resolver = DnsResolver([address], timeout=wait, retries=2, concurrency=concurrency)
    try:
        await resolver.query(RAW_ZONE, RType.TXT)  # opens the sockets: not part of the rate
        names = iter([f"r{i}.{RAW_ZONE}" for i in range(n)])
        statuses: Counter[str] = Counter()

        async def worker() -> None:
            for name in names:
                answer = await resolver.query(name, RType.TXT)
                statuses[str(answer.status)] += 1

        # As many askers as the resolver lets questions out, each asking one after another:
        # the resolver's best case, with no question queueing for a slot and no task per name
        # (the check's own workers never queue either).
        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - start
    finally:
        resolver.close()
    return RawResult(n, seconds, n / seconds, concurrency, dict(statuses), 0)


def measure_raw(server: ServerProcess, n: int, concurrency: int, wait: float) -> RawResult:
    """One pass with a fresh resolver (so a fresh cache) over ``n`` distinct names."""
    from mailauth_tui.cli.gc_policy import batch_gc

    server.reset()
    # Under the collector settings the check runs with: the bound is what the resolver alone
    # does in the check's own conditions.
    with batch_gc():
        result = asyncio.run(_raw(server.address, n, concurrency, wait))
    result.server_queries = server.counts()[0] - 1  # the socket-opening query
    return result


@dataclass(slots=True)
class CheckRun:
    mode: str  # e2e (console script) | inproc (cli.main.main timed inside the process)
    domains: int
    seconds: float
    domains_per_s: float
    exit_code: int
    server_queries: int
    queries_per_domain: float
    import_seconds: float | None = None
    cpu_seconds: float | None = None  # CPU time of the check itself (in-process runs)
    stderr_tail: str = ""


def _check_argv(args: argparse.Namespace, address: str, domains_file: Path) -> list[str]:
    argv = ["check", "--json", "--nameserver", address, "--file", str(domains_file)]
    argv += ["--selector", args.selector]
    if args.concurrency is not None:
        argv += ["--concurrency", str(args.concurrency)]
    if args.timeout is not None:
        argv += ["--timeout", str(args.timeout)]
    return argv


def _console_script() -> list[str]:
    script = Path(sys.executable).with_name("mailauth-tui")
    return [str(script)] if script.exists() else [sys.executable, "-m", "mailauth_tui"]


def run_check(
    args: argparse.Namespace,
    server: ServerProcess,
    domains_file: Path,
    n_domains: int,
    out_path: Path,
    *,
    mode: str,
    profile_path: Path | None = None,
) -> CheckRun:
    argv = _check_argv(args, server.address, domains_file)
    if mode == "e2e":
        cmd = [*_console_script(), *argv]
    else:
        cmd = [sys.executable, "-c", _RUNNER, str(profile_path or ""), *argv]
    server.reset()
    with out_path.open("w", encoding="utf-8") as out:
        start = time.perf_counter()
        proc = subprocess.run(
            cmd,
            stdout=out,
            stderr=subprocess.PIPE,
            text=True,
            timeout=args.run_timeout,
            env=child_env(args.out),
        )
        seconds = time.perf_counter() - start
    queries = server.counts()[0]
    import_s = cpu_s = None
    exit_code = proc.returncode
    if mode != "e2e":
        timing_lines = [x for x in proc.stderr.splitlines() if x.startswith("BENCH-TIMING ")]
        if not timing_lines:
            raise RuntimeError(f"the check runner failed:\n{proc.stderr[-3000:]}")
        timing = json.loads(timing_lines[-1].removeprefix("BENCH-TIMING "))
        seconds, import_s = float(timing["run_s"]), float(timing["import_s"])
        cpu_s = float(timing["cpu_s"])
        exit_code = int(timing["exit"] or 0)
    if exit_code not in (0, 1):
        raise RuntimeError(f"mailauth-tui check exited {exit_code}:\n{proc.stderr[-3000:]}")
    return CheckRun(
        mode=mode,
        domains=n_domains,
        seconds=seconds,
        domains_per_s=n_domains / seconds,
        exit_code=exit_code,
        server_queries=queries,
        queries_per_domain=queries / n_domains,
        import_seconds=import_s,
        cpu_seconds=cpu_s,
        stderr_tail=proc.stderr[-500:],
    )


def best_check(
    args: argparse.Namespace,
    server: ServerProcess,
    domains_file: Path,
    n_domains: int,
    out_path: Path,
    *,
    mode: str,
) -> CheckRun:
    """The fastest of ``--repeat`` runs: other work on the machine only ever slows a run."""
    runs = [
        run_check(args, server, domains_file, n_domains, out_path, mode=mode)
        for _ in range(args.repeat)
    ]
    return min(runs, key=lambda r: r.seconds)


@dataclass(slots=True)
class CheckdmarcRun:
    domains: int
    seconds: float
    domains_per_s: float
    exit_code: int
    server_queries: int
    queries_per_domain: float
    output: str
    stderr_tail: str = ""


def run_checkdmarc(
    args: argparse.Namespace, server: ServerProcess, domains: list[str], out_dir: Path, tag: str
) -> CheckdmarcRun:
    domains_file = out_dir / f"checkdmarc_domains_{tag}.txt"
    domains_file.write_text("".join(d + "\n" for d in domains), encoding="utf-8")
    output = out_dir / f"checkdmarc_{tag}.json"
    output.unlink(missing_ok=True)
    exe = Path(sys.executable).with_name("checkdmarc")
    # As documented for the CLI: nameserver, a JSON output file, the domains file. MX TLS
    # probing is off unless --check-mx-tls (``--skip-tls`` is deprecated and has no effect).
    cmd = [str(exe), "-n", CHECKDMARC_HOST, "-o", str(output), "--", str(domains_file)]
    env = {**child_env(args.out), **_NO_NETWORK_ENV}
    server.reset()
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=args.run_timeout)
    seconds = time.perf_counter() - start
    queries = server.counts()[1]
    if proc.returncode != 0 or not output.exists():
        raise RuntimeError(f"checkdmarc exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    return CheckdmarcRun(
        domains=len(domains),
        seconds=seconds,
        domains_per_s=len(domains) / seconds,
        exit_code=proc.returncode,
        server_queries=queries,
        queries_per_domain=queries / len(domains),
        output=str(output),
        stderr_tail=proc.stderr[-500:],
    )


# --- verdicts ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Verdict:
    spf: str  # valid | invalid | missing | unknown
    spf_record: str | None
    spf_detail: str
    dmarc: str  # valid | invalid | missing | unknown
    dmarc_record: str | None
    dmarc_location: str | None
    policy: str | None  # p= of the record found
    effective: str | None  # the policy for the domain asked (sp= when found at a parent)
    detail: str


def mailauth_verdicts(path: Path) -> dict[str, Verdict]:
    out: dict[str, Verdict] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        obj = json.loads(line)
        spf, dmarc = obj.get("spf") or {}, obj.get("dmarc") or {}
        codes = [f"{p.get('severity')}:{p.get('code')}" for p in spf.get("problems", [])]
        dcodes = [f"{p.get('severity')}:{p.get('code')}" for p in dmarc.get("problems", [])]
        out[str(obj["domain"]).lower()] = Verdict(
            spf=str(spf.get("status")),
            spf_record=spf.get("record"),
            spf_detail=",".join(codes),
            dmarc=str(dmarc.get("status")),
            dmarc_record=dmarc.get("record"),
            dmarc_location=dmarc.get("source_domain"),
            policy=dmarc.get("policy"),
            effective=dmarc.get("effective_policy"),
            detail=",".join(dcodes)
            + (f" effective={dmarc.get('effective_policy')}" if dmarc.get("status") else ""),
        )
    return out


def _checkdmarc_spf(spf: dict[str, Any]) -> str:
    if spf.get("valid"):
        return "valid"
    error = str(spf.get("error", ""))
    # "does not exist" also appears in errors about a missing include target: only a domain
    # without a record of its own is "missing".
    if spf.get("record") is None and "does not exist" in error:
        return "missing"
    if "timed out" in error.lower() or "timeout" in error.lower() or "SERVFAIL" in error:
        return "unknown"
    return "invalid"


def _checkdmarc_dmarc(dmarc: dict[str, Any]) -> str:
    if dmarc.get("valid"):
        return "valid"
    error = str(dmarc.get("error", ""))
    if dmarc.get("record") is None and "does not exist" in error:
        return "missing"
    if "timed out" in error.lower() or "timeout" in error.lower():
        return "unknown"
    return "invalid"


def checkdmarc_verdicts(path: Path) -> dict[str, Verdict]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(data, dict):
        data = [data]
    out: dict[str, Verdict] = {}
    for obj in data:
        spf, dmarc = obj.get("spf") or {}, obj.get("dmarc") or {}
        tags = dmarc.get("tags") or {}
        domain = str(obj["domain"]).lower()
        policy = (tags.get("p") or {}).get("value")
        at_parent = (dmarc.get("location") or domain).lower() != domain
        effective = (tags.get("sp") or {}).get("value") if at_parent else policy
        out[domain] = Verdict(
            spf=_checkdmarc_spf(spf),
            spf_record=spf.get("record"),
            spf_detail=_detail(spf),
            dmarc=_checkdmarc_dmarc(dmarc),
            dmarc_record=dmarc.get("record"),
            dmarc_location=dmarc.get("location"),
            policy=policy if dmarc.get("valid") else None,
            effective=effective if dmarc.get("valid") else None,
            detail=_detail(dmarc),
        )
    return out


def _detail(result: dict[str, Any]) -> str:
    """checkdmarc's error, else its warnings (they say what it let pass)."""
    error = result.get("error")
    if error:
        return " ".join(str(error).split())
    return " | ".join(str(w) for w in result.get("warnings") or [])


@dataclass(slots=True)
class Disagreement:
    domain: str
    field: str  # spf | dmarc | policy
    mailauth: str
    checkdmarc: str
    kinds: tuple[str, ...]
    generator_expects: str
    mailauth_record: str | None
    checkdmarc_record: str | None
    mailauth_detail: str
    checkdmarc_detail: str


def compare(
    ours: dict[str, Verdict], theirs: dict[str, Verdict], meta: dict[str, BenchDomain]
) -> tuple[list[Disagreement], int]:
    """Every per-domain disagreement on SPF status, DMARC status and DMARC policy."""
    found: list[Disagreement] = []
    compared = 0
    for domain, cd in sorted(theirs.items()):
        ma = ours.get(domain)
        info = meta.get(domain)
        if ma is None or info is None:
            continue
        compared += 1
        kinds = info.kinds
        if ma.spf != cd.spf:
            found.append(
                Disagreement(
                    domain, "spf", ma.spf, cd.spf, kinds, info.expect_spf,
                    ma.spf_record, cd.spf_record, ma.spf_detail, cd.spf_detail,
                )
            )  # fmt: skip
        if ma.dmarc != cd.dmarc:
            found.append(
                Disagreement(
                    domain, "dmarc", ma.dmarc, cd.dmarc, kinds, info.expect_dmarc,
                    ma.dmarc_record, cd.dmarc_record, ma.detail, cd.detail,
                )
            )  # fmt: skip
        elif ma.dmarc == "valid" and (
            ma.policy != cd.policy
            or ma.effective != cd.effective
            or (ma.dmarc_location or "") != (cd.dmarc_location or "")
        ):
            found.append(
                Disagreement(
                    domain, "policy",
                    f"p={ma.policy} effective={ma.effective} at {ma.dmarc_location}",
                    f"p={cd.policy} effective={cd.effective} at {cd.dmarc_location}",
                    kinds, f"p={info.expect_policy} at {info.expect_dmarc_source}",
                    ma.dmarc_record, cd.dmarc_record, ma.detail, cd.detail,
                )
            )  # fmt: skip
    return found, compared


def _kind_of(d: Disagreement) -> str:
    relevant = " ".join(k for k in d.kinds if k.startswith("spf" if d.field == "spf" else "dmarc"))
    ours, theirs = d.mailauth.split(" at ")[0], d.checkdmarc.split(" at ")[0]
    return f"{d.field}: mailauth={ours} checkdmarc={theirs} [{relevant}]"


def summarise(disagreements: list[Disagreement]) -> list[tuple[str, int, str]]:
    """(kind, count, an example domain), most frequent first."""
    groups: dict[str, list[Disagreement]] = defaultdict(list)
    for d in disagreements:
        groups[_kind_of(d)].append(d)
    return sorted(
        ((k, len(v), v[0].domain) for k, v in groups.items()), key=lambda t: (-t[1], t[0])
    )


def verdict_matrix(
    ours: dict[str, Verdict], theirs: dict[str, Verdict], meta: dict[str, BenchDomain]
) -> dict[str, dict[str, int]]:
    """For each generator label: how many domains got each (mailauth, checkdmarc) verdict
    pair, agreements included, so that what both got wrong shows as well."""
    matrix: dict[str, Counter[str]] = defaultdict(Counter)
    for domain, cd in theirs.items():
        ma, info = ours.get(domain), meta.get(domain)
        if ma is None or info is None:
            continue
        for kind in info.kinds:
            if kind.startswith("spf:"):
                matrix[kind][f"{ma.spf}/{cd.spf}"] += 1
            elif kind.startswith("dmarc:"):
                pair = f"{ma.dmarc}/{cd.dmarc}"
                if ma.dmarc == "valid" or cd.dmarc == "valid":
                    pair += f" ({ma.effective}/{cd.effective})"
                matrix[kind][pair] += 1
    return {k: dict(sorted(v.items())) for k, v in sorted(matrix.items())}


def write_disagreements(
    path: Path,
    disagreements: list[Disagreement],
    compared: int,
    matrix: dict[str, dict[str, int]],
) -> None:
    lines = [
        f"# mailauth-tui check vs checkdmarc: {len(disagreements)} disagreements over "
        f"{compared} domains",
        "",
        "## Verdicts by generator label: mailauth/checkdmarc (effective policy) count",
    ]
    for kind, pairs in matrix.items():
        lines.append(f"{kind:32} " + ", ".join(f"{p}: {n}" for p, n in pairs.items()))
    lines += [
        "",
        "## By kind (field: mailauth verdict, checkdmarc verdict [generator's labels])",
    ]
    for kind, count, example in summarise(disagreements):
        lines.append(f"{count:5}  {kind}  e.g. {example}")
    lines += ["", "## Every disagreement", ""]
    for d in disagreements:
        lines += [
            f"{d.domain}  [{d.field}]  kinds: {' '.join(d.kinds)}",
            f"    mailauth:   {d.mailauth}   {d.mailauth_detail}",
            f"    checkdmarc: {d.checkdmarc}   {d.checkdmarc_detail}",
            f"    generator expects: {d.generator_expects}",
            f"    record (mailauth):   {d.mailauth_record!r}",
            f"    record (checkdmarc): {d.checkdmarc_record!r}",
            "",
        ]
    path.write_text("\n".join(lines), encoding="utf-8")


# --- profile ----------------------------------------------------------------------------------


_PROFILE_GROUPS: tuple[tuple[str, str], ...] = (
    # (substring of the file path, group): first match wins
    ("/asyncio/", "asyncio event loop and tasks"),
    ("mailauth_tui/services/dns", "resolver (services/dns*.py)"),
    ("/idna/", "IDNA (idna, encodings.idna, stringprep)"),
    ("encodings/idna", "IDNA (idna, encodings.idna, stringprep)"),
    ("stringprep", "IDNA (idna, encodings.idna, stringprep)"),
    ("punycode", "IDNA (idna, encodings.idna, stringprep)"),
    ("publicsuffixlist", "publicsuffixlist (load + lookups)"),
    ("mailauth_tui/core/spf", "core SPF"),
    ("mailauth_tui/core/dmarc", "core DMARC"),
    ("mailauth_tui/core/psl", "core DMARC"),
    ("mailauth_tui/core/dkim", "core DKIM"),
    ("mailauth_tui/core/bimi", "core BIMI"),
    ("mailauth_tui/core/names", "core names (normalize_domain)"),
    ("mailauth_tui/core/report_json", "JSON output"),
    ("/json/", "JSON output"),
    ("mailauth_tui/core/", "core other"),
    ("mailauth_tui/cli/", "cli"),
)


def _group(path: str, func: str) -> str:
    if path == "~":  # C functions: attribute socket calls, leave the rest as builtins
        return "socket syscalls" if "_socket.socket" in func else "builtins"
    for needle, group in _PROFILE_GROUPS:
        if needle in path:
            return group
    return "other stdlib / packages"


def profile_summary(prof_path: Path, limit: int = 25) -> dict[str, list[dict[str, Any]]]:
    """Top functions by own and (for mailauth_tui) cumulative time, and own time by group."""
    stats = pstats.Stats(str(prof_path))
    table: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    rows = []
    groups: Counter[str] = Counter()
    for (filename, line, func), (_cc, ncalls, tottime, cumtime, _callers) in table.items():
        groups[_group(filename, func)] += tottime
        rows.append(
            {
                "function": f"{Path(filename).name}:{line}({func})",
                "path": filename,
                "calls": ncalls,
                "tottime": round(tottime, 4),
                "cumtime": round(cumtime, 4),
            }
        )
    total = sum(groups.values()) or 1.0
    by_tot = sorted(rows, key=lambda r: -r["tottime"])[:limit]
    by_cum = sorted((r for r in rows if "mailauth_tui" in r["path"]), key=lambda r: -r["cumtime"])[
        :limit
    ]
    by_group = [
        {"group": g, "tottime": round(t, 4), "share": round(t / total, 3)}
        for g, t in groups.most_common()
    ]
    return {"by_group": by_group, "by_tottime": by_tot, "mailauth_by_cumtime": by_cum}


# --- the run ----------------------------------------------------------------------------------


@dataclass(slots=True)
class DelayResult:
    delay: float
    raw: RawResult
    raw_cold: RawResult
    check_cold: CheckRun
    fraction_cold: float
    check_e2e: CheckRun
    check_inproc: CheckRun
    checkdmarc: CheckdmarcRun | None
    resolver_bound_dps: float
    fraction_of_bound: float
    ratio_e2e: float | None
    # Each turn's check against the raw pass just before it: the machine's speed drifts less
    # between two neighbouring passes than between the best of each, which may be far apart.
    fraction_turns: list[float] = field(default_factory=list)
    # The two sides of each turn, to tell a fast raw pass from a slow check.
    raw_qps_turns: list[float] = field(default_factory=list)
    check_dps_turns: list[float] = field(default_factory=list)
    check_cpu_turns: list[float] = field(default_factory=list)
    mailauth_e2e_on_subset_dps: float | None = None
    profile: dict[str, list[dict[str, Any]]] | None = None
    notes: list[str] = field(default_factory=list)


def _check_in_flight() -> int:
    """The resolver's bound on queries in flight inside ``mailauth-tui check``."""
    from mailauth_tui.cli import check_cmd

    return int(getattr(check_cmd, "RESOLVER_IN_FLIGHT", 64))


def run_delay(
    args: argparse.Namespace,
    delay: float,
    corpus_paths: dict[str, Path],
    domains: list[str],
    out_dir: Path,
) -> DelayResult:
    tag = f"{delay * 1000:g}ms"
    print(f"\n== delay {tag}: starting the zone server", flush=True)
    server = ServerProcess(corpus_paths["zone"], delay, args.raw_queries, not args.no_checkdmarc)
    try:
        if server.error:
            print(f"   {server.error}: checkdmarc is skipped", flush=True)
        concurrency = args.raw_concurrency or _check_in_flight()
        # The server caches packed replies by question, and building one (dnslib) costs more
        # than sending it: every client gets one unmeasured pass first, so that what is timed
        # is the client against a server that answers at wire speed, as a real one does. The
        # first (cold) passes are reported too.
        print(f"   raw resolver: {args.raw_queries} names, {concurrency} in flight", flush=True)
        raw_cold = measure_raw(server, args.raw_queries, concurrency, args.timeout or 3.0)
        check_cold = run_check(
            args, server, corpus_paths["domains"], len(domains),
            out_dir / f"mailauth_{tag}_cold.jsonl", mode="inproc",
        )  # fmt: skip
        # The two sides of the fraction are timed in turns (raw, check, raw, check...), so
        # that a spell of a slower machine (other work, a shared host) falls on both alike;
        # the best of each is kept.
        raws: list[RawResult] = []
        steady: list[CheckRun] = []
        for _ in range(args.repeat):
            raws.append(measure_raw(server, args.raw_queries, concurrency, args.timeout or 3.0))
            steady.append(
                run_check(
                    args,
                    server,
                    corpus_paths["domains"],
                    len(domains),
                    out_dir / f"mailauth_{tag}_inproc.jsonl",
                    mode="inproc",
                )
            )
        raw = max(raws, key=lambda r: r.qps)
        check_in = min(steady, key=lambda r: r.seconds)
        print(f"   raw: {raw.qps:,.0f} queries/s (cold server: {raw_cold.qps:,.0f})", flush=True)
        turns = [
            c.domains_per_s * c.queries_per_domain / r.qps
            for r, c in zip(raws, steady, strict=True)
        ]
        for n, (r, c, turn) in enumerate(zip(raws, steady, turns, strict=True), 1):
            print(
                f"   turn {n}: raw {r.qps:,.0f} queries/s, check {c.domains_per_s:,.0f} "
                f"domains/s ({c.cpu_seconds or 0:.2f} CPU s), fraction {turn:.2f}",
                flush=True,
            )
        check_e2e = best_check(
            args, server, corpus_paths["domains"], len(domains),
            out_dir / f"mailauth_{tag}.jsonl", mode="e2e",
        )  # fmt: skip
        print(
            f"   check (console script): {check_e2e.domains_per_s:,.0f} domains/s, "
            f"{check_e2e.queries_per_domain:.2f} queries/domain",
            flush=True,
        )
        print(
            f"   check (in process):     {check_in.domains_per_s:,.0f} domains/s "
            f"(cold server: {check_cold.domains_per_s:,.0f})",
            flush=True,
        )
        bound = raw.qps / check_in.queries_per_domain
        fraction = check_in.domains_per_s / bound
        cd: CheckdmarcRun | None = None
        ratio = None
        subset_dps = None
        notes: list[str] = []
        if server.port53 and not args.no_checkdmarc:
            limit = args.checkdmarc_domains if delay > 0 else args.checkdmarc_domains_nodelay
            subset = domains if not limit or limit >= len(domains) else domains[:limit]
            if len(subset) < len(domains):
                notes.append(
                    f"checkdmarc timed on the first {len(subset)} of {len(domains)} domains "
                    "(it checks one domain at a time; the full set would take minutes)"
                )
            print(f"   checkdmarc over {len(subset)} domains...", flush=True)
            cd = run_checkdmarc(args, server, subset, out_dir, tag)
            print(
                f"   checkdmarc: {cd.domains_per_s:,.2f} domains/s, "
                f"{cd.queries_per_domain:.1f} queries/domain",
                flush=True,
            )
            ratio = check_e2e.domains_per_s / cd.domains_per_s
            if len(subset) < len(domains):
                # Same subset through mailauth too, so the ratio is like for like as well.
                sub_file = out_dir / f"mailauth_subset_{tag}.txt"
                sub_file.write_text("".join(d + "\n" for d in subset), encoding="utf-8")
                sub = best_check(
                    args, server, sub_file, len(subset),
                    out_dir / f"mailauth_subset_{tag}.jsonl", mode="e2e",
                )  # fmt: skip
                subset_dps = sub.domains_per_s
        result = DelayResult(
            delay=delay,
            raw=raw,
            raw_cold=raw_cold,
            check_cold=check_cold,
            fraction_cold=check_cold.domains_per_s / (raw_cold.qps / check_cold.queries_per_domain),
            check_e2e=check_e2e,
            check_inproc=check_in,
            checkdmarc=cd,
            resolver_bound_dps=bound,
            fraction_of_bound=fraction,
            ratio_e2e=ratio,
            fraction_turns=turns,
            raw_qps_turns=[r.qps for r in raws],
            check_dps_turns=[c.domains_per_s for c in steady],
            check_cpu_turns=[c.cpu_seconds or 0.0 for c in steady],
            mailauth_e2e_on_subset_dps=subset_dps,
            notes=notes,
        )
        missed = fraction < TARGET_FRACTION or (
            delay > 0 and ratio is not None and ratio < TARGET_RATIO
        )
        if args.profile or missed:
            prof_path = out_dir / f"check_{tag}.prof"
            print(f"   profiling the check (cProfile) -> {prof_path}", flush=True)
            run_check(
                args, server, corpus_paths["domains"], len(domains),
                out_dir / f"mailauth_{tag}_profiled.jsonl", mode="inproc", profile_path=prof_path,
            )  # fmt: skip
            result.profile = profile_summary(prof_path)
        return result
    finally:
        server.stop()


def _fmt(value: float | None, spec: str = ",.1f") -> str:
    return "-" if value is None else format(value, spec)


def _turns(values: list[float]) -> str:
    if not values:
        return "-"
    return f"{statistics.median(values):.2f}, {min(values):.2f}-{max(values):.2f}"


def _cpu_share(run: CheckRun) -> str:
    if run.cpu_seconds is None:
        return "-"
    return f"{run.cpu_seconds:.2f}/{run.seconds:.2f}"


def _table_rows(r: DelayResult) -> list[tuple[str, str]]:
    cd = r.checkdmarc
    same_subset = (
        r.mailauth_e2e_on_subset_dps / cd.domains_per_s
        if cd is not None and r.mailauth_e2e_on_subset_dps
        else None
    )
    return [
        ("delay per query", f"{r.delay * 1000:g} ms"),
        ("domains", str(r.check_e2e.domains)),
        ("raw resolver qps", _fmt(r.raw.qps, ",.0f")),
        ("  (cold server)", _fmt(r.raw_cold.qps, ",.0f")),
        ("mailauth queries/domain", _fmt(r.check_inproc.queries_per_domain, ".2f")),
        ("resolver bound (dom/s)", _fmt(r.resolver_bound_dps)),
        ("mailauth dom/s steady", _fmt(r.check_inproc.domains_per_s)),
        ("  (CPU s / wall s)", _cpu_share(r.check_inproc)),
        ("fraction of bound", _fmt(r.fraction_of_bound, ".2f")),
        ("  (turns: median, range)", _turns(r.fraction_turns)),
        ("  (cold server)", _fmt(r.fraction_cold, ".2f")),
        ("mailauth dom/s e2e", _fmt(r.check_e2e.domains_per_s)),
        ("  (start-up+imports s)", _fmt(r.check_e2e.seconds - r.check_inproc.seconds, ".2f")),
        ("checkdmarc domains", str(cd.domains) if cd else "-"),
        ("checkdmarc dom/s", _fmt(cd.domains_per_s if cd else None, ",.2f")),
        ("checkdmarc queries/dom", _fmt(cd.queries_per_domain if cd else None)),
        ("ratio e2e (all / subset)", _fmt(r.ratio_e2e, ",.0f")),
        ("mailauth e2e on subset", _fmt(r.mailauth_e2e_on_subset_dps)),
        ("ratio on same subset", _fmt(same_subset, ",.0f")),
    ]


def print_table(results: list[DelayResult], out: IO[str]) -> None:
    columns = [_table_rows(r) for r in results]
    width = max(len(label) for label, _ in columns[0])
    for i, (label, _) in enumerate(columns[0]):
        cells = "  ".join(f"{col[i][1]:>12}" for col in columns)
        out.write(f"{label:<{width}}  {cells}\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--domains", type=int, default=DEFAULT_DOMAINS)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument(
        "--delay",
        type=float,
        action="append",
        help="server delay per answer in seconds (repeatable; default: 0.005 and 0)",
    )
    parser.add_argument(
        "--concurrency", type=int, default=None, help="domains in flight (default: the check's)"
    )
    parser.add_argument(
        "--raw-concurrency",
        type=int,
        default=None,
        help="queries in flight for the raw rate (default: the check's resolver bound)",
    )
    parser.add_argument("--timeout", type=float, default=None, help="default: the check's own")
    parser.add_argument("--selector", default="s1")
    parser.add_argument("--raw-queries", type=int, default=20000)
    parser.add_argument(
        "--repeat", type=int, default=3, help="timed passes of the raw rate and of the check"
    )
    parser.add_argument(
        "--checkdmarc-domains",
        type=int,
        default=200,
        help="domains timed through checkdmarc at a non-zero delay (0: all)",
    )
    parser.add_argument(
        "--checkdmarc-domains-nodelay",
        type=int,
        default=0,
        help="domains through checkdmarc at delay 0, the verdict comparison (0: all)",
    )
    parser.add_argument("--no-checkdmarc", action="store_true")
    parser.add_argument(
        "--profile", action="store_true", help="profile the check even if on target"
    )
    parser.add_argument("--run-timeout", type=float, default=420.0, help="cap per subprocess (s)")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--port53", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve is not None:
        return _serve(args.serve, (args.delay or [0.0])[0], args.raw_queries, args.port53)
    if args.domains < 1 or args.repeat < 1:
        parser.error("--domains and --repeat must be at least 1")
    delays: list[float] = args.delay or [0.005, 0.0]

    started = time.time()
    load_before = os.getloadavg()
    out_dir: Path = args.out
    out_dir.mkdir(parents=True, exist_ok=True)
    corpus = generate(args.domains, args.seed)
    paths = write_corpus(corpus, out_dir / "corpus")
    names = [d.name for d in corpus.domains]
    print(f"corpus: {len(names)} domains, {len(corpus.records)} records -> {paths['zone'].parent}")

    results = [run_delay(args, delay, paths, names, out_dir) for delay in delays]

    meta = {d.name: d for d in corpus.domains}
    compared_run = max(
        (r for r in results if r.checkdmarc is not None),
        key=lambda r: (r.checkdmarc.domains if r.checkdmarc else 0, -r.delay),
        default=None,
    )
    disagreements: list[Disagreement] = []
    matrix: dict[str, dict[str, int]] = {}
    compared = 0
    if compared_run is not None and compared_run.checkdmarc is not None:
        tag = f"{compared_run.delay * 1000:g}ms"
        ours = mailauth_verdicts(out_dir / f"mailauth_{tag}.jsonl")
        theirs = checkdmarc_verdicts(Path(compared_run.checkdmarc.output))
        disagreements, compared = compare(ours, theirs, meta)
        matrix = verdict_matrix(ours, theirs, meta)
        write_disagreements(out_dir / "disagreements.txt", disagreements, compared, matrix)
    # Our own verdicts must not depend on the delay (a timeout would show here as "unknown").
    per_delay = [
        mailauth_verdicts(out_dir / f"mailauth_{r.delay * 1000:g}ms.jsonl") for r in results
    ]
    unstable = sorted(d for d in names if len({(v.get(d) or None) for v in per_delay}) > 1)

    print("\n== results")
    print_table(results, sys.stdout)
    print(
        f"\nfloor at 5 ms: mailauth >= {TARGET_RATIO:g}x checkdmarc on the same domains; "
        f">= {TARGET_FRACTION:g} of the resolver bound"
    )
    for r in results:
        for note in r.notes:
            print(f"note ({r.delay * 1000:g} ms): {note}")
    by_field = Counter(d.field for d in disagreements)
    print(
        f"\ndisagreements over {compared} domains: {len(disagreements)} "
        f"(spf {by_field['spf']}, dmarc {by_field['dmarc']}, policy/location {by_field['policy']})"
    )
    for kind, count, example in summarise(disagreements):
        print(f"{count:5}  {kind}  e.g. {example}")
    if unstable:
        print(f"\nverdicts that changed with the delay: {len(unstable)}, e.g. {unstable[:5]}")
    for r in results:
        if r.profile:
            print(f"\nprofile at {r.delay * 1000:g} ms (cProfile inflates small calls), own time:")
            for row in r.profile["by_group"][:10]:
                print(f"  {row['share']:6.1%} {row['tottime']:7.3f}s  {row['group']}")
            print("  top functions by own time:")
            for row in r.profile["by_tottime"][:12]:
                print(f"  {row['tottime']:8.3f}s {row['calls']:>9}  {row['function']}")
            print("  mailauth_tui functions by cumulative time:")
            for row in r.profile["mailauth_by_cumtime"][:15]:
                print(f"  {row['cumtime']:8.3f}s {row['calls']:>9}  {row['function']}")

    load_after = os.getloadavg()
    print(
        f"\nload average (1 min) before/after: {load_before[0]:.2f} / {load_after[0]:.2f} "
        f"on {os.cpu_count()} CPUs (other work on the machine skews every figure)"
    )
    report = {
        "started": started,
        "load_average_before": load_before,
        "load_average_after": load_after,
        "cpus": os.cpu_count(),
        "seconds": time.time() - started,
        "domains": len(names),
        "seed": args.seed,
        "selector": args.selector,
        "kinds": dict(sorted(corpus.kind_counts().items())),
        "results": [asdict(r) for r in results],
        "disagreements": {
            "compared": compared,
            "total": len(disagreements),
            "by_kind": [
                {"kind": k, "count": c, "example": e} for k, c, e in summarise(disagreements)
            ],
            "all": [asdict(d) for d in disagreements],
            "verdicts_by_label": matrix,
        },
        "verdicts_changed_with_delay": unstable,
    }
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out_json = out_dir / f"bench_{stamp}.json"
    out_json.write_text(json.dumps(report, indent=1), encoding="utf-8")
    (out_dir / "bench_latest.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    print(f"\nwritten: {out_json}, {out_dir / 'disagreements.txt'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
