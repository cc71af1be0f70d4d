"""Engines from database URLs: the psycopg 3 driver for PostgreSQL, SQLite tuned for a writer."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from inventory_sync.adapters.sql.engine import create_engine_from_url


def pragmas(engine: sa.Engine) -> tuple[object, ...]:
    with engine.connect() as connection:
        return tuple(
            connection.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "busy_timeout", "synchronous")
        )


@pytest.mark.parametrize("scheme", ["postgresql", "postgres", "postgresql+psycopg"])
def test_a_postgresql_url_gets_the_psycopg_3_driver_and_pre_ping(scheme: str) -> None:
    engine = create_engine_from_url(f"{scheme}://shop:secret@db.internal:5432/shop")

    assert engine.url.drivername == "postgresql+psycopg"
    assert engine.pool._pre_ping


def test_a_sqlite_file_keeps_its_journal_mode_and_gets_a_busy_timeout(sqlite_url: str) -> None:
    engine = create_engine_from_url(sqlite_url)
    try:
        assert pragmas(engine) == ("delete", 5000, 1)
    finally:
        engine.dispose()


def test_a_sqlite_file_is_switched_to_wal_only_when_the_setting_asks(sqlite_url: str) -> None:
    engine = create_engine_from_url(sqlite_url, sqlite_wal=True)
    try:
        assert pragmas(engine) == ("wal", 5000, 1)
    finally:
        engine.dispose()


def test_an_in_memory_sqlite_database_keeps_its_memory_journal() -> None:
    engine = create_engine_from_url("sqlite://")
    try:
        assert pragmas(engine) == ("memory", 5000, 1)
    finally:
        engine.dispose()


def test_creating_an_engine_connects_to_nothing() -> None:
    create_engine_from_url("postgresql://nobody@127.0.0.1:1/none")
    create_engine_from_url("sqlite:////nonexistent-folder/inventory.db")
