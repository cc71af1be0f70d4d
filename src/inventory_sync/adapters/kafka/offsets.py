"""What both Kafka sources commit: per partition, the highest offset of a batch + 1, kept in
PendingOffsets until Kafka has made it durable; and how they name partitions and offsets in
their logs."""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

from inventory_sync.domain.model import Record, next_positions

log = logging.getLogger("inventory_sync.kafka")


next_offsets = next_positions
"""(topic, partition) -> the offset to commit after these records, in any order."""

Partition = tuple[str, int]
"""(topic, partition): how both clients' partitions are named here."""


class PendingOffsets:
    """The offsets released by the run loop (its batch is written and acknowledged) that Kafka
    may not have made durable yet: sent asynchronously, resent after a failure, committed
    synchronously on close, and only ever for partitions this member still owns.

    A partition that moved away is forgotten: its next owner replays it from the last
    committed offset (the writes are idempotent), so nothing is skipped.
    """

    def __init__(self) -> None:
        self._next: dict[Partition, int] = {}
        self.due = False
        """A commit is to be sent (or sent again after a failure)."""

    def release(
        self, records: Sequence[Record], owned: Collection[Partition]
    ) -> dict[Partition, int]:
        """Keep the next offsets of these records' partitions that are owned, and return them
        (a WARNING for the others: their new owner replays them)."""
        released = {}
        for where, offset in next_offsets(records).items():
            if where in owned:
                released[where] = offset
            else:
                warn_not_owned(*where, offset)
        self._next.update(released)
        return released

    def owned(self, owned: Collection[Partition]) -> dict[Partition, int]:
        """The pending offsets of the partitions still owned."""
        return {where: offset for where, offset in self._next.items() if where in owned}

    def take_all(self, owned: Collection[Partition]) -> dict[Partition, int]:
        """The pending offsets still owned, for the last commit; nothing is pending after it."""
        offsets = self.owned(owned)
        self._next.clear()
        self.due = False
        return offsets

    def adopt(self, positions: Mapping[Partition, int]) -> None:
        """Offsets stored with the writes, sought to on assignment: committed to Kafka too
        (with the next commit), so that lag tools see them even if nothing follows."""
        for where, offset in positions.items():
            self._next[where] = max(self._next.get(where, offset), offset)
        if positions:
            self.due = True

    def forget(self, partitions: Iterable[Partition]) -> None:
        """Partitions that moved away: their next owner commits them, never this member."""
        for where in partitions:
            self._next.pop(where, None)

    def __bool__(self) -> bool:
        return bool(self._next)


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
