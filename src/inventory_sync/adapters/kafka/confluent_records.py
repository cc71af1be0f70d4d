"""confluent-kafka Messages -> domain Records: the hot path of every poll.

Record is a frozen dataclass, whose __init__ calls object.__setattr__ once per field; setting
its slots directly builds the same object in a third of the time (measured: 0.5 vs 1.6
microseconds a record, against ~4 for librdkafka's hand-over and ~3 for the JSON decoding).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import KafkaError, Message

from inventory_sync.domain.model import Record

_FIELDS = ("key", "value", "topic", "partition", "offset", "timestamp", "headers")
if tuple(field.name for field in dataclasses.fields(Record)) != _FIELDS:  # pragma: no cover
    raise ImportError(f"Record's fields changed; update {__name__} to set them all")
_set_key, _set_value, _set_topic, _set_partition, _set_offset, _set_timestamp, _set_headers = (
    getattr(Record, name).__set__ for name in _FIELDS
)
_new = object.__new__


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
        record = _new(Record)
        _set_key(record, message.key())
        _set_value(record, message.value())
        _set_topic(record, message.topic())
        _set_partition(record, message.partition())
        _set_offset(record, message.offset())
        _set_timestamp(record, at)
        headers = message.headers()
        _set_headers(record, _headers(headers) if headers else ())
        append(record)
    return records


def _headers(headers: Any) -> tuple[tuple[str, bytes], ...]:
    """A header with a null value is kept as an empty one (Records carry bytes)."""
    return tuple((key, b"" if value is None else value) for key, value in headers)
