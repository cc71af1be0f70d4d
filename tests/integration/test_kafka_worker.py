"""The real run loop in-process over each Kafka client's adapters, a real broker and a database."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import timedelta

import pytest

from inventory_sync.adapters.kafka.kafka_python.dead_letter_reader import read_dead_letters
from inventory_sync.adapters.memory import InMemoryRepository, InMemoryUnitOfWork
from inventory_sync.adapters.sql.repository import SqlUnitOfWork
from inventory_sync.application.worker import Backoff, Worker
from inventory_sync.domain.model import Product, StockChange
from inventory_sync.domain.ports import ApplyResult, UnitOfWork
from inventory_sync.domain.services import InventoryService, Summary
from inventory_sync.settings import Settings
from tests.integration.kafka_support import (
    CLIENTS,
    T0,
    Event,
    burst,
    committed_offsets,
    dead_letter_sink,
    end_offsets,
    fast_overrides,
    record_source,
    send,
    topic_settings,
    update,
)
from tests.integration.sql_support import SHOP_MAPPING, create_shop_table, engine_on, shop_rows

pytestmark = pytest.mark.kafka

RUN_DEADLINE_S = 120.0


@pytest.fixture(params=CLIENTS)
def kafka_client(request: pytest.FixtureRequest) -> str:
    client: str = request.param
    return client


def run_worker(
    settings: Settings, uow: UnitOfWork, records: int, client: str
) -> tuple[Summary, list[str]]:
    """Run the real loop until it has taken `records` records; returns its totals and the
    WARNING lines it logged."""
    source = record_source(settings, client, fast_overrides(client, short_poll_interval=False))
    sink = dead_letter_sink(settings, client)
    service = InventoryService(uow, max_message_bytes=settings.max_message_bytes)
    worker = Worker(
        source,
        service,
        sink,
        batch_size=settings.batch_size,
        poll_timeout_s=0.2,
        backoff=Backoff(initial_s=0.05, maximum_s=0.2),
    )
    watchdog = threading.Timer(RUN_DEADLINE_S, worker.stop)
    warnings = _WarningLines()
    logging.getLogger("inventory_sync").addHandler(warnings)
    watchdog.start()
    try:
        totals = worker.run(max_records=records)
    finally:
        watchdog.cancel()
        logging.getLogger("inventory_sync").removeHandler(warnings)
        source.close()
        sink.close()
    assert totals.records == records, f"the run stopped early: {totals.to_dict()}"
    return totals, warnings.lines


class _WarningLines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def sql_uow(database_url: str) -> Iterator[SqlUnitOfWork]:
    with engine_on(database_url) as engine:
        yield SqlUnitOfWork(engine)


def stock(uow: UnitOfWork) -> dict[str, int]:
    with uow as opened:
        return {product.code: product.inventory_count for product in opened.products.list()}


def test_a_burst_over_three_partitions_ends_with_the_exact_counts_and_offsets(
    kafka_bootstrap: str, topic_name: str, kafka_client: str, sql_uow: SqlUnitOfWork
) -> None:
    settings = topic_settings(kafka_bootstrap, topic_name, partitions=3, batch_size=500)
    products = [f"SKU-{n:03d}" for n in range(200)]
    with sql_uow as uow:
        uow.products.add([Product(code, code) for code in products])
        uow.commit()
    events, expected = burst(products, 5_000)
    send(settings, events)

    totals, _ = run_worker(settings, sql_uow, len(events), kafka_client)

    assert stock(sql_uow) == expected
    assert dict(totals.by_reason) == {
        "malformed_json": 100,
        "invalid_payload": 100,
        "unknown_product": 100,
    }
    assert totals.applied + totals.stale + totals.superseded == 4_700
    assert totals.stale + totals.superseded >= 200  # the 200 events dated in the past at least
    assert committed_offsets(settings, 3) == end_offsets(settings, 3)
    assert Counter(letter["reason"] for letter in read_dead_letters(settings)) == totals.by_reason


def test_every_rejection_reaches_the_dead_letter_topic_with_the_original_record(
    kafka_bootstrap: str, topic_name: str, kafka_client: str, database_url: str
) -> None:
    settings = topic_settings(kafka_bootstrap, topic_name, partitions=1, max_message_bytes=512)
    padding = "x" * 600
    rejected = {
        "malformed_json": Event(b"SKU-1", b"[1, 2"),
        "invalid_payload": update("SKU-1", -5, T0),
        "unknown_product": update("NOPE-1", 3, T0),
        "too_large": update("SKU-1", 3, T0, note=padding),
        "storage_rejected": update("SKU-2", 5_000, T0),  # the shop table allows at most 1000
    }
    applied = update("SKU-3", 7, T0)
    send(settings, [*rejected.values(), applied])

    with engine_on(database_url, migrated=False) as engine:
        create_shop_table(engine, ["SKU-1", "SKU-2", "SKU-3"])
        totals, _ = run_worker(settings, SqlUnitOfWork(engine, SHOP_MAPPING), 6, kafka_client)
        rows = shop_rows(engine)

    letters = {letter["reason"]: letter for letter in read_dead_letters(settings)}
    assert sorted(letters) == sorted(rejected)
    for reason, event in rejected.items():
        letter = letters[reason]
        assert (letter["key"], letter["value"]) == (event.key.decode(), event.value.decode())
        assert letter["original_topic"] == settings.topic
        assert letter["original_partition"] == 0
        assert letter["error"]
    assert letters["malformed_json"]["original_offset"] == 0
    assert letters["storage_rejected"]["original_offset"] == 4
    assert (totals.applied, totals.rejected) == (1, 5)
    assert {sku: row["stock"] for sku, row in rows.items()} == {
        "SKU-1": 10,
        "SKU-2": 10,
        "SKU-3": 7,
    }


class _OutageRepository(InMemoryRepository):
    """Fails the next `transient_failures` applies as if the database were down, and notes
    what the consumer group had committed at each failure."""

    def __init__(self, products: Sequence[Product], settings: Settings) -> None:
        super().__init__(products)
        self.settings = settings
        self.committed_during_outage: list[dict[int, int | None]] = []

    def apply(self, changes: Sequence[StockChange]) -> ApplyResult:
        if self.transient_failures > 0:
            self.committed_during_outage.append(committed_offsets(self.settings, 1))
        return super().apply(changes)


def test_a_database_outage_pauses_retries_and_commits_offsets_only_after_the_writes(
    kafka_bootstrap: str, topic_name: str, kafka_client: str
) -> None:
    settings = topic_settings(kafka_bootstrap, topic_name, partitions=1)
    repository = _OutageRepository([Product("SKU-1", "one"), Product("SKU-2", "two")], settings)
    repository.transient_failures = 3
    events = [update("SKU-1", n, T0 + timedelta(seconds=n)) for n in range(1, 6)]
    events.append(update("SKU-2", 4, T0))
    send(settings, events)

    totals, warnings = run_worker(
        settings, InMemoryUnitOfWork(repository), len(events), kafka_client
    )

    assert stock(InMemoryUnitOfWork(repository)) == {"SKU-1": 5, "SKU-2": 4}
    assert repository.committed_during_outage == [{0: None}] * 3
    assert committed_offsets(settings, 1) == {0: len(events)}
    assert sum("transient fault" in line for line in warnings) == 3
    assert any("recovered" in line for line in warnings)
    assert totals.applied == 2


def test_the_worker_picks_up_after_the_offsets_a_previous_run_committed(
    kafka_bootstrap: str, topic_name: str, kafka_client: str
) -> None:
    settings = topic_settings(kafka_bootstrap, topic_name, partitions=1)
    repository = InMemoryRepository([Product("SKU-1", "one")])
    send(settings, [update("SKU-1", 1, T0)] * 3)
    run_worker(settings, InMemoryUnitOfWork(repository), 3, kafka_client)
    send(settings, [update("SKU-1", 2, T0 + timedelta(hours=1))])

    second, _ = run_worker(settings, InMemoryUnitOfWork(repository), 1, kafka_client)

    assert (second.records, second.applied) == (1, 1)
    assert stock(InMemoryUnitOfWork(repository)) == {"SKU-1": 2}
