"""One database transaction per unit of work, per thread, rolled back unless committed."""

from __future__ import annotations

import logging
import threading
from types import TracebackType
from typing import Self

import sqlalchemy as sa

from inventory_sync.adapters.sql.faults import translated
from inventory_sync.adapters.sql.repository import SqlProductRepository
from inventory_sync.adapters.sql.tables import TableMapping

log = logging.getLogger(__name__)


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
