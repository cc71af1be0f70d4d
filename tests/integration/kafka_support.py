"""Helpers the Kafka integration tests share: events, bursts, and what the group committed."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from kafka import KafkaConsumer
from kafka.structs import TopicPartition

from inventory_sync.adapters.kafka.admin import create_topics, produce
from inventory_sync.settings import Settings

T0 = datetime(2026, 1, 1, tzinfo=UTC)

FAST_CONSUMER: dict[str, Any] = {
    "session_timeout_ms": 6_000,
    "heartbeat_interval_ms": 500,
    "fetch_max_wait_ms": 100,
}
"""Short group timings: joins, rebalances and a dead member's eviction take seconds."""


@dataclass(frozen=True)
class Event:
    key: bytes
    value: bytes


def update(code: str, count: object, at: datetime, **extra: object) -> Event:
    payload = {"product_code": code, "inventory_count": count, "occurred_at": at.isoformat()}
    return Event(code.encode(), json.dumps({**payload, **extra}).encode())


def send(settings: Settings, events: Sequence[Event]) -> None:
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


def committed_offsets(settings: Settings, partitions: int) -> dict[int, int | None]:
    """What the consumer group `settings.group_id` has committed, per partition."""
    checker = KafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers, group_id=settings.group_id
    )
    try:
        return {p: checker.committed(TopicPartition(settings.topic, p)) for p in range(partitions)}
    finally:
        checker.close()


def end_offsets(settings: Settings, partitions: int) -> dict[int, int]:
    reader = KafkaConsumer(bootstrap_servers=settings.bootstrap_servers, enable_auto_commit=False)
    try:
        tps = [TopicPartition(settings.topic, p) for p in range(partitions)]
        return {tp.partition: offset for tp, offset in reader.end_offsets(tps).items()}
    finally:
        reader.close()
