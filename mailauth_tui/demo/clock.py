"""A clock that seeding can move back in time, so sample domains get realistic histories
(a code sent 16 days ago has expired) through the registry's own code paths."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta


def _real_now() -> datetime:
    return datetime.now(UTC)


class ShiftedClock:
    def __init__(self, base: Callable[[], datetime] = _real_now) -> None:
        self._base = base
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return self._base() + self.offset
