"""The ports: what the core needs from the outside world, as typing.Protocol.

Each has a hand-written in-memory fake in adapters/memory.py and real adapters beside it;
one contract suite runs against every implementation so that none can drift.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Protocol, Self

from inventory_sync.domain.model import Product, Record, StockChange
from inventory_sync.domain.rejections import Rejection


@dataclass(frozen=True, slots=True)
class ApplyResult:
    """What one conditional bulk apply did, by product code."""

    applied: frozenset[str] = field(default_factory=frozenset)
    stale: frozenset[str] = field(default_factory=frozenset)
    unknown: frozenset[str] = field(default_factory=frozenset)
    negative: frozenset[str] = field(default_factory=frozenset)
    """Relative changes not written: the count would have dipped below 0."""


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A record the service rejected, with why; the sink copies the record as it came."""

    record: Record
    rejection: Rejection

    @property
    def reason(self) -> str:
        return self.rejection.reason.value

    @property
    def error(self) -> str:
        return self.rejection.error


class ProductRepository(Protocol):
    def known_codes(self, codes: Collection[str]) -> set[str]:
        """Which of these codes exist, in one call."""
        ...

    def apply(self, changes: Sequence[StockChange]) -> ApplyResult:
        """Write each change (one per product) unless the stored time is newer: the stale guard;
        a relative change adds its delta unless the count would dip below 0 (see StockChange).

        The guard sits in the write itself, so racing writers can never move a count back.
        Raises StorageRejected when the database refuses the data, TransientError when it
        is unreachable or busy.
        """
        ...

    def add(self, products: Sequence[Product]) -> None:
        """Insert products; a code that already exists is left as it is."""
        ...

    def get(self, code: str) -> Product | None: ...

    def list(self) -> list[Product]: ...


Partition = tuple[str, int]
"""(topic, partition)."""


class OffsetStore(Protocol):
    """How far each consumer group got, per partition, kept in the same transaction as the
    writes (offset_storage = database): the next offset to apply."""

    def positions(self, group_id: str, partitions: Collection[Partition]) -> dict[Partition, int]:
        """The stored next offsets of these partitions (those that have one), locked until the
        transaction ends, so a racing member of the group waits and then sees the new ones."""
        ...

    def advance(self, group_id: str, positions: Mapping[Partition, int]) -> None:
        """Store these next offsets; a stored one that is higher is kept."""
        ...


StoredPositions = Callable[[Collection[Partition]], dict[Partition, int]]
"""What a source asks, when partitions are assigned, for the next offsets stored with the
writes (those that have one); it seeks there."""


class UnitOfWork(Protocol):
    """One transaction; rolls back on exit unless commit() was called. Re-enterable."""

    @property
    def products(self) -> ProductRepository: ...

    @property
    def offsets(self) -> OffsetStore: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None: ...


class Delivery(Protocol):
    def wait(self) -> None:
        """Return once every letter of the send is acknowledged; TransientError if not."""
        ...


class Acknowledged:
    """The Delivery of a synchronous sink: done by the time send() returns."""

    def wait(self) -> None:
        return None


class DeadLetterSink(Protocol):
    def send(self, letters: Sequence[DeadLetter]) -> Delivery:
        """Start sending the letters and return at once; wait() on the result before the
        offsets of their batch are committed."""
        ...

    def close(self) -> None:
        """Release the producer or file; letters sent but not waited for may be lost."""
        ...


class RecordSource(Protocol):
    def poll(self, max_records: int, timeout_s: float) -> list[Record]:
        """Up to max_records records, or [] after timeout_s. Returns [] while paused."""
        ...

    def commit(self, records: Sequence[Record]) -> None:
        """Mark every record up to these as done (per partition, the highest offset + 1).

        May return before the broker confirms (a later commit supersedes a lost one);
        close() commits the last offsets synchronously.
        """
        ...

    def pause(self) -> None:
        """Stop handing out records while staying in the consumer group (poll keeps it alive)."""
        ...

    def resume(self) -> None: ...

    def lag(self) -> dict[int, int]:
        """Records not yet handed out, per partition; best effort, {} when unknown."""
        ...

    def close(self) -> None: ...
