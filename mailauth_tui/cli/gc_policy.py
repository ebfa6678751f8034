"""The cyclic garbage collector's settings for a batch run (``check`` over many domains).

A check allocates a few hundred small objects per domain (answers, parsed records, problems)
and keeps many of them until the run ends (the resolver's cache, the parse caches). With the
default thresholds the collector scans those survivors again and again, and once the whole heap
left by the imports: about a sixth of a thousand-domain run's CPU time. Almost nothing a check
makes forms a reference cycle (reference counting frees it), so collecting rarely loses no
memory worth having; mypy runs with a raised threshold for the same reason.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

# Young objects allowed before a collection: a thousand domains cause one or two.
BATCH_THRESHOLD = 100_000


@contextmanager
def batch_gc() -> Iterator[None]:
    """Freeze what exists (imports, settings) out of every later scan and collect rarely; the
    previous settings come back afterwards (tests run many commands in one process)."""
    previous = gc.get_threshold()
    frozen_before = gc.get_freeze_count()
    gc.freeze()
    gc.set_threshold(BATCH_THRESHOLD, previous[1], previous[2])
    try:
        yield
    finally:
        # What the run left (caches, mostly) is old now: frozen first, so that restoring the
        # threshold does not set off one collection over everything the run allocated, then
        # handed to the oldest generation, where the next full collection sees it.
        gc.freeze()
        gc.set_threshold(*previous)
        if not frozen_before:  # someone else's freeze (the console's) stays as it was
            gc.unfreeze()
