"""Database errors, translated in one place into the two the domain acts on.

StorageRejected: the data itself was refused (retrying cannot help; the service isolates the
record). TransientError: the database is away or busy (the run loop backs off and retries the
same batch). Anything else is a bug or a misconfiguration and is left as it is.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy.exc as sa_exc

from inventory_sync.domain.errors import InventorySyncError, StorageRejected, TransientError

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
