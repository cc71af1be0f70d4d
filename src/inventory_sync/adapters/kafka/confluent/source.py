"""ConfluentRecordSource: the RecordSource port over a confluent-kafka (librdkafka) consumer.

The fast alternative to source.py, with the same promises: offsets are committed only when
the run loop says so, pause() keeps the member in its group, and nothing is ever skipped.

Across a broker restart librdkafka can lose its group coordinator for good: its session times
out, it gives up its partitions and never joins again, while the broker answers. A member
out of the group for STALL_TIMEOUT_S like that is replaced (StallWatch): the new consumer
joins and resumes from the committed offsets.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from inventory_sync.adapters.kafka.confluent.config import (
    client_logging,
    confluent_config,
    log_client_error,
)
from inventory_sync.adapters.kafka.confluent.consumer import (
    close_quietly,
    fetch,
    lags,
    partitions_at,
    rewind,
)
from inventory_sync.adapters.kafka.confluent.faults import check_commit, describe, refusal_of
from inventory_sync.adapters.kafka.member import GroupMember, owned_by
from inventory_sync.adapters.kafka.offsets import describe_partitions
from inventory_sync.adapters.kafka.records import records_of_confluent as to_records
from inventory_sync.domain.errors import PermanentFault
from inventory_sync.domain.model import Record
from inventory_sync.settings import Settings

log = logging.getLogger("inventory_sync.kafka")

# "range,roundrobin" (eager; librdkafka's default) is what kafka-python's consumer offers, so
# members of either client can share one group: a fleet can switch clients one worker at a
# time. Fetching: measured on 200k small JSON values over 6 partitions, librdkafka's defaults
# already keep consume() fed from its prefetch queue (the Python side is the bottleneck), so
# the prefetch queue is capped at 4 MiB (default 64 MiB): 22 MB less peak memory than 16 MiB
# with the writer thread's gathered batches, and no slower (100k events into PostgreSQL).
CONSUMER_TUNING: dict[str, Any] = {
    "partition.assignment.strategy": "range,roundrobin",
    "max.partition.fetch.bytes": 1024 * 1024,
    "queued.max.messages.kbytes": 4 * 1024,
}


STALL_TIMEOUT_S = 20.0
"""How long the member may stay out of the group (no member id) while a broker answers; a
join takes seconds, and the member id is set early in it, even while the group waits."""
CLOSE_TIMEOUT_S = 10.0
"""How long a dropped consumer's close is waited for (a wedged one may never finish)."""


class ConfluentRecordSource(GroupMember):
    """A member of the group `group_id` on `topic`, over librdkafka; made on first poll."""

    stall_timeout_s = STALL_TIMEOUT_S

    def _init_client(self) -> None:
        self._cooperative = "cooperative" in str(self._config["partition.assignment.strategy"])
        self._consumer: Consumer | None = None
        self._fatal: KafkaError | None = None
        self._brokers_down = False
        self._refused: tuple[PermanentFault, KafkaError] | None = None
        self._was_member = False

    def _group_config(self, settings: Settings) -> dict[str, Any]:
        return {
            **confluent_config(settings),
            **client_logging(),
            "error_cb": self._on_client_error,
            "on_commit": self._on_committed,
            "group.id": self.group_id,
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "auto.offset.reset": "earliest",
            **CONSUMER_TUNING,
        }

    def poll(self, max_records: int, timeout_s: float) -> list[Record]:
        consumer = self._connected()
        if consumer is None:
            return []
        try:
            messages = fetch(consumer, max(max_records, 1), timeout_s)
        except KafkaException as exc:
            self._consumer_failed(exc.args[0])
            return []
        if self._refused is not None:
            refused, error = self._refused
            raise refused from KafkaException(error)
        if self._fatal is not None:
            self._consumer_failed(self._fatal)
            return []
        self._reach.observe(trouble=self._brokers_down and not messages)
        self._brokers_down = False
        if not messages:
            self._watch_membership(consumer)
            if self._pending.due and self._consumer is not None:
                self._recommit(consumer)
            return []
        self._watch.check(None)
        if self._paused:
            rewind(consumer, messages)
            return []
        records = to_records(messages, self._message_error)
        return records if self._consumer is not None else []  # [] if it failed meanwhile

    def commit(self, records: Sequence[Record]) -> None:
        """Commit, per partition, the highest offset + 1; asynchronously (close() makes the
        last one durable)."""
        if not records or self._consumer is None:
            return
        offsets = partitions_at(self._pending.release(records, owned_by(self._consumer)))
        if not offsets:
            return
        try:
            self._consumer.commit(offsets=offsets, asynchronous=True)
        except KafkaException as exc:
            check_commit(exc.args[0], offsets)

    def _on_committed(self, error: KafkaError | None, offsets: list[TopicPartition]) -> None:
        """A failed asynchronous commit is sent again with the next idle poll (a later commit
        of the same partitions supersedes it anyway)."""
        if error is not None and error.code() != KafkaError._NO_OFFSET:
            log.warning("commit of %s failed; it is sent again: %s", describe(offsets), error.str())
            self._pending.due = True

    def _recommit(self, consumer: Consumer) -> None:
        self._pending.due = False
        offsets = partitions_at(self._pending.owned(owned_by(consumer)))
        if offsets:
            try:
                consumer.commit(offsets=offsets, asynchronous=True)
            except KafkaException as exc:
                self._pending.due = True
                log.warning("commit of %s failed; it is sent again: %s", describe(offsets), exc)

    def _commit_last(self, consumer: Consumer) -> None:
        """Commit what the asynchronous commits may not have made durable, synchronously."""
        offsets = partitions_at(self._pending.take_all(owned_by(consumer)))
        if not offsets:
            return
        try:
            committed = consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as exc:
            log.warning("last commit of %s failed: %s", describe(offsets), exc)
            return
        for tp in committed or ():
            if tp.error is not None:
                log.warning("last commit of %s failed: %s", describe([tp]), tp.error.str())

    def pause(self) -> None:
        self._paused = True
        if self._consumer is not None:
            self._consumer.pause(self._consumer.assignment())

    def resume(self) -> None:
        self._paused = False
        if self._consumer is not None:
            self._consumer.resume(self._consumer.assignment())

    def _lags(self, consumer: Consumer) -> dict[int, int]:
        return lags(consumer)

    def _close_client(self, consumer: Consumer) -> None:
        consumer.close()

    def _connected(self) -> Consumer | None:
        """The consumer, created and subscribed on first use (librdkafka connects by itself)."""
        if self._consumer is None and not self._closed:
            consumer = Consumer(self._config)
            consumer.subscribe(
                [self.topic],
                on_assign=self._on_assign,
                on_revoke=self._on_revoke,
                on_lost=self._on_lost,
            )
            self._consumer = consumer
        return self._consumer

    def _message_error(self, error: KafkaError) -> None:
        if error.code() != KafkaError._PARTITION_EOF:
            self._consumer_failed(error)

    def _consumer_failed(self, error: KafkaError) -> None:
        """A fatal error ends this consumer: drop it, and the next poll makes a new one, which
        rejoins the group and resumes from the committed offsets (nothing is skipped)."""
        if not error.fatal():
            log.warning("polling %s failed, will poll again: %s", self.topic, error.str())
            return
        log.error("the consumer of %s failed, starting a new one: %s", self.topic, error.str())
        self._fatal = None
        self._drop_consumer()

    def _watch_membership(self, consumer: Consumer) -> None:
        """Replace the consumer when StallWatch says it stays out of the group, once this
        source has had an assignment (librdkafka joins only once the topic exists)."""
        try:
            member = consumer.memberid()
        except RuntimeError:  # closed meanwhile
            return
        out = self._was_member and not member
        if self._watch.check("it left the group and has not joined again" if out else None):
            self._drop_consumer()

    def _drop_consumer(self) -> None:
        """Drop the consumer; the next poll makes a new one. Its close runs in a thread of its
        own, waited for CLOSE_TIMEOUT_S at most; the callbacks it runs there are ignored
        (they check that their consumer is still this source's)."""
        consumer, self._consumer = self._consumer, None
        if consumer is None:
            return
        closing = threading.Thread(target=close_quietly, args=(consumer,), daemon=True)
        closing.start()
        closing.join(CLOSE_TIMEOUT_S)
        if closing.is_alive():
            log.warning("the old consumer of %s is still closing; leaving it", self.topic)

    def _on_client_error(self, error: KafkaError) -> None:
        if error.fatal():
            self._fatal = error
        if error.code() == KafkaError._ALL_BROKERS_DOWN:  # Reachability says it, once
            self._brokers_down = True
        refused = refusal_of(error, self._settings)
        if refused is not None:
            self._refused = (refused, error)
        log_client_error(error)

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Assign (at the stored offsets, with offset_storage = database), then pause or
        resume what came: librdkafka pauses only assigned partitions,
        and keeps a partition paused that was revoked while paused, even once reassigned."""
        if consumer is not self._consumer:
            return
        self._was_member = True
        log.info("assigned %s", describe_partitions(partitions))
        if not partitions:
            return
        stored = self._positions_to_seek(partitions)
        for tp in partitions:
            tp.offset = stored.get((tp.topic, tp.partition), tp.offset)
        if self._cooperative:
            consumer.incremental_assign(partitions)
        else:
            consumer.assign(partitions)
        if self._paused:
            consumer.pause(partitions)
        else:
            consumer.resume(partitions)

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        if consumer is self._consumer:
            self._revoked(partitions)

    def _on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        if consumer is self._consumer:
            self._lost(partitions)
