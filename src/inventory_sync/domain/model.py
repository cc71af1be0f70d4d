"""What the shop knows about a product, and the records and changes a batch is made of."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple


@dataclass(frozen=True, slots=True)
class Product:
    code: str
    name: str
    inventory_count: int = 0
    inventory_updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Record:
    """A transport-neutral record: what any source (Kafka, a file, a test) hands the service.

    Sources give `timestamp` as an aware UTC datetime (the stale guard compares it).
    """

    key: bytes | None
    value: bytes | None
    topic: str
    partition: int
    offset: int
    timestamp: datetime
    headers: tuple[tuple[str, bytes], ...] = ()


class StockChange(NamedTuple):
    """A count to write, stamped with the time it is true from (the stale guard's key); or,
    with inventory_count None, deltas to add to the stored count.

    An absolute change is written only if the stored time is not newer. A relative one is
    not guarded by time (its order is the offsets'); it moves the stored time to `at` if that
    is newer, and it is written only if the count never dips below 0 on the way: stored +
    `low` >= 0, where `low` is the lowest running sum of its deltas (0 or less).

    A tuple: a batch makes one per product it writes, and no immutable object is cheaper.
    """

    product_code: str
    inventory_count: int | None
    at: datetime
    delta: int = 0
    low: int = 0

    @classmethod
    def relative(cls, product_code: str, deltas: Sequence[int], at: datetime) -> StockChange:
        """The deltas of one product, in order, as one change."""
        running, low = 0, 0
        for delta in deltas:
            running += delta
            low = min(low, running)
        return cls(product_code, None, at, running, low)


def next_positions(records: Sequence[Record]) -> dict[tuple[str, int], int]:
    """(topic, partition) -> the next offset after these records, in any order."""
    highest: dict[tuple[str, int], int] = {}
    for record in records:
        where = (record.topic, record.partition)
        if record.offset >= highest.get(where, -1):
            highest[where] = record.offset
    return {where: offset + 1 for where, offset in highest.items()}


class StockLevel(StrEnum):
    OUT_OF_STOCK = "out_of_stock"
    LOW_STOCK = "low_stock"
    IN_STOCK = "in_stock"


@dataclass(frozen=True, slots=True)
class StockStatus:
    product_code: str
    inventory_count: int
    level: StockLevel
    message: str

    @classmethod
    def of(cls, product_code: str, inventory_count: int, low_stock_threshold: int) -> StockStatus:
        if inventory_count <= 0:
            return cls(product_code, inventory_count, StockLevel.OUT_OF_STOCK, "Out of stock")
        if inventory_count <= low_stock_threshold:
            message = f"Only {inventory_count} left in stock!"
            return cls(product_code, inventory_count, StockLevel.LOW_STOCK, message)
        return cls(product_code, inventory_count, StockLevel.IN_STOCK, "In stock")

    def to_dict(self) -> dict[str, str | int]:
        return {
            "product_code": self.product_code,
            "inventory_count": self.inventory_count,
            "level": self.level.value,
            "message": self.message,
        }
