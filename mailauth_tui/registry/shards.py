"""One worker's share of a re-check round (``recheck --workers N``).

A re-check is CPU-bound in Python: one process uses one core. N processes share a round by
splitting its names with a stable hash, so each name falls to exactly one of them whatever
order the names are read in and whichever process reads them, with no coordination.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

__all__ = ["MAX_WORKERS", "Shard"]

# More processes than this only wait on each other: each holds the registry's write lock in
# turn, and a host has few cores.
MAX_WORKERS = 32

_FORM = re.compile(r"(\d{1,3})/(\d{1,3})")


@dataclass(frozen=True, slots=True)
class Shard:
    """Share ``number`` (1-based) of ``count``."""

    number: int
    count: int

    def __post_init__(self) -> None:
        if not 1 <= self.count <= MAX_WORKERS:
            raise ValueError(f"the number of shares must be 1 to {MAX_WORKERS}, not {self.count}")
        if not 1 <= self.number <= self.count:
            raise ValueError(f"share {self.number} of {self.count} does not exist")

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``K/N``: share K of N. Raises ValueError."""
        match = _FORM.fullmatch(text.strip())
        if match is None:
            raise ValueError(f"a share is K/N (such as 2/4), not {text!r}")
        return cls(int(match[1]), int(match[2]))

    def holds(self, name: str) -> bool:
        """Whether ``name`` (a registry's domain name) is in this share."""
        return zlib.crc32(name.encode("utf-8", "surrogateescape")) % self.count == self.number - 1

    def __str__(self) -> str:
        return f"{self.number}/{self.count}"
