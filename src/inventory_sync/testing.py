"""Helpers for people who embed inventory-sync and test their own shop code without Kafka.

h = InventoryHarness(products={"SKU-1": 10}, low_stock_threshold=5)
h.send({"product_code": "SKU-1", "inventory_count": 3})
h.drain().applied == 1
h.stock_status("SKU-1").message == "Only 3 left in stock!"
"""

from __future__ import annotations

import functools
import json
from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from typing import Any, Literal

from dependency_injector import providers

from inventory_sync.adapters.memory import (
    InMemoryDeadLetterSink,
    InMemoryOffsetStore,
    InMemoryRecordSource,
    InMemoryRepository,
    InMemoryUnitOfWork,
)
from inventory_sync.application.worker import Backoff, Worker
from inventory_sync.container import Container
from inventory_sync.domain.model import Product, Record, StockStatus
from inventory_sync.domain.outcomes import Summary
from inventory_sync.domain.ports import DeadLetter, Partition
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
        offset_storage: Literal["kafka", "database"] = "kafka",
    ) -> None:
        """offset_storage = "database" keeps the offsets with the writes, as the worker does with
        that setting: a replay (replay_from) is then `duplicate`, and deltas apply."""
        self.repository = InMemoryRepository(
            [Product(code, code, count) for code, count in (products or {}).items()]
        )
        self.offsets = InMemoryOffsetStore()
        group_id = "inventory-sync"
        self.source = InMemoryRecordSource(
            stored_positions=functools.partial(self._stored_positions, group_id)
            if offset_storage == "database"
            else None
        )
        self.sink = InMemoryDeadLetterSink()
        settings = Settings.model_construct(
            group_id=group_id,
            offset_storage=offset_storage,
            low_stock_threshold=low_stock_threshold,
            unknown_products=unknown_products,
            max_message_bytes=max_message_bytes,
            max_future_skew=max_future_skew,
            batch_size=batch_size,
            poll_timeout_ms=0,
        )
        self.container = Container(settings=settings)
        self.container.unit_of_work.override(
            providers.Factory(InMemoryUnitOfWork, self.repository, self.offsets)
        )
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

    def replay_from(self, offset: int = 0) -> None:
        """Make the next drain read the topic again from `offset`, as a worker does after a
        crash before its offset commit: with offset_storage = "database" the records already
        applied are then `duplicate`."""
        self.source.rewind(offset)

    def rebalance(self) -> None:
        """The partition moves away and back: it resumes at the offset stored with the writes
        (offset_storage = "database"), else at the committed one."""
        self.source.revoke()
        self.source.assign()

    def _stored_positions(
        self, group_id: str, partitions: Collection[Partition]
    ) -> dict[Partition, int]:
        return self.offsets.positions(group_id, partitions)

    def stock_status(self, product_code: str) -> StockStatus:
        """Raises inventory_sync.UnknownProduct for a code the table does not have."""
        return self.service.stock_status(product_code)

    @property
    def dead_letters(self) -> list[DeadLetter]:
        return self.sink.letters
