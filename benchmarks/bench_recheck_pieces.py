"""CPU of the pieces of a re-check that run once a domain, in one process (microseconds, the
minimum of ``--repeats`` passes over real outcomes): the JSON item of ``recheck --json`` (the
fast path the command uses, and the generic conversion it must equal byte for byte), the
transitions' assessment (its evidence encoding included) and the row read before a check.

The outcomes come from a real ``Registry.recheck`` of ``--domains`` verified domains against
a loopback zone server (a thread of this process: only the outcomes matter here, not the
time they took). Unlike ``bench_registry`` these figures hardly move with the machine's load.

    python3 -m benchmarks.bench_recheck_pieces                  # 200 domains, 20 repeats
    python3 -m benchmarks.bench_recheck_pieces --address 127.0.0.210
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

from benchmarks.bench_registry import _names, _seed, _zone
from mailauth_tui.cli.json_out import outcome_json, outcome_line
from mailauth_tui.demo.zoneserver import ZoneServer
from mailauth_tui.registry import evidence
from mailauth_tui.registry.models import VerifyOutcome
from mailauth_tui.registry.service import Registry
from mailauth_tui.registry.transitions import assess
from mailauth_tui.services.dns import DnsResolver
from mailauth_tui.services.keys import FileKeyStore
from mailauth_tui.services.mailer import MaildirMailer
from mailauth_tui.services.settings import DkimSettings, SendingSettings, Settings
from mailauth_tui.services.store import Store
from tests.fixtures.registry import SENDING_INCLUDE, grant_admin

T = TypeVar("T")


def per_item(items: Sequence[T], work: Callable[[T], object], repeats: int) -> float:
    """Microseconds an item: the fastest of ``repeats`` passes over ``items``."""
    best = float("inf")
    for _ in range(repeats):
        evidence.read_evidence.cache_clear()  # each pass reads the evidence anew, as a run does
        start = time.perf_counter()
        for item in items:
            work(item)
        best = min(best, time.perf_counter() - start)
    return best / len(items) * 1e6


def _outcomes(registry: Registry) -> list[VerifyOutcome]:
    return asyncio.run(registry.recheck(due_only=False))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--domains", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--address", default="127.0.0.1", help="loopback address of the server")
    args = parser.parse_args(argv)
    names = _names(args.domains)
    server = ZoneServer(_zone(names), args.address, 0).start()
    tmp = Path(tempfile.mkdtemp(prefix="mailauth-pieces-"))
    db = tmp / "registry.sqlite3"
    settings = Settings(
        system_sender="noreply@corp.example",
        sending=SendingSettings(include=SENDING_INCLUDE),
        dkim=DkimSettings(key_type="ed25519", key_bits=256),
        test_environment=True,
        data_dir=tmp,
        db_path=db,
    )
    try:
        store = Store(db)
        grant_admin(store, "bench")
        _seed(store, names)
        resolver = DnsResolver([server.address], timeout=2.0)
        registry = Registry(
            store,
            settings,
            MaildirMailer(tmp / "outbox"),
            FileKeyStore(tmp / "keys"),
            resolver,
            actor="bench",
        )
        # All of them still remembered as written here (as each is when recheck shows it).
        outcomes = _outcomes(registry)[-200:]
        records = {name: store.get_domain(name) for name in names}
        now = datetime.now(UTC)
        interval = timedelta(hours=settings.recheck_interval_hours)
        include = settings.sending.include
        assert all(outcome_line(o) == json.dumps(outcome_json(o)) for o in outcomes)

        def assessed(o: VerifyOutcome) -> object:
            rec = records[o.domain.domain]
            assert rec is not None
            return assess(
                rec, o.report, include=include, now=now, interval=interval, selftests=o.selftests
            )

        figures = {
            "json_item_generic_us": per_item(
                outcomes, lambda o: json.dumps(outcome_json(o), ensure_ascii=True), args.repeats
            ),
            "json_item_recheck_us": per_item(outcomes, outcome_line, args.repeats),
            "assess_us": per_item(outcomes, assessed, args.repeats),
            "row_read_us": per_item(names, store.get_domain, args.repeats),
        }
        registry.close()
    finally:
        server.stop()
    print(json.dumps({k: round(v, 1) for k, v in figures.items()}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
