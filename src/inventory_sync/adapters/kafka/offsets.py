"""What both Kafka sources commit: per partition, the highest offset of a batch + 1; and how
they name partitions and offsets in their logs."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

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


def describe_offsets(offsets: Mapping[Any, Any]) -> str:
    """{TopicPartition: OffsetAndMetadata} -> "topic[0]@12, topic[1]@40"."""
    return ", ".join(f"{tp.topic}[{tp.partition}]@{meta.offset}" for tp, meta in offsets.items())


def describe_partitions(partitions: Iterable[Any]) -> str:
    """TopicPartitions (either client's) -> "topic[0], topic[1]", sorted."""
    names = sorted(f"{tp.topic}[{tp.partition}]" for tp in partitions)
    return ", ".join(names) or "no partitions"


def log_refused_commit(offsets: Mapping[Any, Any], exc: Exception) -> None:
    log.warning(
        "commit of %s refused because the group is rebalancing; "
        "the partitions' next owner replays them (writes are idempotent): %s",
        describe_offsets(offsets),
        exc,
    )
