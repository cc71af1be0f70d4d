"""What the shop knows about a product, and what one inventory event says."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field

MAX_INVENTORY_COUNT = 2_147_483_647
PRODUCT_CODE_PATTERN = r"^[A-Za-z0-9._-]{1,64}$"

ProductCode = Annotated[str, Field(min_length=1, max_length=64, pattern=PRODUCT_CODE_PATTERN)]


def _in_utc(value: datetime) -> datetime:
    """The same instant in UTC; a time that falls outside years 1 to 9999 once converted
    (0001-01-01T00:00:00+01:00, 9999-12-31T23:00:00-05:00) has no place to be stored."""
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError(
            f"{value.isoformat()} is outside years 1 to 9999 once converted to UTC"
        ) from None


_RFC_3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


def _rfc_3339(value: object) -> object:
    """Only an RFC 3339 date-time with an offset: pydantic alone would also read "1700000000"
    as seconds since the epoch, which the contract does not allow."""
    if not isinstance(value, str):
        return value  # not a string: the strict datetime check refuses it
    if not _RFC_3339.fullmatch(value):
        raise ValueError(f"{value[:40]!r} is not an RFC 3339 timestamp with an offset")
    return datetime.fromisoformat(value.upper())


UtcTimestamp = Annotated[AwareDatetime, BeforeValidator(_rfc_3339), AfterValidator(_in_utc)]


@dataclass(frozen=True, slots=True)
class Product:
    code: str
    name: str
    inventory_count: int = 0
    inventory_updated_at: datetime | None = None


class InventoryUpdate(BaseModel):
    """One event of the topic, validated by the message contract; unknown fields are ignored."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)

    product_code: ProductCode
    inventory_count: Annotated[int, Field(ge=0, le=MAX_INVENTORY_COUNT)]
    occurred_at: UtcTimestamp | None = None
    """Normalised to UTC by validation, so every later comparison or conversion is safe."""
    event_id: str | None = None
    reason: str | None = None


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
