"""Helpers the Kafka integration tests share, for either client.

The adapters under test come from `record_source` / `dead_letter_sink` (the client named by
`kafka_client`, with short group timings); everything the tests do on the side (produce,
read a topic, read the group's committed offsets and members) goes through plain clients of
its own, so that the same tests check both adapters alike.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient
from kafka import KafkaConsumer
from kafka.structs import TopicPartition

from inventory_sync.adapters.kafka.kafka_python.admin import create_topics, produce
from inventory_sync.domain.model import Record
from inventory_sync.settings import Settings

T0 = datetime(2026, 1, 1, tzinfo=UTC)
DEADLINE_S = 20.0
"""How long a test waits for something that takes well under a second when all is well."""

CLIENTS = ("kafka-python", "confluent")
"""Every value of the kafka_client setting; the Kafka tests run once per client."""

FAST_GROUP: dict[str, dict[str, Any]] = {
    "kafka-python": {
        "session_timeout_ms": 6_000,
        "heartbeat_interval_ms": 500,
        "fetch_max_wait_ms": 100,
    },
    "confluent": {
        "session.timeout.ms": 6_000,
        "heartbeat.interval.ms": 500,
        "fetch.wait.max.ms": 100,
    },
}
"""Short group timings per client: joins, rebalances and a dead member's eviction take seconds
(6 s is the broker's minimum session)."""

FAST_CONSUMER: dict[str, Any] = FAST_GROUP["kafka-python"]

MAX_POLL_INTERVAL_MS = {"kafka-python": 2_000, "confluent": 6_000}
"""Short enough that "a paused source stays in the group" takes seconds; librdkafka wants it
at least the session timeout."""


def fast_overrides(client: str, *, short_poll_interval: bool = True) -> dict[str, Any]:
    """The client's consumer overrides for tests; a worker process keeps the default
    max.poll.interval (its batches may take longer during an outage)."""
    overrides = dict(FAST_GROUP[client])
    if short_poll_interval:
        name = "max_poll_interval_ms" if client == "kafka-python" else "max.poll.interval.ms"
        overrides[name] = MAX_POLL_INTERVAL_MS[client]
    return overrides


def client_adapters(client: str) -> Any:
    """The client's adapter package, as the container chooses it."""
    from inventory_sync.container import kafka_client

    return kafka_client(Settings(kafka_client=client))  # type: ignore[arg-type]


def record_source(
    settings: Settings, client: str, overrides: dict[str, Any] | None = None, **kwargs: Any
) -> Any:
    """The client's RecordSource (KafkaRecordSource or ConfluentRecordSource)."""
    overrides = fast_overrides(client) if overrides is None else overrides
    return client_adapters(client).record_source(settings, overrides=overrides, **kwargs)


def dead_letter_sink(settings: Settings, client: str, timeout_s: float | None = None) -> Any:
    """The client's DeadLetterSink; `timeout_s` bounds how long a send may take to fail."""
    timeouts: dict[str, Any] = {}
    if timeout_s is not None:
        ms = int(timeout_s * 1000)
        names = (
            ("message.timeout.ms",)
            if client == "confluent"
            else ("bootstrap_timeout_ms", "max_block_ms")
        )
        timeouts = dict.fromkeys(names, ms)
    return client_adapters(client).dead_letter_sink(settings, overrides=timeouts)


def assigned_partitions(source: Any) -> set[int]:
    """The partitions a Kafka source's consumer holds now (either client), seen from the side."""
    consumer = source._consumer
    return set() if consumer is None else {tp.partition for tp in consumer.assignment()}


# -- events ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    key: bytes
    value: bytes


def update(code: str, count: object, at: datetime, **extra: object) -> Event:
    payload = {"product_code": code, "inventory_count": count, "occurred_at": at.isoformat()}
    return Event(code.encode(), json.dumps({**payload, **extra}).encode())


def send(settings: Settings, events: Sequence[Event]) -> None:
    """Produce the events with the project's own producer (admin.produce)."""
    produce(settings, [(event.key, event.value) for event in events])


def topic_settings(kafka_bootstrap: str, topic: str, *, partitions: int, **extra: Any) -> Settings:
    """Settings for a fresh topic (created here, with its .dlq) and a group of its own."""
    settings = Settings(
        bootstrap_servers=kafka_bootstrap,
        topic=topic,
        dlq_topic=f"{topic}.dlq",
        group_id=f"{topic}-group",
        **extra,
    )
    create_topics(settings, partitions=partitions)
    return settings


def burst(products: Sequence[str], size: int, seed: int = 7) -> tuple[list[Event], dict[str, int]]:
    """`size` events over `products`: mostly valid updates in time order, some dated in the
    past (stale), and 1 in 50 each malformed, invalid and for an unknown product.

    Returns the events and the count each product must end with: that of its newest update
    (by time, then by order), whatever the batching.
    """
    rng = random.Random(seed)
    events: list[Event] = []
    newest: dict[str, tuple[datetime, int, int]] = {}
    for i in range(size):
        code = rng.choice(products)
        match i % 50:
            case 0:
                events.append(Event(code.encode(), b"{not json"))
                continue
            case 1:
                events.append(update(code, "7", T0))
                continue
            case 2:
                events.append(update(f"NOPE-{i}", 1, T0))
                continue
            case 3 | 4:
                at = T0 - timedelta(days=1)
            case _:
                at = T0 + timedelta(seconds=i)
        count = rng.randint(0, 1000)
        events.append(update(code, count, at, event_id=f"e{i}"))
        if code not in newest or (at, i) > newest[code][:2]:
            newest[code] = (at, i, count)
    return events, {code: newest[code][2] if code in newest else 0 for code in products}


def rejections_in_burst(size: int) -> int:
    """How many of burst(size)'s events are rejected: 3 in 50 (malformed, invalid, unknown)."""
    return 3 * (size // 50) + min(size % 50, 3)


# -- the broker, seen from the side -----------------------------------------------------------


def produce_values(
    settings: Settings,
    *values: bytes | None,
    keys: Sequence[bytes | None] | None = None,
    **extra: Any,
) -> None:
    """Send values to the topic (keyed by `keys`, else k0, k1, ...) with a plain producer and
    wait for the acks; `extra` goes to every produce(): partition, headers, timestamp (ms)."""
    producer = Producer({"bootstrap.servers": settings.bootstrap_servers, "acks": "all"})
    keys = keys or [b"k%d" % i for i in range(len(values))]
    for key, value in zip(keys, values, strict=True):
        producer.produce(settings.topic, key=key, value=value, **extra)
    assert producer.flush(DEADLINE_S) == 0, "the broker did not acknowledge every record"


def read_topic(settings: Settings, topic: str, count: int) -> list[Any]:
    """The first `count` records of a topic (kafka-python ConsumerRecords), read with no group."""
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=settings.bootstrap_servers,
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
        return sorted(records, key=lambda r: (r.partition, r.offset))
    finally:
        consumer.close()


def committed_offsets(settings: Settings, partitions: int) -> dict[int, int | None]:
    """What the consumer group `settings.group_id` has committed, per partition."""
    checker = KafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers,
        group_id=settings.group_id,
    )
    try:
        return {p: checker.committed(TopicPartition(settings.topic, p)) for p in range(partitions)}
    finally:
        checker.close(autocommit=False)


def committed_total(settings: Settings, partitions: int) -> int:
    return sum(offset or 0 for offset in committed_offsets(settings, partitions).values())


def end_offsets(settings: Settings, partitions: int) -> dict[int, int]:
    reader = KafkaConsumer(bootstrap_servers=settings.bootstrap_servers, enable_auto_commit=False)
    try:
        tps = [TopicPartition(settings.topic, p) for p in range(partitions)]
        return {tp.partition: offset for tp, offset in reader.end_offsets(tps).items()}
    finally:
        reader.close()


def group_members(settings: Settings) -> tuple[str, list[str]]:
    """The group's state (e.g. "STABLE", "EMPTY") and member ids, as the broker sees them."""
    admin = AdminClient({"bootstrap.servers": settings.bootstrap_servers})
    futures = admin.describe_consumer_groups([settings.group_id])
    group = futures[settings.group_id].result(timeout=DEADLINE_S)
    return group.state.name, sorted(member.member_id for member in group.members)


# -- waiting with deadlines -------------------------------------------------------------------


def wait_for(condition: Callable[[], bool], what: str, timeout: float = DEADLINE_S) -> None:
    """Return once `condition()` holds; fail the test if it does not within `timeout`."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {what}"
        time.sleep(0.1)


def poll_until(source: Any, count: int) -> list[Record]:
    """Poll until `count` records came, failing after a deadline; asks for no more than that."""
    records: list[Record] = []
    deadline = time.monotonic() + DEADLINE_S
    while len(records) < count:
        assert time.monotonic() < deadline, f"got {len(records)} of {count} records"
        records.extend(source.poll(count - len(records), 0.2))
    return records


def poll_for(source: Any, seconds: float) -> list[Record]:
    """Everything the source hands out while polling for `seconds`."""
    records: list[Record] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        records.extend(source.poll(100, 0.2))
    return records


def settle(*expected: tuple[Any, int]) -> list[list[Record]]:
    """Poll every source in turn (a rebalance needs all members to poll) until each holds the
    expected number of partitions; returns what each polled meanwhile."""
    polled: list[list[Record]] = [[] for _ in expected]
    deadline = time.monotonic() + DEADLINE_S
    while any(len(assigned_partitions(source)) != count for source, count in expected):
        assert time.monotonic() < deadline, [len(assigned_partitions(s)) for s, _ in expected]
        for (source, _), records in zip(expected, polled, strict=True):
            records.extend(source.poll(100, 0.1))
    return polled
