"""The store's writer thread: results handed over by an event loop, committed in groups.

Shared by both backends: a commit waits for its disk sync (SQLite's fsync, PostgreSQL's WAL
flush on the server) in this thread, never on the event loop.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager
from typing import Any, TypeVar

T = TypeVar("T")

# Most writes committed together by the writer thread: a group holds the write lock, which
# other processes wait for, so it stays short.
MAX_GROUP = 64

_WRITER_NAME = "registry-store-writer"


class GroupWriter:
    """Mixed into a store that has ``transaction()`` (a context giving a tx with
    ``savepoint()``)."""

    def __init__(self) -> None:
        self._writer: ThreadPoolExecutor | None = None
        self._writer_pid = 0
        self._writer_lock = threading.Lock()
        self._group: list[tuple[Callable[[Any], Any], Future[Any]]] = []
        self._group_lock = threading.Lock()
        self._draining = False
        self._in_writer = threading.local()

    def transaction(self) -> AbstractContextManager[Any]:
        raise NotImplementedError

    def stop_writer(self) -> None:
        """Let the writer thread finish what it was given."""
        with self._writer_lock:
            writer, self._writer = self._writer, None
        if writer is not None and self._writer_pid == os.getpid():
            # From the writer thread itself, waiting would wait for this very call.
            writer.shutdown(wait=not getattr(self._in_writer, "writer", False))

    def write_soon(self, fn: Callable[[Any], T]) -> Future[T]:
        """Run ``fn(tx)`` in the store's writer thread, inside a write transaction; the future
        is resolved once that transaction is committed (on disk, with synchronous=FULL).

        For an event loop (``await asyncio.wrap_future(store.write_soon(fn))``): the commit
        waits for its fsync in the writer thread, not on the loop. Writes handed over while one
        commits are committed together after it (a group commit: one fsync for the group, up
        to MAX_GROUP); each ``fn`` runs in a savepoint of its own, so one that raises is undone
        alone and only its future gets the error. A future cancelled before its turn is not
        run. :meth:`close` waits for what was handed over."""
        fut: Future[T] = Future()
        with self._group_lock:
            self._group.append((fn, fut))
            if self._draining:
                return fut
            self._draining = True
        try:
            self._submit(self._drain)
        except BaseException:
            with self._group_lock:
                self._draining = False
            raise
        return fut

    def _drain(self) -> None:
        while True:
            with self._group_lock:
                group, self._group = self._group[:MAX_GROUP], self._group[MAX_GROUP:]
                if not group:
                    self._draining = False
                    return
            self._commit_group(
                [(fn, fut) for fn, fut in group if fut.set_running_or_notify_cancel()]
            )

    def _retryable(self, exc: BaseException) -> bool:
        """Whether a group that failed with ``exc`` is tried again, whole (a lost connection
        to a server: nothing of it was committed, and a new connection may succeed)."""
        return False

    def _commit_group(self, group: list[tuple[Callable[[Any], Any], Future[Any]]]) -> None:
        if not group:
            return
        tries = 2
        while True:
            done: list[tuple[Future[Any], Any, BaseException | None]] = []
            try:
                with self.transaction() as tx:
                    for fn, fut in group:
                        try:
                            with tx.savepoint():
                                done.append((fut, fn(tx), None))
                        except Exception as exc:  # handed to its caller, who raises it
                            done.append((fut, None, exc))
            except BaseException as exc:  # no transaction, or no commit: none of it written
                tries -= 1
                if tries and self._retryable(exc):
                    continue
                # Each caller gets the error (and raises it): the writer thread goes on.
                for _, fut in group:
                    fut.set_exception(exc)
                return
            break
        for fut, value, error in done:
            if error is None:
                fut.set_result(value)
            else:
                fut.set_exception(error)

    def _submit(self, fn: Callable[[], None]) -> None:
        with self._writer_lock:
            if self._writer is None or self._writer_pid != os.getpid():
                self._writer = ThreadPoolExecutor(
                    max_workers=1, thread_name_prefix=_WRITER_NAME, initializer=self._mark_writer
                )
                self._writer_pid = os.getpid()
            self._writer.submit(fn)

    def _mark_writer(self) -> None:
        self._in_writer.writer = True
