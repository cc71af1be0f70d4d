"""The product repository over SQL: bulk conditional writes, the stale guard in the statement."""

from __future__ import annotations

from collections.abc import Collection, Sequence

import sqlalchemy as sa

from inventory_sync.adapters.sql.faults import translated
from inventory_sync.adapters.sql.statements import statements_for
from inventory_sync.adapters.sql.tables import TableMapping
from inventory_sync.domain.model import Product, StockChange
from inventory_sync.domain.ports import ApplyResult


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
