"""``recheck --due`` started on several hosts at once (cron on each), on both backends: real
processes of the entry point share the round through row leases, so each due domain is
checked once; a worker killed with SIGKILL mid-round leaves leases that expire and are taken
over, and the round completes with nothing committed lost. On PostgreSQL the two "hosts" are
sessions of two roles."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mailauth_tui.demo.zoneserver import Zone, ZoneServer
from mailauth_tui.services.identity import os_login
from mailauth_tui.services.pg_store import PgStore
from mailauth_tui.services.store import Store
from tests.fixtures.postgres import PgDatabase
from tests.fixtures.registry import BACKENDS, SENDING_INCLUDE, grant_admin, seed_verified

NAMES = [f"d{i:02d}.example.org" for i in range(60)]
LEASE_S = 2


@dataclass
class Shared:
    """Where the registry is and how each "host" reaches it."""

    targets: tuple[str, str]  # --db of the first and the second worker
    config: Path
    nameserver: str
    pg: PgDatabase | None = None

    def store(self) -> Store | PgStore:  # both close as context managers
        if self.pg is not None:
            return self.pg.store("alice")
        return Store(Path(self.targets[0]))

    def spawn(self, which: int) -> subprocess.Popen[str]:
        argv = ["recheck", "--due", "--json", "--db", self.targets[which]]
        argv += ["--config", str(self.config), "--nameserver", self.nameserver]
        # 16 in flight (the console's): a round of 60 at 0.1 s a look-up outlasts the second
        # worker's start, so that the two overlap (with the command's 64, one could be done).
        argv += ["--concurrency", "16"]
        # stdout unread: a worker blocked on a full pipe would hold its leases
        return subprocess.Popen(
            [sys.executable, "-m", "mailauth_tui", *argv, "--timeout", "2"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )

    def checks(self) -> Counter[str]:
        with self.store() as store:
            return Counter(e.domain for e in store.journal(limit=10_000) if e.event == "check")

    def actors(self) -> set[str]:
        with self.store() as store:
            return {e.actor for e in store.journal(limit=10_000) if e.event == "check"}


@pytest.fixture(params=BACKENDS)
def shared(
    request: pytest.FixtureRequest, tmp_path: Path, zone: Zone, dns_server: ZoneServer
) -> Iterator[Shared]:
    config = tmp_path / "config.toml"
    config.write_text(
        f"test_environment = true\nrecheck_lease_seconds = {LEASE_S}\n"
        f'[sending]\ninclude = "{SENDING_INCLUDE}"\n[dkim]\nkey_type = "ed25519"\n',
        encoding="utf-8",
    )
    if request.param == "sqlite":
        db = tmp_path / "reg" / "registry.sqlite3"
        world = Shared((str(db), str(db)), config, dns_server.address)
        admins = [os_login()]
    else:
        pg: PgDatabase = request.getfixturevalue("pg_database")
        roles = pg.roles
        with config.open("a", encoding="utf-8") as f:
            f.write(f'[registry]\nadmin_role = "{roles.admin}"\n')
        urls = (pg.login("alice", roles.admin), pg.login("carol", roles.admin))
        world = Shared(urls, config, dns_server.address, pg=pg)
        admins = ["alice", "carol"]
    with world.store() as store:
        for admin in admins:
            grant_admin(store, admin)
        seed_verified(store, zone, NAMES, datetime.now(UTC) - timedelta(minutes=5))
    dns_server.delay = 0.1  # long enough for the two workers to overlap
    yield world
    dns_server.delay = 0.0


def test_two_workers_at_once_check_each_due_domain_once(shared: Shared) -> None:
    # Leases longer than any batch takes, even on a loaded machine: "once" holds while a
    # lease lives (an expired one is taken over: see the next test).
    text = shared.config.read_text(encoding="utf-8")
    shared.config.write_text(
        text.replace(f"recheck_lease_seconds = {LEASE_S}", "recheck_lease_seconds = 120"),
        encoding="utf-8",
    )
    procs = [shared.spawn(0), shared.spawn(1)]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    checks = shared.checks()
    assert set(checks) == set(NAMES) and set(checks.values()) == {1}
    if shared.pg is not None:
        assert shared.actors() == {"alice", "carol"}  # both shared the round


def test_a_worker_killed_mid_round_leaves_leases_that_are_taken_over(shared: Shared) -> None:
    start = datetime.now(UTC)
    victim = shared.spawn(0)
    deadline = time.monotonic() + 60
    while sum(shared.checks().values()) < 5:
        assert victim.poll() is None, victim.communicate()
        assert time.monotonic() < deadline, "the first worker committed nothing in time"
        time.sleep(0.05)
    os.kill(victim.pid, signal.SIGKILL)
    victim.communicate(timeout=10)
    committed_before = shared.checks()
    survivor = shared.spawn(1)
    _, err = survivor.communicate(timeout=120)
    assert survivor.returncode == 0, err
    checks = shared.checks()
    assert set(checks) == set(NAMES)  # the round completed
    for name, n in committed_before.items():
        assert checks[name] == n  # nothing committed was lost, nor done again
    with shared.store() as store:
        rows = store.list_domains()
    assert all(r.last_check_at is not None and r.last_check_at >= start for r in rows)
    assert all(r.next_check_at is not None and r.next_check_at > start for r in rows)
