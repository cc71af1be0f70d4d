"""Faults on real databases: a refused record is isolated, an outage is a TransientError."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from inventory_sync.adapters.sql.repository import SqlUnitOfWork
from inventory_sync.domain.errors import TransientError
from inventory_sync.domain.model import Product, Record, StockChange
from inventory_sync.domain.services import InventoryService, Outcome
from tests.integration.sql_support import SHOP_MAPPING, T0, create_shop_table, engine_on, shop_rows


def record(offset: int, code: str, count: int) -> Record:
    value = json.dumps({"product_code": code, "inventory_count": count}).encode()
    return Record(None, value, "product_inventory_updates", 0, offset, T0 + timedelta(offset))


@pytest.fixture
def pg_engine(fresh_postgres_url: str) -> Iterator[sa.Engine]:
    with engine_on(fresh_postgres_url) as engine:
        with SqlUnitOfWork(engine) as uow:
            uow.products.add([Product("A-1", "Anchor", 8), Product("B-2", "Bolt", 8)])
            uow.commit()
        yield engine


def test_a_record_the_database_refuses_is_rejected_while_its_batch_commits(
    database_url: str,
) -> None:
    with engine_on(database_url, migrated=False) as engine:
        skus = [f"SKU-{n}" for n in range(8)]
        create_shop_table(engine, skus)
        service = InventoryService(SqlUnitOfWork(engine, SHOP_MAPPING))
        over_the_shops_limit = 5000
        counts = [over_the_shops_limit if sku == "SKU-5" else 100 + n for n, sku in enumerate(skus)]

        report = service.apply_batch([record(n, sku, counts[n]) for n, sku in enumerate(skus)])

        outcomes = {o.update.product_code: o for o in report.outcomes if o.update is not None}
        refused = outcomes.pop("SKU-5")
        assert refused.outcome is Outcome.REJECTED
        assert refused.rejection is not None
        assert refused.rejection.reason == "storage_rejected"
        assert "shop_product_stock_at_most_1000" in refused.rejection.error
        assert {o.outcome for o in outcomes.values()} == {Outcome.APPLIED}
        stock = {sku: row["stock"] for sku, row in shop_rows(engine).items()}
        assert stock == {sku: 10 if sku == "SKU-5" else 100 + n for n, sku in enumerate(skus)}


def test_a_lock_timeout_surfaces_as_a_transient_error(pg_engine: sa.Engine) -> None:
    sa.event.listen(pg_engine, "connect", _run_on_connect("SET lock_timeout = '100ms'"))
    pg_engine.dispose()
    with pg_engine.connect() as blocker:
        blocker.execute(sa.text("SELECT 1 FROM products WHERE code = 'A-1' FOR UPDATE"))

        with pytest.raises(TransientError) as caught, SqlUnitOfWork(pg_engine) as uow:
            uow.products.apply([StockChange("A-1", 3, T0)])

        cause = caught.value.__cause__
        assert isinstance(cause, sa.exc.OperationalError)
        assert type(cause.orig).__name__ == "LockNotAvailable"
        blocker.rollback()

    with SqlUnitOfWork(pg_engine) as uow:
        assert uow.products.apply([StockChange("A-1", 3, T0)]).applied == {"A-1"}


def test_a_connection_lost_before_commit_is_transient_and_the_next_unit_recovers(
    pg_engine: sa.Engine,
) -> None:
    uow = SqlUnitOfWork(pg_engine)

    def apply_then_lose_the_connection() -> None:
        with uow:
            uow.products.apply([StockChange("A-1", 3, T0)])
            _terminate_other_backends(pg_engine)
            uow.commit()

    with pytest.raises(TransientError):
        apply_then_lose_the_connection()

    with uow:
        assert uow.products.get("A-1") == Product("A-1", "Anchor", 8)


def test_a_connection_lost_mid_statement_is_transient(pg_engine: sa.Engine) -> None:
    uow = SqlUnitOfWork(pg_engine)

    def lose_the_connection_then_apply() -> None:
        with uow:
            uow.products.known_codes(["A-1"])
            _terminate_other_backends(pg_engine)
            uow.products.apply([StockChange("A-1", 3, T0)])

    with pytest.raises(TransientError):
        lose_the_connection_then_apply()


def test_a_locked_sqlite_database_surfaces_as_a_transient_error(sqlite_url: str) -> None:
    with engine_on(sqlite_url) as engine:
        with SqlUnitOfWork(engine) as uow:
            uow.products.add([Product("A-1", "Anchor", 8)])
            uow.commit()
        sa.event.listen(engine, "connect", _run_on_connect("PRAGMA busy_timeout = 50"))
        engine.dispose()
        blocker = sqlite3.connect(sa.make_url(sqlite_url).database or "", isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(TransientError, match="locked"), SqlUnitOfWork(engine) as uow:
                uow.products.apply([StockChange("A-1", 3, T0)])
        finally:
            blocker.rollback()
            blocker.close()


def test_a_mapping_naming_a_missing_column_is_not_taken_for_a_passing_fault(
    database_url: str,
) -> None:
    with engine_on(database_url, migrated=False) as engine:
        create_shop_table(engine, ["SKU-1"])
        wrong = dataclasses.replace(SHOP_MAPPING, count_column="quantity")

        with (
            pytest.raises(sa.exc.DBAPIError, match="quantity"),
            SqlUnitOfWork(engine, wrong) as uow,
        ):
            uow.products.apply([StockChange("SKU-1", 3, T0)])


def _run_on_connect(statement: str) -> Any:
    def run(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(statement)
        cursor.close()
        if hasattr(dbapi_connection, "commit"):
            dbapi_connection.commit()

    return run


def _terminate_other_backends(engine: sa.Engine) -> None:
    """What a server restart does to every session but this one."""
    admin = sa.create_engine(engine.url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
    finally:
        admin.dispose()
