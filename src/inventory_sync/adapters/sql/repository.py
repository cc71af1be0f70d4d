"""The repository and unit of work over SQL: bulk conditional writes with the stale guard in
the statement, one transaction per unit of work (with the stored offsets, adapters/sql/
offsets.py), database errors translated by errors.py."""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection, Sequence
from types import TracebackType
from typing import Self

import sqlalchemy as sa

from inventory_sync.adapters.sql.errors import translate, translated
from inventory_sync.adapters.sql.offsets import SqlOffsetStore
from inventory_sync.adapters.sql.statements import statements_for
from inventory_sync.adapters.sql.tables import TableMapping
from inventory_sync.domain.model import Product, StockChange
from inventory_sync.domain.ports import ApplyResult

__all__ = ["SqlProductRepository", "SqlUnitOfWork", "translate", "translated"]

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
        """One statement for the whole batch; what it did not write is unknown if the table
        lacks it, else stale (a count) or negative (deltas)."""
        if not changes:
            return ApplyResult()
        codes = {change.product_code for change in changes}
        with translated():
            result = self._connection.execute(self._sql.apply, self._sql.batch.changes(changes))
            if self._sql.batch.apply_returns_unwritten:
                rows = result.all()
                unwritten = {row.code for row in rows}
                known = {row.code for row in rows if row.known}
            else:
                unwritten = codes - set(result.scalars().all())
                known = self.known_codes(unwritten)
        relative = {c.product_code for c in changes if c.inventory_count is None}
        return ApplyResult(
            applied=frozenset(codes - unwritten),
            stale=frozenset(known - relative),
            unknown=frozenset(unwritten - known),
            negative=frozenset(known & relative),
        )

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
        self._local.offsets = SqlOffsetStore(connection)
        return self

    @property
    def offsets(self) -> SqlOffsetStore:
        store: SqlOffsetStore | None = getattr(self._local, "offsets", None)
        if store is None:
            raise RuntimeError("the unit of work's offsets exist only inside `with uow:`")
        return store

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
        self._local.offsets = None
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
