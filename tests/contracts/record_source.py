"""The RecordSource contract: every implementation keeps these promises.

Subclasses provide `harness`, a SourceHarness around a new source of the implementation
under test (its own topic or file, and its own consumer group): the in-memory fake and the
JSON-lines file with the unit tests, the kafka-python and confluent sources with the
integration tests. The harness closes the source after the test.
"""

from __future__ import annotations

import time
from typing import Protocol

import pytest

from inventory_sync.domain.model import Record
from inventory_sync.domain.ports import RecordSource

AVAILABLE = 5
"""How many records each test starts with."""
POLL_TIMEOUT_S = 0.2
PAUSED_POLL_TIMEOUT_S = 0.05
DEADLINE_S = 20.0
"""How long a test waits for records that take well under a second when all is well."""


class SourceHarness(Protocol):
    """One source under test, and what a test needs to do beside it."""

    @property
    def source(self) -> RecordSource: ...

    def add(self, *values: bytes) -> None:
        """Make records with these values available to the source, in this order, all in the
        one partition the source owns."""
        ...

    def committed_at(self, record: Record) -> int | None:
        """What is stored as committed for the record's partition (None when nothing is):
        where the next owner of that partition resumes. Read once the source is closed."""
        ...

    def not_owned(self, offset: int) -> Record:
        """A record at `offset` of a partition this source does not own."""
        ...


def values(start: int, stop: int) -> list[bytes]:
    return [b'{"n": %d}' % n for n in range(start, stop)]


def poll_batches(source: RecordSource, count: int, max_records: int) -> list[list[Record]]:
    """Poll with `max_records` until `count` records came; every batch polled, empty ones left
    out. Fails after a deadline."""
    batches: list[list[Record]] = []
    deadline = time.monotonic() + DEADLINE_S
    while sum(map(len, batches)) < count:
        assert time.monotonic() < deadline, f"got {sum(map(len, batches))} of {count} records"
        batch = source.poll(max_records, POLL_TIMEOUT_S)
        if batch:
            batches.append(batch)
    return batches


def poll_until(source: RecordSource, count: int) -> list[Record]:
    return [record for batch in poll_batches(source, count, count) for record in batch]


def poll_times(source: RecordSource, times: int) -> list[Record]:
    """Everything `times` short polls hand out."""
    return [record for _ in range(times) for record in source.poll(100, PAUSED_POLL_TIMEOUT_S)]


class RecordSourceContract:
    """The tests every RecordSource passes."""

    @pytest.fixture
    def harness(self) -> SourceHarness:
        """A harness around a new source of the implementation under test."""
        raise NotImplementedError("a subclass provides the source under test")

    @pytest.fixture
    def source(self, harness: SourceHarness) -> RecordSource:
        """The source under test, with AVAILABLE records to hand out."""
        harness.add(*values(0, AVAILABLE))
        return harness.source

    def test_poll_hands_out_at_most_max_records_in_order(self, source: RecordSource) -> None:
        batches = poll_batches(source, AVAILABLE, max_records=2)

        records = [record for batch in batches for record in batch]
        assert all(len(batch) <= 2 for batch in batches), [len(batch) for batch in batches]
        assert [record.value for record in records] == values(0, AVAILABLE)
        offsets = [record.offset for record in records]
        assert offsets == sorted(set(offsets))
        assert len({(record.topic, record.partition) for record in records}) == 1

    def test_a_paused_source_hands_out_nothing_and_loses_nothing_once_resumed(
        self, harness: SourceHarness, source: RecordSource
    ) -> None:
        head = poll_until(source, 2)

        source.pause()
        held = poll_times(source, 3)
        harness.add(*values(AVAILABLE, AVAILABLE + 2))  # arriving while paused
        held += poll_times(source, 3)
        source.resume()
        rest = poll_until(source, AVAILABLE + 2 - len(head))

        assert held == []
        assert [record.value for record in head + rest] == values(0, AVAILABLE + 2)

    def test_a_commit_stores_the_highest_offset_plus_one(
        self, harness: SourceHarness, source: RecordSource
    ) -> None:
        records = poll_until(source, 3)

        source.commit(list(reversed(records)))  # the order in the batch does not matter
        source.close()  # makes the last commit durable

        assert harness.committed_at(records[0]) == records[-1].offset + 1

    def test_a_later_commit_supersedes_an_earlier_one(
        self, harness: SourceHarness, source: RecordSource
    ) -> None:
        records = poll_until(source, AVAILABLE)

        source.commit(records[:2])
        source.commit(records[2:])
        source.close()

        assert harness.committed_at(records[0]) == records[-1].offset + 1

    def test_a_partition_this_source_does_not_own_is_not_committed(
        self, harness: SourceHarness, source: RecordSource
    ) -> None:
        records = poll_until(source, 2)
        foreign = harness.not_owned(offset=records[-1].offset + 7)

        source.commit([*records, foreign])
        source.close()

        assert harness.committed_at(records[0]) == records[-1].offset + 1
        assert harness.committed_at(foreign) is None

    def test_lag_is_unknown_or_the_records_not_handed_out_yet(self, source: RecordSource) -> None:
        (first, *_) = poll_until(source, 2)

        assert source.lag() in ({}, {first.partition: AVAILABLE - 2})

    def test_close_can_be_called_again(self, source: RecordSource) -> None:
        source.commit(poll_until(source, 1))

        source.close()
        source.close()  # and the harness closes it once more after the test
