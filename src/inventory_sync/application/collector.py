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
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class _Collector:
    """The collector's settings across runs: the first run in sets them, the last one out
    puts them back, so overlapping runs (two embedded workers) leave them as they were."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs = 0
        self._previous: tuple[int, ...] = ()
        self._froze = False

    def enter(self, threshold: int) -> None:
        with self._lock:
            if self._runs == 0:
                self._previous = gc.get_threshold()
                self._froze = gc.get_freeze_count() == 0
                if self._froze:
                    gc.freeze()
                gc.set_threshold(threshold, *self._previous[1:])
            self._runs += 1

    def exit(self) -> None:
        with self._lock:
            self._runs -= 1
            if self._runs == 0:
                gc.set_threshold(*self._previous)
                if self._froze:
                    gc.unfreeze()


_collector = _Collector()


@contextmanager
def collecting_less(threshold: int) -> Iterator[None]:
    """Within the block, the collector's first threshold is `threshold` and the objects that
    exist on entry are frozen; both are undone on exit. 0 leaves the collector as it is.

    The thresholds are the process's: a shop that embeds the worker shares them while it
    runs (settings.gc_threshold = 0 to keep its own). A process that has frozen objects
    itself (a pre-forking server, say) keeps them frozen: nothing is frozen or unfrozen then.
    """
    if not threshold:
        yield
        return
    _collector.enter(threshold)
    try:
        yield
    finally:
        _collector.exit()
