"""What `run` shows while it consumes: a live line on a terminal, a log line every few seconds
otherwise. rich is imported only when the live line is used."""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from inventory_sync.domain.services import Summary

if TYPE_CHECKING:
    from rich.live import Live

log = logging.getLogger("inventory_sync.progress")


class Progress(Protocol):
    def update(self, totals: Summary, lag: dict[int, int]) -> None: ...

    def close(self) -> None: ...


def progress_line(totals: Summary, records_per_s: float, lag: dict[int, int]) -> str:
    """`records 12,345 · applied 11,000 · ... · 8,123 rec/s · lag 1,234` (lag - when unknown)."""
    lag_text = f"{sum(lag.values()):,}" if lag else "-"
    return (
        f"records {totals.records:,} · applied {totals.applied:,} · stale {totals.stale:,} · "
        f"superseded {totals.superseded:,} · rejected {totals.rejected:,} · "
        + (f"duplicate {totals.duplicate:,} · " if totals.duplicate else "")
        + f"{records_per_s:,.0f} rec/s · lag {lag_text}"
    )


class RateMeter:
    """Records per second since the oldest update within the last `window_s` seconds (or
    since the update before, when that was longer ago)."""

    def __init__(self, window_s: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.window_s = window_s
        self.clock = clock
        self._samples: deque[tuple[float, int]] = deque([(clock(), 0)])

    def rate(self, records: int) -> float:
        now = self.clock()
        self._samples.append((now, records))
        while len(self._samples) > 2 and self._samples[0][0] < now - self.window_s:
            self._samples.popleft()
        then, before = self._samples[0]
        return (records - before) / (now - then) if now > then else 0.0


class LiveProgress:
    """One line on the terminal (stderr), redrawn after every batch; logs print above it."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        from rich.console import Console
        from rich.live import Live

        self._meter = RateMeter(clock=clock)
        self._live: Live = Live(
            "waiting for records…",
            console=Console(stderr=True),
            refresh_per_second=4,
            redirect_stdout=False,
        )
        self._live.start()

    def update(self, totals: Summary, lag: dict[int, int]) -> None:
        self._live.update(progress_line(totals, self._meter.rate(totals.records), lag))

    def close(self) -> None:
        self._live.stop()


class LogProgress:
    """An INFO log line at most every `interval_s` seconds, for logs that are not a terminal."""

    def __init__(
        self, interval_s: float = 5.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.interval_s = interval_s
        self.clock = clock
        self._meter = RateMeter(window_s=interval_s, clock=clock)
        self._last_logged = clock()

    def update(self, totals: Summary, lag: dict[int, int]) -> None:
        rate = self._meter.rate(totals.records)
        if self.clock() - self._last_logged >= self.interval_s:
            self._last_logged = self.clock()
            log.info("progress: %s", progress_line(totals, rate, lag))

    def close(self) -> None:
        pass


def progress_for(terminal: bool) -> Progress:
    return LiveProgress() if terminal else LogProgress()
