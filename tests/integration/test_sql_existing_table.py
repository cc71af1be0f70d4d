"""The repository on a shop's own table (here shaped like a Django model's), through a mapping."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa

from inventory_sync.adapters.sql.repository import SqlUnitOfWork
from inventory_sync.adapters.sql.tables import TableMapping
from inventory_sync.domain.model import Product, Record, StockChange
from inventory_sync.domain.ports import ApplyResult
from tests.integration.sql_support import (
    SHOP_MAPPING,
    T0,
    create_shop_table,
    engine_on,
    shop_product,
    shop_rows,
)

EXTRA_COLUMNS = ("id", "title", "price_cents", "description")


@pytest.fixture
def shop(database_url: str) -> Iterator[sa.Engine]:
    """A database holding only the shop's table: no migration has run on it."""
    with engine_on(database_url, migrated=False) as engine:
        create_shop_table(engine, ["SKU-1", "SKU-2", "SKU-3"])
        yield engine


def apply(engine: sa.Engine, mapping: TableMapping, *changes: StockChange) -> ApplyResult:
    with SqlUnitOfWork(engine, mapping) as uow:
        result = uow.products.apply(list(changes))
        uow.commit()
    return result


def extras(rows: dict[str, dict[str, object]]) -> dict[str, tuple[object, ...]]:
    return {sku: tuple(row[column] for column in EXTRA_COLUMNS) for sku, row in rows.items()}


def test_updates_write_only_the_mapped_columns_of_a_shops_table(shop: sa.Engine) -> None:
    before = shop_rows(shop)

    result = apply(shop, SHOP_MAPPING, StockChange("SKU-1", 4, T0), StockChange("SKU-9", 1, T0))

    after = shop_rows(shop)
    assert result == ApplyResult(applied=frozenset({"SKU-1"}), unknown=frozenset({"SKU-9"}))
    assert (after["SKU-1"]["stock"], after["SKU-1"]["stock_changed_at"]) == (4, T0)
    assert after["SKU-2"] == before["SKU-2"]
    assert extras(after) == extras(before)
    assert "products" not in sa.inspect(shop).get_table_names()


def test_the_stale_guard_works_on_a_shops_own_time_column(shop: sa.Engine) -> None:
    apply(shop, SHOP_MAPPING, StockChange("SKU-1", 4, T0))

    result = apply(shop, SHOP_MAPPING, StockChange("SKU-1", 9, T0 - timedelta(seconds=1)))

    assert result.stale == {"SKU-1"}
    assert shop_rows(shop)["SKU-1"]["stock"] == 4


def test_the_guard_compares_times_the_shop_wrote_itself(shop: sa.Engine) -> None:
    """Django on SQLite writes '2026-01-01 12:00:00' (no fraction) for a whole second."""
    as_written = "2026-01-01 12:00:00" if shop.dialect.name == "sqlite" else "2026-01-01 12:00+00"
    with shop.begin() as connection:
        connection.execute(
            sa.text("UPDATE shop_product SET stock_changed_at = :at WHERE sku = 'SKU-1'"),
            {"at": as_written},
        )

    older = apply(shop, SHOP_MAPPING, StockChange("SKU-1", 1, T0 - timedelta(microseconds=1)))
    same = apply(shop, SHOP_MAPPING, StockChange("SKU-1", 2, T0))

    assert older.stale == {"SKU-1"}
    assert same.applied == {"SKU-1"}
    assert shop_rows(shop)["SKU-1"]["stock"] == 2


def test_without_an_updated_at_column_the_stale_guard_is_off(shop: sa.Engine) -> None:
    mapping = dataclasses.replace(SHOP_MAPPING, updated_at_column=None)
    apply(shop, SHOP_MAPPING, StockChange("SKU-1", 4, T0))

    result = apply(shop, mapping, StockChange("SKU-1", 9, T0 - timedelta(days=1)))

    assert result.applied == {"SKU-1"}
    assert (shop_rows(shop)["SKU-1"]["stock"], shop_rows(shop)["SKU-1"]["stock_changed_at"]) == (
        9,
        T0,
    )


def test_products_read_from_a_shops_table_use_its_columns(shop: sa.Engine) -> None:
    with SqlUnitOfWork(shop, SHOP_MAPPING) as uow:
        assert uow.products.get("SKU-2") == Product("SKU-2", "Product SKU-2", 10)
        assert uow.products.known_codes(["SKU-1", "SKU-3", "nope"]) == {"SKU-1", "SKU-3"}
        assert [p.code for p in uow.products.list()] == ["SKU-1", "SKU-2", "SKU-3"]

    without_name = dataclasses.replace(SHOP_MAPPING, name_column=None, updated_at_column=None)
    with SqlUnitOfWork(shop, without_name) as uow:
        assert uow.products.get("SKU-2") == Product("SKU-2", "SKU-2", 10)


def test_adding_to_a_shops_table_fills_only_the_mapped_columns(shop: sa.Engine) -> None:
    """The shop's other columns are NOT NULL without a default: the database refuses the row."""
    with shop.begin() as connection:
        connection.execute(
            sa.text(
                "CREATE TABLE bare_product (sku VARCHAR(64) PRIMARY KEY, stock INTEGER NOT NULL)"
            )
        )
    bare = TableMapping(
        table="bare_product",
        code_column="sku",
        count_column="stock",
        updated_at_column=None,
        name_column=None,
    )

    with SqlUnitOfWork(shop, bare) as uow:
        uow.products.add([Product("SKU-1", "ignored", 3), Product("SKU-1", "again", 5)])
        uow.commit()

    with shop.connect() as connection:
        assert connection.execute(sa.text("SELECT sku, stock FROM bare_product")).all() == [
            ("SKU-1", 3)
        ]
    assert shop_product.name == SHOP_MAPPING.table


SHOP_SETTINGS = {
    "products_table": "shop_product",
    "code_column": "sku",
    "count_column": "stock",
    "updated_at_column": "stock_changed_at",
}


def test_a_shops_table_without_a_name_column_is_read_and_written_with_the_defaults(
    shop: sa.Engine,
) -> None:
    """name_column defaults to `name`, which this table lacks: it is needed only to create."""
    from inventory_sync.settings import Settings

    mapping = TableMapping.from_settings(Settings(**SHOP_SETTINGS))  # type: ignore[arg-type]

    assert mapping.name_column is None
    assert apply(shop, mapping, StockChange("SKU-1", 4, T0)).applied == {"SKU-1"}
    with SqlUnitOfWork(shop, mapping) as uow:
        assert uow.products.get("SKU-1") == Product("SKU-1", "SKU-1", 4, T0)


def test_creating_a_product_in_a_shops_table_fills_its_other_columns_from_create_defaults(
    shop: sa.Engine,
) -> None:
    from inventory_sync.domain.services import InventoryService
    from inventory_sync.settings import Settings

    settings = Settings(
        **SHOP_SETTINGS,  # type: ignore[arg-type]
        unknown_products="create",
        name_column="title",
        create_defaults={"price_cents": 0, "description": "created by inventory-sync"},
    )
    service = InventoryService(
        SqlUnitOfWork(shop, TableMapping.from_settings(settings)), unknown_products="create"
    )
    record = Record(b"NEW-1", b'{"product_code": "NEW-1", "inventory_count": 6}', "t", 0, 0, T0)

    report = service.apply_batch([record])

    assert report.summary.applied == 1
    row = shop_rows(shop)["NEW-1"]
    assert (row["title"], row["stock"], row["price_cents"], row["description"]) == (
        "NEW-1",
        6,
        0,
        "created by inventory-sync",
    )
