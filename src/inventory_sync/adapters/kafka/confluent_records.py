"""confluent-kafka Messages -> domain Records: the hot path of every poll.

Records are built slot by slot (record_slots.py), in a third of the time of Record()
(measured: 0.5 vs 1.6 microseconds a record, against ~4 for librdkafka's hand-over and
~3 for the JSON decoding).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import KafkaError, Message

from inventory_sync.adapters.kafka.record_slots import (
    new_record,
    set_headers,
    set_key,
    set_offset,
    set_partition,
    set_timestamp,
    set_topic,
    set_value,
)
from inventory_sync.domain.model import Record


def to_records(messages: list[Message], on_error: Callable[[KafkaError], None]) -> list[Record]:
    """Convert messages in order, timestamps to aware UTC; error events go to on_error."""
    records: list[Record] = []
    append = records.append
    last_ms = None
    at = datetime.now(UTC)
    for message in messages:
        error = message.error()
        if error is not None:
            on_error(error)
            continue
        ms = message.timestamp()[1]
        if ms != last_ms:  # messages of one producer batch often share the millisecond
            last_ms = ms
            at = datetime.fromtimestamp(ms / 1000, UTC) if ms >= 0 else datetime.now(UTC)
        record = new_record()
        set_key(record, message.key())
        set_value(record, message.value())
        set_topic(record, message.topic())
        set_partition(record, message.partition())
        set_offset(record, message.offset())
        set_timestamp(record, at)
        headers = message.headers()
        set_headers(record, _headers(headers) if headers else ())
        append(record)
    return records


def _headers(headers: Any) -> tuple[tuple[str, bytes], ...]:
    """A header with a null value is kept as an empty one (Records carry bytes)."""
    return tuple((key, b"" if value is None else value) for key, value in headers)
