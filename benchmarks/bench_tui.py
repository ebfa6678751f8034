"""Console figures, run by hand (not part of the test suite):

    python benchmarks/bench_tui.py [--domains 10000] [--recheck 1000] [--delay 0.005]

1. ``load``: a registry of N domains (10,000) opened in the console: time to first paint (the
   app started, every row in the table, the screen drawn), and the table load alone.
2. ``recheck``: a bulk re-check (R) of M verified domains (1,000) against the loopback DNS
   server answering every query after a delay (5 ms): time to first paint, the time the
   re-check takes, and how long a key press waits for the screen meanwhile (target < 100 ms),
   measured both by Pilot key presses and by an event-loop lag probe.
   ``recheck-idle``: the same with no key pressed (the console's own share of the CPU).
3. ``headless``: the same M domains, records, delay and registry re-checked without the
   console (``Registry.recheck``, as ``mailauth-tui recheck`` runs it): the console's re-check
   is to take at most twice as long (target: console rate >= half the headless rate).

Every key's row remembers a passed DKIM self-test (as after an earlier re-check), in both.

Each scenario runs in its own process, so the peak memory (ru_maxrss) is its own.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from textual import events

from mailauth_tui.demo.session import demo_settings
from mailauth_tui.demo.zoneserver import Zone, ZoneServer
from mailauth_tui.registry.selftest import fingerprint
from mailauth_tui.registry.service import Registry
from mailauth_tui.services.dns import DnsResolver
from mailauth_tui.services.keys import GeneratedKey
from mailauth_tui.services.mailer import MaildirMailer
from mailauth_tui.services.settings import Settings
from mailauth_tui.services.store import KeyRecord, Store

T0 = datetime(2025, 6, 2, 9, 30, tzinfo=UTC)
PHASES = ("load", "recheck", "recheck-idle", "headless")
SELECTOR = "mt202506"
INCLUDE = "_spf.esp.example"


class NoKeys:
    """The benchmark never makes a key: every domain gets one written straight to the store,
    derived from its name, so that a check's DKIM self-test signs with the key DNS publishes."""

    def generate(self, *args: object, **kwargs: object) -> GeneratedKey:
        raise RuntimeError("not used by the benchmark")

    def private_key_pem(self, key_ref: str, passphrase: bytes | None = None) -> bytes:
        return _private_key(key_ref.split("+", 1)[0]).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def stored_key(self, key_ref: str) -> bytes:
        return self.private_key_pem(key_ref)

    def delete(self, key_ref: str) -> None:
        return None


def _private_key(name: str) -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.from_private_bytes(hashlib.sha256(name.encode()).digest())


def _public_key(name: str) -> str:
    pub = _private_key(name).public_key()
    raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def build_store(store: Store, zone: Zone | None, n: int) -> list[str]:
    """N verified domains with a key each (and their records in ``zone`` when given)."""
    names = []
    with store.transaction() as tx:
        for i in range(n):
            name = f"d{i:05d}.bench.example"
            names.append(name)
            tx.insert_domain(
                domain=name,
                domain_unicode=name,
                address=f"postmaster@{name}",
                added_by="bench",
                added_at=T0 - timedelta(days=30),
                ownership="verified",
            )
            public = _public_key(name) if zone is not None else "AAAA"
            host, record = f"{SELECTOR}._domainkey.{name}", f"v=DKIM1; k=ed25519; p={public}"
            ref = f"{name}+{SELECTOR}.pem"
            passed = fingerprint(host, NoKeys().stored_key(ref), None, record)
            tx.add_key(
                name,
                KeyRecord(SELECTOR, "ed25519", None, public, ref, T0, True, selftest_passed=passed),
            )
            state = ("verified", "pending", "failing", "unknown")[i % 4]
            tx.update_domain(
                name,
                {
                    "dkim_state": state,
                    "spf_state": "verified",
                    "dmarc_state": "configured" if i % 3 else "not_configured",
                    "dmarc_policy": ("none", "quarantine", "reject")[i % 3] if i % 3 else None,
                    "last_check_at": T0 - timedelta(hours=1 + i % 40),
                    "next_check_at": T0 + timedelta(hours=47 - i % 40),
                },
            )
            if zone is not None:
                zone.add(host, "TXT", record)
                zone.add(name, "TXT", f"v=spf1 include:{INCLUDE} -all")
                if i % 3:
                    zone.add(f"_dmarc.{name}", "TXT", "v=DMARC1; p=none")
    return names


def _registry(store: Store, settings: Settings, resolver: DnsResolver) -> Registry:
    """The registry both scenarios drive: no keys, mail to the demo Maildir, time frozen."""
    registry = Registry(
        store,
        settings,
        MaildirMailer(settings.maildir),
        NoKeys(),
        resolver,
        clock=lambda: T0,
        actor="bench",
    )
    registry.init()  # the benchmark made the registry: its admin re-checks and writes
    return registry


async def key_wait(app: Any, table: Any, key: str) -> float:
    """Seconds from a key arriving (as the terminal driver delivers it) to the screen having
    acted on it (the cursor moved). Pilot.press also waits for the CPU to go idle, which a
    busy re-check never does, so it cannot measure this."""
    before = table.cursor_row
    start = time.perf_counter()
    app.post_message(events.Key(key, None))
    while table.cursor_row == before:
        if time.perf_counter() - start > 10:
            raise RuntimeError("the key was never handled")
        await asyncio.sleep(0)
    return time.perf_counter() - start


def _maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def scenario_load(n: int) -> dict[str, float]:
    from mailauth_tui.ui.app import MailauthApp
    from mailauth_tui.ui.widgets.domain_table import DomainTable

    with tempfile.TemporaryDirectory() as tmp:
        settings = demo_settings(Path(tmp))
        store = Store(settings.db)
        build_store(store, None, n)
        resolver = DnsResolver(["127.0.0.1:9"], timeout=1.0)
        registry = _registry(store, settings, resolver)
        t = time.perf_counter()
        rows = registry.list_domains()
        read_s = time.perf_counter() - t

        start = time.perf_counter()
        app = MailauthApp(registry, clock=lambda: T0, recheck_every=None)
        async with app.run_test(size=(120, 40)) as pilot:
            table = app.screen.query_one(DomainTable)
            while table.row_count < n:
                await pilot.pause()
            first_paint = time.perf_counter() - start
            # The table load alone (what a reload or a filter change costs).
            t = time.perf_counter()
            table.load(rows)
            load_s = time.perf_counter() - t
            t = time.perf_counter()
            table.filter_text = "d0001"
            table.rebuild()
            filter_s = time.perf_counter() - t
            key_s = await key_wait(app, table, "down")
        store.close()
        resolver.close()
    return {
        "domains": n,
        "registry_read_s": read_s,
        "first_paint_s": first_paint,
        "table_load_s": load_s,
        "filter_rebuild_s": filter_s,
        "key_after_load_ms": key_s * 1000,
        "peak_rss_mib": _maxrss_mib(),
    }


@contextlib.contextmanager
def _recheck_world(
    n: int, delay: float, address: str, no_fsync: bool
) -> Iterator[tuple[Store, Registry, ZoneServer]]:
    """The registry of both re-check scenarios, its zone served at ``delay``."""
    zone = Zone.from_text(f'{INCLUDE}. TXT "v=spf1 ip4:192.0.2.0/24 -all"')
    with (
        tempfile.TemporaryDirectory() as tmp,
        ZoneServer(zone, address, 0, delay=delay) as server,
    ):
        settings = demo_settings(Path(tmp))
        # Diagnostic only: without fsync, what is left of the key waits is the UI's own share.
        store = Store(settings.db, synchronous="OFF" if no_fsync else "FULL")
        build_store(store, zone, n)
        resolver = DnsResolver([server.address], timeout=2.0, retries=1)
        yield store, _registry(store, settings, resolver), server
        store.close()
        resolver.close()


async def scenario_headless(n: int, delay: float, address: str) -> dict[str, float]:
    with _recheck_world(n, delay, address, no_fsync=False) as (_, registry, server):
        seen = 0

        def count(outcome: object) -> None:
            nonlocal seen
            seen += 1

        cpu = time.process_time()
        start = time.perf_counter()
        await registry.recheck(due_only=False, on_result=count, keep=False)
        recheck_s = time.perf_counter() - start
        cpu_s = time.process_time() - cpu
    return {
        "domains": n,
        "delay_ms": delay * 1000,
        "recheck_s": recheck_s,
        "domains_per_s": seen / recheck_s if recheck_s else 0.0,
        "domains_per_cpu_s": seen / cpu_s if cpu_s else 0.0,
        "dns_queries": server.queries,
        "peak_rss_mib": _maxrss_mib(),
    }


async def scenario_recheck(
    n: int, delay: float, address: str, no_fsync: bool = False, keys: bool = True
) -> dict[str, float]:
    from mailauth_tui.ui.app import MailauthApp
    from mailauth_tui.ui.screens.domains import DomainsScreen
    from mailauth_tui.ui.widgets.domain_table import DomainTable

    with _recheck_world(n, delay, address, no_fsync) as (_, registry, server):
        start = time.perf_counter()
        app = MailauthApp(registry, clock=lambda: T0, recheck_every=None)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = app.screen
            assert isinstance(screen, DomainsScreen)
            table = screen.query_one(DomainTable)
            while table.row_count < n:
                await pilot.pause()
            first_paint = time.perf_counter() - start

            lags: list[float] = []
            probing = True

            async def probe() -> None:
                # How late a 10 ms timer fires: the wait any input has on the event loop.
                loop = asyncio.get_running_loop()
                while probing:
                    t = loop.time()
                    await asyncio.sleep(0.01)
                    lags.append(loop.time() - t - 0.01)

            probe_task = asyncio.create_task(probe())
            key_waits: list[float] = []
            cpu = time.process_time()
            t_recheck = time.perf_counter()
            # As the terminal delivers it: Pilot.press would also wait for the CPU to idle.
            app.post_message(events.Key("R", "R"))
            while not screen.recheck.running:  # noqa: ASYNC110 - polls the app, the moment it starts
                await asyncio.sleep(0)
            bulk_started = time.perf_counter() - t_recheck
            pressed_at: list[float] = []
            while screen.recheck.running and not keys:  # noqa: ASYNC110 - polls the app
                await asyncio.sleep(0.02)  # nobody types: the re-check's own cost
            while screen.recheck.running:
                key = "down" if len(key_waits) % 20 < 10 else "up"
                pressed_at.append(time.perf_counter() - t_recheck)
                key_waits.append(await key_wait(app, table, key))
                await asyncio.sleep(0.02)  # a fast typist: 50 keys a second
            recheck_s = time.perf_counter() - t_recheck
            cpu_s = time.process_time() - cpu
            probing = False
            await probe_task
            answered = sum(
                1 for r in registry.list_domains() if r.last_check_at != T0 - timedelta(hours=1)
            )
        queries = server.queries
    worst = max(range(len(key_waits)), key=key_waits.__getitem__, default=None)
    worst_at = pressed_at[worst] if worst is not None else 0.0
    key_waits.sort()
    return {
        "domains": n,
        "delay_ms": delay * 1000,
        "first_paint_s": first_paint,
        "key_R_to_start_ms": bulk_started * 1000,
        "recheck_s": recheck_s,
        "domains_per_s": n / recheck_s if recheck_s else 0.0,
        "domains_per_cpu_s": n / cpu_s if cpu_s else 0.0,  # the key presses' share included
        "dns_queries": queries,
        "key_presses": len(key_waits),
        "key_wait_max_ms": key_waits[-1] * 1000 if key_waits else 0.0,
        "key_wait_max_at_s": worst_at,
        "key_wait_p50_ms": key_waits[len(key_waits) // 2] * 1000 if key_waits else 0.0,
        "key_wait_p95_ms": key_waits[int(len(key_waits) * 0.95)] * 1000 if key_waits else 0.0,
        "loop_lag_max_ms": max(lags) * 1000 if lags else 0.0,
        "rows_rechecked": answered,
        "peak_rss_mib": _maxrss_mib(),
    }


def _child(args: argparse.Namespace) -> int:
    if args.phase == "load":
        result = asyncio.run(scenario_load(args.domains))
    elif args.phase == "headless":
        result = asyncio.run(scenario_headless(args.recheck, args.delay, args.address))
    else:
        result = asyncio.run(
            scenario_recheck(
                args.recheck, args.delay, args.address, args.no_fsync, args.phase == "recheck"
            )
        )
    print(json.dumps(result))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--domains", type=int, default=10_000)
    parser.add_argument("--recheck", type=int, default=1_000)
    parser.add_argument("--delay", type=float, default=0.005)
    parser.add_argument(
        "--no-fsync",
        action="store_true",
        help="diagnostic: commit without fsync, to see the UI's own share of the key waits",
    )
    parser.add_argument("--address", default="127.0.0.1", help="loopback address of the DNS server")
    parser.add_argument("--phase", choices=PHASES, help=argparse.SUPPRESS)
    parser.add_argument("--only", choices=PHASES, action="append", help="run these phases only")
    args = parser.parse_args(argv)
    if args.phase:
        return _child(args)
    rates: dict[str, float] = {}
    for phase in args.only or PHASES:
        cmd = [
            sys.executable,
            __file__,
            "--phase",
            phase,
            "--domains",
            str(args.domains),
            "--recheck",
            str(args.recheck),
            "--delay",
            str(args.delay),
            "--address",
            args.address,
            *(["--no-fsync"] if args.no_fsync else []),
        ]
        out = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if out.returncode != 0:
            print(out.stderr, file=sys.stderr)
            return out.returncode
        figures = json.loads(out.stdout.strip().splitlines()[-1])
        if "domains_per_s" in figures:
            rates[phase] = figures["domains_per_s"]
        print(f"[{phase}]")
        for key, value in figures.items():
            shown = f"{value:.3f}" if isinstance(value, float) else str(value)
            print(f"  {key:20} {shown}")
    for console in ("recheck", "recheck-idle"):
        if console in rates and rates.get("headless"):
            # The target: the console's re-check within 2x of the headless one (ratio <= 2).
            print(f"headless / {console} rate: {rates['headless'] / rates[console]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
