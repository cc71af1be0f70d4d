"""Settings point the repository at the owned table or at a shop's own table."""

from __future__ import annotations

from inventory_sync.adapters.sql.tables import TableMapping, columns_for, products
from inventory_sync.settings import Settings


def test_the_default_settings_map_onto_the_owned_products_table() -> None:
    mapping = TableMapping.from_settings(Settings())

    assert mapping.owned
    assert columns_for(mapping).table is products


def test_settings_naming_a_shops_table_map_onto_its_columns() -> None:
    settings = Settings(
        products_table="shop_product",
        code_column="sku",
        count_column="stock",
        updated_at_column="",
        name_column="title",
    )

    mapping = TableMapping.from_settings(settings)
    columns = columns_for(mapping)

    assert not mapping.owned
    assert (columns.table.name, columns.code.name, columns.count.name) == (
        "shop_product",
        "sku",
        "stock",
    )
    assert (columns.updated_at, columns.touched) == (None, None)
    assert columns.name is not None
    assert columns.name.name == "title"


def test_a_schema_qualified_table_name_is_looked_up_in_that_schema() -> None:
    columns = columns_for(TableMapping(table="shop.catalog_product"))

    assert (columns.table.schema, columns.table.name) == ("shop", "catalog_product")


def test_the_owned_table_with_other_columns_is_not_the_owned_schema() -> None:
    assert not TableMapping(count_column="stock").owned
