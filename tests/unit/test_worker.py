"""The run loop on fakes: commit order, retries on transient faults, stop, limits."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

import pytest

from inventory_sync.adapters.memory import (
    InMemoryDeadLetterSink,
    InMemoryDelivery,
    InMemoryRecordSource,
)
from inventory_sync.application.worker import Backoff, Worker
from inventory_sync.domain.errors import PermanentFault, TransientError
from inventory_sync.domain.model import Record
from inventory_sync.domain.ports import DeadLetter
from inventory_sync.domain.services import BatchReport

from .helpers import event, service_with

FAST = Backoff(initial_s=0.001, maximum_s=0.004)


class StoppingClock:
    """The worker's clock: one second passes per reading, and at `stop_at_s` it asks the worker
    to stop, as a SIGTERM would in the middle of waiting out a fault."""

    def __init__(self, worker: Worker, stop_at_s: float) -> None:
        self.worker = worker
        self.stop_at_s = stop_at_s
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        if self.now >= self.stop_at_s:
            self.worker.stop()
        return self.now


def make_worker(
    products: dict[str, int], batch_size: int = 10
) -> tuple[Worker, InMemoryRecordSource, InMemoryDeadLetterSink]:
    service, _ = service_with(products)
    source, sink = InMemoryRecordSource(), InMemoryDeadLetterSink()
    worker = Worker(source, service, sink, batch_size=batch_size, poll_timeout_s=0, backoff=FAST)
    return worker, source, sink


class FlakyCommitSource(InMemoryRecordSource):
    """A source whose first offset commits fail as if the broker were away."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures
        self.polls_while_paused = 0

    def commit(self, records: Sequence[Record]) -> None:
        if self.failures:
            self.failures -= 1
            raise TransientError("broker unavailable (injected)")
        super().commit(records)

    def poll(self, max_records: int, timeout_s: float) -> list[Record]:
        if self.paused:
            self.polls_while_paused += 1
        return super().poll(max_records, timeout_s)


def test_offsets_are_committed_after_every_batch_is_applied() -> None:
    worker, source, _ = make_worker({"SKU-1": 0}, batch_size=4)
    for count in range(10):
        source.append(event("SKU-1", count))
    summary = worker.run(idle_timeout_s=0)
    assert summary.records == 10
    assert source.committed == 10
    assert worker.service.uow.repository.get("SKU-1").inventory_count == 9  # type: ignore[union-attr]


def test_a_database_outage_pauses_retries_and_loses_nothing() -> None:
    worker, source, _ = make_worker({"SKU-1": 0})
    repository = worker.service.uow.repository
    repository.transient_failures = 3  # type: ignore[attr-defined]
    source.append(event("SKU-1", 7))
    summary = worker.run(idle_timeout_s=0)
    assert summary.applied == 1
    assert source.committed == 1
    assert not source.paused
    assert repository.get("SKU-1").inventory_count == 7  # type: ignore[union-attr]


def test_a_failing_dead_letter_publish_is_retried_before_the_offset_is_committed() -> None:
    worker, source, sink = make_worker({"SKU-1": 0})
    sink.transient_failures = 2
    source.append(b"not json")
    worker.run(idle_timeout_s=0)
    assert [letter.reason for letter in sink.letters] == ["malformed_json"]
    assert source.committed == 1


def test_a_failing_offset_commit_keeps_polling_while_paused_and_does_not_reapply() -> None:
    service, repository = service_with({"SKU-1": 0})
    source = FlakyCommitSource(failures=2)
    worker = Worker(source, service, InMemoryDeadLetterSink(), poll_timeout_s=0, backoff=FAST)
    source.append(event("SKU-1", 5))
    applied_batches: list[BatchReport] = []
    worker.on_batch = applied_batches.append
    worker.run(idle_timeout_s=0)
    assert source.committed == 1
    assert source.polls_while_paused > 0
    assert len(applied_batches) == 1
    assert repository.get("SKU-1").inventory_count == 5  # type: ignore[union-attr]


def test_stop_while_waiting_out_a_fault_leaves_the_batch_uncommitted() -> None:
    worker, source, _ = make_worker({"SKU-1": 0})
    worker.backoff = Backoff(initial_s=60, maximum_s=60)
    worker.clock = StoppingClock(worker, stop_at_s=10)
    worker.service.uow.repository.transient_failures = 1  # type: ignore[attr-defined]
    source.append(event("SKU-1", 5))
    summary = worker.run()
    assert summary.records == 0
    assert source.committed == 0


def test_stop_finishes_the_batches_in_hand_and_commits_them() -> None:
    worker, source, _ = make_worker({"SKU-1": 0}, batch_size=2)
    for count in range(12):
        source.append(event("SKU-1", count))
    worker.on_batch = lambda report: worker.stop()
    summary = worker.run()
    # The first commit stops it; the batch awaiting its acknowledgement and the one being
    # written then are finished and committed too, so at most three batches.
    assert 2 <= summary.records <= 6
    assert source.committed == summary.records
    assert source.position >= source.committed  # what was only gathered is replayed later
    count = worker.service.uow.repository.get("SKU-1").inventory_count  # type: ignore[union-attr]
    assert count == summary.records - 1


def test_max_records_stops_after_exactly_that_many() -> None:
    worker, source, _ = make_worker({"SKU-1": 0}, batch_size=4)
    for count in range(10):
        source.append(event("SKU-1", count))
    assert worker.run(max_records=6).records == 6
    assert source.committed == 6


@pytest.mark.parametrize(
    ("attempt", "shortest", "longest"), [(1, 0.25, 0.5), (2, 0.5, 1.0), (3, 1.0, 2.0), (20, 15, 30)]
)
def test_backoff_doubles_from_half_a_second_to_thirty_with_jitter(
    attempt: int, shortest: float, longest: float
) -> None:
    assert Backoff(jitter=lambda: 0.0).delay(attempt) == shortest
    assert Backoff(jitter=lambda: 1.0).delay(attempt) == longest
    assert Backoff(jitter=lambda: 0.5).delay(attempt) == (shortest + longest) / 2


def test_backoff_delays_are_spread_by_the_jitter() -> None:
    delays = {Backoff().delay(3) for _ in range(50)}
    assert len(delays) > 40
    assert all(1.0 <= delay <= 2.0 for delay in delays)


def test_a_failing_offset_commit_never_sends_the_dead_letters_twice() -> None:
    service, _ = service_with({"SKU-1": 0})
    source, sink = FlakyCommitSource(failures=2), InMemoryDeadLetterSink()
    worker = Worker(source, service, sink, poll_timeout_s=0, backoff=FAST)
    source.append(b"not json")
    worker.run(idle_timeout_s=0)
    assert [letter.record.offset for letter in sink.letters] == [0]
    assert source.committed == 1


def test_dead_letters_are_acknowledged_before_the_offsets_are_committed() -> None:
    worker, source, sink = make_worker({"SKU-1": 0})
    sink.transient_failures = 1_000_000
    worker.backoff = Backoff(initial_s=60, maximum_s=60)
    worker.clock = StoppingClock(worker, stop_at_s=10)
    source.append(b"not json")
    worker.run()
    assert sink.letters == []
    assert source.committed == 0


class RefusingSink(InMemoryDeadLetterSink):
    """A dead-letter sink whose broker refuses every letter for good, at send() or at wait()."""

    def __init__(self, *, at: str) -> None:
        super().__init__()
        self.at = at
        self.attempts = 0

    def send(self, letters: Sequence[DeadLetter]) -> InMemoryDelivery:
        if letters and self.at == "send":
            self.refuse()
        return RefusedDelivery(self, list(letters))

    def refuse(self) -> None:
        self.attempts += 1
        raise PermanentFault("the dead-letter topic refuses it (injected)")


class RefusedDelivery(InMemoryDelivery):
    sink: RefusingSink

    def wait(self) -> None:
        if self.letters:
            self.sink.refuse()


@pytest.mark.parametrize("at", ["send", "wait"])
def test_a_dead_letter_refused_for_good_stops_the_worker_and_leaves_its_batch_uncommitted(
    at: str, caplog: pytest.LogCaptureFixture
) -> None:
    service, repository = service_with({"SKU-1": 0})
    source, sink = InMemoryRecordSource(), RefusingSink(at=at)
    worker = Worker(source, service, sink, batch_size=2, poll_timeout_s=0, backoff=FAST)
    source.append(event("SKU-1", 1))
    source.append(event("SKU-1", 2))
    source.append(b"not json")  # the second batch: its dead letter is refused
    source.append(event("SKU-1", 3))
    source.append(event("SKU-1", 4))
    batches: list[BatchReport] = []
    worker.on_batch = batches.append

    with pytest.raises(PermanentFault, match="refuses it"):
        worker.run(idle_timeout_s=0)

    assert source.committed == 2  # the first batch only: a restart replays from offset 2
    assert sink.attempts == 1  # not retried
    assert len(batches) == 1
    # The failed batch's writes are in (a replay rewrites them, stale-guarded). The batch after
    # it may be written too (the writer thread takes it while the loop sends and settles; a
    # refused acknowledgement is always seen after it), uncommitted like the failed one.
    count = repository.get("SKU-1").inventory_count  # type: ignore[union-attr]
    assert count == 4 if at == "wait" else count in {3, 4}
    [stopped] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "retrying cannot clear" in stopped.getMessage()
    assert "product_inventory_updates[0]@2" in stopped.getMessage()


def test_an_idle_worker_reports_every_empty_poll_so_progress_keeps_coming() -> None:
    worker, source, _ = make_worker({"SKU-1": 0})
    idle: list[int] = []

    def on_idle() -> None:
        idle.append(source.position)
        if len(idle) == 5:
            worker.stop()

    worker.on_idle = on_idle
    source.append(event("SKU-1", 1))

    summary = worker.run()

    assert summary.records == 1
    assert idle == [1, 1, 1, 1, 1]  # after the one record, every poll came back empty


def test_records_are_decoded_on_the_loop_thread_and_written_on_the_writer_thread() -> None:
    worker, source, _ = make_worker({"SKU-1": 0}, batch_size=3)
    threads: dict[str, set[str]] = {"decode": set(), "apply_batch": set()}
    service = worker.service
    decode, apply_batch = service.decode, service.apply_batch

    def decoding(batch: Sequence[Record]) -> list[object]:
        threads["decode"].add(threading.current_thread().name)
        return decode(batch)  # type: ignore[return-value]

    def applying(batch: Sequence[Record], decoded: object = None) -> BatchReport:
        threads["apply_batch"].add(threading.current_thread().name)
        assert decoded is not None, "the loop hands the write what it decoded"
        return apply_batch(batch, decoded)  # type: ignore[arg-type]

    service.decode, service.apply_batch = decoding, applying  # type: ignore[method-assign]
    for count in range(10):
        source.append(event("SKU-1", count))
    assert worker.run(idle_timeout_s=0).records == 10
    assert service.uow.repository.get("SKU-1").inventory_count == 9  # type: ignore[attr-defined]
    assert threads["decode"] == {threading.current_thread().name}
    assert len(threads["apply_batch"]) == 1
    assert threads["apply_batch"].pop().startswith("inventory-sync-writer")
