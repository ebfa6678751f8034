"""The registry's speed: ``recheck`` of N verified domains at a DNS latency, on SQLite and on
PostgreSQL with one and two worker processes, ``sender`` decisions from a warm process, and
the memory a re-check holds.

Every re-check is the real command line (``python -m mailauth_tui recheck``) in a process of
its own, against a loopback zone server in another process (``--delay`` per answer) and a
throwaway PostgreSQL cluster (Debian ``postgresql``, as the tests start it: needs root). Each
figure is the median of ``--runs`` runs, the store re-seeded (every domain due) before each;
every run is also given with its CPU seconds (the re-check processes') and the load average.

The registry is seeded as a previous round leaves it: each key's row remembers its passed DKIM
self-test. ``sqlite_first_recheck`` is the round before that (every key signed and verified).

    python3 -m benchmarks.bench_registry                    # 10,000 domains, 5 ms, 3 runs
    python3 -m benchmarks.bench_registry --domains 2000 --runs 1
    python3 -m benchmarks.bench_registry --memory 1000,20000   # RSS of recheck at two sizes
    python3 -m benchmarks.bench_registry --no-postgres --workers 1,2,3   # SQLite, --workers

Targets (issue 18): SQLite >= 1,000 domains/s; PostgreSQL with 2 workers >= 1.6x one worker;
memory of a re-check flat in the number of domains (100,000 within 50 MiB of 1,000).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import cast

from mailauth_tui.demo.zoneserver import Zone, ZoneServer
from mailauth_tui.registry.service import Registry
from mailauth_tui.services.dns import DnsResolver
from mailauth_tui.services.keys import GeneratedKey
from mailauth_tui.services.mailer import MaildirMailer
from mailauth_tui.services.settings import DkimSettings, SendingSettings, Settings
from mailauth_tui.services.store import Store
from mailauth_tui.services.store_api import RegistryStore
from tests.fixtures.postgres import PgDatabase, PgServer, _bin_dir
from tests.fixtures.registry import SENDING_INCLUDE, grant_admin, seed_verified

RESULTS = Path(__file__).resolve().parent / "results"
SELECTOR = "mt202501"
CONFIG = (
    "test_environment = true\n"
    f'[sending]\ninclude = "{SENDING_INCLUDE}"\n[dkim]\nkey_type = "ed25519"\n'
)


def _names(n: int) -> list[str]:
    return [f"d{i:06d}.bench.example" for i in range(n)]


def _serve(zone: Zone, delay: float, address: str, pipe: Connection) -> None:
    """The zone server's process: tell the address, serve until the parent says stop."""
    server = ZoneServer(zone, address, 0).start()
    server.delay = delay
    pipe.send(server.address)
    pipe.recv()
    server.stop()


def _zone(names: list[str]) -> Zone:
    zone = Zone()
    # The records seed_verified publishes, made here once (a throwaway store is not needed).
    # Keys are derived from the names (tests.fixtures.registry.seeded_key): the store seeded
    # later holds the same ones. The stand-in store takes only what seed_verified writes.
    seed_verified(cast(RegistryStore, _NullStore()), zone, names, datetime.now(UTC), SELECTOR)
    return zone


class _NullStore:
    """seed_verified's store side, discarded: only its zone records are wanted here."""

    class _Tx:
        def __getattr__(self, name: str) -> Callable[..., None]:
            return lambda *a, **k: None

    def transaction(self) -> _NullStore:
        return self

    def __enter__(self) -> _NullStore._Tx:
        return _NullStore._Tx()

    def __exit__(self, *exc: object) -> None:
        return None


def _seed(store: RegistryStore, names: list[str], *, selftested: bool = True) -> None:
    """Every domain verified and due now, with the keys the zone server publishes (derived
    from the names); ``selftested``: each key remembers a passed self-test."""
    scratch = Zone()  # the records are served by the zone server's process already
    due = datetime.now(UTC) - timedelta(minutes=1)
    seed_verified(store, scratch, names, due, SELECTOR, selftested=selftested)


class Run:
    """One timed run: wall and CPU seconds of the re-check processes, load average at start."""

    def __init__(self) -> None:
        self.load = os.getloadavg()[0]
        self._cpu = _children_cpu()
        self._start = time.perf_counter()
        self.wall = self.cpu = 0.0

    def stop(self) -> Run:
        self.wall = time.perf_counter() - self._start
        self.cpu = _children_cpu() - self._cpu
        return self


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(argv: list[str]) -> Run:
    return _parallel([argv])


def _parallel(argvs: list[list[str]]) -> Run:
    run = Run()
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "mailauth_tui", *argv],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for argv in argvs
    ]
    for p in procs:
        _, err = p.communicate()
        if p.returncode != 0:
            raise RuntimeError(f"a worker failed ({p.returncode}): {err[-2000:]}")
    return run.stop()


def _figures(name: str, n: int, runs: list[Run]) -> dict[str, object]:
    """The median rate, each run's rate, per CPU-second and load."""
    return {
        f"{name}_per_s": n / statistics.median(r.wall for r in runs),
        f"{name}_runs": [
            {"per_s": round(n / r.wall), "per_cpu_s": round(n / r.cpu), "load": r.load}
            for r in runs
        ],
    }


def bench_sqlite(
    names: list[str], ns: str, runs: int, tmp: Path, workers: list[int]
) -> dict[str, object]:
    """``recheck --all`` with each number of ``--workers`` (the runs of each interleaved with
    the others', so that the machine's load moves them alike), then the first re-check."""
    cases = [(f"sqlite_recheck_all_workers{w}", True, w) for w in workers]
    cases.append(("sqlite_first_recheck", False, 1))
    timed: dict[str, list[Run]] = {name: [] for name, _, _ in cases}
    for run in range(runs):
        for name, remembered, count in cases:
            db = tmp / f"sqlite{name}{run}" / "registry.sqlite3"
            with Store(db) as store:
                grant_admin(store, _me())
                _seed(store, names, selftested=remembered)
            common = ["--db", str(db), "--config", str(tmp / "config.toml"), "--nameserver", ns]
            argv = ["recheck", "--all", "--json", "--workers", str(count), *common]
            timed[name].append(_run(argv))
            shutil.rmtree(db.parent, ignore_errors=True)
    out: dict[str, object] = {}
    for name, runs_of in timed.items():
        out.update(_figures(name, len(names), runs_of))
    return out


def _me() -> str:
    from mailauth_tui.services.identity import os_login

    return os_login()


def bench_postgres(
    names: list[str], ns: str, runs: int, tmp: Path, server: PgServer
) -> dict[str, object]:
    out: dict[str, object] = {}
    rates: dict[int, float] = {}
    for workers in (1, 2):
        times = []
        for _ in range(runs):
            db: PgDatabase = server.new_database()
            urls = [db.login(f"w{w}", db.roles.admin) for w in range(workers)]
            config = tmp / f"pg_{db.name}.toml"
            config.write_text(
                CONFIG + f'[registry]\nadmin_role = "{db.roles.admin}"\n', encoding="utf-8"
            )
            with db.store("w0") as store:
                for w in range(workers):
                    grant_admin(store, f"w{w}")
                _seed(store, names)
            argvs = [
                [
                    "recheck",
                    "--due",
                    "--json",
                    "--db",
                    u,
                    "--config",
                    str(config),
                    "--nameserver",
                    ns,
                ]
                for u in urls
            ]
            times.append(_parallel(argvs))
        out.update(_figures(f"postgresql_{workers}_workers", len(names), times))
        rates[workers] = len(names) / statistics.median(r.wall for r in times)
    out["postgresql_2_over_1"] = rates[2] / rates[1]
    return out


def bench_sender(tmp: Path, n: int = 20_000) -> dict[str, float]:
    """Decisions per second from a warm process (store open, imports done)."""
    db = tmp / "sender" / "registry.sqlite3"
    names = _names(1000)
    with Store(db) as store:
        _seed(store, names)
    settings = Settings(
        system_sender="noreply@corp.example",
        sending=SendingSettings(include=SENDING_INCLUDE),
        dkim=DkimSettings(key_type="ed25519", key_bits=256),
        test_environment=True,
        data_dir=tmp / "sender",
        db_path=db,
    )
    store = Store(db)
    resolver = DnsResolver(["127.0.0.1:9"], timeout=0.1, retries=0)  # never asked
    registry = Registry(
        store, settings, MaildirMailer(tmp / "outbox"), _NoKeys(), resolver, actor="bench"
    )
    addresses = [f"news@{names[i % len(names)]}" for i in range(n)]
    registry.sender(addresses[0])
    start = time.perf_counter()
    for address in addresses:
        registry.sender(address)
    seconds = time.perf_counter() - start
    registry.close()
    return {"sender_decisions_per_s": n / seconds}


class _NoKeys:
    def generate(
        self,
        domain: str,
        selector: str,
        key_type: str = "rsa",
        bits: int = 2048,
        passphrase: bytes | None = None,
    ) -> GeneratedKey:
        raise RuntimeError("not used")

    def private_key_pem(self, key_ref: str, passphrase: bytes | None = None) -> bytes:
        raise RuntimeError("not used")

    def stored_key(self, key_ref: str) -> bytes:
        raise RuntimeError("not used")

    def delete(self, key_ref: str) -> None:
        return None


# VmHWM, not ru_maxrss: Linux carries ru_maxrss across exec, so a child forked from this big
# process would report the parent's pages.
_MEASURED = (
    "import sys\n"
    "from mailauth_tui.cli.main import main\n"
    "code = main(sys.argv[1:])\n"
    "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0]\n"
    "sys.stderr.write('MAXRSS_KIB ' + hwm.split()[1] + '\\n')\n"
    "sys.exit(code)\n"
)


def bench_memory(sizes: list[int], ns: str, runs: int, tmp: Path) -> dict[str, object]:
    """Peak RSS (MiB) of a ``recheck --all`` process at each size, as the process itself
    reports it on exit (a child's own figure: not the parent's pages it was forked with);
    the median of ``runs``, each on a registry seeded anew."""
    out: dict[str, object] = {}
    for n in sizes:
        peaks: list[float] = []
        for _ in range(runs):
            db = tmp / f"mem{n}" / "registry.sqlite3"
            with Store(db) as store:
                grant_admin(store, _me())
                _seed(store, _names(n))
            common = ["--db", str(db), "--config", str(tmp / "config.toml"), "--nameserver", ns]
            done = subprocess.run(
                [sys.executable, "-c", _MEASURED, "recheck", "--all", "--json", *common],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
                check=True,
            )
            kib = next(
                int(line.split()[1])
                for line in done.stderr.splitlines()
                if line.startswith("MAXRSS")
            )
            peaks.append(round(kib / 1024, 1))
            shutil.rmtree(db.parent, ignore_errors=True)
        out[f"recheck_rss_mib_{n}"] = statistics.median(peaks)
        out[f"recheck_rss_mib_{n}_runs"] = peaks
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--domains", type=int, default=10_000)
    parser.add_argument("--delay", type=float, default=0.005, help="seconds per DNS answer")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--memory", default="", help="sizes for the RSS run, e.g. 1000,100000")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--workers", default="1,2", help="SQLite: recheck --workers, e.g. 1,2,3")
    parser.add_argument("--address", default="127.0.0.1", help="loopback address of the DNS server")
    args = parser.parse_args(argv)
    names = _names(args.domains)
    sizes = sorted(int(s) for s in args.memory.split(",") if s)
    tmp = Path(tempfile.mkdtemp(prefix="mailauth-bench-"))
    (tmp / "config.toml").write_text(CONFIG, encoding="utf-8")
    zone = _zone(_names(max([args.domains, *sizes])))
    parent, child = multiprocessing.Pipe()
    proc = multiprocessing.get_context("fork").Process(
        target=_serve, args=(zone, args.delay, args.address, child), daemon=True
    )
    proc.start()
    ns = parent.recv()
    del zone
    results: dict[str, object] = {"domains": args.domains, "delay": args.delay, "runs": args.runs}
    server: PgServer | None = None
    try:
        if sizes:
            results.update(bench_memory(sizes, ns, args.runs, tmp))
        else:
            if not args.no_sqlite:
                results.update(bench_sender(tmp))
                workers = [int(w) for w in args.workers.split(",") if w]
                results.update(bench_sqlite(names, ns, args.runs, tmp, workers))
            if not args.no_postgres:
                bin_dir = _bin_dir()
                if bin_dir is None or os.geteuid() != 0:
                    raise SystemExit("PostgreSQL part: needs root and Debian's postgresql")
                pg_root = Path(tempfile.mkdtemp(prefix="mailauth-bench-pg-"))
                os.chown(pg_root, *_postgres_ids())
                server = PgServer(bin_dir, pg_root)
                server.start()
                results.update(bench_postgres(names, ns, args.runs, tmp, server))
    finally:
        parent.send("stop")
        proc.join(timeout=10)
        if server is not None:
            server.stop()
            shutil.rmtree(server.root, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)
    RESULTS.mkdir(exist_ok=True)
    text = json.dumps(results, indent=2)
    (RESULTS / ("registry_memory.json" if sizes else "registry_latest.json")).write_text(text)
    print(text)
    return 0


def _postgres_ids() -> tuple[int, int]:
    import pwd

    user = pwd.getpwnam("postgres")
    return user.pw_uid, user.pw_gid


if __name__ == "__main__":
    raise SystemExit(main())
