"""The benchmark's events: generated deterministically, produced fast, and what they must yield.

Each event is a ~125-byte JSON object keyed by its product code, with `occurred_at` rising
through the run (so per product too) and an `event_id`. A share of them is invalid, split
evenly between a negative count, malformed JSON and an unknown product.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

BASE_TIME = datetime(2025, 1, 1, tzinfo=UTC)
REASONS = ("purchase", "return", "restock", "adjustment")
_encode = json.JSONEncoder(separators=(",", ":")).encode
INVALID_KINDS = ("invalid_payload", "malformed_json", "unknown_product")


def product_code(index: int) -> str:
    return f"SKU-{index:06d}"


@dataclass
class Expected:
    """What a correct consumer of the whole topic ends with."""

    events: int = 0
    final_counts: dict[str, int] = field(default_factory=dict)
    rejected_by_reason: Counter[str] = field(default_factory=Counter)

    def to_dict(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "final_counts": self.final_counts,
            "rejected_by_reason": dict(self.rejected_by_reason),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Expected:
        return cls(data["events"], data["final_counts"], Counter(data["rejected_by_reason"]))


def generate(
    events: int, products: int, invalid_ratio: float, expected: Expected, seed: int = 7
) -> Iterator[tuple[bytes, bytes]]:
    """(key, value) pairs; fills `expected` as it goes (products start with a count of 0)."""
    rng = random.Random(seed)
    expected.final_counts = {product_code(i): 0 for i in range(products)}
    last_second, prefix = -1, ""
    for i in range(events):
        code = product_code(rng.randrange(products))
        count = rng.randrange(500)
        second, millisecond = divmod(i, 1000)  # one millisecond apart, rising
        if second != last_second:
            last_second = second
            prefix = (BASE_TIME + timedelta(seconds=second)).strftime("%Y-%m-%dT%H:%M:%S")
        event: dict[str, str | int] = {
            "event_id": f"{rng.getrandbits(48):012x}",
            "product_code": code,
            "inventory_count": count,
            "occurred_at": f"{prefix}.{millisecond:03d}Z",
        }
        if rng.random() < 0.5:
            event["reason"] = rng.choice(REASONS)
        expected.events += 1
        if rng.random() >= invalid_ratio:
            expected.final_counts[code] = count
            yield code.encode(), _encode(event).encode()
            continue
        kind = INVALID_KINDS[i % len(INVALID_KINDS)]
        expected.rejected_by_reason[kind] += 1
        if kind == "invalid_payload":
            event["inventory_count"] = -count - 1
        elif kind == "unknown_product":
            event["product_code"] = code = f"GHOST-{i:08d}"  # unique: never superseded
        value = _encode(event)
        if kind == "malformed_json":
            value = value[: len(value) // 2]
        yield code.encode(), value.encode()


def produce(
    bootstrap: str, topic: str, events: int, products: int, invalid_ratio: float
) -> tuple[Expected, float]:
    """Produce every event (confluent-kafka if installed, else kafka-python); (expected, rate)."""
    expected = Expected()
    pairs = generate(events, products, invalid_ratio, expected)
    started = time.perf_counter()
    try:
        import confluent_kafka  # noqa: F401
    except ImportError:
        _produce_kafka_python(bootstrap, topic, pairs)
    else:
        _produce_confluent(bootstrap, topic, pairs)
    return expected, events / (time.perf_counter() - started)


def _produce_confluent(bootstrap: str, topic: str, pairs: Iterator[tuple[bytes, bytes]]) -> None:
    from confluent_kafka import KafkaException, Producer

    failures: list[str] = []

    def delivered(err: Any, _msg: Any) -> None:
        if err is not None:
            failures.append(str(err))

    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "linger.ms": 20,
            "batch.num.messages": 10_000,
            "queue.buffering.max.messages": 500_000,
            "partitioner": "murmur2_random",  # the Java client's (and kafka-python's) partitioner
        }
    )
    for key, value in pairs:
        while True:
            try:
                producer.produce(topic, value, key, on_delivery=delivered)
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
    if producer.flush(60) or failures:
        raise KafkaException(f"producing failed: {failures[:3] or 'flush timed out'}")


def _produce_kafka_python(bootstrap: str, topic: str, pairs: Iterator[tuple[bytes, bytes]]) -> None:
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, batch_size=256 * 1024)
    futures = [producer.send(topic, value=value, key=key) for key, value in pairs]
    producer.flush(60)
    for future in futures:
        future.get(timeout=0)
    producer.close()


def create_topics(bootstrap: str, topic: str, partitions: int) -> None:
    """The topic and its dead-letter topic, as `inventory-sync topics create` makes them."""
    from inventory_sync.adapters.kafka.kafka_python.admin import create_topics as create
    from inventory_sync.settings import Settings

    create(Settings(bootstrap_servers=bootstrap, topic=topic, dlq_topic=f"{topic}.dlq"), partitions)


def delete_topics(bootstrap: str, topic: str) -> None:
    from kafka.admin import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.delete_topics([topic, f"{topic}.dlq"])
    finally:
        admin.close()
