"""KafkaRecordSource: the RecordSource port over a kafka-python consumer group.

Offsets are committed only when the run loop says so (after the database commit and the
dead letters' acknowledgement), so a crash replays the uncommitted records, never skips them.

After a broker restart the consumer reconnects, re-joins and resumes by itself (within seconds,
given RECOVERY_TUNING). Should it stay stuck anyway while the broker answers, the source
replaces it (StallWatch): the new one re-joins and resumes from the committed offsets.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from kafka import ConsumerRebalanceListener, KafkaConsumer
from kafka.errors import CommitFailedError, KafkaError, RebalanceInProgressError
from kafka.structs import OffsetAndMetadata, TopicPartition

from inventory_sync.adapters.kafka.kafka_python.consumer_tuning import consumer_config
from inventory_sync.adapters.kafka.kafka_python.faults import (
    Complaints,
    is_transient,
    refusal_behind,
    transient_faults,
)
from inventory_sync.adapters.kafka.kafka_python.group_join_fix import (
    apply_finished_joins,
    why_stuck,
)
from inventory_sync.adapters.kafka.kafka_python.header_keys import (
    tolerate_undecodable_header_keys,
)
from inventory_sync.adapters.kafka.member import GroupMember, owned_by
from inventory_sync.adapters.kafka.offsets import (
    describe_offsets,
    describe_partitions,
    log_refused_commit,
)
from inventory_sync.adapters.kafka.records import records_of_kafka_python as to_records
from inventory_sync.domain.errors import TransientError
from inventory_sync.domain.model import Record
from inventory_sync.settings import Settings

log = logging.getLogger("inventory_sync.kafka")

COMMIT_TIMEOUT_MS = 10_000
CLOSE_TIMEOUT_MS = 5_000
STALL_TIMEOUT_S = 30.0
"""How long a consumer may stay stuck (compat.why_stuck) while the broker answers before it is
replaced; it recovers from a broker restart in a few seconds when all is well."""


class KafkaRecordSource(GroupMember):
    """A member of the group `group_id` on `topic`, over kafka-python; made on first poll."""

    stall_timeout_s = STALL_TIMEOUT_S

    def _init_client(self) -> None:
        self._consumer: Any = None
        self._lock = threading.Lock()  # pause state vs the rebalance listener (IO thread)
        self._commit_in_flight = False
        self._poll_failures = Complaints(f"polling {self.topic}")
        self._commit_failures = Complaints(f"committing offsets of {self.topic}")

    def _group_config(self, settings: Settings) -> dict[str, Any]:
        return consumer_config(settings, self.group_id)

    def poll(self, max_records: int, timeout_s: float) -> list[Record]:
        consumer = self._connected()
        if consumer is None:
            return []
        self._send_commit()
        try:
            fetched = consumer.poll(timeout_ms=int(timeout_s * 1000), max_records=max_records)
        except KafkaError as exc:
            if not is_transient(exc):
                raise
            self._poll_failures.failed("polling %s failed, will poll again: %s", self.topic, exc)
            self._reach.observe(trouble=True)
            self._watch_progress(str(exc))
            return []
        self._poll_failures.succeeded()
        if not fetched:
            stuck = why_stuck(consumer)
            self._reach.observe(trouble=stuck is not None)
            self._watch_progress(stuck)
            return []
        self._reach.observe(trouble=False)
        self._watch.check(None)
        if self._paused:
            self._hold(fetched)
            return []
        return to_records(fetched.values())

    def commit(self, records: Sequence[Record]) -> None:
        """Commit, per partition, the highest offset + 1; asynchronously (close() makes the
        last one durable)."""
        if not records or self._consumer is None:
            return
        if self._pending.release(records, owned_by(self._consumer)):
            self._pending.due = True
            self._send_commit()

    def _send_commit(self) -> None:
        """Send the newest offsets, one asynchronous commit at a time: a commit that is due
        while another is in flight goes with the next poll, so newer offsets supersede it."""
        if self._commit_in_flight or not self._pending.due or self._consumer is None:
            return
        offsets = _partitions(self._pending.owned(owned_by(self._consumer)))
        self._pending.due = False
        if not offsets:
            return
        self._commit_in_flight = True
        try:
            with transient_faults(f"committing {describe_offsets(offsets)}"):
                self._consumer.commit_async(offsets, callback=self._on_committed)
        except (CommitFailedError, RebalanceInProgressError) as exc:
            self._commit_in_flight = False
            log_refused_commit(offsets, exc)
        except TransientError as exc:
            self._commit_in_flight, self._pending.due = False, True
            log.warning("%s; it is sent again with the next poll", exc)

    def _on_committed(self, offsets: Mapping[Any, Any], result: Any) -> None:
        self._commit_in_flight = False
        if isinstance(result, Exception):
            self._commit_failures.failed(
                "commit of %s failed; it is sent again: %s", describe_offsets(offsets), result
            )
            self._pending.due = True
        else:
            self._commit_failures.succeeded()

    def _commit_last(self, consumer: Any) -> None:
        """Commit what the asynchronous commits may not have made durable, synchronously."""
        offsets = _partitions(self._pending.take_all(owned_by(consumer)))
        if not offsets:
            return
        try:
            consumer.commit(offsets, timeout_ms=COMMIT_TIMEOUT_MS)
        except (CommitFailedError, RebalanceInProgressError) as exc:
            log_refused_commit(offsets, exc)
        except KafkaError as exc:
            log.warning("last commit of %s failed: %s", describe_offsets(offsets), exc)

    def pause(self) -> None:
        with self._lock:
            self._paused = True
            if self._consumer is not None:
                self._consumer.pause(*self._consumer.assignment())

    def resume(self) -> None:
        with self._lock:
            self._paused = False
            if self._consumer is not None:
                self._consumer.resume(*self._consumer.paused())

    def _lags(self, consumer: Any) -> dict[int, int]:
        lags = {}
        for tp in consumer.assignment():
            end = consumer.highwater(tp)
            position = consumer.position(tp, timeout_ms=0)
            if end is not None and position is not None:
                lags[tp.partition] = max(end - position, 0)
        return lags

    def _close_client(self, consumer: Any) -> None:
        consumer.close(autocommit=False, timeout_ms=CLOSE_TIMEOUT_MS)

    def _watch_progress(self, stuck: str | None) -> None:
        """Replace the consumer when StallWatch says it stays stuck: the next poll creates a
        new one, which re-joins and resumes from the committed offsets."""
        if not self._watch.check(stuck):
            return
        consumer, self._consumer = self._consumer, None
        self._commit_in_flight = False
        self._pending.due = bool(self._pending)
        try:
            consumer.close(autocommit=False, timeout_ms=CLOSE_TIMEOUT_MS)
        except Exception as exc:  # it is stuck: it is dropped whatever happens
            log.debug("closing the stuck consumer: %s", exc)

    def _connected(self) -> Any:
        """The consumer, created and subscribed on first use; None while the broker is away."""
        if self._consumer is not None or self._closed:
            return self._consumer
        tolerate_undecodable_header_keys()
        try:
            consumer = KafkaConsumer(**self._config)
        except KafkaError as exc:
            refused = refusal_behind(exc, self._settings)
            if refused is not None:
                raise refused from exc
            if not is_transient(exc):
                raise
            log.warning(
                "Kafka is not reachable at %s yet: %s", self._config["bootstrap_servers"], exc
            )
            return None
        apply_finished_joins(consumer)
        consumer.subscribe([self.topic], listener=_RebalanceListener(self))
        # Fetch the topic's metadata once subscribed, before the first join. Joining without
        # it means a second rebalance as soon as it arrives, and kafka-python 3.0 can lose the
        # end of a rebalance that a metadata change started when poll() times out during it:
        # the member then keeps stale partitions and drops out of the group.
        if self.topic not in consumer.topics():
            log.warning("topic %s does not exist (yet); waiting for it", self.topic)
        self._consumer = consumer
        return consumer

    def _hold(self, fetched: Mapping[Any, list[Any]]) -> None:
        """Records of a paused partition came back anyway: rewind so none is lost."""
        for tp, records in fetched.items():
            if records:
                self._consumer.seek(tp, records[0].offset)

    def _on_assigned(self, assigned: Iterable[Any]) -> None:
        assigned = list(assigned)
        log.info("assigned %s", describe_partitions(assigned))
        consumer = self._consumer
        if consumer is not None:
            for (topic, partition), offset in self._positions_to_seek(assigned).items():
                consumer.seek(TopicPartition(topic, partition), offset)
        with self._lock:
            if self._paused and assigned and self._consumer is not None:
                self._consumer.pause(*assigned)


class _RebalanceListener(ConsumerRebalanceListener):  # type: ignore[misc]
    """Logs assignments, seeks them to the stored offsets (offset_storage = database) and keeps
    newly assigned partitions paused while the source is paused.

    kafka-python calls it on its IO thread.
    """

    def __init__(self, source: KafkaRecordSource) -> None:
        self.source = source

    def on_partitions_revoked(self, revoked: Any) -> None:
        self.source._revoked(revoked)

    def on_partitions_assigned(self, assigned: Any) -> None:
        self.source._on_assigned(assigned)

    def on_partitions_lost(self, lost: Any) -> None:
        self.source._lost(lost)


def _partitions(offsets: Mapping[tuple[str, int], int]) -> dict[Any, Any]:
    return {
        TopicPartition(topic, partition): OffsetAndMetadata(offset, "", -1)
        for (topic, partition), offset in offsets.items()
    }
