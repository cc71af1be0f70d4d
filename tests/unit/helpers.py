"""Small builders shared by the unit tests."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from inventory_sync.adapters.memory import InMemoryRepository, InMemoryUnitOfWork
from inventory_sync.domain.model import Product, Record
from inventory_sync.domain.services import InventoryService, UnknownProducts

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def event(code: str, count: int, occurred_at: datetime | None = None, **extra: object) -> bytes:
    body: dict[str, object] = {"product_code": code, "inventory_count": count, **extra}
    if occurred_at is not None:
        body["occurred_at"] = occurred_at.isoformat()
    return json.dumps(body).encode()


def records(*values: bytes | None, start: int = 0, timestamp: datetime = T0) -> list[Record]:
    return [
        Record(None, value, "product_inventory_updates", 0, start + i, timestamp)
        for i, value in enumerate(values)
    ]


def service_with(
    products: dict[str, int], unknown_products: UnknownProducts = "reject"
) -> tuple[InventoryService, InMemoryRepository]:
    repository = InMemoryRepository(
        [Product(code, code, count) for code, count in products.items()]
    )
    service = InventoryService(InMemoryUnitOfWork(repository), unknown_products=unknown_products)
    return service, repository
