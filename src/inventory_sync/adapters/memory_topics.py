"""In-memory fakes of the messaging ports: a record source that holds one partition of a
topic with a committed offset like a consumer group's, and a dead-letter sink.

Like memory.py's, they keep the real adapters' promises (the contract suites check) and carry
a few knobs for tests to inject faults.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime

from inventory_sync.domain.errors import TransientError
from inventory_sync.domain.model import Record
from inventory_sync.domain.ports import DeadLetter, StoredPositions


class InMemoryDeadLetterSink:
    """Letters become visible in `letters` when their delivery is waited for, as acknowledged."""

    def __init__(self) -> None:
        self.letters: list[DeadLetter] = []
        self.transient_failures = 0
        """How many of the next deliveries fail as if the broker were away."""
        self.closed = False

    def send(self, letters: Sequence[DeadLetter]) -> InMemoryDelivery:
        return InMemoryDelivery(self, list(letters))

    def close(self) -> None:
        self.closed = True


class InMemoryDelivery:
    def __init__(self, sink: InMemoryDeadLetterSink, letters: list[DeadLetter]) -> None:
        self.sink = sink
        self.letters = letters

    def wait(self) -> None:
        if not self.letters:
            return
        if self.sink.transient_failures > 0:
            self.sink.transient_failures -= 1
            raise TransientError("dead-letter topic unavailable (injected)")
        self.sink.letters.extend(self.letters)
        self.letters = []


class InMemoryRecordSource:
    """One partition of a topic in memory, with a committed offset like a consumer group's.

    The partition is this member's until revoke() gives it away (as a rebalance would) and
    assign() brings it back: meanwhile poll hands out nothing of it and commit skips it.
    """

    def __init__(
        self,
        topic: str = "product_inventory_updates",
        partition: int = 0,
        stored_positions: StoredPositions | None = None,
    ) -> None:
        self.topic = topic
        self.partition = partition
        self.stored_positions = stored_positions
        """offset_storage = database: where assign() seeks, before the committed offset."""
        self.records: list[Record] = []
        self.position = 0
        self.committed = 0
        self.assigned = {partition}
        self.paused = False
        self.closed = False

    def append(
        self,
        value: bytes | None,
        *,
        key: bytes | None = None,
        headers: tuple[tuple[str, bytes], ...] = (),
        timestamp: datetime | None = None,
    ) -> Record:
        record = Record(
            key=key,
            value=value,
            topic=self.topic,
            partition=self.partition,
            offset=len(self.records),
            timestamp=timestamp or datetime.now(UTC),
            headers=headers,
        )
        self.records.append(record)
        return record

    def poll(self, max_records: int, timeout_s: float) -> list[Record]:
        flowing = not self.paused and self.partition in self.assigned
        batch = self.records[self.position : self.position + max_records] if flowing else []
        self.position += len(batch)
        if not batch and timeout_s > 0:
            time.sleep(timeout_s)
        return batch

    def commit(self, records: Sequence[Record]) -> None:
        """Per partition, the highest offset + 1, for the partitions this member owns only."""
        owned = [
            record.offset
            for record in records
            if record.topic == self.topic and record.partition in self.assigned
        ]
        if owned:
            self.committed = max(self.committed, max(owned) + 1)

    def revoke(self) -> None:
        """The partition moves to another member of the group."""
        self.assigned.discard(self.partition)

    def assign(self) -> None:
        """The partition comes back, at the offset stored with the writes if there is one,
        else at the group's committed offset."""
        self.assigned.add(self.partition)
        where = (self.topic, self.partition)
        stored = self.stored_positions([where]) if self.stored_positions is not None else {}
        self.position = stored.get(where, self.committed)

    def rewind(self, offset: int) -> None:
        """Hand out the records from `offset` again, as a consumer whose commit was lost does."""
        self.position = offset

    def pause(self) -> None:
        self.paused = True

    def resume(self) -> None:
        self.paused = False

    def lag(self) -> dict[int, int]:
        if self.partition not in self.assigned:
            return {}
        return {self.partition: len(self.records) - self.position}

    def close(self) -> None:
        self.closed = True
