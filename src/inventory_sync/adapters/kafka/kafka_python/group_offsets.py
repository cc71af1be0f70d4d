"""The consumer group's committed offset, the end offset and the lag of each partition of the
topic, as the broker has them: what the status page shows, whichever process runs the worker.

It reads by assignment and never joins the group, so reading moves no partition.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from kafka import KafkaConsumer
from kafka.structs import TopicPartition

from inventory_sync.adapters.kafka.kafka_python.config import client_config
from inventory_sync.adapters.kafka.kafka_python.faults import transient_faults
from inventory_sync.settings import Settings

TIMEOUT_MS = 5_000


@dataclass(frozen=True, slots=True)
class PartitionOffsets:
    partition: int
    committed: int | None
    """None when the group has committed nothing in it yet."""
    start: int
    end: int

    @property
    def lag(self) -> int:
        """Records after the committed offset (after the first one kept, with no commit)."""
        done = self.committed if self.committed is not None else self.start
        return max(self.end - max(done, self.start), 0)


class GroupOffsets:
    """Reads the offsets with one consumer kept between reads (made on first use, made again
    after a failure); safe to call from several threads."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._consumer: Any = None
        self._lock = threading.Lock()

    def read(self) -> list[PartitionOffsets]:
        """Raises TransientError when the broker cannot be reached."""
        topic = self.settings.topic
        with self._lock:
            try:
                with transient_faults(f"reading the offsets of group {self.settings.group_id}"):
                    consumer = self._connected()
                    tps = [
                        TopicPartition(topic, p)
                        for p in sorted(consumer.partitions_for_topic(topic) or ())
                    ]
                    if not tps:
                        return []
                    starts, ends = consumer.beginning_offsets(tps), consumer.end_offsets(tps)
                    return [
                        PartitionOffsets(
                            tp.partition,
                            _offset(consumer.committed(tp, timeout_ms=TIMEOUT_MS)),
                            starts[tp],
                            ends[tp],
                        )
                        for tp in tps
                    ]
            except Exception:
                self._drop()
                raise

    def close(self) -> None:
        with self._lock:
            self._drop()

    def _connected(self) -> Any:
        if self._consumer is None:
            self._consumer = KafkaConsumer(
                **client_config(self.settings),
                group_id=self.settings.group_id,
                enable_auto_commit=False,
                bootstrap_timeout_ms=TIMEOUT_MS,
                request_timeout_ms=TIMEOUT_MS,
            )
        return self._consumer

    def _drop(self) -> None:
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            try:
                consumer.close(autocommit=False)
            except Exception:  # being dropped after a failure: nothing left to do with it
                return


def _offset(committed: Any) -> int | None:
    """committed() gives an int (or OffsetAndMetadata with metadata=True), None when none."""
    if committed is None:
        return None
    offset = committed if isinstance(committed, int) else committed.offset
    return None if offset < 0 else int(offset)
