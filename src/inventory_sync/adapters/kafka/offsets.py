"""What both Kafka sources commit: per partition, the highest offset of a batch + 1."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from inventory_sync.domain.model import Record

log = logging.getLogger("inventory_sync.kafka")


def next_offsets(records: Sequence[Record]) -> dict[tuple[str, int], int]:
    """(topic, partition) -> the offset to commit after these records, in any order."""
    highest: dict[tuple[str, int], int] = {}
    for record in records:
        where = (record.topic, record.partition)
        if record.offset >= highest.get(where, -1):
            highest[where] = record.offset
    return {where: offset + 1 for where, offset in highest.items()}


def warn_not_owned(topic: str, partition: int, offset: int) -> None:
    log.warning(
        "not committing %s[%d]@%d: the partition is no longer assigned to this member; "
        "its owner replays from the last committed offset",
        topic,
        partition,
        offset,
    )
