"""A consumer group's positions as Kafka knows them, for `inventory-sync offsets show|reset`:
its active members, its committed offsets, a topic's earliest, end and by-time offsets, and
committing new ones while the group is empty."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kafka import TopicPartition
from kafka.admin import OffsetSpec
from kafka.structs import OffsetAndMetadata

from inventory_sync.adapters.kafka.kafka_python.admin import TopicMissing, _admin
from inventory_sync.domain.errors import InventorySyncError
from inventory_sync.settings import Settings


class GroupActive(InventorySyncError):
    """The group has running members: moving its offsets under them would be overwritten."""


@dataclass(frozen=True, slots=True)
class TopicOffsets:
    """Per partition of the topic: the group's committed offset (None: none) and the end."""

    committed: dict[int, int | None]
    earliest: dict[int, int]
    end: dict[int, int]


def active_members(settings: Settings, group_id: str) -> int:
    """How many members the group has now (0 for an empty or unknown group)."""
    with _admin(settings) as admin:
        described = admin.describe_groups([group_id]).get(group_id, {})
    return len(described.get("members") or [])


def topic_offsets(settings: Settings, group_id: str, topic: str) -> TopicOffsets:
    with _admin(settings) as admin:
        partitions = _partitions(admin, topic)
        committed = admin.list_group_offsets({group_id: partitions}).get(group_id, {})
        earliest = admin.list_partition_offsets(dict.fromkeys(partitions, OffsetSpec.EARLIEST))
        end = admin.list_partition_offsets(dict.fromkeys(partitions, OffsetSpec.LATEST))
    return TopicOffsets(
        committed={
            tp.partition: (
                meta.offset if (meta := committed.get(tp)) and meta.offset >= 0 else None
            )
            for tp in partitions
        },
        earliest={tp.partition: earliest[tp].offset for tp in partitions},
        end={tp.partition: end[tp].offset for tp in partitions},
    )


def offsets_at(settings: Settings, topic: str, moment: datetime) -> dict[int, int]:
    """Per partition, the first offset whose record timestamp is at or after `moment` (the
    end offset where none is)."""
    with _admin(settings) as admin:
        partitions = _partitions(admin, topic)
        millis = int(moment.timestamp() * 1000)
        found = admin.list_partition_offsets(dict.fromkeys(partitions, millis))
        end = admin.list_partition_offsets(dict.fromkeys(partitions, OffsetSpec.LATEST))
    return {
        tp.partition: found[tp].offset if found[tp].offset >= 0 else end[tp].offset
        for tp in partitions
    }


def commit_group_offsets(
    settings: Settings, group_id: str, topic: str, offsets: dict[int, int]
) -> None:
    """Set the group's committed offsets; refused (GroupActive) while it has members."""
    with _admin(settings) as admin:
        members = admin.describe_groups([group_id]).get(group_id, {}).get("members") or []
        if members:
            raise GroupActive(f"the group {group_id} has {len(members)} active member(s)")
        result = admin.alter_group_offsets(
            group_id,
            {
                TopicPartition(topic, partition): OffsetAndMetadata(offset, "", -1)
                for partition, offset in offsets.items()
            },
        )
    failed = {tp.partition: error for tp, error in result.items() if error.errno != 0}
    if failed:
        raise InventorySyncError(f"Kafka refused the new offsets of {group_id}: {failed}")


def _partitions(admin: object, topic: str) -> list[TopicPartition]:
    described = admin.describe_topics([topic])  # type: ignore[attr-defined]
    for entry in described:
        if entry["name"] == topic and entry["error_code"] == 0:
            return [
                TopicPartition(topic, p["partition_index"])
                for p in sorted(entry["partitions"], key=lambda p: p["partition_index"])
            ]
    raise TopicMissing(topic)
