"""Database errors become the domain's StorageRejected or TransientError, and nothing else."""

from __future__ import annotations

import sqlite3

import pytest
import sqlalchemy.exc as sa_exc

from inventory_sync.adapters.sql.repository import translate, translated
from inventory_sync.domain.errors import StorageRejected, TransientError


class PgError(Exception):
    """What a psycopg error carries that matters here: its SQLSTATE."""

    def __init__(self, sqlstate: str | None, message: str = "server said no") -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


def wrapped(
    kind: type[sa_exc.DBAPIError], orig: Exception, *, invalidated: bool = False
) -> sa_exc.DBAPIError:
    return kind("UPDATE products ...", {}, orig, connection_invalidated=invalidated)


@pytest.mark.parametrize(
    "sqlstate",
    ["40001", "40P01", "55P03", "57P01", "57P02", "57P03", "08006", "08001", "53300", "57014"],
)
def test_a_postgresql_fault_that_clears_by_itself_is_transient(sqlstate: str) -> None:
    assert isinstance(translate(wrapped(sa_exc.DBAPIError, PgError(sqlstate))), TransientError)


@pytest.mark.parametrize("sqlstate", ["23514", "23505", "22003", "22001", "54000"])
def test_a_postgresql_error_about_the_data_is_a_storage_rejection(sqlstate: str) -> None:
    assert isinstance(translate(wrapped(sa_exc.DBAPIError, PgError(sqlstate))), StorageRejected)


@pytest.mark.parametrize("sqlstate", ["42P01", "42703", "42601"])
def test_a_postgresql_schema_or_syntax_error_is_left_as_it_is(sqlstate: str) -> None:
    assert translate(wrapped(sa_exc.ProgrammingError, PgError(sqlstate))) is None


@pytest.mark.parametrize("kind", [sa_exc.IntegrityError, sa_exc.DataError])
def test_integrity_and_data_errors_are_storage_rejections(kind: type[sa_exc.DBAPIError]) -> None:
    rejection = translate(wrapped(kind, sqlite3.IntegrityError("CHECK constraint failed: x")))

    assert isinstance(rejection, StorageRejected)
    assert str(rejection) == "IntegrityError: CHECK constraint failed: x"


@pytest.mark.parametrize("kind", [sa_exc.OperationalError, sa_exc.InterfaceError])
def test_operational_and_interface_errors_without_a_sqlstate_are_transient(
    kind: type[sa_exc.DBAPIError],
) -> None:
    assert isinstance(translate(wrapped(kind, PgError(None))), TransientError)


def test_a_locked_sqlite_database_is_transient() -> None:
    locked = sqlite3.OperationalError("database is locked")
    locked.sqlite_errorcode = sqlite3.SQLITE_BUSY

    assert isinstance(translate(wrapped(sa_exc.OperationalError, locked)), TransientError)


def test_a_missing_sqlite_table_or_column_is_left_as_it_is() -> None:
    missing = sqlite3.OperationalError("no such column: quantity")
    missing.sqlite_errorcode = sqlite3.SQLITE_ERROR

    assert translate(wrapped(sa_exc.OperationalError, missing)) is None


def test_an_invalidated_connection_and_a_lost_one_are_transient() -> None:
    invalidated = wrapped(sa_exc.DBAPIError, PgError("23505"), invalidated=True)

    assert isinstance(translate(invalidated), TransientError)
    assert isinstance(translate(sa_exc.DisconnectionError("gone")), TransientError)


def test_the_translation_chains_the_original_error() -> None:
    original = wrapped(sa_exc.OperationalError, PgError("40P01", "deadlock detected"))

    with pytest.raises(TransientError, match="deadlock detected") as caught, translated():
        raise original

    assert caught.value.__cause__ is original


def test_an_error_the_domain_has_no_name_for_passes_through_untouched() -> None:
    original = wrapped(sa_exc.ProgrammingError, PgError("42P01"))

    with pytest.raises(sa_exc.ProgrammingError) as caught, translated():
        raise original

    assert caught.value is original
