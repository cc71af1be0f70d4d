"""Engines for the two supported databases, set up for a long-running writer."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

SQLITE_BUSY_TIMEOUT_MS = 5_000


def create_engine_from_url(url: str, *, sqlite_wal: bool = False) -> sa.Engine:
    """An engine for a database URL: PostgreSQL through psycopg 3, SQLite with its pragmas set.

    SQLite's journal mode is a property of the file, shared with the shop that owns it, so it
    is switched to WAL (readers never block the writer) only when `sqlite_wal` asks for it.
    """
    try:
        parsed = sa.make_url(url)
    except ValueError as exc:  # a port that is not a number: SQLAlchemy lets int() fail
        from inventory_sync.settings import mask_url_password

        message = f"{mask_url_password(url)} is not a valid database URL ({exc})"
        raise sa.exc.ArgumentError(message) from None
    if parsed.drivername in {"postgresql", "postgres"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        return sa.create_engine(parsed, pool_pre_ping=True)
    engine = sa.create_engine(parsed)
    if backend == "sqlite":
        wal = sqlite_wal and not _in_memory(parsed)
        sa.event.listen(engine, "connect", _sqlite_pragmas(wal=wal))
    return engine


def _in_memory(url: sa.URL) -> bool:
    database = url.database or ":memory:"
    return (
        database == ":memory:"
        or database.startswith("file::memory:")
        or url.query.get("mode") == "memory"
    )


def _sqlite_pragmas(*, wal: bool) -> Any:
    """A connect hook: a writer waits for a busy lock; with `wal`, readers never block it."""

    def set_pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            if wal:
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()

    return set_pragmas
