"""The bulk re-check's shape, over a loopback DNS server: a bounded number of checks (and
tasks) at a time, names read page by page, each result on disk before it is reported, commits
off the event loop, and domains removed or re-checked meanwhile skipped."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from mailauth_tui.core.results import DomainReport
from mailauth_tui.demo.zoneserver import Zone
from mailauth_tui.registry import service
from mailauth_tui.registry.models import RecordState, VerifyOutcome
from mailauth_tui.registry.service import Registry
from mailauth_tui.services.dns import DnsResolver
from mailauth_tui.services.keys import FileKeyStore
from mailauth_tui.services.mailer import MaildirMailer
from mailauth_tui.services.settings import Settings
from mailauth_tui.services.store import DomainRecord, Store, StoreTx
from tests.fixtures.registry import FakeClock, OpenStore, seed_verified

SELECTOR = "mt202503"


Make = Callable[[int], Registry]


@pytest.fixture
def make(
    registry_store: Store,
    registry_settings: Settings,
    resolver: DnsResolver,
    fake_clock: FakeClock,
) -> Make:
    def build(concurrency: int) -> Registry:
        return Registry(
            registry_store,
            registry_settings,
            MaildirMailer(registry_settings.maildir),
            FileKeyStore(registry_settings.keys_dir),
            resolver,
            clock=fake_clock,
            actor="alice",
            concurrency=concurrency,
        )

    return build


NAMES = [f"d{i:02d}.example.org" for i in range(12)]


@pytest.fixture
def seeded(
    registry_store: Store, registry_settings: Settings, zone: Zone, fake_clock: FakeClock
) -> list[str]:
    seed_verified(registry_store, zone, NAMES, fake_clock.now, SELECTOR, registry_settings.keys_dir)
    return NAMES


LastCheck = Callable[[str], datetime | None]


@pytest.fixture
def last_check_elsewhere(open_store: OpenStore, registry_settings: Settings) -> Iterator[LastCheck]:
    """What another process reads now: a store of its own (new connections)."""
    other = open_store("alice", registry_settings)

    def read(name: str) -> datetime | None:
        rec = other.get_domain(name)
        return None if rec is None else rec.last_check_at

    yield read
    other.close()


async def test_a_bounded_number_of_checks_and_tasks_at_once(
    make: Make, seeded: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = make(3)
    monkeypatch.setattr(service, "RECHECK_PAGE", 5)  # several pages
    real = registry._check
    running = peak = tasks_peak = 0

    async def counted(rec: DomainRecord) -> DomainReport:
        nonlocal running, peak, tasks_peak
        running += 1
        peak = max(peak, running)
        per_domain = [
            t
            for t in asyncio.all_tasks()
            if getattr(t.get_coro(), "__qualname__", "") == "Registry._recheck_one"
        ]
        tasks_peak = max(tasks_peak, len(per_domain))
        try:
            await asyncio.sleep(0.01)
            return await real(rec)
        finally:
            running -= 1

    monkeypatch.setattr(registry, "_check", counted)
    outcomes = await registry.recheck()
    assert sorted(o.domain.domain for o in outcomes) == seeded  # each once, across pages
    assert peak == 3
    assert tasks_peak == 3  # no task per domain made up front
    assert all(o.domain.dkim_state is RecordState.VERIFIED for o in outcomes)
    assert await registry.recheck() == []  # all rescheduled


async def test_each_result_is_on_disk_before_it_is_reported(
    make: Make, seeded: list[str], last_check_elsewhere: LastCheck
) -> None:
    registry = make(4)
    seen: list[str] = []

    async def on_result(outcome: VerifyOutcome) -> None:
        checked = outcome.domain.last_check_at
        assert checked is not None
        assert last_check_elsewhere(outcome.domain.domain) == checked
        seen.append(outcome.domain.domain)

    outcomes = await registry.recheck(due_only=False, on_result=on_result)
    assert sorted(seen) == seeded
    assert [o.domain.domain for o in outcomes] == seen  # reported in the order they came


async def test_commits_wait_for_the_disk_off_the_event_loop(
    make: Make, seeded: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = make(4)
    real = registry._apply_check
    stall = 0.3

    def slow_disk(
        tx: StoreTx,
        name: str,
        report: DomainReport,
        now: datetime,
        tests: Any = (),
        gone: tuple[str, ...] = (),
    ) -> VerifyOutcome | None:
        if name == seeded[0]:
            time.sleep(stall)  # a very slow fsync, in the writer thread
        return real(tx, name, report, now, tests, gone)

    monkeypatch.setattr(registry, "_apply_check", slow_disk)
    gaps: list[float] = []
    ticking = True

    async def ticker() -> None:
        loop = asyncio.get_running_loop()
        while ticking:
            t = loop.time()
            await asyncio.sleep(0.005)
            gaps.append(loop.time() - t)

    tick = asyncio.create_task(ticker())
    started = time.monotonic()
    outcomes = await registry.recheck(due_only=False)
    took = time.monotonic() - started
    ticking = False
    await tick
    assert len(outcomes) == len(seeded)
    assert took >= stall  # the slow disk was waited for ...
    assert max(gaps) < stall / 2  # ... but never by the loop


async def test_a_domain_rechecked_or_removed_meanwhile_is_skipped(
    make: Make, seeded: list[str], registry_store: Store, fake_clock: FakeClock
) -> None:
    registry = make(1)  # one at a time: the order below is certain
    first, second, third = seeded[:3]

    def meanwhile(outcome: VerifyOutcome) -> None:
        if outcome.domain.domain != first:
            return
        with registry_store.transaction() as tx:
            # another process re-checked the second domain, and removed the third
            tx.update_domain(second, {"next_check_at": fake_clock.now + timedelta(hours=48)})
            tx.delete_domain(third)

    outcomes = await registry.recheck(on_result=meanwhile)
    assert [o.domain.domain for o in outcomes] == [first, *seeded[3:]]


async def test_an_error_in_on_result_stops_the_recheck_and_keeps_what_was_committed(
    make: Make, seeded: list[str], registry_store: Store, last_check_elsewhere: LastCheck
) -> None:
    registry = make(4)
    before = {name: last_check_elsewhere(name) for name in seeded}
    reported: list[str] = []

    def on_result(outcome: VerifyOutcome) -> None:
        reported.append(outcome.domain.domain)
        if len(reported) == 2:
            raise RuntimeError("screen gone")

    with pytest.raises(RuntimeError, match="screen gone"):
        await registry.recheck(on_result=on_result)
    # A commit already in the writer thread when the rest was cancelled still completes:
    # wait for it (the writer runs what it is given in order).
    await asyncio.wrap_future(registry_store.write_soon(lambda tx: None))
    committed = {n for n in seeded if last_check_elsewhere(n) != before[n]}
    assert set(reported) <= committed
    assert len(committed) <= len(reported) + 4  # at most the ones in flight besides
    rest = await registry.recheck()
    assert sorted(o.domain.domain for o in rest) == sorted(set(seeded) - committed)


async def test_a_long_recheck_forgets_dns_answers_as_it_goes(
    make: Make, seeded: list[str], resolver: DnsResolver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The resolver's cache is cleared every FORGET_EVERY domains started: a round over a
    large registry does not hold every answer it got (memory flat in the number of domains)."""
    monkeypatch.setattr(service, "FORGET_EVERY", 5)
    cleared = 0
    real = resolver.clear_cache

    def counted() -> None:
        nonlocal cleared
        cleared += 1
        real()

    monkeypatch.setattr(resolver, "clear_cache", counted)
    outcomes = await make(4).recheck(keep=False, on_result=lambda o: None)
    assert outcomes == []  # keep=False: nothing held
    assert cleared == 1 + len(seeded) // 5  # at the start, then every 5 domains
