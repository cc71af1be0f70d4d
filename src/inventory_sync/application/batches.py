"""The run loop's batches, in the order a batch goes through them: gathered by the loop,
being written by the writer thread, written but not yet settled (its dead letters
acknowledged and its offsets committed)."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

from inventory_sync.domain.model import Record
from inventory_sync.domain.outcomes import BatchReport
from inventory_sync.domain.ports import Delivery
from inventory_sync.domain.rejections import Rejection
from inventory_sync.domain.rules import InventoryUpdate
from inventory_sync.domain.services import Decoded


@dataclass(slots=True)
class Gathered:
    """What the loop has polled for the next write."""

    records: list[Record] = field(default_factory=list)
    decoded: list[InventoryUpdate | Rejection] = field(default_factory=list)
    """Each record's value decoded, on the loop's thread while the write before runs."""
    since: float = 0.0
    """When its first record came."""

    def add(self, batch: Sequence[Record], decoded: Decoded, now: float) -> None:
        if not self.records:
            self.since = now
        self.records.extend(batch)
        self.decoded.extend(decoded)


@dataclass(slots=True)
class Writing:
    """A batch in the writer thread's hands."""

    batch: list[Record]
    decoded: Decoded
    future: Future[BatchReport]


@dataclass(slots=True)
class Unsettled:
    """A batch whose writes are committed but whose dead letters and offsets are not yet."""

    batch: Sequence[Record]
    report: BatchReport
    delivery: Delivery | None
    """The dead letters on their way; None when they must be sent (again)."""
    acknowledged: bool = False
