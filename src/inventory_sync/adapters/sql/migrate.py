"""Create or upgrade the owned schema with the Alembic migrations shipped in the package.

Only the owned tables are migrated; a shop's own table is never touched.
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


PRODUCTS_BRANCH = "products"
OFFSETS_BRANCH = "offsets"
"""Two independent lines of revisions: the owned products table, and the tables that are
always ours (the stored offsets), which a shop's own database gets too."""


def upgrade(engine: sa.Engine, *, products: bool = True) -> list[str]:
    """Apply the revisions the database lacks in one transaction; return them, oldest first.

    products=False (a shop's own products table) applies only the offsets' line: the shop's
    table is never touched, and no `products` table is created beside it.
    """
    config = _config()
    target = _target(products)
    with translated(), engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(sa.select(sa.func.pg_advisory_xact_lock(UPGRADE_LOCK_KEY)))
        pending = _pending(ScriptDirectory.from_config(config), _current(connection), target)
        if pending:
            config.attributes["connection"] = connection
            command.upgrade(config, target)
    return pending


def current_revisions(engine: sa.Engine) -> set[str]:
    """The revisions the database is at (one per line); empty where migrations never ran."""
    with translated(), engine.connect() as connection:
        return set(_current(connection))


def pending_revisions(engine: sa.Engine, *, products: bool = True) -> list[str]:
    """What `upgrade` would apply, oldest first; [] when the schema is current."""
    script = ScriptDirectory.from_config(_config())
    with translated(), engine.connect() as connection:
        return _pending(script, _current(connection), _target(products))


def head_revisions(*, products: bool = True) -> set[str]:
    """The newest revisions shipped in this version of the package (of the offsets' line
    only, with products=False)."""
    script = ScriptDirectory.from_config(_config())
    heads = set(script.get_heads())
    if products:
        return heads
    head = script.get_revision(f"{OFFSETS_BRANCH}@head")
    assert head is not None, "the package ships the offsets' revisions"
    return {head.revision}


def is_current(engine: sa.Engine, *, products: bool = True) -> bool:
    return not pending_revisions(engine, products=products)


def _target(products: bool) -> str:
    return "heads" if products else f"{OFFSETS_BRANCH}@head"


def _pending(script: ScriptDirectory, current: tuple[str, ...], target: str) -> list[str]:
    done = (
        {r.revision for r in script.iterate_revisions(current, "base") if r is not None}
        if current
        else set()
    )
    wanted = [r.revision for r in script.iterate_revisions(target, "base") if r is not None]
    return [revision for revision in wanted[::-1] if revision not in done]


def _current(connection: sa.Connection) -> tuple[str, ...]:
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return tuple(context.get_current_heads())


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    return config
