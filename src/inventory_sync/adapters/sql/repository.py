"""The repository and unit of work over SQL: bulk conditional writes with the stale guard in
the statement, one transaction per unit of work, and database errors translated, in one place,
into the two the domain acts on.

StorageRejected: the data itself was refused (retrying cannot help; the service isolates the
record). TransientError: the database is away or busy (the run loop backs off and retries the
same batch). Anything else is a bug or a misconfiguration and is left as it is.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from types import TracebackType
from typing import Self

import sqlalchemy as sa
import sqlalchemy.exc as sa_exc

from inventory_sync.adapters.sql.statements import statements_for
from inventory_sync.adapters.sql.tables import TableMapping
from inventory_sync.domain.errors import InventorySyncError, StorageRejected, TransientError
from inventory_sync.domain.model import Product, StockChange
from inventory_sync.domain.ports import ApplyResult

log = logging.getLogger(__name__)


class SqlProductRepository:
    """The ProductRepository port on one connection and its transaction (see SqlUnitOfWork)."""

    def __init__(self, connection: sa.Connection, mapping: TableMapping | None = None) -> None:
        self._connection = connection
        self._sql = statements_for(mapping or TableMapping(), connection.dialect.name)

    def known_codes(self, codes: Collection[str]) -> set[str]:
        if not codes:
            return set()
        with translated():
            found = self._connection.execute(self._sql.known, self._sql.batch.codes(codes))
            return set(found.scalars())

    def apply(self, changes: Sequence[StockChange]) -> ApplyResult:
        """One UPDATE for the whole batch; what it did not write is stale if known, else unknown."""
        if not changes:
            return ApplyResult()
        codes = {change.product_code for change in changes}
        with translated():
            written = self._connection.execute(self._sql.apply, self._sql.batch.changes(changes))
            applied = set(written.scalars())
        known = self.known_codes(codes - applied)
        return ApplyResult(frozenset(applied), frozenset(known), frozenset(codes - applied - known))

    def add(self, products: Sequence[Product]) -> None:
        if not products:
            return
        with translated():
            self._connection.execute(self._sql.insert, self._sql.insert_rows(products))

    def get(self, code: str) -> Product | None:
        with translated():
            row = self._connection.execute(self._sql.get, {"code": code}).one_or_none()
        return None if row is None else Product(**row._asdict())

    def list(self) -> list[Product]:
        with translated():
            rows = self._connection.execute(self._sql.all).all()
        return sorted((Product(**row._asdict()) for row in rows), key=lambda p: p.code)


class SqlUnitOfWork:
    """The UnitOfWork port over an engine; each thread that enters it gets its own connection.

    So one instance serves the run loop and, say, a web thread asking for a stock status.
    """

    def __init__(self, engine: sa.Engine, mapping: TableMapping | None = None) -> None:
        self.engine = engine
        self.mapping = mapping or TableMapping()
        self._local = threading.local()

    @property
    def products(self) -> SqlProductRepository:
        repository: SqlProductRepository | None = getattr(self._local, "products", None)
        if repository is None:
            raise RuntimeError("the unit of work's products exist only inside `with uow:`")
        return repository

    def __enter__(self) -> Self:
        if getattr(self._local, "connection", None) is not None:
            raise RuntimeError("this unit of work is already entered in this thread")
        with translated():
            connection = self.engine.connect()
        self._local.connection = connection
        self._local.products = SqlProductRepository(connection, self.mapping)
        return self

    def commit(self) -> None:
        with translated():
            self._connection().commit()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Roll back what was not committed; a failing rollback never hides the error in hand."""
        connection = self._connection()
        self._local.connection = None
        self._local.products = None
        try:
            with translated():
                connection.rollback()
        except Exception:
            if exc is None:
                raise
            log.debug("rollback failed while handling %r", exc, exc_info=True)
        finally:
            connection.close()

    def _connection(self) -> sa.Connection:
        connection: sa.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            raise RuntimeError("the unit of work is not entered in this thread")
        return connection


# -- database errors, translated ------------------------------------------------------------

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
