"""Create or upgrade the owned schema with the Alembic migrations shipped in the package.

Only the owned `products` table is migrated; a shop's own table is never touched.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from inventory_sync.adapters.sql.repository import translated

SCRIPT_LOCATION = "inventory_sync.adapters.sql:migrations"
VERSION_TABLE = "inventory_sync_alembic_version"
"""Not alembic_version: a shop that runs Alembic itself keeps its own version table."""
UPGRADE_LOCK_KEY = 0x1A7E5_0001
"""A PostgreSQL advisory lock: two workers upgrading at once take turns."""


def upgrade(engine: sa.Engine) -> list[str]:
    """Apply the revisions the database lacks in one transaction; return them, oldest first."""
    config = _config()
    with translated(), engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(sa.select(sa.func.pg_advisory_xact_lock(UPGRADE_LOCK_KEY)))
        current = _current(connection)
        pending = [
            script.revision
            for script in ScriptDirectory.from_config(config).iterate_revisions(
                "heads", current or "base"
            )
        ]
        if pending:
            config.attributes["connection"] = connection
            command.upgrade(config, "heads")
    return pending[::-1]


def current_revision(engine: sa.Engine) -> str | None:
    """The revision the database is at; None for a database the migrations never ran on."""
    with translated(), engine.connect() as connection:
        return _current(connection)


def head_revision() -> str:
    """The newest revision shipped in this version of the package."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    if head is None:
        raise RuntimeError("the package ships no migrations")
    return head


def is_current(engine: sa.Engine) -> bool:
    return current_revision(engine) == head_revision()


def _current(connection: sa.Connection) -> str | None:
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    return config
