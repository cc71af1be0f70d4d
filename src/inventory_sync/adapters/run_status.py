"""RunStatus: what a run has done lately, for the status page and the lag gauges: the outcome
totals, records/s over the last minutes, the lag per partition (records and seconds), the time
to clear it, the time since the last applied write, and the last warnings and errors logged
(transient faults, recoveries, permanent faults).

Its snapshot() is plain JSON: the worker serves it as /status.json, and a status page in
another process (`inventory-sync web`) renders it as the worker's own page does.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from inventory_sync.domain.outcomes import BatchReport, Summary

if TYPE_CHECKING:
    from inventory_sync.adapters.health import DependencyProbe
    from inventory_sync.adapters.timed_source import TimedSource
    from inventory_sync.application.worker import Worker
    from inventory_sync.settings import Settings

BUCKET_S = 10
HISTORY_BUCKETS = 60
"""records/s is kept per 10 s for the last 10 minutes (the page's chart)."""
RATE_WINDOW_S = 30.0
"""The current rate, for the time to clear the lag: records of the last 30 s."""
PROBLEMS_KEPT = 20

HealthCheck = Callable[[bool], tuple[bool, bool, str]]


@dataclass(frozen=True, slots=True)
class Problem:
    at: float
    level: str
    message: str


class RunStatus:
    """Fed after each committed batch (observe) and by the log (warnings and errors)."""

    def __init__(self, wall_clock: Callable[[], float] = time.time) -> None:
        self.wall_clock = wall_clock
        self.started_at = wall_clock()
        self.totals = Summary()
        self.lag: dict[int, int] = {}
        self.lag_seconds: dict[int, float] = {}
        self.last_applied_at: float | None = None
        self.problems: deque[Problem] = deque(maxlen=PROBLEMS_KEPT)
        self._seconds: dict[int, int] = {}
        """Records committed per second (Unix time), for the last 10 minutes."""
        self._lock = threading.Lock()
        self.health: HealthCheck = lambda readiness: (True, True, "not running")
        """(alive, ready, detail); with readiness False only liveness is asked (no probe)."""

    def observe(
        self, report: BatchReport, lag: dict[int, int], lag_seconds: dict[int, float]
    ) -> None:
        now = self.wall_clock()
        summary = report.summary
        with self._lock:
            self.totals.add(summary)
            second = int(now)
            self._seconds[second] = self._seconds.get(second, 0) + summary.records
            kept_from = second - BUCKET_S * HISTORY_BUCKETS
            for old in [s for s in self._seconds if s < kept_from]:
                del self._seconds[old]
            if summary.applied:
                self.last_applied_at = now
            self.lag, self.lag_seconds = dict(lag), dict(lag_seconds)

    def note(self, level: str, message: str) -> None:
        with self._lock:
            self.problems.append(Problem(self.wall_clock(), level, message))

    def rate(self) -> float:
        """Records/s over the last RATE_WINDOW_S (or since the start, if later)."""
        now = self.wall_clock()
        window = max(min(RATE_WINDOW_S, now - self.started_at), 1.0)
        with self._lock:
            counted = sum(n for s, n in self._seconds.items() if s >= now - window)
        return counted / window

    def history(self) -> list[tuple[float, float]]:
        """(bucket start, records/s) for each of the last HISTORY_BUCKETS buckets."""
        last = int(self.wall_clock() // BUCKET_S)
        with self._lock:
            per_bucket: dict[int, int] = {}
            for second, records in self._seconds.items():
                per_bucket[second // BUCKET_S] = per_bucket.get(second // BUCKET_S, 0) + records
        return [
            (b * BUCKET_S, per_bucket.get(b, 0) / BUCKET_S)
            for b in range(last - HISTORY_BUCKETS + 1, last + 1)
        ]

    def clear_seconds(self) -> float | None:
        """How long the lag takes to clear at the current rate: 0 with no lag, None (never)
        when records wait and none is being consumed."""
        waiting = sum(self.lag.values())
        if waiting == 0:
            return 0.0
        rate = self.rate()
        return waiting / rate if rate > 0 else None

    def freshness_seconds(self) -> float | None:
        """Seconds since the last batch that wrote to the database; None before the first."""
        if self.last_applied_at is None:
            return None
        return max(self.wall_clock() - self.last_applied_at, 0.0)

    def snapshot(self) -> dict[str, Any]:
        alive, ready, detail = self.health(True)
        with self._lock:
            totals = self.totals.to_dict()
            problems = [
                {"at": _iso(p.at), "level": p.level, "message": p.message}
                for p in reversed(self.problems)
            ]
            lag = {str(p): n for p, n in sorted(self.lag.items())}
            lag_seconds = {str(p): s for p, s in sorted(self.lag_seconds.items())}
        return {
            "started_at": _iso(self.started_at),
            "health": {"alive": alive, "ready": ready, "detail": detail},
            "totals": totals,
            "rate": self.rate(),
            "history": [{"at": at, "rate": rate} for at, rate in self.history()],
            "lag": lag,
            "lag_seconds": lag_seconds,
            "clear_seconds": self.clear_seconds(),
            "freshness_seconds": self.freshness_seconds(),
            "problems": problems,
        }


class ProblemLog(logging.Handler):
    """Keeps the WARNING and ERROR lines of the `inventory_sync` loggers in a RunStatus."""

    def __init__(self, status: RunStatus) -> None:
        super().__init__(logging.WARNING)
        self.status = status

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.status.note(record.levelname, record.getMessage())
        except Exception:  # a log handler never raises into the code that logs
            self.handleError(record)

    def attach(self) -> ProblemLog:
        logging.getLogger("inventory_sync").addHandler(self)
        return self

    def detach(self) -> None:
        logging.getLogger("inventory_sync").removeHandler(self)


def run_health(
    worker: Worker, source: TimedSource, probe: DependencyProbe, settings: Settings
) -> HealthCheck:
    """(alive, ready, detail) of a run: alive while it keeps polling (liveness_ttl_s), whatever
    its dependencies do; ready while the database and Kafka answer, the member owns partitions
    and no fault is being waited out."""

    def health(readiness: bool) -> tuple[bool, bool, str]:
        silent_s = source.clock() - source.last_poll_at
        if silent_s > settings.liveness_ttl_s:
            return False, False, f"the run loop has not polled for {silent_s:.0f} s"
        if not readiness:
            return True, True, f"the run loop polled {silent_s:.1f} s ago"
        faults = probe.faults()
        if faults:
            return True, False, "; ".join(f"{n} unreachable: {why}" for n, why in faults.items())
        if worker.fault is not None:
            return True, False, f"waiting out a fault: {worker.fault}"
        if source.assigned is not None and not source.assigned:
            return True, False, f"no partition of {settings.topic} assigned in {settings.group_id}"
        return True, True, "consuming"

    return health


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds")
