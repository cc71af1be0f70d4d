"""Reading the dead-letter topic back: `dlq show` (commits nothing) and `dlq replay`.

Replay remembers how far it got in a consumer group of its own, `{group_id}.dlq-replay`, and
commits only after the main topic acknowledged what it sent, so each dead letter goes back
once (at least once if replay is interrupted between the two). A letter that was cut to fit
the dead-letter topic (header inventory_sync.truncated) is not the original record: replay
skips it (and moves past it), `dlq show` marks it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from kafka import KafkaConsumer
from kafka.errors import KafkaTimeoutError
from kafka.structs import OffsetAndMetadata, TopicPartition

from inventory_sync.adapters.kafka.dead_letter_headers import (
    ERROR,
    HEADER_PREFIX,
    ORIGINAL_OFFSET,
    ORIGINAL_PARTITION,
    ORIGINAL_TOPIC,
    ORIGINAL_VALUE_SHA256,
    ORIGINAL_VALUE_SIZE,
    REASON,
    TRUNCATED,
)
from inventory_sync.adapters.kafka.kafka_python.config import client_config
from inventory_sync.adapters.kafka.kafka_python.faults import transient_faults
from inventory_sync.adapters.kafka.kafka_python.sink import acknowledged_producer
from inventory_sync.settings import Settings

TIMEOUT_MS = 10_000
"""How long a request, or reading without getting a record, may take before it counts as failed."""


def read_dead_letters(settings: Settings, limit: int | None = None) -> list[dict[str, Any]]:
    """The oldest `limit` dead letters (all when None), in order of partition and offset.

    Reads with no consumer group, from the beginning: nothing is committed.
    """
    letters: list[dict[str, Any]] = []
    with transient_faults(f"reading {settings.dlq_topic}"), _consumer(settings, None) as consumer:
        for batch in _read_to_end(consumer, settings.dlq_topic, from_beginning=True):
            letters.extend(_describe(record) for record in batch)
            if limit is not None and len(letters) >= limit:
                break
    return letters if limit is None else letters[:limit]


def replay_dead_letters(
    settings: Settings, on_skipped: Callable[[dict[str, Any]], None] | None = None
) -> int:
    """Send the dead letters not replayed yet back to the topic; returns how many were sent.

    Each goes with its original key, value and headers (the inventory_sync.* ones removed).
    A truncated letter is skipped, never sent in place of its original: on_skipped gets it
    (as read_dead_letters describes it).
    """
    sent = 0
    group_id = f"{settings.group_id}.dlq-replay"
    with (
        transient_faults(f"replaying {settings.dlq_topic} to {settings.topic}"),
        _consumer(settings, group_id) as consumer,
    ):
        producer = acknowledged_producer(settings, None)
        try:
            for batch in _read_to_end(consumer, settings.dlq_topic, from_beginning=False):
                whole = []
                for record in batch:
                    if _is_truncated(record):
                        if on_skipped is not None:
                            on_skipped(_describe(record))
                    else:
                        whole.append(record)
                futures = [
                    producer.send(
                        settings.topic,
                        key=record.key,
                        value=record.value,
                        headers=_original_headers(record.headers),
                    )
                    for record in whole
                ]
                producer.flush()
                for future in futures:
                    future.get(timeout=0)
                last = batch[-1]
                done = OffsetAndMetadata(last.offset + 1, "", -1)
                consumer.commit({TopicPartition(last.topic, last.partition): done})
                sent += len(whole)
        finally:
            producer.close()
    return sent


def _read_to_end(consumer: Any, topic: str, *, from_beginning: bool) -> Iterator[list[Any]]:
    """Each partition in turn, from its start (or the group's committed offset) to the end
    offset it had when reading began; yields non-empty lists of one partition's records."""
    partitions = sorted(consumer.partitions_for_topic(topic) or ())
    tps = [TopicPartition(topic, partition) for partition in partitions]
    ends = consumer.end_offsets(tps) if tps else {}
    for tp in tps:
        consumer.assign([tp])
        if from_beginning:
            consumer.seek_to_beginning(tp)
        end = ends[tp]
        deadline = time.monotonic() + TIMEOUT_MS / 1000
        while _position(consumer, tp) < end:
            fetched = consumer.poll(timeout_ms=500).get(tp, [])
            records = [record for record in fetched if record.offset < end]
            if records:
                deadline = time.monotonic() + TIMEOUT_MS / 1000
                yield records
            elif time.monotonic() > deadline:
                raise KafkaTimeoutError(f"reading {tp.topic}[{tp.partition}] stalled before {end}")


def _position(consumer: Any, tp: TopicPartition) -> int:
    position = consumer.position(tp, timeout_ms=TIMEOUT_MS)
    if position is None:
        raise KafkaTimeoutError(f"no position for {tp.topic}[{tp.partition}]")
    return int(position)


def _original_headers(headers: list[tuple[str, bytes | None]]) -> list[tuple[str, bytes]]:
    return [(k, b"" if v is None else v) for k, v in headers if not k.startswith(HEADER_PREFIX)]


def _is_truncated(record: Any) -> bool:
    return any(name == TRUNCATED for name, _ in record.headers)


def _describe(record: Any) -> dict[str, Any]:
    """A dead letter as `dlq show --json` gives it. One cut to fit the dead-letter topic also
    has `truncated` (what was cut: "value", "headers", "key"), and, when its value was cut,
    `original_value_size` and `original_value_sha256`."""
    headers = dict(record.headers)
    described: dict[str, Any] = {
        "reason": _text(headers.get(REASON)),
        "error": _text(headers.get(ERROR)),
        "original_topic": _text(headers.get(ORIGINAL_TOPIC)),
        "original_partition": _number(headers.get(ORIGINAL_PARTITION)),
        "original_offset": _number(headers.get(ORIGINAL_OFFSET)),
        "key": _text(record.key),
        "value": _text(record.value),
    }
    truncated = _text(headers.get(TRUNCATED))
    if truncated is not None:
        described["truncated"] = [part for part in truncated.split(",") if part]
        if ORIGINAL_VALUE_SIZE in headers:
            described["original_value_size"] = _number(headers.get(ORIGINAL_VALUE_SIZE))
            described["original_value_sha256"] = _text(headers.get(ORIGINAL_VALUE_SHA256))
    return described


def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode("utf-8", errors="replace")


def _number(value: bytes | None) -> int | None:
    try:
        return None if value is None else int(value)
    except ValueError:
        return None


@contextmanager
def _consumer(settings: Settings, group_id: str | None) -> Iterator[Any]:
    """A consumer that reads by assignment; with `group_id` None it has no group at all."""
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
