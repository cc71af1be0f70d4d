"""What the shop knows about a product, and the records and changes a batch is made of."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


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


@dataclass(frozen=True, slots=True)
class StockChange:
    """An absolute count to write, stamped with the time it is true from (the stale guard's key)."""

    product_code: str
    inventory_count: int
    at: datetime


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
