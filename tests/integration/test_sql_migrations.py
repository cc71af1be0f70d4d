"""`db upgrade`: the shipped migrations create the owned schema, and a second run does nothing."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from inventory_sync.adapters.sql.migrate import (
    VERSION_TABLE,
    current_revisions,
    head_revisions,
    is_current,
    upgrade,
)
from inventory_sync.adapters.sql.tables import metadata
from tests.integration.sql_support import create_shop_table, engine_on, shop_rows


def schema_of(engine: sa.Engine) -> dict[str, object]:
    inspector = sa.inspect(engine)
    return {
        table: (
            [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)],
            inspector.get_unique_constraints(table),
            inspector.get_check_constraints(table),
        )
        for table in inspector.get_table_names()
    }


def test_upgrade_creates_the_owned_schema_in_an_empty_database(database_url: str) -> None:
    with engine_on(database_url, migrated=False) as engine:
        assert current_revisions(engine) == set()
        assert not is_current(engine)

        applied = upgrade(engine)

        assert set(applied) == head_revisions() == {"0001", "0002"}
        assert current_revisions(engine) == head_revisions()
        assert is_current(engine)
        assert set(sa.inspect(engine).get_table_names()) == {
            "products",
            "inventory_sync_offsets",
            VERSION_TABLE,
        }


def test_a_second_upgrade_applies_nothing_and_changes_nothing(database_url: str) -> None:
    with engine_on(database_url, migrated=False) as engine:
        upgrade(engine)
        before = schema_of(engine)

        assert upgrade(engine) == []

        assert schema_of(engine) == before
        assert is_current(engine)


def test_the_migrations_build_exactly_the_schema_the_code_expects(database_url: str) -> None:
    with engine_on(database_url) as engine, engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "compare_type": True,
                "include_name": lambda name, type_, _: type_ != "table" or name != VERSION_TABLE,
            },
        )
        assert compare_metadata(context, metadata) == []


def test_upgrade_leaves_a_shops_own_table_untouched(database_url: str) -> None:
    with engine_on(database_url, migrated=False) as engine:
        create_shop_table(engine, ["SKU-1", "SKU-2"])
        rows_before = shop_rows(engine)
        schema_before = schema_of(engine)["shop_product"]

        upgrade(engine)

        assert shop_rows(engine) == rows_before
        assert schema_of(engine)["shop_product"] == schema_before


def test_beside_a_shops_own_table_upgrade_creates_only_inventory_syncs_own_tables(
    database_url: str,
) -> None:
    with engine_on(database_url, migrated=False) as engine:
        create_shop_table(engine, ["SKU-1", "SKU-2"])
        rows_before = shop_rows(engine)
        schema_before = schema_of(engine)["shop_product"]

        assert upgrade(engine, products=False) == ["0002"]
        assert upgrade(engine, products=False) == []

        assert set(sa.inspect(engine).get_table_names()) == {
            "shop_product",
            "inventory_sync_offsets",
            VERSION_TABLE,
        }
        assert shop_rows(engine) == rows_before
        assert schema_of(engine)["shop_product"] == schema_before
        assert is_current(engine, products=False)
        assert not is_current(engine)


def test_a_database_of_the_first_release_gets_the_offsets_table_on_upgrade(
    database_url: str,
) -> None:
    with engine_on(database_url, migrated=False) as engine:
        with engine.begin() as connection:
            from alembic import command

            from inventory_sync.adapters.sql.migrate import _config

            config = _config()
            config.attributes["connection"] = connection
            command.upgrade(config, "0001")
        assert current_revisions(engine) == {"0001"}

        assert upgrade(engine) == ["0002"]
        assert is_current(engine)
