"""Alembic's environment: run by migrate.upgrade() on the connection it hands over.

`alembic -c FILE` with `sqlalchemy.url` set also works, for writing new revisions.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from inventory_sync.adapters.sql.engine import create_engine_from_url
from inventory_sync.adapters.sql.migrate import VERSION_TABLE
from inventory_sync.adapters.sql.tables import metadata


def _owned(name: str | None, type_: str, parent_names: object) -> bool:
    """Autogenerate compares only the owned tables, never the shop's."""
    return type_ != "table" or name in metadata.tables


def _run(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite",
        include_name=_owned,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("run migrations with `inventory-sync db upgrade`")
    engine = create_engine_from_url(url)
    try:
        with engine.begin() as own_connection:
            _run(own_connection)
    finally:
        engine.dispose()


run_migrations()
