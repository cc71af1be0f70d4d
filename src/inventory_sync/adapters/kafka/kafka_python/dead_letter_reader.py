"""Reading the dead-letter topic back: `dlq show` (commits nothing) and `dlq replay`.

Replay sends chosen dead letters back to the topic as the original records (key, value,
headers without the inventory_sync.* ones, and the original timestamp, so the stale guard
still sees when they happened). It chooses by reason, by default only those that can succeed
once their cause is fixed (FIXABLE_REASONS), and optionally by product.

How far it got is remembered in a consumer group of its own, `{group_id}.dlq-replay`, per
partition of the dead-letter topic: a position per reason, and per reason and product for a
replay narrowed by product, kept as JSON in the commit's metadata (ReplayPositions); the
committed offset itself is how far any replay has read. A letter counts as replayed when its
offset is below the position of its reason (or of its reason and product). So a letter passed
over because its reason was not chosen stays pending, and a later replay that names its reason
sends it; a letter that was sent, or passed over for being cut to fit (header
inventory_sync.truncated: not the original record, never sent), is not looked at again by a
replay of its reason. Replay commits only after the topic acknowledged what it sent, so each
letter goes back once (at least once if replay is interrupted between the two). A commit made
before positions had metadata counts as the position of every reason.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from kafka import KafkaConsumer
from kafka.errors import KafkaTimeoutError
from kafka.structs import OffsetAndMetadata, TopicPartition

from inventory_sync.adapters.kafka.dead_letter_replay import (
    METADATA_LIMIT,
    ReplayChoice,
    ReplayPositions,
    ReplayReport,
    TooManyProductPositions,
    shown,
    sort_out,
)
from inventory_sync.adapters.kafka.kafka_python.config import client_config
from inventory_sync.adapters.kafka.kafka_python.faults import transient_faults
from inventory_sync.adapters.kafka.kafka_python.sink import acknowledged_producer
from inventory_sync.adapters.kafka.stored_letter import StoredLetter
from inventory_sync.settings import Settings

TIMEOUT_MS = 10_000
"""How long a request, or reading without getting a record, may take before it counts as failed."""


def replay_group(settings: Settings) -> str:
    return f"{settings.group_id}.dlq-replay"


def read_dead_letters(
    settings: Settings,
    limit: int | None = None,
    *,
    reasons: Collection[str] = (),
    products: Collection[str] = (),
    with_headers: bool = False,
) -> list[dict[str, Any]]:
    """The oldest `limit` dead letters (all when None) of `reasons` and `products` (all when
    empty), oldest rejection first, each described with its status (see ReplayPositions)
    and, `with_headers`, its headers as [name, text] pairs (the status page shows them).

    Reads the whole topic by assignment and only reads the replay group's commits: nothing is
    committed.
    """
    with (
        transient_faults(f"reading {settings.dlq_topic}", settings),
        _consumer(settings, replay_group(settings)) as consumer,
    ):
        tps = _partitions(consumer, settings.dlq_topic)
        positions = _committed(consumer, tps)
        letters = [
            StoredLetter.of(record)
            for _, batch in _read(consumer, tps, dict.fromkeys(tps, 0))
            for record in batch
        ]
    return [
        {
            **letter.describe(),
            "status": positions[letter.partition].status(letter),
            **({"headers": letter.described_headers()} if with_headers else {}),
        }
        for letter in shown(letters, reasons, products, limit)
    ]


def replay_dead_letters(
    settings: Settings, choice: ReplayChoice | None = None, *, dry_run: bool = False
) -> ReplayReport:
    """Send the pending dead letters of `choice` (FIXABLE_REASONS, every product, when None)
    back to the topic, oldest first in each partition, and remember how far it got.

    A dry run reads and reports the same but sends nothing and commits nothing.
    """
    choice = choice or ReplayChoice()
    report = ReplayReport(dry_run=dry_run)
    with (
        transient_faults(f"replaying {settings.dlq_topic} to {settings.topic}", settings),
        _consumer(settings, replay_group(settings)) as consumer,
    ):
        tps = _partitions(consumer, settings.dlq_topic)
        positions = _committed(consumer, tps)
        _check_remembered(positions.values(), choice)
        starts = {tp: positions[tp.partition].start(choice) for tp in tps}
        producer = None if dry_run else _producer(settings)
        try:
            for tp, batch in _read(consumer, tps, starts):
                letters = [StoredLetter.of(record) for record in batch]
                due = sort_out(letters, positions[tp.partition], choice, report)
                report.replayed.extend(due)
                if producer is None:
                    continue
                _send(producer, settings.topic, due)
                positions[tp.partition] = positions[tp.partition].passed(
                    choice, batch[-1].offset + 1
                )
                _commit(consumer, {tp: positions[tp.partition]})
            if producer is not None:  # again, so that Kafka keeps them longer (see _commit)
                _commit(consumer, {tp: positions[tp.partition] for tp in tps})
        finally:
            if producer is not None:
                producer.close()
    return report


def _commit(consumer: Any, positions: Mapping[TopicPartition, ReplayPositions]) -> None:
    """Commit the positions (those that say anything). The broker forgets a commit of a
    group without members offsets.retention.minutes (7 days by default) after it was made,
    so each replay commits every position again."""
    offsets = {
        tp: OffsetAndMetadata(position.read, position.metadata(), -1)
        for tp, position in positions.items()
        if position != ReplayPositions()
    }
    if offsets:
        consumer.commit(offsets)


def _producer(settings: Settings) -> Any:
    return acknowledged_producer(settings, {"allow_auto_create_topics": False})


def _send(producer: Any, topic: str, letters: Sequence[StoredLetter]) -> None:
    futures = [
        producer.send(
            topic,
            key=letter.key,
            value=letter.value,
            headers=letter.original_headers(),
            timestamp_ms=letter.original_timestamp_ms,
        )
        for letter in letters
    ]
    producer.flush()
    for future in futures:
        future.get(timeout=0)


def _check_remembered(positions: Iterable[ReplayPositions], choice: ReplayChoice) -> None:
    """Refuse, before sending anything, a replay whose positions would not fit a commit."""
    for now in positions:
        if len(now.passed(choice, 10**18).metadata().encode()) > METADATA_LIMIT:
            reasons = " ".join(f"--reason {reason}" for reason in sorted(choice.reasons))
            raise TooManyProductPositions(
                "replay cannot remember that many products per reason: replay "
                f"{reasons} without --product first"
            )


def _partitions(consumer: Any, topic: str) -> list[TopicPartition]:
    return [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]


def _committed(consumer: Any, tps: Sequence[TopicPartition]) -> dict[int, ReplayPositions]:
    """The replay group's positions per partition (reading them commits nothing)."""
    positions = {}
    for tp in tps:
        commit = consumer.committed(tp, metadata=True)
        offset, metadata = (commit.offset, commit.metadata) if commit is not None else (None, None)
        positions[tp.partition] = ReplayPositions.from_commit(offset, metadata)
    return positions


def _read(
    consumer: Any, tps: Sequence[TopicPartition], starts: Mapping[TopicPartition, int]
) -> Iterator[tuple[TopicPartition, list[Any]]]:
    """Each partition in turn, from its start (or its first offset still there) to the end
    offset it had when reading began; yields non-empty lists of one partition's records."""
    if not tps:
        return
    firsts, ends = consumer.beginning_offsets(list(tps)), consumer.end_offsets(list(tps))
    for tp in tps:
        start, end = max(starts[tp], firsts[tp]), ends[tp]
        if start >= end:
            continue
        consumer.assign([tp])
        consumer.seek(tp, start)
        deadline = time.monotonic() + TIMEOUT_MS / 1000
        while _position(consumer, tp) < end:
            fetched = consumer.poll(timeout_ms=500).get(tp, [])
            records = [record for record in fetched if record.offset < end]
            if records:
                deadline = time.monotonic() + TIMEOUT_MS / 1000
                yield tp, records
            elif time.monotonic() > deadline:
                raise KafkaTimeoutError(f"reading {tp.topic}[{tp.partition}] stalled before {end}")


def _position(consumer: Any, tp: TopicPartition) -> int:
    position = consumer.position(tp, timeout_ms=TIMEOUT_MS)
    if position is None:
        raise KafkaTimeoutError(f"no position for {tp.topic}[{tp.partition}]")
    return int(position)


@contextmanager
def _consumer(settings: Settings, group_id: str) -> Iterator[Any]:
    """A consumer that reads by assignment: it never joins `group_id`, only reads and commits
    its offsets."""
    consumer = KafkaConsumer(
        **client_config(settings),
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        allow_auto_create_topics=False,
        bootstrap_timeout_ms=TIMEOUT_MS,
        request_timeout_ms=TIMEOUT_MS,
    )
    try:
        yield consumer
    finally:
        consumer.close(autocommit=False)
