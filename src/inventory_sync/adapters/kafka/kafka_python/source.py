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

from inventory_sync.adapters.kafka import Overrides
from inventory_sync.adapters.kafka.kafka_python.config import client_config
from inventory_sync.adapters.kafka.kafka_python.faults import (
    Complaints,
    StallWatch,
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
from inventory_sync.adapters.kafka.offsets import (
    describe_offsets,
    describe_partitions,
    log_refused_commit,
    next_offsets,
    warn_not_owned,
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

# kafka-python 3.0 backs off reconnecting up to reconnect_backoff_max_ms (30 s by default),
# and its metadata refresh loop sleeps that backoff out even when a refresh is requested. A
# restarted broker has new leader epochs: positions await validation, so fetching waits, until
# the metadata is refreshed (measured: 20 to 45 s without a fetch once the broker was back).
# With 1 s, the Java client's default, it resumes within about 2 s.
RECOVERY_TUNING: dict[str, Any] = {"reconnect_backoff_max_ms": 1_000}

# Measured with benchmarks/throughput.py (200k events, 6 partitions): 1 MiB per partition and
# 8 MiB per fetch keep the run loop fed (it is slower than the fetches) and its peak memory
# near 110 MB; 4 MiB per partition was no faster and peaked over 150 MB.
FETCH_TUNING: dict[str, Any] = {
    "fetch_min_bytes": 1,
    "fetch_max_wait_ms": 500,
    "max_partition_fetch_bytes": 1024 * 1024,
    "fetch_max_bytes": 8 * 1024 * 1024,
}


class KafkaRecordSource:
    """A member of the group `group_id` on `topic`, over kafka-python; made on first poll."""

    def __init__(
        self,
        settings: Settings,
        *,
        topic: str | None = None,
        group_id: str | None = None,
        overrides: Overrides = None,
        stall_timeout_s: float = STALL_TIMEOUT_S,
    ) -> None:
        self.topic = topic or settings.topic
        self.group_id = group_id or settings.group_id
        self._settings = settings
        self._config: dict[str, Any] = {
            **client_config(settings),
            "group_id": self.group_id,
            "enable_auto_commit": False,
            "auto_offset_reset": "earliest",
            "max_poll_records": settings.batch_size,
            "bootstrap_timeout_ms": 10_000,
            **FETCH_TUNING,
            **RECOVERY_TUNING,
            **(overrides or {}),
        }
        self._consumer: Any = None
        self._paused = False
        self._closed = False
        self._lock = threading.Lock()  # pause state vs the rebalance listener (IO thread)
        self._uncommitted: dict[Any, Any] = {}
        """Offsets sent asynchronously, per partition: close() commits them synchronously."""
        self._commit_due = False
        self._commit_in_flight = False
        self._watch = StallWatch(
            f"the consumer of {self.topic}", self._config["bootstrap_servers"], stall_timeout_s
        )
        self._poll_failures = Complaints(f"polling {self.topic}")
        self._commit_failures = Complaints(f"committing offsets of {self.topic}")

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
            self._watch_progress(str(exc))
            return []
        self._poll_failures.succeeded()
        if not fetched:
            self._watch_progress(why_stuck(consumer))
            return []
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
        owned = self._consumer.assignment()
        offsets = {}
        for (topic, partition), offset in next_offsets(records).items():
            tp = TopicPartition(topic, partition)
            if tp in owned:
                offsets[tp] = OffsetAndMetadata(offset, "", -1)
            else:
                warn_not_owned(topic, partition, offset)
        if offsets:
            self._uncommitted.update(offsets)
            self._commit_due = True
            self._send_commit()

    def _send_commit(self) -> None:
        """Send the newest offsets, one asynchronous commit at a time: a commit that is due
        while another is in flight goes with the next poll, so newer offsets supersede it."""
        if self._commit_in_flight or not self._commit_due or self._consumer is None:
            return
        owned = self._consumer.assignment()
        offsets = {tp: meta for tp, meta in self._uncommitted.items() if tp in owned}
        self._commit_due = False
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
            self._commit_in_flight, self._commit_due = False, True
            log.warning("%s; it is sent again with the next poll", exc)

    def _on_committed(self, offsets: Mapping[Any, Any], result: Any) -> None:
        self._commit_in_flight = False
        if isinstance(result, Exception):
            self._commit_failures.failed(
                "commit of %s failed; it is sent again: %s", describe_offsets(offsets), result
            )
            self._commit_due = True
        else:
            self._commit_failures.succeeded()

    def _commit_last(self, consumer: Any) -> None:
        """Commit what the asynchronous commits may not have made durable, synchronously."""
        owned = consumer.assignment()
        offsets = {tp: meta for tp, meta in self._uncommitted.items() if tp in owned}
        self._uncommitted.clear()
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

    def lag(self) -> dict[int, int]:
        """End offset minus position per assigned partition, from what the client already knows."""
        if self._consumer is None:
            return {}
        try:
            lags = {}
            for tp in self._consumer.assignment():
                end = self._consumer.highwater(tp)
                position = self._consumer.position(tp, timeout_ms=0)
                if end is not None and position is not None:
                    lags[tp.partition] = max(end - position, 0)
        except Exception as exc:  # best effort: lag is for progress lines and metrics only
            log.debug("lag unknown: %s", exc)
            return {}
        return lags

    def close(self) -> None:
        """Leave the group cleanly, so the partitions move to the other members at once."""
        self._closed = True
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            self._commit_last(consumer)
            consumer.close(autocommit=False, timeout_ms=CLOSE_TIMEOUT_MS)

    def _watch_progress(self, stuck: str | None) -> None:
        """Replace the consumer when StallWatch says it stays stuck: the next poll creates a
        new one, which re-joins and resumes from the committed offsets."""
        if not self._watch.check(stuck):
            return
        consumer, self._consumer = self._consumer, None
        self._commit_in_flight = False
        self._commit_due = bool(self._uncommitted)
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

    def _forget(self, partitions: Iterable[Any]) -> None:
        """Partitions that moved away: their next owner commits them, never close()."""
        for tp in partitions:
            self._uncommitted.pop(tp, None)

    def _on_assigned(self, assigned: Iterable[Any]) -> None:
        assigned = list(assigned)
        log.info("assigned %s", describe_partitions(assigned))
        with self._lock:
            if self._paused and assigned and self._consumer is not None:
                self._consumer.pause(*assigned)


class _RebalanceListener(ConsumerRebalanceListener):  # type: ignore[misc]
    """Logs assignments and keeps newly assigned partitions paused while the source is paused.

    kafka-python calls it on its IO thread.
    """

    def __init__(self, source: KafkaRecordSource) -> None:
        self.source = source

    def on_partitions_revoked(self, revoked: Any) -> None:
        log.info("revoked %s", describe_partitions(revoked))
        self.source._forget(revoked)

    def on_partitions_assigned(self, assigned: Any) -> None:
        self.source._on_assigned(assigned)

    def on_partitions_lost(self, lost: Any) -> None:
        log.warning("lost %s (evicted from the group)", describe_partitions(lost))
        self.source._forget(lost)
