"""The run loop: poll, apply, dead-letter, commit; pause and retry on transient faults, stop on
permanent ones."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from inventory_sync.application.rejection_log import log_rejections
from inventory_sync.domain.errors import PermanentFault, TransientError
from inventory_sync.domain.model import Record
from inventory_sync.domain.outcomes import BatchReport, Summary
from inventory_sync.domain.ports import DeadLetterSink, Delivery, RecordSource
from inventory_sync.domain.services import InventoryService

log = logging.getLogger("inventory_sync.worker")


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with jitter: 0.5 s doubling to 30 s, each delay in [d/2, d]."""

    initial_s: float = 0.5
    maximum_s: float = 30.0
    jitter: Callable[[], float] = random.random
    """A number in [0, 1): where in [d/2, d] a delay falls."""

    def delay(self, attempt: int) -> float:
        ceiling = min(self.maximum_s, self.initial_s * 2.0 ** max(attempt - 1, 0))
        return ceiling * (0.5 + self.jitter() / 2)


@dataclass(slots=True)
class _Unsettled:
    """A batch whose writes are committed but whose dead letters and offsets are not yet."""

    batch: Sequence[Record]
    report: BatchReport
    delivery: Delivery | None
    """The dead letters on their way; None when they must be sent (again)."""
    acknowledged: bool = False


class Worker:
    """Drives one source through the service. Offsets are committed only after the database
    commit and the dead letters' acknowledgement, so a crash at any point replays, never skips.

    Pipelined by one step: a batch's dead-letter acknowledgement and offset commit are
    settled once the next batch is polled and written (or at once when the next poll brings
    nothing), so the broker's round trips overlap the next fetch and write. Offsets are still
    committed in order, each after its batch's write and acknowledgement.

    A PermanentFault (a dead letter the broker refuses for good, say) stops it: logged at
    ERROR and raised, with the offsets of the failed batch and of any after it uncommitted,
    so a restart replays them once the cause is fixed. Retrying could only spin for ever, and
    skipping would lose the rejected records' dead letters.
    """

    def __init__(
        self,
        source: RecordSource,
        service: InventoryService,
        dead_letters: DeadLetterSink,
        *,
        batch_size: int = 500,
        poll_timeout_s: float = 1.0,
        backoff: Backoff | None = None,
        on_batch: Callable[[BatchReport], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        log_each_rejection: bool = True,
        on_idle: Callable[[], None] | None = None,
    ) -> None:
        self.source = source
        self.service = service
        self.dead_letters = dead_letters
        self.batch_size = batch_size
        self.poll_timeout_s = poll_timeout_s
        self.backoff = backoff or Backoff()
        self.on_batch = on_batch
        self.clock = clock
        self.log_each_rejection = log_each_rejection
        self.on_idle = on_idle
        """Called after each poll that brought no record (progress lines keep coming)."""
        self.fault: str | None = None
        self.fault_in: str | None = None
        """Where that fault is: "database" (the write) or "kafka" (dead letters, commit)."""
        """The transient fault being waited out, if any (readiness reports it)."""
        self.totals = Summary()
        self._stop = threading.Event()

    def stop(self) -> None:
        """Finish the batch in hand, commit it, and return from run(); safe from any thread."""
        self._stop.set()

    def run(self, max_records: int | None = None, idle_timeout_s: float | None = None) -> Summary:
        """Consume until stop(), max_records records, or idle_timeout_s without a record.

        Returns the counts of the committed batches; on_batch gets each one's report once
        its offsets are committed. Raises PermanentFault, leaving the failed batch uncommitted.
        """
        last_record_at = self.clock()
        unsettled: _Unsettled | None = None
        taken = 0
        while not self._stop.is_set():
            limit = self.batch_size
            if max_records is not None:
                limit = min(limit, max_records - taken)
                if limit <= 0:
                    break
            batch = self.source.poll(limit, self.poll_timeout_s)
            if not batch:
                if unsettled is not None:
                    if not self._settle(unsettled):
                        return self.totals
                    unsettled = None
                if self.on_idle is not None:
                    self.on_idle()
                if idle_timeout_s is not None and self.clock() - last_record_at >= idle_timeout_s:
                    break
                continue
            last_record_at = self.clock()
            taken += len(batch)
            report = self._apply(batch)
            if unsettled is not None:  # its dead letters came back while this batch was written
                if not self._settle(unsettled):
                    return self.totals
                unsettled = None
            if report is None:
                return self.totals
            with _stopping_on_permanent_faults(batch):
                delivery = self.dead_letters.send(report.dead_letters)
            unsettled = _Unsettled(batch, report, delivery)
        if unsettled is not None:
            self._settle(unsettled)
        return self.totals

    def _apply(self, batch: Sequence[Record]) -> BatchReport | None:
        """Write one batch, retrying through transient faults; None if stopped meanwhile."""
        attempt = 0
        while True:
            try:
                report = self.service.apply_batch(batch)
            except TransientError as exc:
                attempt += 1
                if not self._wait_out(exc, attempt, batch, in_dependency="database"):
                    return None
                continue
            self._recovered(attempt)
            log_rejections(report, each=self.log_each_rejection)
            return report

    def _settle(self, unsettled: _Unsettled) -> bool:
        """Wait for the dead letters' acknowledgement, then commit the offsets, retrying the
        step that failed; False if stopped meanwhile (the batch is then replayed later)."""
        attempt = 0
        while True:
            try:
                with _stopping_on_permanent_faults(unsettled.batch):
                    self._acknowledge_and_commit(unsettled)
            except TransientError as exc:
                attempt += 1
                if not self._wait_out(exc, attempt, unsettled.batch, in_dependency="kafka"):
                    return False
                continue
            self._recovered(attempt)
            self.totals.add(unsettled.report.summary)
            if self.on_batch is not None:
                self.on_batch(unsettled.report)
            return True

    def _acknowledge_and_commit(self, unsettled: _Unsettled) -> None:
        if not unsettled.acknowledged:
            if unsettled.delivery is None:
                unsettled.delivery = self.dead_letters.send(unsettled.report.dead_letters)
            try:
                unsettled.delivery.wait()
            except TransientError:
                unsettled.delivery = None
                raise
            unsettled.acknowledged = True
        self.source.commit(unsettled.batch)

    def _recovered(self, attempts: int) -> None:
        self.fault = self.fault_in = None
        if attempts:
            self.source.resume()
            log.warning("recovered after %d attempt(s); resuming", attempts)

    def _wait_out(
        self, exc: TransientError, attempt: int, batch: Sequence[Record], *, in_dependency: str
    ) -> bool:
        """Pause the partitions and keep polling (to stay in the group) through the backoff."""
        self.fault, self.fault_in = str(exc), in_dependency
        delay = self.backoff.delay(attempt)
        first = batch[0]
        log.warning(
            "transient fault, attempt %d, retrying the batch from %s[%d]@%d in %.1f s: %s",
            attempt,
            first.topic,
            first.partition,
            first.offset,
            delay,
            exc,
        )
        if attempt == 1:
            self.source.pause()
        deadline = self.clock() + delay
        while not self._stop.is_set():
            remaining = deadline - self.clock()
            if remaining <= 0:
                return True
            self.source.poll(1, min(remaining, self.poll_timeout_s))
        log.warning("stopped while waiting; the batch is left uncommitted and will be replayed")
        return False


@contextmanager
def _stopping_on_permanent_faults(batch: Sequence[Record]) -> Iterator[None]:
    """Log a PermanentFault at ERROR, saying which batch is left uncommitted, and re-raise it."""
    try:
        yield
    except PermanentFault as exc:
        first = batch[0]
        log.error(
            "stopping on a fault that retrying cannot clear: %s; the batch from %s[%d]@%d "
            "(%d records) and what follows it are not committed, so a restart replays them",
            exc,
            first.topic,
            first.partition,
            first.offset,
            len(batch),
        )
        raise
