"""Build domain Records fast, for the Kafka sources' hot path.

Record is a frozen dataclass, whose __init__ calls object.__setattr__ once per field; setting
its slots directly builds the same object in half the time or less. A change to Record's
fields fails loudly here, at import.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from inventory_sync.domain.model import Record

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
