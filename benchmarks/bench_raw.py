"""(a) raw: a consumer that reads and JSON-decodes every value and writes nothing.

The ceiling of each Kafka client on this machine; the run loop cannot go faster than this.
"""

from __future__ import annotations

import json
import time
from typing import Any

POLL_TIMEOUT_S = 1.0
GIVE_UP_AFTER_S = 60.0  # no record for this long: the topic has fewer records than expected


class TooFewRecords(RuntimeError):
    def __init__(self, got: int, wanted: int) -> None:
        super().__init__(f"only {got} of {wanted} records arrived")


def measure_raw(
    *, client: str, bootstrap: str, topic: str, group: str, events: int
) -> dict[str, Any]:
    measure = _raw_kafka_python if client == "kafka-python" else _raw_confluent
    first, last, decoded = measure(bootstrap, topic, group, events)
    rate = events / max(last - first, 1e-9)
    return {"records": events, "decoded": decoded, "records_per_s": rate}


def _raw_kafka_python(
    bootstrap: str, topic: str, group: str, events: int
) -> tuple[float, float, int]:
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=2000,
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )
    loads = json.loads
    seen = decoded = 0
    first = last = idle_since = time.perf_counter()
    try:
        while seen < events:
            fetched = consumer.poll(timeout_ms=int(POLL_TIMEOUT_S * 1000))
            now = time.perf_counter()
            if not fetched:
                if now - idle_since > GIVE_UP_AFTER_S:
                    raise TooFewRecords(seen, events)
                continue
            if not seen:
                first = now
            idle_since = now
            for records in fetched.values():
                for record in records:
                    decoded += _decode(loads, record.value)
                seen += len(records)
            last = time.perf_counter()
    finally:
        consumer.close(autocommit=False)
    return first, last, decoded


def _raw_confluent(bootstrap: str, topic: str, group: str, events: int) -> tuple[float, float, int]:
    from confluent_kafka import Consumer, KafkaException

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([topic])
    loads = json.loads
    seen = decoded = 0
    first = last = idle_since = time.perf_counter()
    try:
        while seen < events:
            messages = consumer.consume(num_messages=1000, timeout=POLL_TIMEOUT_S)
            now = time.perf_counter()
            if not messages:
                if now - idle_since > GIVE_UP_AFTER_S:
                    raise TooFewRecords(seen, events)
                continue
            if not seen:
                first = now
            idle_since = now
            for message in messages:
                error = message.error()
                if error is not None:
                    if error.fatal():
                        raise KafkaException(error)
                    continue
                decoded += _decode(loads, message.value())
                seen += 1
            last = time.perf_counter()
    finally:
        consumer.close()
    return first, last, decoded


def _decode(loads: Any, value: bytes | None) -> int:
    """1 if the value is JSON (malformed values are part of the stream), else 0."""
    try:
        loads(value)
    except (ValueError, TypeError):
        return 0
    return 1
