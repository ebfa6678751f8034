"""Output that streams without a write per item: flushed once items have waited FLUSH_DELAY.

``recheck`` flushed stdout after every outcome: a system call a domain (a ~5 KB write to a
pipe or file), while the next outcomes were often ready already. A terminal is line-buffered
anyway (each item written with its newline shows at once); a pipe or file now gets what is
ready every FLUSH_DELAY, and the rest at the end.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TextIO, TypeVar

T = TypeVar("T")

FLUSH_DELAY = 0.05  # seconds, as ``check`` waits before it writes what is ready


class TimedFlush:
    """Runs a coroutine that writes to ``out`` and calls :meth:`wrote` after each item."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._timer: asyncio.TimerHandle | None = None
        self._failure: Exception | None = None
        self._run: asyncio.Future[Any] | None = None

    def wrote(self) -> None:
        """An item was written: it is flushed within FLUSH_DELAY."""
        if self._timer is None:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(FLUSH_DELAY, self._flush)

    def _flush(self) -> None:
        self._timer = None
        try:
            self._out.flush()
        except Exception as exc:
            # Raised in a timer callback it would only be logged while the run went on: the
            # run stops instead and raises it (a reader gone away, BrokenPipeError, then ends
            # the command quietly, as a failed write in the run itself would).
            self._failure = exc
            if self._run is not None:
                self._run.cancel()

    async def run(self, work: Awaitable[T]) -> T:
        """``await work``, flushing what it wrote as it goes and at the end. A flush that
        fails cancels ``work`` and raises its error here."""
        self._run = run = asyncio.ensure_future(work)
        try:
            result = await run
        except asyncio.CancelledError:
            if self._failure is None:
                raise
        finally:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        if self._failure is not None:
            raise self._failure
        self._out.flush()
        return result
