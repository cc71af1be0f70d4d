"""Kafka records -> domain Records, for both clients: the hot path of every poll.

Whatever a record holds, converting it never raises: any key, value and header bytes (header
keys that are not UTF-8 are read with U+FFFD by kafka_python/header_keys.py, and dropped by
confluent-kafka, which cannot hand them over), any timestamp.

Record is a frozen dataclass, whose __init__ calls object.__setattr__ once per field; setting
its slots directly builds the same object in half the time or less. A change to Record's
fields fails loudly here, at import.
"""

from __future__ import annotations

import dataclasses
import logging
import operator
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from inventory_sync.domain.model import Record

if TYPE_CHECKING:
    from confluent_kafka import KafkaError

log = logging.getLogger("inventory_sync.kafka")

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_TIMESTAMP_MS = 253_402_300_799_999
"""9999-12-31T23:59:59.999Z, the last millisecond a datetime can hold."""

FIELDS = ("key", "value", "topic", "partition", "offset", "timestamp", "headers")
if tuple(field.name for field in dataclasses.fields(Record)) != FIELDS:  # pragma: no cover
    raise ImportError(f"Record's fields changed; update {__name__} to set them all")

set_key, set_value, set_topic, set_partition, set_offset, set_timestamp, set_headers = (
    getattr(Record, name).__set__ for name in FIELDS
)


def new_record() -> Any:
    """An empty Record whose every slot the caller then sets."""
    return object.__new__(Record)


def make_record(  # noqa: PLR0917 (positional: it runs once per record)
    key: bytes | None,
    value: bytes | None,
    topic: str,
    partition: int,
    offset: int,
    timestamp: datetime,
    headers: tuple[tuple[str, bytes], ...],
) -> Record:
    """The same Record as Record(...) builds, set slot by slot."""
    record: Record = new_record()
    set_key(record, key)
    set_value(record, value)
    set_topic(record, topic)
    set_partition(record, partition)
    set_offset(record, offset)
    set_timestamp(record, timestamp)
    set_headers(record, headers)
    return record


def record_time(ms: int, read_at: datetime, where: tuple[object, object, object]) -> datetime:
    """A record timestamp (milliseconds since the epoch) as an aware UTC datetime.

    -1 means the record has none. Any other value a datetime cannot hold (a producer that
    wrote microseconds, say) would raise; such a record is dated `read_at`, the moment it
    was read, so that its batch can be decided and nothing stops.
    """
    if 0 <= ms <= MAX_TIMESTAMP_MS:
        return EPOCH + timedelta(milliseconds=ms)  # exact, where ms / 1000 is not
    if ms != -1:
        topic, partition, offset = where
        log.warning(
            "%s[%s]@%s has a record timestamp of %d ms, outside years 1970 to 9999 "
            "(microseconds?); using the time it was read, %s",
            topic,
            partition,
            offset,
            ms,
            read_at.isoformat(),
        )
    return read_at


# -- kafka-python ----------------------------------------------------------------------


def records_of_kafka_python(batches: Iterable[list[Any]]) -> list[Record]:
    """Convert each partition's list of ConsumerRecords, in order; timestamps become aware UTC."""
    records: list[Record] = []
    append = records.append
    last_ms = None
    read_at = at = datetime.now(UTC)
    for batch in batches:
        for consumed in batch:
            ms = consumed.timestamp
            if ms != last_ms:  # records of one producer batch often share the millisecond
                last_ms = ms
                at = record_time(ms, read_at, (consumed.topic, consumed.partition, consumed.offset))
            headers = consumed.headers
            append(
                make_record(
                    consumed.key,
                    consumed.value,
                    consumed.topic,
                    consumed.partition,
                    consumed.offset,
                    at,
                    _kafka_python_headers(headers) if headers else (),
                )
            )
    return records


def _kafka_python_headers(headers: list[tuple[str, bytes | None]]) -> tuple[tuple[str, bytes], ...]:
    """A header with a null value is kept as an empty one (Records carry bytes)."""
    return tuple((key, b"" if value is None else value) for key, value in headers)


# -- confluent-kafka -------------------------------------------------------------------


def records_of_confluent(
    messages: list[Any], on_error: Callable[[KafkaError], None]
) -> list[Record]:
    """Convert messages in order, timestamps to aware UTC; error events go to on_error."""
    records: list[Record] = []
    append = records.append
    last_ms = None
    read_at = at = datetime.now(UTC)
    for message in messages:
        error = message.error()
        if error is not None:
            on_error(error)
            continue
        ms = message.timestamp()[1]
        topic, partition, offset = message.topic(), message.partition(), message.offset()
        if ms != last_ms:  # messages of one producer batch often share the millisecond
            last_ms = ms
            at = record_time(ms, read_at, (topic, partition, offset))
        append(
            make_record(
                message.key(),
                message.value(),
                topic,
                partition,
                offset,
                at,
                _confluent_headers(message),
            )
        )
    return records


_read_confluent_headers = operator.methodcaller("headers")
"""Message.headers() through a call path that checks its result. Given a key that is not
UTF-8, confluent-kafka returns a list holding a half-built tuple *and* sets an exception;
called from Python code directly, a specialised CALL may hand that list over unchecked (the
exception surfaces at some later line, or the NULL in the tuple crashes the process), while
methodcaller goes through PyObject_Call, which turns it into SystemError at once."""


def _confluent_headers(message: Any) -> tuple[tuple[str, bytes], ...]:
    """A header with a null value is kept as an empty one (Records carry bytes).

    Headers that confluent-kafka cannot hand over (a key that is not UTF-8) are dropped,
    with a warning; the rest of the record is kept as it came.
    """
    try:
        headers = _read_confluent_headers(message)
    except (SystemError, UnicodeDecodeError) as exc:
        log.warning(
            "%s[%s]@%s has headers that cannot be read (a key that is not UTF-8?); "
            "they are dropped: %s",
            message.topic(),
            message.partition(),
            message.offset(),
            exc,
        )
        return ()
    if not headers:
        return ()
    return tuple((key, b"" if value is None else value) for key, value in headers)
