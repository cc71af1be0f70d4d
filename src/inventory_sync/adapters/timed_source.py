"""TimedSource: the record source of a run, watched for health and metrics: when the run loop
last polled (liveness), which partitions it owns (readiness), how long a batch takes, and the
time of the newest record consumed per partition (lag in seconds)."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from datetime import datetime

from inventory_sync.domain.model import Record
from inventory_sync.domain.ports import RecordSource

log = logging.getLogger("inventory_sync.metrics")

HANG_FILE_ENV = "INVENTORY_SYNC_TEST_HANG_FILE"
"""Test hook, honoured only when set: while the file it names exists, every poll blocks, as a
stuck run loop would (the /livez tests make the loop hang with it)."""


class TimedSource:
    """A record source that notes how long each batch took, from poll to commit, and when
    the last commit happened; otherwise it is the source it wraps."""

    def __init__(
        self,
        source: RecordSource,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.source = source
        self.clock = clock
        self.wall_clock = wall_clock
        self.last_batch_s: float | None = None
        self.last_commit_at: float | None = None
        self._polled_at = clock()
        self.last_poll_at = clock()
        """When the run loop last polled (monotonic): liveness."""
        self.assigned: frozenset[int] | None = None
        """The partitions the source owns after the last poll; None when it cannot say."""
        self.newest_consumed: dict[int, datetime] = {}
        """Per partition, the timestamp of the newest record handed out."""
        self._hang_file = os.environ.get(HANG_FILE_ENV) or None

    def poll(self, max_records: int, timeout_s: float) -> list[Record]:
        self._hang_while_asked()
        batch = self.source.poll(max_records, timeout_s)
        self.last_poll_at = self.clock()
        self.assigned = self._assignment()
        if batch:
            self._polled_at = self.last_poll_at
            for record in batch:
                self.newest_consumed[record.partition] = record.timestamp
        return batch

    def commit(self, records: Sequence[Record]) -> None:
        self.source.commit(records)
        self.last_batch_s = self.clock() - self._polled_at
        self.last_commit_at = self.wall_clock()

    def pause(self) -> None:
        self.source.pause()

    def resume(self) -> None:
        self.source.resume()

    def lag(self) -> dict[int, int]:
        return self.source.lag()

    def lag_seconds(self, lag: dict[int, int]) -> dict[int, float]:
        """Per partition, how old the records waiting are: 0 when none waits, else the age of
        the newest record consumed (the oldest waiting one is at most that old)."""
        now = self.wall_clock()
        ages = {}
        for partition, behind in lag.items():
            newest = self.newest_consumed.get(partition)
            if behind <= 0:
                ages[partition] = 0.0
            elif newest is not None:
                ages[partition] = max(now - newest.timestamp(), 0.0)
        return ages

    def close(self) -> None:
        self.source.close()

    def _assignment(self) -> frozenset[int] | None:
        owned = getattr(self.source, "assignment", None)
        if owned is None:
            return None
        try:
            return frozenset(owned())
        except Exception as exc:  # best effort: readiness only
            log.debug("assignment unknown: %s", exc)
            return None

    def _hang_while_asked(self) -> None:
        if self._hang_file is None:
            return
        while os.path.exists(self._hang_file):
            time.sleep(0.05)
