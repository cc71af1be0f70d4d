"""Helpers the SQL integration tests share: engines on fresh databases, a shop-like table."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import sqlalchemy as sa

from inventory_sync.adapters.sql.engine import create_engine_from_url
from inventory_sync.adapters.sql.migrate import upgrade
from inventory_sync.adapters.sql.tables import TableMapping, UtcDateTime

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

SHOP_MAPPING = TableMapping(
    table="shop_product",
    code_column="sku",
    count_column="stock",
    updated_at_column="stock_changed_at",
    name_column="title",
)

shop_metadata = sa.MetaData()
shop_product = sa.Table(
    "shop_product",
    shop_metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("sku", sa.String(64), nullable=False, unique=True),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("stock", sa.Integer, nullable=False),
    sa.Column("stock_changed_at", UtcDateTime, nullable=True),
    sa.Column("price_cents", sa.Integer, nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.CheckConstraint("stock >= 0", name="shop_product_stock_positive"),
    sa.CheckConstraint("stock <= 1000", name="shop_product_stock_at_most_1000"),
)
"""Shaped like a Django shop's model: its own names, and columns the library must leave alone."""


@contextmanager
def engine_on(url: str, *, migrated: bool = True) -> Iterator[sa.Engine]:
    engine = create_engine_from_url(url)
    try:
        if migrated:
            upgrade(engine)
        yield engine
    finally:
        engine.dispose()


def create_shop_table(engine: sa.Engine, skus: list[str]) -> None:
    shop_metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(
            sa.insert(shop_product),
            [
                {
                    "sku": sku,
                    "title": f"Product {sku}",
                    "stock": 10,
                    "stock_changed_at": None,
                    "price_cents": 1999 + index,
                    "description": f"About {sku}",
                }
                for index, sku in enumerate(skus)
            ],
        )


def shop_rows(engine: sa.Engine) -> dict[str, dict[str, object]]:
    with engine.connect() as connection:
        rows = connection.execute(sa.select(shop_product).order_by(shop_product.c.sku)).mappings()
        return {row["sku"]: dict(row) for row in rows}
