"""A ``recheck --due`` worker keeps its leases while it runs: a batch that takes longer than
one lease (slow DNS) is renewed, so a second worker starting after the first lease ran out
does not take the first one's domains and check them twice. On both backends (the real
PostgreSQL server of the test session, and SQLite)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from mailauth_tui.demo.zoneserver import Zone, ZoneServer
from mailauth_tui.registry.service import LEASE_BATCH
from mailauth_tui.services.settings import Settings
from mailauth_tui.services.store_api import RegistryStore
from tests.fixtures.postgres import PgDatabase
from tests.fixtures.registry import MakeRegistry, grant_admin, seed_verified

LEASE_S = 2.0
# Each answer this late: a domain's check (SPF, then its include, beside DKIM and DMARC) takes
# two of them, so the batch's two waves of checks (16 at once) take about 4 x DELAY_S.
DELAY_S = 0.7


def _now() -> datetime:
    return datetime.now(UTC)


def _seed_due(store: RegistryStore, settings: Settings, zone: Zone, names: list[str]) -> None:
    """Verified domains due five minutes ago, each key's self-test remembered."""
    due = _now() - timedelta(minutes=5)
    seed_verified(store, zone, names, due, keys_dir=settings.keys_dir, selftested=True)


async def test_a_batch_longer_than_the_lease_is_not_taken_over(
    make_registry: MakeRegistry,
    registry_store: RegistryStore,
    registry_settings: Settings,
    zone: Zone,
    dns_server: ZoneServer,
) -> None:
    names = [f"d{i:02d}.example.org" for i in range(LEASE_BATCH)]  # one batch: one claim
    _seed_due(registry_store, registry_settings, zone, names)
    grant_admin(registry_store, "carol")
    settings = replace(registry_settings, recheck_lease_seconds=LEASE_S)
    first = make_registry("alice", settings=settings, clock=_now)
    second = make_registry("carol", settings=settings, clock=_now)
    dns_server.delay = DELAY_S
    started = time.monotonic()
    running = asyncio.ensure_future(first.recheck(due_only=True))
    await asyncio.sleep(LEASE_S + 0.3)  # the first claim's lease has run out by now
    assert not running.done(), "the first worker finished within its lease: nothing tested"
    taken = await second.recheck(due_only=True)
    kept = await running
    dns_server.delay = 0.0
    assert time.monotonic() - started > LEASE_S + 0.3
    checks = Counter(e.domain for e in first.journal(None, limit=1000) if e.event == "check")
    assert set(checks) == set(names)
    assert set(checks.values()) == {1}, "a domain was checked by both workers"
    assert taken == [] and len(kept) == len(names)


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_a_row_still_locked_by_a_dead_worker_is_waited_for_not_left_out(
    make_registry: MakeRegistry,
    registry_store: RegistryStore,
    registry_settings: Settings,
    pg_database: PgDatabase,
    zone: Zone,
    dns_server: ZoneServer,
) -> None:
    """A killed worker's server session may hold its rows a moment after its leases ran out:
    the claim passes them over (SKIP LOCKED), and the round waits for them instead of ending
    without them."""
    names = [f"d{i:02d}.example.org" for i in range(4)]
    _seed_due(registry_store, registry_settings, zone, names)
    registry = make_registry("alice", clock=_now)
    with psycopg.connect(pg_database.server.url("postgres", pg_database.name)) as dead:
        dead.execute(  # the dead worker's open transaction: it holds one domain's row
            "SELECT domain FROM mailauth.domains WHERE domain = %s FOR UPDATE", (names[0],)
        )
        running = asyncio.ensure_future(registry.recheck(due_only=True))
        await asyncio.sleep(1.0)
        assert not running.done(), "the round ended while a due domain's row was held"
        dead.rollback()  # its session is gone: the row is free
    outcomes = await asyncio.wait_for(running, timeout=30)
    assert sorted(o.domain.domain for o in outcomes) == names
