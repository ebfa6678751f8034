"""`check` streams: reports ready early are written out while later domains still wait on DNS,
in input order, and nothing is left unwritten at the end."""

from __future__ import annotations

import asyncio

import pytest

from mailauth_tui.cli.check_cmd import FLUSH_DELAY, _check_all, _Writer
from mailauth_tui.core import psl
from mailauth_tui.core.dns_types import Answer, RType
from mailauth_tui.core.results import DomainReport
from tests.unit.dns_fakes import FakeResolver


class _GatedResolver(FakeResolver):
    """Answers at once, except for names under ``slow``, which wait for ``gate``."""

    def __init__(self, slow: str, gate: asyncio.Event) -> None:
        super().__init__()
        self.slow = slow
        self.gate = gate
        self.queries_started: list[str] = []

    async def query(self, name: str, rtype: RType) -> Answer:
        self.queries_started.append(name)
        if name.rstrip(".").endswith(self.slow):
            await self.gate.wait()
        return await super().query(name, rtype)


class _Recorder(_Writer):
    def __init__(self) -> None:
        self.written: list[str] = []
        self.flushed: list[list[str]] = []  # what had been written at each flush
        self.first_flush = asyncio.Event()

    def write(self, report: DomainReport) -> None:
        self.written.append(report.domain)

    def flush(self) -> None:
        self.flushed.append(list(self.written))
        self.first_flush.set()


def test_ready_reports_are_flushed_while_a_slow_domain_waits() -> None:
    async def scenario() -> tuple[_Recorder, list[list[str]], bool]:
        gate = asyncio.Event()
        writer = _Recorder()
        domains = ["a.example", "b.example", "slow.example"]
        run = asyncio.create_task(
            _check_all(_GatedResolver("slow.example", gate), domains, [], 10, writer)
        )
        await asyncio.wait_for(writer.first_flush.wait(), 10)
        while_waiting = list(writer.flushed)
        gate.set()
        all_valid = await run
        return writer, while_waiting, all_valid

    writer, while_waiting, all_valid = asyncio.run(scenario())
    assert while_waiting == [["a.example", "b.example"]]  # one flush for the two, not one each
    assert writer.written == ["a.example", "b.example", "slow.example"]
    assert writer.flushed[-1] == writer.written
    assert all_valid is False  # nothing is published: every record is missing


def test_the_public_suffix_list_is_read_while_the_first_questions_wait(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Every question waits until the list has been read: then the count at reading time is
    # what went out before it. Each domain's first two questions (SPF, and DMARC in its own
    # task) must be out, the DMARC one not held back by the reading.
    asked_before: list[int] = []

    async def scenario() -> None:
        gate = asyncio.Event()
        resolver = _GatedResolver("", gate)  # every name is under ""

        def load() -> None:
            asked_before.append(len(resolver.queries_started))
            gate.set()

        monkeypatch.setattr(psl, "load", load)
        await _check_all(resolver, ["a.example", "b.example"], [], 10, _Recorder())

    asyncio.run(scenario())
    assert asked_before == [4]


class _GoneReader(_Recorder):
    """A writer whose reader has gone away (``mailauth-tui check --json | head``)."""

    def flush(self) -> None:
        super().flush()
        raise BrokenPipeError(32, "Broken pipe")


def test_a_reader_gone_at_a_timed_flush_stops_the_run_with_its_error() -> None:
    # The flush that finds the pipe closed runs in a timer callback, where an exception would
    # only be logged, at every flush, while the run checked every domain to the end.
    handled: list[dict[str, object]] = []

    async def scenario() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda _, ctx: handled.append(ctx))
        gate = asyncio.Event()  # never set: the slow domain would wait for ever
        domains = ["a.example", "slow.example", "b.example"]
        await _check_all(_GatedResolver("slow.example", gate), domains, [], 10, _GoneReader())

    with pytest.raises(BrokenPipeError):
        asyncio.run(asyncio.wait_for(scenario(), timeout=FLUSH_DELAY * 40))
    assert handled == []
