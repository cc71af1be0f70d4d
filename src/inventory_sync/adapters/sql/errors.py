"""What a database error means to whoever asked for the work: the domain's error, one line
that says which database (its password masked) and what to do.

The run loop needs only transient-or-not (repository.translate); commands and the library's
pre-flight need to tell "cannot reach it" from "not set up" from a bad URL, here.
"""

from __future__ import annotations

import sqlalchemy.exc as sa_exc

from inventory_sync.domain.errors import InventorySyncError, ServiceUnreachable
from inventory_sync.settings import Settings, SettingsError, mask_url_password

UNDEFINED_TABLE = "42P01"
UNDEFINED_COLUMN = "42703"
"""PostgreSQL's SQLSTATEs; SQLite has one code for every such error, so its own words
("no such table", "no such column") are the only way to tell them."""


class DatabaseNotReady(InventorySyncError):
    """The database answers but lacks the schema or a mapped column (exit 1)."""


def database_error(exc: sa_exc.SQLAlchemyError, settings: Settings) -> InventorySyncError | None:
    """The domain's error for a database error met by a command, None if it has no name."""
    if isinstance(exc, sa_exc.ArgumentError | sa_exc.NoSuchModuleError):
        return SettingsError(f"setting database_url: {_first_line(str(exc))}")
    if not isinstance(exc, sa_exc.DBAPIError):
        return None
    where = mask_url_password(settings.database_url)
    detail = _first_line(str(exc.orig or exc))
    state = getattr(exc.orig, "sqlstate", None)
    if state == UNDEFINED_COLUMN or "no such column" in detail:
        return DatabaseNotReady(
            f"the database at {where} lacks a mapped column ({detail}): check the settings "
            "products_table, code_column, count_column, updated_at_column, name_column "
            "(inventory-sync check)"
        )
    if state == UNDEFINED_TABLE or "no such table" in detail:
        return DatabaseNotReady(
            f"the database at {where} is not set up ({detail}): run inventory-sync db upgrade"
        )
    if isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError):
        return ServiceUnreachable(f"cannot reach the database at {where}: {detail}")
    return InventorySyncError(f"database at {where}: {type(exc).__name__}: {detail}")


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else text.strip()
