"""Database errors, translated in one place into the domain's.

For the run loop (translate): StorageRejected, the data itself was refused (retrying cannot
help; the service isolates the record), and TransientError, the database is away or busy (the
run loop backs off and retries the same batch); anything else is left as it is. For commands
and the library's pre-flight (database_error): one line that says which database (its
password masked) and what to do: cannot reach it, not set up, or a bad URL.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy.exc as sa_exc

from inventory_sync.domain.errors import (
    InventorySyncError,
    ServiceUnreachable,
    StorageRejected,
    TransientError,
)
from inventory_sync.settings import Settings, SettingsError, mask_url_password

TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "55P03"})
"""Serialization failure, deadlock, lock not available."""
TRANSIENT_SQLSTATE_CLASSES = frozenset({"08", "53", "57"})
"""Connection exception, insufficient resources, operator intervention (shutdown, restart)."""
REJECTING_SQLSTATE_CLASSES = frozenset({"22", "23", "54"})
"""Data exception, integrity constraint violation, program limit exceeded by the data."""
SQLITE_ERROR = 1
"""SQLite's generic error: no such table or column, a syntax error; not transient."""


@contextmanager
def translated() -> Iterator[None]:
    """Run a block of database work, raising the domain's error for a database error."""
    try:
        yield
    except (sa_exc.DBAPIError, sa_exc.DisconnectionError) as exc:
        translation = translate(exc)
        if translation is None:
            raise
        raise translation from exc


def translate(exc: sa_exc.SQLAlchemyError) -> InventorySyncError | None:
    """The domain's error for a database error, or None when the domain has no name for it."""
    if isinstance(exc, sa_exc.DisconnectionError):
        return TransientError(f"database connection lost: {exc}")
    if not isinstance(exc, sa_exc.DBAPIError):
        return None
    if _is_transient(exc):
        return TransientError(f"database unavailable or busy: {_describe(exc)}")
    state = _sqlstate(exc)
    if state is not None and state[:2] in REJECTING_SQLSTATE_CLASSES:
        return StorageRejected(_describe(exc))
    if isinstance(exc, sa_exc.IntegrityError | sa_exc.DataError):
        return StorageRejected(_describe(exc))
    return None


def _is_transient(exc: sa_exc.DBAPIError) -> bool:
    if exc.connection_invalidated:
        return True
    state = _sqlstate(exc)
    if state is not None:
        return state in TRANSIENT_SQLSTATES or state[:2] in TRANSIENT_SQLSTATE_CLASSES
    sqlite_code = getattr(exc.orig, "sqlite_errorcode", None)
    if isinstance(sqlite_code, int) and sqlite_code & 0xFF == SQLITE_ERROR:
        return False
    return isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError)


def _sqlstate(exc: sa_exc.DBAPIError) -> str | None:
    state = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return state if isinstance(state, str) else None


def _describe(exc: sa_exc.DBAPIError) -> str:
    """The driver's own first line, without the SQL and its parameters (a whole batch)."""
    name = type(exc.orig).__name__
    lines = str(exc.orig).strip().splitlines()
    return f"{name}: {lines[0]}" if lines else name


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
