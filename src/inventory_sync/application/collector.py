"""Python's garbage collector while the worker runs: collected less often, and without the
objects that were there before.

A batch allocates tens of thousands of short-lived objects (records, decoded updates,
outcomes), and at Python's default threshold (700 allocations) the collector runs every few
dozen records, walking the young objects each time and every object now and then: a quarter
of the worker's time in a burst (benchmarks/throughput.py, 100,000 events). None of those
objects is in a reference cycle that needs collecting soon, so the worker raises the
threshold and freezes (gc.freeze) what exists at its start, and puts both back when it stops.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collecting_less(threshold: int) -> Iterator[None]:
    """Within the block, the collector's first threshold is `threshold` and the objects that
    exist on entry are frozen; both are undone on exit. 0 leaves the collector as it is.

    The thresholds are the process's: a shop that embeds the worker shares them while it
    runs (settings.gc_threshold = 0 to keep its own)."""
    if not threshold:
        yield
        return
    previous = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(threshold, *previous[1:])
    try:
        yield
    finally:
        gc.set_threshold(*previous)
        gc.unfreeze()
