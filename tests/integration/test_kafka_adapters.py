"""The kafka-python adapters against a real broker: a fresh topic (and .dlq) per test."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer

from inventory_sync.adapters.kafka.admin import create_topics, missing_topics, produce
from inventory_sync.adapters.kafka.dead_letter_reader import read_dead_letters, replay_dead_letters
from inventory_sync.adapters.kafka.dead_letters import KafkaDeadLetterSink
from inventory_sync.adapters.kafka.source import KafkaRecordSource
from inventory_sync.domain.errors import TransientError
from inventory_sync.domain.model import Record
from inventory_sync.domain.ports import DeadLetter
from inventory_sync.domain.rules import Rejection, RejectionReason
from inventory_sync.settings import Settings
from tests.integration import kafka_support

pytestmark = pytest.mark.kafka

# A short max_poll_interval_ms too, so "a paused source stays in the group" takes seconds.
FAST_CONSUMER: dict[str, Any] = {**kafka_support.FAST_CONSUMER, "max_poll_interval_ms": 2_000}
DEADLINE_S = 20.0

MakeSource = Callable[..., KafkaRecordSource]


@pytest.fixture
def settings(kafka_bootstrap: str, topic_name: str) -> Settings:
    settings = Settings(
        bootstrap_servers=kafka_bootstrap,
        topic=topic_name,
        dlq_topic=f"{topic_name}.dlq",
        group_id=f"{topic_name}-group",
        batch_size=100,
    )
    create_topics(settings, partitions=1)
    return settings


@pytest.fixture(scope="session")
def producer(kafka_bootstrap: str) -> Iterator[Any]:
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", linger_ms=1)
    yield producer
    producer.close()


@pytest.fixture
def make_source(settings: Settings) -> Iterator[MakeSource]:
    """New sources (in the test's group unless told otherwise), all closed after the test."""
    made: list[KafkaRecordSource] = []

    def make(**kwargs: Any) -> KafkaRecordSource:
        source = KafkaRecordSource(settings, overrides=FAST_CONSUMER, **kwargs)
        made.append(source)
        return source

    yield make
    for source in made:
        source.close()


def send(producer: Any, topic: str, *values: bytes, **kwargs: Any) -> None:
    for value in values:
        producer.send(topic, value=value, **kwargs)
    producer.flush()


def poll_until(source: KafkaRecordSource, count: int) -> list[Record]:
    """Poll until `count` records came, failing after a deadline; asks for no more than that."""
    records: list[Record] = []
    deadline = time.monotonic() + DEADLINE_S
    while len(records) < count:
        assert time.monotonic() < deadline, f"got {len(records)} of {count} records"
        records.extend(source.poll(count - len(records), 0.2))
    return records


def poll_for(source: KafkaRecordSource, seconds: float) -> list[Record]:
    records: list[Record] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        records.extend(source.poll(100, 0.2))
    return records


def settle(*expected: tuple[KafkaRecordSource, int]) -> list[list[Record]]:
    """Poll every source in turn (a rebalance needs all members to poll) until each holds the
    expected number of partitions; returns what each polled meanwhile."""
    polled: list[list[Record]] = [[] for _ in expected]
    deadline = time.monotonic() + DEADLINE_S
    while any(len(source.assignment()) != count for source, count in expected):
        assert time.monotonic() < deadline, [len(s.assignment()) for s, _ in expected]
        for (source, _), records in zip(expected, polled, strict=True):
            records.extend(source.poll(100, 0.1))
    return polled


def group_members(kafka_bootstrap: str, group_id: str) -> list[str]:
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        group = admin.describe_groups([group_id])[group_id]
    finally:
        admin.close()
    return sorted(member["member_id"] for member in group["members"])


def read_topic(kafka_bootstrap: str, topic: str, count: int) -> list[Any]:
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=kafka_bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        fetch_max_wait_ms=100,
    )
    try:
        records: list[Any] = []
        deadline = time.monotonic() + DEADLINE_S
        while len(records) < count and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=200).values():
                records.extend(batch)
        return records
    finally:
        consumer.close()


def dead_letter(record: Record, reason: RejectionReason, error: str) -> DeadLetter:
    return DeadLetter(record, Rejection(reason, error))


def test_the_source_hands_out_keys_values_headers_offsets_and_timestamps_as_produced(
    settings: Settings, producer: Any, make_source: MakeSource
) -> None:
    stamp_ms = 1_714_564_800_123  # 2024-05-01T12:00:00.123Z
    producer.send(
        settings.topic,
        key=b"SKU-1",
        value=b'{"product_code": "SKU-1", "inventory_count": 3}',
        headers=[("trace", b"abc"), ("empty", b"")],
        timestamp_ms=stamp_ms,
    )
    producer.send(settings.topic, value=None, key=b"SKU-2", timestamp_ms=stamp_ms + 1)
    producer.send(settings.topic, value=b"not json", timestamp_ms=stamp_ms + 2)
    producer.flush()

    first, tombstone, keyless = poll_until(make_source(), 3)

    assert first == Record(
        key=b"SKU-1",
        value=b'{"product_code": "SKU-1", "inventory_count": 3}',
        topic=settings.topic,
        partition=0,
        offset=0,
        timestamp=datetime(2024, 5, 1, 12, 0, 0, 123_000, tzinfo=UTC),
        headers=(("trace", b"abc"), ("empty", b"")),
    )
    assert (tombstone.key, tombstone.value, tombstone.offset) == (b"SKU-2", None, 1)
    assert (keyless.key, keyless.value, keyless.offset, keyless.headers) == (
        None,
        b"not json",
        2,
        (),
    )
    assert keyless.timestamp == datetime(2024, 5, 1, 12, 0, 0, 125_000, tzinfo=UTC)


def test_a_new_consumer_in_the_group_starts_after_the_committed_offset(
    settings: Settings, producer: Any, make_source: MakeSource
) -> None:
    send(producer, settings.topic, b"a", b"b", b"c", b"d")
    first = make_source()
    done = poll_until(first, 3)
    first.commit(done)
    first.close()

    second = make_source()

    assert [record.value for record in poll_until(second, 1)] == [b"d"]


def test_uncommitted_records_are_redelivered_to_a_new_consumer_in_the_group(
    settings: Settings, producer: Any, make_source: MakeSource
) -> None:
    send(producer, settings.topic, b"a", b"b", b"c")
    first = make_source()
    committed, uncommitted = poll_until(first, 1), poll_until(first, 2)
    first.commit(committed)
    first.close()

    redelivered = poll_until(make_source(), 2)

    assert [(r.offset, r.value) for r in redelivered] == [(r.offset, r.value) for r in uncommitted]


def test_a_commit_covers_the_highest_offset_of_each_partition(
    kafka_bootstrap: str, topic_name: str, producer: Any
) -> None:
    settings = Settings(
        bootstrap_servers=kafka_bootstrap,
        topic=topic_name,
        dlq_topic=f"{topic_name}.dlq",
        group_id=f"{topic_name}-group",
    )
    create_topics(settings, partitions=2)
    for partition, values in ((0, [b"p0-a", b"p0-b"]), (1, [b"p1-a", b"p1-b", b"p1-c"])):
        for value in values:
            producer.send(topic_name, value=value, partition=partition)
    producer.flush()
    source = KafkaRecordSource(settings, overrides=FAST_CONSUMER)
    try:
        records = poll_until(source, 5)
        source.commit(list(reversed(records)))  # order in the batch must not matter
    finally:
        source.close()

    assert kafka_support.committed_offsets(settings, 2) == {0: 2, 1: 3}


def test_a_paused_source_hands_out_nothing_stays_in_the_group_and_loses_nothing(
    settings: Settings, producer: Any, make_source: MakeSource, kafka_bootstrap: str
) -> None:
    send(producer, settings.topic, *[f"v{i}".encode() for i in range(10)])
    source = make_source()
    head = poll_until(source, 2)  # the client has fetched (and buffered) more than these
    members = group_members(kafka_bootstrap, settings.group_id)

    source.pause()
    held = poll_for(source, 3.0)  # longer than max_poll_interval_ms: polling keeps us in
    send(producer, settings.topic, b"v10")
    held += poll_for(source, 0.5)
    members_while_paused = group_members(kafka_bootstrap, settings.group_id)
    source.resume()
    rest = poll_until(source, 9)

    assert held == []
    assert members_while_paused == members
    assert len(members) == 1
    assert [r.offset for r in head + rest] == list(range(11))


def test_partitions_assigned_while_paused_hand_out_nothing_until_resumed(
    kafka_bootstrap: str, topic_name: str, producer: Any
) -> None:
    settings = Settings(
        bootstrap_servers=kafka_bootstrap,
        topic=topic_name,
        dlq_topic=f"{topic_name}.dlq",
        group_id=f"{topic_name}-group",
    )
    create_topics(settings, partitions=2)
    paused = KafkaRecordSource(settings, overrides=FAST_CONSUMER)
    other = KafkaRecordSource(settings, overrides=FAST_CONSUMER)
    try:
        settle((paused, 2))
        paused.pause()
        settle((paused, 1), (other, 1))  # a rebalance: `paused` is assigned one partition anew
        other.close()
        settle((paused, 2))  # and another: it is assigned both anew
        for partition in (0, 1):
            producer.send(topic_name, value=b"x", partition=partition)
        producer.flush()
        held = poll_for(paused, 1.0)
        paused.resume()
        after = poll_until(paused, 2)
    finally:
        paused.close()
        other.close()

    assert held == []
    assert sorted(r.partition for r in after) == [0, 1]


def test_committing_a_partition_that_moved_to_another_member_is_skipped_with_a_warning(
    kafka_bootstrap: str, topic_name: str, producer: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(
        bootstrap_servers=kafka_bootstrap,
        topic=topic_name,
        dlq_topic=f"{topic_name}.dlq",
        group_id=f"{topic_name}-group",
    )
    create_topics(settings, partitions=2)
    for partition in (0, 1):
        producer.send(topic_name, value=b"x", partition=partition)
    producer.flush()
    first = KafkaRecordSource(settings, overrides=FAST_CONSUMER)
    second = KafkaRecordSource(settings, overrides=FAST_CONSUMER)
    try:
        records = poll_until(first, 2)
        settle((first, 1), (second, 1))
        with caplog.at_level(logging.WARNING, logger="inventory_sync.kafka"):
            first.commit(records)
        first.close()  # makes its asynchronous commit durable
        committed = kafka_support.committed_offsets(settings, 2)
    finally:
        first.close()
        second.close()

    assert sorted(committed.values(), key=lambda offset: offset is None) == [1, None]
    assert "no longer assigned" in caplog.text


def test_lag_counts_the_records_not_handed_out_yet(
    settings: Settings, producer: Any, make_source: MakeSource
) -> None:
    send(producer, settings.topic, *[f"v{i}".encode() for i in range(5)])
    source = make_source()
    poll_until(source, 2)

    assert source.lag() == {0: 3}


def test_dead_letters_carry_the_original_record_and_every_inventory_sync_header(
    settings: Settings, kafka_bootstrap: str
) -> None:
    at = datetime(2024, 5, 1, 12, 0, 0, 123_000, tzinfo=UTC)
    original = Record(
        key=b"SKU-1",
        value=b'{"product_code": "SKU-1", "inventory_count": -1}',
        topic=settings.topic,
        partition=0,
        offset=41,
        timestamp=at,
        headers=(("trace", b"abc"),),
    )
    tombstone = Record(None, None, settings.topic, 0, 42, at)
    sink = KafkaDeadLetterSink(settings)
    try:
        sink.publish(
            [
                dead_letter(original, RejectionReason.INVALID_PAYLOAD, "inventory_count: >= 0"),
                dead_letter(tombstone, RejectionReason.MALFORMED_JSON, "value is null"),
            ]
        )
    finally:
        sink.close()

    letter, null_letter = read_topic(kafka_bootstrap, settings.dlq_topic, 2)
    assert (letter.key, letter.value) == (original.key, original.value)
    assert letter.headers == [
        ("trace", b"abc"),
        ("inventory_sync.reason", b"invalid_payload"),
        ("inventory_sync.error", b"inventory_count: >= 0"),
        ("inventory_sync.original_topic", settings.topic.encode()),
        ("inventory_sync.original_partition", b"0"),
        ("inventory_sync.original_offset", b"41"),
        ("inventory_sync.original_timestamp", b"2024-05-01T12:00:00.123+00:00"),
    ]
    assert null_letter.value is None
    assert dict(null_letter.headers)["inventory_sync.original_offset"] == b"42"


def test_publishing_to_an_unreachable_broker_raises_transient_error(settings: Settings) -> None:
    away = settings.model_copy(update={"bootstrap_servers": "127.0.0.1:1"})
    sink = KafkaDeadLetterSink(away, overrides={"bootstrap_timeout_ms": 300})
    record = Record(b"k", b"v", settings.topic, 0, 0, datetime.now(UTC))

    with pytest.raises(TransientError, match="dead letter"):
        sink.publish([dead_letter(record, RejectionReason.MALFORMED_JSON, "bad")])


def publish_dead_letters(settings: Settings, count: int) -> None:
    at = datetime(2024, 5, 1, tzinfo=UTC)
    sink = KafkaDeadLetterSink(settings)
    try:
        sink.publish(
            [
                dead_letter(
                    Record(f"SKU-{i}".encode(), f"bad {i}".encode(), settings.topic, 0, i, at),
                    RejectionReason.UNKNOWN_PRODUCT,
                    f"no product with code 'SKU-{i}'",
                )
                for i in range(count)
            ]
        )
    finally:
        sink.close()


def test_reading_dead_letters_shows_them_and_commits_nothing(settings: Settings) -> None:
    publish_dead_letters(settings, 3)

    first = read_dead_letters(settings, limit=10)
    again = read_dead_letters(settings, limit=10)

    assert first == again
    assert first[0] == {
        "reason": "unknown_product",
        "error": "no product with code 'SKU-0'",
        "original_topic": settings.topic,
        "original_partition": 0,
        "original_offset": 0,
        "key": "SKU-0",
        "value": "bad 0",
    }
    assert [letter["original_offset"] for letter in first] == [0, 1, 2]
    assert len(read_dead_letters(settings, limit=2)) == 2


def test_replay_sends_each_dead_letter_back_to_the_topic_once(
    settings: Settings, kafka_bootstrap: str
) -> None:
    publish_dead_letters(settings, 2)

    sent_first = replay_dead_letters(settings)
    sent_again = replay_dead_letters(settings)
    publish_dead_letters(settings, 1)
    sent_after_a_new_one = replay_dead_letters(settings)

    assert (sent_first, sent_again, sent_after_a_new_one) == (2, 0, 1)
    replayed = read_topic(kafka_bootstrap, settings.topic, 3)
    assert [(r.key, r.value, r.headers) for r in replayed] == [
        (b"SKU-0", b"bad 0", []),
        (b"SKU-1", b"bad 1", []),
        (b"SKU-0", b"bad 0", []),
    ]


def test_creating_topics_is_idempotent(kafka_bootstrap: str) -> None:
    name = f"inventory-test-{uuid.uuid4().hex[:10]}"
    settings = Settings(bootstrap_servers=kafka_bootstrap, topic=name, dlq_topic=f"{name}.dlq")

    missing_before = missing_topics(settings)
    created = create_topics(settings, partitions=3)
    created_again = create_topics(settings, partitions=3)

    assert missing_before == [name, f"{name}.dlq"]
    assert created == [name, f"{name}.dlq"]
    assert created_again == []
    assert missing_topics(settings) == []


def test_produce_sends_keys_and_values_as_they_are(
    settings: Settings, kafka_bootstrap: str
) -> None:
    sent = produce(settings, [(b"SKU-1", b'{"x": 1}'), (None, b"not json")])

    records = read_topic(kafka_bootstrap, settings.topic, 2)
    assert sent == 2
    assert [(r.key, r.value) for r in records] == [(b"SKU-1", b'{"x": 1}'), (None, b"not json")]
