"""Hostile records, as a careless or malicious producer can write them, with what each must
come to: which outcome, and for a rejection which reason.

Each is produced with kafka-python's producer, the only one that writes a header key that
is not UTF-8 (a str whose encode() gives raw bytes) and any record timestamp.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic
from kafka import KafkaProducer

from inventory_sync.settings import Settings

NOW = datetime.now(UTC)
MAX_LONG = 2**63 - 1


class RawHeaderKey(str):
    """A header key that kafka-python's producer writes as these raw bytes."""

    raw: bytes

    def __new__(cls, raw: bytes) -> RawHeaderKey:
        made = super().__new__(cls, raw.decode("utf-8", "replace"))
        made.raw = raw
        return made

    def encode(self, encoding: str = "utf-8", errors: str = "strict") -> bytes:
        return self.raw


@dataclass(frozen=True)
class Hostile:
    """One record and its fate: `reason` for a dead letter, None when it must be applied."""

    name: str
    value: bytes | None
    key: bytes | None = b"H"
    headers: Sequence[tuple[str, bytes | None]] = ()
    timestamp_ms: int | None = None
    reason: str | None = None
    product: str | None = None
    """For an applied one: the product it sets to `count`."""
    count: int = 0


def event(code: str, count: object, at: datetime | str | None = None, **extra: Any) -> bytes:
    payload: dict[str, Any] = {"product_code": code, "inventory_count": count, **extra}
    if at is not None:
        payload["occurred_at"] = at if isinstance(at, str) else at.isoformat()
    return json.dumps(payload).encode()


BAD_KEY = RawHeaderKey(b"\xff\xfe-not-utf8")

REJECTED: tuple[Hostile, ...] = (
    Hostile(
        "year 1 with a positive offset",
        event("P", 1, "0001-01-01T00:30:00+01:00"),
        reason="invalid_payload",
    ),
    Hostile(
        "year 9999 with a negative offset",
        event("P", 1, "9999-12-31T23:30:00-05:00"),
        reason="invalid_payload",
    ),
    Hostile("year 9999", event("P", 1, "9999-12-31T00:00:00Z"), reason="from_the_future"),
    Hostile("an hour ahead", event("P", 1, NOW + timedelta(hours=1)), reason="from_the_future"),
    Hostile("a keyless tombstone", None, key=None, reason="malformed_json"),
    Hostile("a keyed tombstone", None, reason="malformed_json"),
    Hostile(
        "bytes that are not UTF-8", b"\xff\xfe{\x00\x80", key=b"\xff\x00", reason="malformed_json"
    ),
    Hostile("deep nesting", b"[" * 60_000, reason="malformed_json"),
    Hostile("too large", b" " * 70_000 + event("P", 1), reason="too_large"),
    Hostile("a JSON number", b"42", reason="malformed_json"),
    Hostile("a JSON string", b'"P"', reason="malformed_json"),
    Hostile("NaN", b'{"product_code": "P", "inventory_count": NaN}', reason="invalid_payload"),
    Hostile("a count beyond int64", event("P", 10**30), reason="invalid_payload"),
    Hostile("a float count", event("P", 1.5), reason="invalid_payload"),
    Hostile("a boolean count", event("P", True), reason="invalid_payload"),
    Hostile("a code with a NUL", event("P\u0000", 1), reason="invalid_payload"),
    Hostile("an unknown product", event("NOPE", 1), reason="unknown_product"),
    Hostile(
        "a bad header key and a bad value", b"{", headers=[(BAD_KEY, b"v")], reason="malformed_json"
    ),
    Hostile(
        "many odd headers and a bad value",
        b"}",
        headers=[("", b""), ("nul", b"\x00"), ("big", b"x" * 5_000), ("\u2603", b"\xff")],
        reason="malformed_json",
    ),
    Hostile(
        "a microsecond timestamp and a bad value",
        b"{",
        timestamp_ms=int(NOW.timestamp() * 1_000_000),
        reason="malformed_json",
    ),
)

APPLIED: tuple[Hostile, ...] = (
    Hostile(
        "a header key that is not UTF-8",
        event("HK", 11),
        headers=[(BAD_KEY, b"v")],
        product="HK",
        count=11,
    ),
    Hostile(
        "a microsecond record timestamp",
        event("TSU", 12),
        timestamp_ms=int(NOW.timestamp() * 1_000_000),
        product="TSU",
        count=12,
    ),
    Hostile(
        "the largest record timestamp",
        event("TSX", 13),
        timestamp_ms=MAX_LONG,
        product="TSX",
        count=13,
    ),
    Hostile(
        "a record timestamp of zero", event("TS0", 14), timestamp_ms=0, product="TS0", count=14
    ),
)

ORDERED: tuple[Hostile, ...] = (
    # The stored time and the event's are compared by the database: years before 1000.
    Hostile("OLD now", event("OLD", 5, "2026-01-01T00:00:00Z"), key=b"OLD", product="OLD", count=5),
    Hostile("OLD from year 999", event("OLD", 9, "0999-06-01T00:00:00Z"), key=b"OLD"),
    Hostile("ANCIENT 999", event("ANCIENT", 1, "0999-01-01T00:00:00+00:00"), key=b"ANCIENT"),
    Hostile("ANCIENT 500", event("ANCIENT", 2, "0500-01-01T00:00:00+00:00"), key=b"ANCIENT"),
    Hostile(
        "ANCIENT now",
        event("ANCIENT", 3, "2026-01-01T00:00:00+02:00"),
        key=b"ANCIENT",
        product="ANCIENT",
        count=3,
    ),
    Hostile(
        "FIRST year 1",
        event("FIRST", 4, "0001-01-01T00:00:00Z"),
        key=b"FIRST",
        product="FIRST",
        count=4,
    ),
)
"""In order, one partition, one record a batch: each ends as the last one with a product."""

PRODUCTS = ("P", "HK", "TSU", "TSX", "TS0", "OLD", "ANCIENT", "FIRST")


@dataclass
class Produced:
    """What was sent, by (partition, offset)."""

    by_offset: dict[tuple[int, int], Hostile] = field(default_factory=dict)

    def rejected(self) -> dict[tuple[int, int], str]:
        return {at: h.reason for at, h in self.by_offset.items() if h.reason is not None}


def create_permissive_topic(settings: Settings, partitions: int) -> None:
    """The topic and its dead-letter topic, taking any record timestamp (Kafka 4 refuses
    records more than an hour ahead by default) and values up to 1 MB."""
    admin = AdminClient({"bootstrap.servers": settings.bootstrap_servers})
    config = {
        "message.timestamp.after.max.ms": str(MAX_LONG),
        "message.timestamp.before.max.ms": str(MAX_LONG),
    }
    topics = [
        NewTopic(settings.topic, partitions, 1, config=config),
        NewTopic(settings.dlq_topic, partitions, 1),
    ]
    for future in admin.create_topics(topics).values():
        future.result(timeout=30)


def produce_hostile(settings: Settings, records: Sequence[Hostile], partition: int = 0) -> Produced:
    """Send the records in order to one partition and wait for every acknowledgement."""
    produced = Produced()
    producer = KafkaProducer(
        bootstrap_servers=settings.bootstrap_servers, acks="all", max_request_size=2_000_000
    )
    try:
        futures = [
            (
                hostile,
                producer.send(
                    settings.topic,
                    key=hostile.key,
                    value=hostile.value,
                    headers=list(hostile.headers),
                    partition=partition,
                    timestamp_ms=hostile.timestamp_ms,
                ),
            )
            for hostile in records
            if hostile.key is not None or hostile.value is not None
        ]
        producer.flush(60)
        for hostile, future in futures:
            metadata = future.get(timeout=30)
            produced.by_offset[(metadata.partition, metadata.offset)] = hostile
    finally:
        producer.close(timeout=10)
    for hostile in records:  # kafka-python cannot send a record with neither key nor value
        if hostile.key is None and hostile.value is None:
            produced.by_offset[_produce_keyless_tombstone(settings, partition)] = hostile
    return produced


def _produce_keyless_tombstone(settings: Settings, partition: int) -> tuple[int, int]:
    delivered: list[tuple[int, int]] = []
    producer = Producer({"bootstrap.servers": settings.bootstrap_servers, "acks": "all"})
    producer.produce(
        settings.topic,
        value=None,
        key=None,
        partition=partition,
        on_delivery=lambda error, message: delivered.append(
            (message.partition(), message.offset())
        ),
    )
    assert producer.flush(30) == 0, "the tombstone was not acknowledged"
    assert delivered, "no delivery report for the tombstone"
    return delivered[0]


def expected_counts(records: Sequence[Hostile]) -> dict[str, int]:
    """The count each product ends with: that of the last record that names it, else 0."""
    counts = dict.fromkeys(PRODUCTS, 0)
    for hostile in records:
        if hostile.product is not None:
            counts[hostile.product] = hostile.count
    return counts
