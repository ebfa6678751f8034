"""One way to write a moment for people: UTC, to the minute, unambiguous across zones."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["when"]


def when(moment: datetime | None, *, empty: str = "never") -> str:
    """``2025-06-02 09:30 UTC``, or ``empty`` when there is no moment."""
    if moment is None:
        return empty
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")
