"""The calls the confluent source makes on its librdkafka Consumer: fetch without waiting for
a full batch, rewind what a paused partition returned, the lag, the offsets to commit, and
a close that never raises."""

from __future__ import annotations

import logging
from typing import Any

from confluent_kafka import Consumer, KafkaException, Message, TopicPartition

log = logging.getLogger("inventory_sync.kafka")


def close_quietly(consumer: Consumer) -> None:
    try:
        consumer.close()
    except (KafkaException, RuntimeError) as exc:
        log.debug("closing a dropped consumer: %s", exc)


def fetch(consumer: Consumer, max_records: int, timeout_s: float) -> list[Message]:
    """What is queued, at once; else the first message to arrive and what came with it.

    consume() alone waits for a full batch or the whole timeout, so a trickle would wait a
    second per record. A burst still gives full batches: while the run loop writes, the
    prefetch queue fills up.
    """
    messages = consumer.consume(num_messages=max_records, timeout=0)
    if messages:
        return messages
    first = consumer.poll(timeout_s)
    if first is None:
        return []
    return [first, *consumer.consume(num_messages=max_records - 1, timeout=0)]


def partitions_at(offsets: dict[tuple[str, int], int]) -> list[TopicPartition]:
    """{(topic, partition): offset} as the TopicPartitions commit() takes."""
    return [TopicPartition(topic, part, offset) for (topic, part), offset in offsets.items()]


def rewind(consumer: Consumer, messages: list[Message]) -> None:
    """Messages of a paused partition came back anyway: seek back to the first of each
    partition, so none is lost."""
    first: dict[tuple[Any, Any], Any] = {}  # (topic, partition) -> offset
    for message in messages:
        if message.error() is None:
            first.setdefault((message.topic(), message.partition()), message.offset())
    for (topic, partition), offset in first.items():
        consumer.seek(TopicPartition(topic, partition, offset))


def lags(consumer: Consumer) -> dict[int, int]:
    """End offset minus position per assigned partition, from the cached watermarks."""
    found = {}
    for tp in consumer.position(consumer.assignment()):
        if tp.offset < 0:  # nothing consumed from it yet
            continue
        _, high = consumer.get_watermark_offsets(tp, cached=True)
        if high >= 0:
            found[tp.partition] = max(high - tp.offset, 0)
    return found
