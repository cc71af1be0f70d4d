"""The run loop: poll, apply, dead-letter, commit; pause and retry on transient faults, stop on
permanent ones. The database write of one batch runs in a writer thread while the loop polls,
and gathers, the next."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait as wait_for

from inventory_sync.application.batches import Gathered, Unsettled, Writing
from inventory_sync.application.collector import collecting_less
from inventory_sync.application.faults import Backoff, stopping_on_permanent_faults
from inventory_sync.application.rejection_log import log_rejections
from inventory_sync.domain.errors import TransientError
from inventory_sync.domain.model import Record
from inventory_sync.domain.outcomes import BatchReport, Summary
from inventory_sync.domain.ports import DeadLetterSink, RecordSource
from inventory_sync.domain.services import InventoryService

__all__ = ["Backoff", "Worker"]

log = logging.getLogger("inventory_sync.worker")


class Worker:
    """Drives one source through the service. Offsets are committed only after the database
    commit and the dead letters' acknowledgement, so a crash at any point replays, never skips.

    Pipelined: while the writer thread writes batch N, the loop polls and gathers batch N+1
    (up to write_max_records, or for write_max_gather_s; then it waits for the writer), so a
    burst makes few large transactions and a trickle small quick ones. Once N is written its
    dead letters are sent, N+1 goes to the writer, and N-1's acknowledgement and offset
    commit are settled. Offsets are committed in order, each after its batch's write and
    acknowledgement; the source is only ever used from the loop's own thread.

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
        write_max_records: int | None = None,
        write_max_gather_s: float = 1.0,
        backoff: Backoff | None = None,
        on_batch: Callable[[BatchReport], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        log_each_rejection: bool = True,
        on_idle: Callable[[], None] | None = None,
        gc_threshold: int = 0,
    ) -> None:
        """batch_size: records per poll. write_max_records (default batch_size) and
        write_max_gather_s: how much, and for how long, the loop gathers while a write is
        in progress. gc_threshold: the garbage collector's while run() runs (collector.py;
        0 leaves it as it is)."""
        self.source = source
        self.service = service
        self.dead_letters = dead_letters
        self.batch_size = batch_size
        self.poll_timeout_s = poll_timeout_s
        self.write_max_records = max(write_max_records or batch_size, 1)
        self.write_max_gather_s = write_max_gather_s
        self.backoff = backoff or Backoff()
        self.on_batch = on_batch
        self.clock = clock
        self.log_each_rejection = log_each_rejection
        self.on_idle = on_idle
        self.gc_threshold = gc_threshold
        """Called after each poll that brought no record (progress lines keep coming)."""
        self.fault: str | None = None
        """The transient fault being waited out, if any (readiness reports it)."""
        self.fault_in: str | None = None
        """Where that fault is: "database" (the write) or "kafka" (dead letters, commit)."""
        self.totals = Summary()
        self._stop = threading.Event()

    def stop(self) -> None:
        """Finish the batch being written, commit it, and return from run(); safe from any
        thread. Records gathered but not yet written are left to be replayed."""
        self._stop.set()

    def run(self, max_records: int | None = None, idle_timeout_s: float | None = None) -> Summary:
        """Consume until stop(), max_records records, or idle_timeout_s without a record.

        Returns the counts of the committed batches; on_batch gets each one's report once
        its offsets are committed. Raises PermanentFault, leaving the failed batch uncommitted.
        """
        with (
            collecting_less(self.gc_threshold),
            ThreadPoolExecutor(1, thread_name_prefix="inventory-sync-writer") as writer,
        ):
            return self._run(writer, max_records, idle_timeout_s)

    def _run(
        self, writer: ThreadPoolExecutor, max_records: int | None, idle_timeout_s: float | None
    ) -> Summary:
        last_record_at = self.clock()
        gathered = Gathered()
        writing: Writing | None = None
        unsettled: Unsettled | None = None
        taken = 0
        while not self._stop.is_set():
            room = min(self.batch_size, self.write_max_records - len(gathered.records))
            if max_records is not None:
                room = min(room, max_records - taken)
            if writing is not None and (
                writing.future.done()
                or room <= 0
                or (gathered.records and self.clock() - gathered.since >= self.write_max_gather_s)
            ):
                report = self._written(writer, writing)
                written, writing = writing.batch, None
                if gathered.records and report is not None:
                    writing, gathered = self._submit(writer, gathered), Gathered()
                if unsettled is not None and not self._settle(unsettled):
                    return self.totals
                if report is None:
                    return self.totals
                unsettled = self._send(written, report)
                continue
            if writing is None and gathered.records:
                writing, gathered = self._submit(writer, gathered), Gathered()
                continue
            if room <= 0:
                break  # max_records taken, and all of them written
            batch = self.source.poll(room, 0.0 if writing is not None else self.poll_timeout_s)
            if batch:
                last_record_at = self.clock()
                taken += len(batch)
                gathered.add(batch, self.service.decode(batch), last_record_at)
                continue
            if writing is not None:  # nothing more to gather yet: wait for the writer a while
                wait_for([writing.future], timeout=self.poll_timeout_s)
                continue
            if unsettled is not None:
                if not self._settle(unsettled):
                    return self.totals
                unsettled = None
            if self.on_idle is not None:
                self.on_idle()
            if idle_timeout_s is not None and self.clock() - last_record_at >= idle_timeout_s:
                break
        if writing is not None:
            report = self._written(writer, writing)
            if unsettled is not None and not self._settle(unsettled):
                return self.totals
            unsettled = None if report is None else self._send(writing.batch, report)
        if unsettled is not None:
            self._settle(unsettled)
        return self.totals

    def _submit(self, writer: ThreadPoolExecutor, gathered: Gathered) -> Writing:
        batch, decoded = gathered.records, gathered.decoded
        return Writing(batch, decoded, writer.submit(self.service.apply_batch, batch, decoded))

    def _written(self, writer: ThreadPoolExecutor, writing: Writing) -> BatchReport | None:
        """Wait for a write, waiting out transient faults and writing again; None if stopped
        while waiting (the batch is then replayed later)."""
        attempt = 0
        while True:
            try:
                report = writing.future.result()
            except TransientError as exc:
                attempt += 1
                if not self._wait_out(exc, attempt, writing.batch, in_dependency="database"):
                    return None
                writing.future = writer.submit(
                    self.service.apply_batch, writing.batch, writing.decoded
                )
                continue
            self._recovered(attempt)
            log_rejections(report, each=self.log_each_rejection)
            return report

    def _send(self, batch: Sequence[Record], report: BatchReport) -> Unsettled:
        """Send a written batch's dead letters; they are waited for when it is settled."""
        with stopping_on_permanent_faults(batch):
            delivery = self.dead_letters.send(report.dead_letters)
        return Unsettled(batch, report, delivery)

    def _settle(self, unsettled: Unsettled) -> bool:
        """Wait for the dead letters' acknowledgement, then commit the offsets, retrying the
        step that failed; False if stopped meanwhile (the batch is then replayed later)."""
        attempt = 0
        while True:
            try:
                with stopping_on_permanent_faults(unsettled.batch):
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

    def _acknowledge_and_commit(self, unsettled: Unsettled) -> None:
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
