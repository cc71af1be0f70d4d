"""The RecordSource and DeadLetterSink contracts (tests/contracts/) on a real broker, once
per Kafka client: the same tests the in-memory fakes and the JSON-lines adapters pass.

What only Kafka does (groups, rebalances, crashes, headers) is in test_kafka_contract.py.
A fresh topic, dead-letter topic and consumer group per test.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from inventory_sync.adapters.kafka.kafka_python.admin import create_topics
from inventory_sync.domain.model import Record
from inventory_sync.settings import Settings
from tests.contracts.dead_letter_sink import DeadLetterSinkContract, Seen
from tests.contracts.record_source import RecordSourceContract
from tests.integration.kafka_support import (
    CLIENTS,
    committed_offsets,
    dead_letter_sink,
    end_offsets,
    produce_values,
    read_topic,
    record_source,
)

pytestmark = pytest.mark.kafka


@pytest.fixture(params=CLIENTS)
def settings(request: pytest.FixtureRequest, kafka_bootstrap: str, topic_name: str) -> Settings:
    """A new topic (one partition) and dead-letter topic, and a group of its own, per client."""
    settings = Settings(
        kafka_client=request.param,
        bootstrap_servers=kafka_bootstrap,
        topic=topic_name,
        dlq_topic=f"{topic_name}.dlq",
        group_id=f"{topic_name}-group",
    )
    create_topics(settings)
    return settings


class KafkaSourceHarness:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.source: Any = record_source(settings, settings.kafka_client)

    def add(self, *values: bytes) -> None:
        produce_values(self.settings, *values, partition=0)

    def committed_at(self, record: Record) -> int | None:
        where = self.settings.model_copy(update={"topic": record.topic})
        offset: int | None = committed_offsets(where, record.partition + 1)[record.partition]
        return offset

    def not_owned(self, offset: int) -> Record:
        """A record of a topic the group exists but this member is not subscribed to."""
        other = self.settings.model_copy(update={"topic": f"{self.settings.topic}.other"})
        create_topics(other)
        return Record(None, b"{}", other.topic, 0, offset, datetime.now(UTC))


class TestKafkaRecordSource(RecordSourceContract):
    @pytest.fixture
    def harness(self, settings: Settings) -> Iterator[KafkaSourceHarness]:
        harness = KafkaSourceHarness(settings)
        yield harness
        harness.source.close()


class KafkaSinkHarness:
    keeps_topic_and_partition = True

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.topic = settings.topic
        self.sink: Any = dead_letter_sink(settings, settings.kafka_client)

    def visible(self) -> list[Seen]:
        """Every record of the dead-letter topic, as `dlq show` would read it."""
        dlq = self.settings.model_copy(update={"topic": self.settings.dlq_topic})
        count = sum(end_offsets(dlq, 1).values())
        return [_seen(record) for record in read_topic(self.settings, dlq.topic, count)]


def _seen(record: Any) -> Seen:
    headers = dict(record.headers)
    return Seen(
        headers["inventory_sync.reason"].decode(),
        headers["inventory_sync.error"].decode(),
        headers["inventory_sync.original_topic"].decode(),
        int(headers["inventory_sync.original_partition"]),
        int(headers["inventory_sync.original_offset"]),
        record.value,
    )


class TestKafkaDeadLetterSink(DeadLetterSinkContract):
    """Delivery faults are not injected here: test_kafka_contract.py sends to an unreachable
    broker, and the run loop's retry is the fake's TransientFaultContract."""

    @pytest.fixture
    def harness(self, settings: Settings) -> Iterator[KafkaSinkHarness]:
        harness = KafkaSinkHarness(settings)
        yield harness
        harness.sink.close()
