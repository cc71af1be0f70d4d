"""Helpers for people who embed inventory-sync and test their own shop code without Kafka.

h = InventoryHarness(products={"SKU-1": 10}, low_stock_threshold=5)
h.send({"product_code": "SKU-1", "inventory_count": 3})
h.drain().applied == 1
h.stock_status("SKU-1").message == "Only 3 left in stock!"
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from dependency_injector import providers

from inventory_sync.adapters.memory import (
    InMemoryDeadLetterSink,
    InMemoryRecordSource,
    InMemoryRepository,
    InMemoryUnitOfWork,
)
from inventory_sync.application.worker import Backoff, Worker
from inventory_sync.container import Container
from inventory_sync.domain.model import Product, Record, StockStatus
from inventory_sync.domain.outcomes import Summary
from inventory_sync.domain.ports import DeadLetter
from inventory_sync.domain.rules import DEFAULT_MAX_FUTURE_SKEW, DEFAULT_MAX_MESSAGE_BYTES
from inventory_sync.domain.services import InventoryService, UnknownProducts
from inventory_sync.settings import Settings

__all__ = ["InventoryHarness"]


class InventoryHarness:
    """The real service and run loop on in-memory adapters: topic, table, dead-letter topic.

    Built by the same container as the worker and the CLI, with fakes for the adapters, so
    what it shows is what they do. The environment's INVENTORY_SYNC_* settings do not apply.
    """

    def __init__(
        self,
        products: Mapping[str, int] | None = None,
        *,
        low_stock_threshold: int = 5,
        unknown_products: UnknownProducts = "reject",
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        max_future_skew: timedelta = DEFAULT_MAX_FUTURE_SKEW,
        batch_size: int = 500,
    ) -> None:
        self.repository = InMemoryRepository(
            [Product(code, code, count) for code, count in (products or {}).items()]
        )
        self.source = InMemoryRecordSource()
        self.sink = InMemoryDeadLetterSink()
        settings = Settings.model_construct(
            low_stock_threshold=low_stock_threshold,
            unknown_products=unknown_products,
            max_message_bytes=max_message_bytes,
            max_future_skew=max_future_skew,
            batch_size=batch_size,
            poll_timeout_ms=0,
        )
        self.container = Container(settings=settings)
        self.container.unit_of_work.override(providers.Factory(InMemoryUnitOfWork, self.repository))
        self.container.record_source.override(providers.Object(self.source))
        self.container.dead_letter_sink.override(providers.Object(self.sink))
        self.service: InventoryService = self.container.service()

    def add_product(self, code: str, count: int = 0, name: str | None = None) -> None:
        self.repository.add([Product(code, name or code, count)])

    def send(
        self,
        value: Mapping[str, Any] | bytes | str | None,
        *,
        key: str | bytes | None = None,
        timestamp: datetime | None = None,
    ) -> Record:
        """Queue one event: a dict is JSON-encoded, a str UTF-8 encoded, bytes go as they are."""
        if isinstance(value, Mapping):
            payload: bytes | None = json.dumps(value).encode()
        elif isinstance(value, str):
            payload = value.encode()
        else:
            payload = value
        raw_key = key.encode() if isinstance(key, str) else key
        return self.source.append(payload, key=raw_key, timestamp=timestamp)

    def drain(self) -> Summary:
        """Apply everything sent so far, as the worker would; the counts of `apply --json`."""
        worker: Worker = self.container.worker(backoff=Backoff(initial_s=0.001, maximum_s=0.01))
        return worker.run(idle_timeout_s=0)

    def stock_status(self, product_code: str) -> StockStatus:
        """Raises inventory_sync.UnknownProduct for a code the table does not have."""
        return self.service.stock_status(product_code)

    @property
    def dead_letters(self) -> list[DeadLetter]:
        return self.sink.letters
