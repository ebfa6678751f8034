"""``recheck``'s output: flushed once items have waited FLUSH_DELAY, not once per item; a
reader gone away (BrokenPipeError at a timed flush) stops the run with that error."""

from __future__ import annotations

import asyncio
import io
from typing import Any

import pytest

from mailauth_tui.cli.timed_flush import FLUSH_DELAY, TimedFlush


class _Out(io.StringIO):
    """A stream that records what each flush found written."""

    def __init__(self) -> None:
        super().__init__()
        self.flushed: list[str] = []

    def flush(self) -> None:
        super().flush()
        self.flushed.append(self.getvalue())


def test_items_ready_together_are_flushed_once_and_while_the_run_goes_on() -> None:
    out = _Out()
    seen_while_waiting: list[list[str]] = []

    async def work(stream: TimedFlush) -> str:
        for item in ("a", "b"):
            out.write(item)
            stream.wrote()
        await asyncio.sleep(FLUSH_DELAY * 4)  # a slow domain: what is ready goes out meanwhile
        seen_while_waiting.append(list(out.flushed))
        out.write("c")
        stream.wrote()
        return "done"

    async def scenario() -> str:
        stream = TimedFlush(out)
        return await stream.run(work(stream))

    assert asyncio.run(scenario()) == "done"
    assert seen_while_waiting == [["ab"]]  # one flush for the two, not one each
    assert out.flushed == ["ab", "abc"]  # the rest at the end


class _Gone(_Out):
    """A stream whose reader has gone away (``recheck --json | head``)."""

    def flush(self) -> None:
        super().flush()
        raise BrokenPipeError(32, "Broken pipe")


def test_a_reader_gone_at_a_timed_flush_stops_the_run_with_its_error() -> None:
    handled: list[dict[str, Any]] = []
    out = _Gone()
    stopped = asyncio.Event()

    async def work(stream: TimedFlush) -> None:
        out.write("a")
        stream.wrote()
        try:
            await asyncio.Event().wait()  # never set: the run would wait for ever
        finally:
            stopped.set()

    async def scenario() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda _, ctx: handled.append(ctx))
        stream = TimedFlush(out)
        await stream.run(work(stream))

    with pytest.raises(BrokenPipeError):
        asyncio.run(asyncio.wait_for(scenario(), timeout=FLUSH_DELAY * 40))
    assert stopped.is_set()
    assert handled == []  # raised, not merely logged by the loop


def test_an_interrupted_run_is_cancelled_as_before() -> None:
    out = _Out()

    async def work(stream: TimedFlush) -> None:
        out.write("a")
        stream.wrote()
        await asyncio.Event().wait()

    async def scenario() -> None:
        stream = TimedFlush(out)
        task = asyncio.ensure_future(stream.run(work(stream)))
        await asyncio.sleep(0)
        task.cancel()  # what asyncio.run does on Ctrl-C
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
