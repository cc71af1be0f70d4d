"""The headers a dead letter carries, the same for every Kafka client (values UTF-8):

    inventory_sync.reason              a rejection reason, e.g. b"invalid_payload"
    inventory_sync.error               what was wrong, in words
    inventory_sync.original_topic      where the record came from ...
    inventory_sync.original_partition  ... as a decimal number, e.g. b"0"
    inventory_sync.original_offset     ... as a decimal number, e.g. b"1234"
    inventory_sync.original_timestamp  the record's timestamp, ISO-8601 in UTC with
                                       milliseconds, e.g. b"2025-05-01T12:00:00.123+00:00"

The original record's own headers come first, as they were.
"""

from __future__ import annotations

from datetime import UTC

from inventory_sync.domain.ports import DeadLetter

HEADER_PREFIX = "inventory_sync."
REASON = HEADER_PREFIX + "reason"
ERROR = HEADER_PREFIX + "error"
ORIGINAL_TOPIC = HEADER_PREFIX + "original_topic"
ORIGINAL_PARTITION = HEADER_PREFIX + "original_partition"
ORIGINAL_OFFSET = HEADER_PREFIX + "original_offset"
ORIGINAL_TIMESTAMP = HEADER_PREFIX + "original_timestamp"


def dead_letter_headers(letter: DeadLetter) -> list[tuple[str, bytes]]:
    record = letter.record
    stamp = record.timestamp.astimezone(UTC).isoformat(timespec="milliseconds")
    return [
        *record.headers,
        (REASON, letter.reason.encode()),
        (ERROR, letter.error.encode("utf-8", errors="replace")),
        (ORIGINAL_TOPIC, record.topic.encode()),
        (ORIGINAL_PARTITION, str(record.partition).encode()),
        (ORIGINAL_OFFSET, str(record.offset).encode()),
        (ORIGINAL_TIMESTAMP, stamp.encode()),
    ]
