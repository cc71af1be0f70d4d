"""In-memory fakes of every port: the service's tests, the harness and `apply` use them. The
storage ones are here; the record source and dead-letter sink in memory_topics.py.

They keep the same promises as the real adapters (the contract suite checks), and carry a
few knobs for tests to inject faults.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Self

from inventory_sync.adapters.memory_topics import (
    InMemoryDeadLetterSink,
    InMemoryDelivery,
    InMemoryRecordSource,
)
from inventory_sync.domain.errors import StorageRejected, TransientError
from inventory_sync.domain.model import Product, StockChange
from inventory_sync.domain.ports import ApplyResult, Partition

__all__ = [
    "InMemoryDeadLetterSink",
    "InMemoryDelivery",
    "InMemoryOffsetStore",
    "InMemoryRecordSource",
    "InMemoryRepository",
    "InMemoryUnitOfWork",
]


class InMemoryRepository:
    def __init__(self, products: Collection[Product] = ()) -> None:
        self.products: dict[str, Product] = {product.code: product for product in products}
        self.refused_codes: set[str] = set()
        """Codes whose writes fail as if a database constraint refused them."""
        self.transient_failures = 0
        """How many of the next apply() calls fail as if the database were down."""

    def known_codes(self, codes: Collection[str]) -> set[str]:
        return {code for code in codes if code in self.products}

    def apply(self, changes: Sequence[StockChange]) -> ApplyResult:
        if self.transient_failures > 0:
            self.transient_failures -= 1
            raise TransientError("database unavailable (injected)")
        refused = [
            change.product_code for change in changes if change.product_code in self.refused_codes
        ]
        if refused:
            raise StorageRejected(f"constraint refused {refused[0]!r} (injected)")
        _refuse_negative_counts(
            (change.product_code, change.inventory_count)
            for change in changes
            if change.inventory_count is not None
        )
        applied, stale, unknown, negative = set(), set(), set(), set()
        for change in changes:
            at = _utc(change.at)
            product = self.products.get(change.product_code)
            stored_at = None if product is None else product.inventory_updated_at
            if product is None:
                unknown.add(change.product_code)
            elif change.inventory_count is None:
                if product.inventory_count + change.low < 0:
                    negative.add(change.product_code)
                    continue
                self.products[change.product_code] = dataclasses.replace(
                    product,
                    inventory_count=product.inventory_count + change.delta,
                    inventory_updated_at=at if stored_at is None else max(stored_at, at),
                )
                applied.add(change.product_code)
            elif stored_at is not None and stored_at > at:
                stale.add(change.product_code)
            else:
                self.products[change.product_code] = dataclasses.replace(
                    product, inventory_count=change.inventory_count, inventory_updated_at=at
                )
                applied.add(change.product_code)
        return ApplyResult(*(frozenset(codes) for codes in (applied, stale, unknown, negative)))

    def add(self, products: Sequence[Product]) -> None:
        _refuse_negative_counts((product.code, product.inventory_count) for product in products)
        for product in products:
            at = product.inventory_updated_at
            stored = dataclasses.replace(product, inventory_updated_at=at and _utc(at))
            self.products.setdefault(product.code, stored)

    def get(self, code: str) -> Product | None:
        return self.products.get(code)

    def list(self) -> list[Product]:
        return sorted(self.products.values(), key=lambda product: product.code)


def _utc(at: datetime) -> datetime:
    """Times are stored in UTC, as the SQL adapters store them; a naive time has no instant."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"naive datetime {at.isoformat()}: inventory times must be aware")
    return at.astimezone(UTC)


def _refuse_negative_counts(counts: Iterable[tuple[str, int]]) -> None:
    """What the owned schema's CHECK (inventory_count >= 0) does to the whole statement."""
    for code, count in counts:
        if count < 0:
            raise StorageRejected(f"negative inventory count {count} for {code!r}")


class InMemoryOffsetStore:
    """Next offsets per (group, topic, partition); one process, so nothing to lock."""

    def __init__(self) -> None:
        self.stored: dict[tuple[str, str, int], int] = {}

    def positions(self, group_id: str, partitions: Collection[Partition]) -> dict[Partition, int]:
        found = {where: self.stored.get((group_id, *where)) for where in partitions}
        return {where: offset for where, offset in found.items() if offset is not None}

    def advance(self, group_id: str, positions: Mapping[Partition, int]) -> None:
        for (topic, partition), offset in positions.items():
            key = (group_id, topic, partition)
            self.stored[key] = max(self.stored.get(key, offset), offset)


class InMemoryUnitOfWork:
    """Snapshots the repository and the offsets on enter and on commit, and restores the last
    snapshot on exit.

    Like SqlUnitOfWork, its products exist only inside `with uow:`, and it cannot be entered
    again before it exits; tests inspect the fake's state through `repository` and
    `offset_store`.
    """

    def __init__(
        self,
        products: InMemoryRepository | None = None,
        offsets: InMemoryOffsetStore | None = None,
    ) -> None:
        self.repository = products if products is not None else InMemoryRepository()
        self.offset_store = offsets if offsets is not None else InMemoryOffsetStore()
        self._snapshot: dict[str, Product] | None = None
        self._offsets_snapshot: dict[tuple[str, str, int], int] = {}

    @property
    def products(self) -> InMemoryRepository:
        if self._snapshot is None:
            raise RuntimeError("the unit of work's products exist only inside `with uow:`")
        return self.repository

    @property
    def offsets(self) -> InMemoryOffsetStore:
        if self._snapshot is None:
            raise RuntimeError("the unit of work's offsets exist only inside `with uow:`")
        return self.offset_store

    def __enter__(self) -> Self:
        if self._snapshot is not None:
            raise RuntimeError("this unit of work is already entered")
        self._snapshot = dict(self.repository.products)
        self._offsets_snapshot = dict(self.offset_store.stored)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._snapshot is not None:
            self.repository.products = self._snapshot
            self.offset_store.stored = self._offsets_snapshot
            self._snapshot = None

    def commit(self) -> None:
        """Keep what was done so far; what follows is rolled back unless committed again."""
        self._snapshot = dict(self.products.products)
        self._offsets_snapshot = dict(self.offset_store.stored)
