"""The ports' contracts (tests/contracts/) on the in-memory fakes that the service's tests,
the harness and `apply` use: the same tests the real adapters pass."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from inventory_sync.adapters.memory import (
    InMemoryDeadLetterSink,
    InMemoryRecordSource,
    InMemoryRepository,
    InMemoryUnitOfWork,
)
from inventory_sync.domain.model import Record
from inventory_sync.domain.ports import UnitOfWork
from tests.contracts.dead_letter_sink import DeadLetterSinkContract, Seen, TransientFaultContract
from tests.contracts.record_source import RecordSourceContract, poll_until
from tests.contracts.repository import RepositoryContract


class TestInMemoryRepository(RepositoryContract):
    @pytest.fixture
    def uow(self) -> UnitOfWork:
        return InMemoryUnitOfWork(InMemoryRepository())


class InMemorySourceHarness:
    def __init__(self) -> None:
        self.source = InMemoryRecordSource()

    def add(self, *values: bytes) -> None:
        for value in values:
            self.source.append(value)

    def committed_at(self, record: Record) -> int | None:
        if (record.topic, record.partition) != (self.source.topic, self.source.partition):
            return None  # the fake stores one partition's offset only
        return self.source.committed or None

    def not_owned(self, offset: int) -> Record:
        other = self.source.partition + 1
        return Record(None, b"{}", self.source.topic, other, offset, datetime.now(UTC))


class TestInMemoryRecordSource(RecordSourceContract):
    @pytest.fixture
    def harness(self) -> Iterator[InMemorySourceHarness]:
        harness = InMemorySourceHarness()
        yield harness
        harness.source.close()

    def test_a_revoked_partition_is_not_committed_and_comes_back_from_the_committed_offset(
        self, harness: InMemorySourceHarness
    ) -> None:
        """The fake's knob for a rebalance, doing what the Kafka sources do (test_kafka_contract:
        a commit of a partition that moved is skipped, its next owner replays it)."""
        source = harness.source
        harness.add(b"a", b"b", b"c")
        source.commit(poll_until(source, 1))
        polled = poll_until(source, 1)

        source.revoke()
        source.commit(polled)
        while_revoked = source.poll(10, 0)
        lag_while_revoked = source.lag()
        source.assign()

        assert source.committed == 1
        assert (while_revoked, lag_while_revoked) == ([], {})
        assert [record.value for record in source.poll(10, 0)] == [b"b", b"c"]


class InMemorySinkHarness:
    topic = "product_inventory_updates"
    keeps_topic_and_partition = True

    def __init__(self) -> None:
        self.sink = InMemoryDeadLetterSink()

    def visible(self) -> list[Seen]:
        return [
            Seen(
                letter.reason,
                letter.error,
                letter.record.topic,
                letter.record.partition,
                letter.record.offset,
                letter.record.value,
            )
            for letter in self.sink.letters
        ]

    def fail_next_waits(self, count: int) -> None:
        self.sink.transient_failures = count


class TestInMemoryDeadLetterSink(DeadLetterSinkContract, TransientFaultContract):
    @pytest.fixture
    def harness(self) -> Iterator[InMemorySinkHarness]:
        harness = InMemorySinkHarness()
        yield harness
        harness.sink.close()
