"""``recheck --workers N``: N real processes share one round on one registry (SQLite file or
the test session's PostgreSQL server), each domain is checked exactly once, and the round
reads as one: one JSON array or one listing, one summary. A worker killed mid-round is named,
the exit code says the round is not complete, and everything committed stays whole."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mailauth_tui.cli.main import main
from mailauth_tui.demo.zoneserver import Zone, ZoneServer
from mailauth_tui.registry.shards import Shard
from mailauth_tui.services.store import Store
from tests.fixtures.postgres import PgDatabase
from tests.fixtures.registry import SENDING_INCLUDE, grant_admin, seed_verified
from tests.integration.test_registry_cli import CONFIG

NAMES = [f"d{i:02d}.example.org" for i in range(24)]
DUE = datetime.now(UTC) - timedelta(minutes=5)


def _run(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def sqlite_argv(tmp_path: Path, zone: Zone, dns_server: ZoneServer) -> list[str]:
    """A SQLite registry of verified domains, all due; the common options to reach it."""
    config = tmp_path / "config.toml"
    config.write_text(CONFIG, encoding="utf-8")
    db = tmp_path / "reg" / "registry.sqlite3"
    with Store(db) as store:
        grant_admin(store, _me())
        seed_verified(store, zone, NAMES, DUE)
    return ["--db", str(db), "--config", str(config), "--nameserver", dns_server.address]


def _me() -> str:
    from mailauth_tui.services.identity import os_login

    return os_login()


def _checks(db: Path) -> Counter[str]:
    conn = sqlite3.connect(db, timeout=5)
    try:
        rows = conn.execute("SELECT domain FROM journal WHERE event = 'check'").fetchall()
    finally:
        conn.close()
    return Counter(str(r[0]) for r in rows)


def test_three_workers_check_each_domain_once_and_print_one_array(
    capsys: pytest.CaptureFixture[str], sqlite_argv: list[str]
) -> None:
    code, out, err = _run(capsys, ["recheck", "--all", "--json", "--workers", "3", *sqlite_argv])
    assert code == 0, err
    items = json.loads(out)  # one array, whoever checked each domain
    assert sorted(o["domain"]["domain"] for o in items) == NAMES
    assert all(o["domain"]["verified"] for o in items)
    assert f"re-checked {len(NAMES)} domains: {len(NAMES)} verified, 0 failing" in err
    db = Path(sqlite_argv[1])
    assert _checks(db) == Counter(NAMES)  # exactly once each, committed
    # The shares are the workers': each holds some of these names, none holds one twice.
    shares = Counter(n for n in NAMES for k in (1, 2, 3) if Shard(k, 3).holds(n))
    assert shares == Counter(NAMES)
    assert all(any(Shard(k, 3).holds(n) for n in NAMES) for k in (1, 2, 3))


def test_workers_in_text_and_due_rounds(
    capsys: pytest.CaptureFixture[str], sqlite_argv: list[str]
) -> None:
    """The text listing names every domain once; a due round is shared through the leases
    (the same command line: each worker leases what is left)."""
    code, out, err = _run(capsys, ["recheck", "--workers", "2", *sqlite_argv])
    assert code == 0, err
    heads = [line.split(":")[0] for line in out.splitlines() if not line.startswith(" ")]
    assert sorted(heads) == NAMES  # each domain's block once, whole (its lines under it)
    assert _checks(Path(sqlite_argv[1])) == Counter(NAMES)
    # now nothing is due: no worker finds anything, and that is said once
    code, out, err = _run(capsys, ["recheck", "--workers", "2", *sqlite_argv])
    assert (code, out) == (0, "")
    assert err.count("no domain is due for a re-check") == 1


@pytest.mark.parametrize("bad", ["0", "33", "two"])
def test_a_bad_number_of_workers_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], sqlite_argv: list[str], bad: str
) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["recheck", "--all", "--workers", bad, *sqlite_argv])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "--workers" in err and "Traceback" not in err
    assert _checks(Path(sqlite_argv[1])) == Counter()


def test_a_killed_worker_is_named_and_what_it_committed_stays(
    sqlite_argv: list[str], dns_server: ZoneServer
) -> None:
    dns_server.delay = 0.1  # long enough a round to kill a worker in the middle of it
    try:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mailauth_tui",
                "recheck",
                "--all",
                "--json",
                *_FEW,
                *sqlite_argv,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        db = Path(sqlite_argv[1])
        worker = _worker_of(proc)
        deadline = time.monotonic() + 30
        while sum(_checks(db).values()) < 2:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no result committed in time"
            time.sleep(0.01)
        os.kill(worker, signal.SIGKILL)
        out, err = proc.communicate(timeout=60)
    finally:
        dns_server.delay = 0.0
    assert proc.returncode == 1
    assert "worker 2 of 2 was stopped by SIGKILL" in err and "run the re-check again" in err
    assert "Traceback" not in err
    items = json.loads(out)  # still one whole array: what was checked, by either process
    shown = [o["domain"]["domain"] for o in items]
    checked = _checks(db)
    assert set(shown) <= set(checked) and max(checked.values()) == 1
    first = [n for n in NAMES if Shard(1, 2).holds(n)]
    assert set(first) <= set(shown)  # this process's own share is all done
    assert len(checked) < len(NAMES)  # the killed worker's share is not
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()


# Two processes, each with two domains in flight: a round long enough to kill one midway.
_FEW = ("--workers", "2", "--concurrency", "2")


def _worker_of(proc: subprocess.Popen[str]) -> int:
    """The pid of the worker the re-check started (Linux: /proc's children list)."""
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        pids = children.read_text().split()
        if pids:
            return int(pids[0])
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.01)
    raise AssertionError("no worker was started")


def test_workers_share_a_round_on_postgresql(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    pg_database: PgDatabase,
    zone: Zone,
    dns_server: ZoneServer,
) -> None:
    roles = pg_database.roles
    config = tmp_path / "config.toml"
    config.write_text(
        "test_environment = true\n"
        f'[paths]\ndata_dir = "{tmp_path / "data"}"\n'
        f'[registry]\nadmin_role = "{roles.admin}"\nreader_role = "{roles.reader}"\n'
        f'signer_role = "{roles.signer}"\n[sending]\ninclude = "{SENDING_INCLUDE}"\n',
        encoding="utf-8",
    )
    url = pg_database.login("alice", roles.admin)
    with pg_database.store("alice") as store:
        grant_admin(store, "alice")
        seed_verified(store, zone, NAMES, DUE)
    common = ["--db", url, "--config", str(config), "--nameserver", dns_server.address]
    code, out, err = _run(capsys, ["recheck", "--all", "--json", "--workers", "2", *common])
    assert code == 0, err
    assert sorted(o["domain"]["domain"] for o in json.loads(out)) == NAMES
    with pg_database.store("alice") as store:
        checks = Counter(e.domain for e in store.journal(limit=1000) if e.event == "check")
    assert checks == Counter(NAMES)
