"""The repository's SQL, built once per table mapping and dialect.

A batch travels as one parameter whatever its size (a JSON text, or a PostgreSQL array of
codes), so no statement nears a bind-parameter limit and every statement stays cached. On
PostgreSQL one statement writes a batch and tells which of its codes the table lacks; SQLite
cannot modify data in a WITH clause, so there a second query asks (in-process, it is cheap).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from inventory_sync.adapters.sql.tables import ProductColumns, TableMapping, as_utc, columns_for
from inventory_sync.adapters.sql.times import (
    epoch_microseconds,
    from_epoch_microseconds,
    sqlite_text,
)
from inventory_sync.domain.model import Product, StockChange

Params = dict[str, Any]

_BATCH = "inventory_sync_batch"
"""The batch's rows in the statements: a name no shop's table has (a WITH query would hide it)."""


class _BatchParameters(Protocol):
    """How one dialect takes a whole batch as a single bound parameter."""

    apply_returns_unwritten: bool
    """True: apply returns rows (code, known) of the codes it did not write (PostgreSQL);
    False: the codes it wrote, and `known` tells which of the others the table has (SQLite)."""

    def has_code(self, column: sa.ColumnClause[Any]) -> sa.ColumnElement[bool]: ...

    def codes(self, codes: Collection[str]) -> Params: ...

    def changes_source(self) -> sa.FromClause:
        """A FROM item with columns code, count (null for a relative change), at, delta and
        low (unused for an absolute change): the rows of the batch."""
        ...

    def changes(self, changes: Sequence[StockChange]) -> Params: ...

    def apply(self, c: ProductColumns, update: sa.Update, v: sa.FromClause) -> sa.Executable:
        """The statement that runs `update` (UPDATE ... FROM v ... RETURNING the codes written)."""
        ...


class _PostgresJson:
    apply_returns_unwritten = True

    def has_code(self, column: sa.ColumnClause[Any]) -> sa.ColumnElement[bool]:
        return column == sa.any_(sa.bindparam("codes", type_=postgresql.ARRAY(sa.Text)))

    def codes(self, codes: Collection[str]) -> Params:
        return {"codes": list(codes)}

    def changes_source(self) -> sa.FromClause:
        """json_to_recordset over one JSON text (json.dumps is C; psycopg's array dumping is
        Python, several times slower), times as integers (cheaper than isoformat, and than
        parsing text on the server), as a WITH query that the statement reads twice."""
        rows = sa.func.json_to_recordset(sa.cast(sa.bindparam("changes", type_=sa.Text), sa.JSON))
        r = rows.table_valued(
            sa.column("code", sa.Text),
            sa.column("count", sa.BigInteger),
            sa.column("us", sa.BigInteger),
            sa.column("delta", sa.BigInteger),
            sa.column("low", sa.BigInteger),
        ).render_derived(name="r", with_types=True)
        at = from_epoch_microseconds(r.c.us).label("at")
        return sa.select(r.c.code, r.c.count, at, r.c.delta, r.c.low).cte(_BATCH)

    def changes(self, changes: Sequence[StockChange]) -> Params:
        """Only the keys a change uses: a missing one reads as null."""
        rows = [
            {"code": c.product_code, "count": c.inventory_count, "us": us}
            if c.inventory_count is not None
            else {"code": c.product_code, "us": us, "delta": c.delta, "low": c.low}
            for c, us in zip(changes, epoch_microseconds(changes), strict=True)
        ]
        return {"changes": json.dumps(rows)}

    def apply(self, c: ProductColumns, update: sa.Update, v: sa.FromClause) -> sa.Executable:
        """The UPDATE as a WITH query, and rows (code, known) for the codes it did not write:
        whether the table has them, as it was before the UPDATE (one snapshot for the whole
        statement). Mostly a handful of rows, not one per code written."""
        u = update.cte("inventory_sync_written")
        k = c.table.alias("stored")
        found = sa.select(sa.true()).where(k.c[c.code.key] == v.c.code).limit(1)
        known = found.scalar_subquery().is_not(None)  # an index lookup per row, not a scan
        written = sa.exists().where(u.c[c.code.key] == v.c.code)
        return sa.select(v.c.code, known.label("known")).where(~written)


class _SqliteJson:
    apply_returns_unwritten = False

    def has_code(self, column: sa.ColumnClause[Any]) -> sa.ColumnElement[bool]:
        each = sa.func.json_each(sa.bindparam("codes", type_=sa.Text)).table_valued("value")
        return column.in_(sa.select(each.c.value))

    def codes(self, codes: Collection[str]) -> Params:
        return {"codes": json.dumps(list(codes))}

    def changes_source(self) -> sa.FromClause:
        each = sa.func.json_each(sa.bindparam("changes", type_=sa.Text)).table_valued("value")
        fields = ("code", "count", "at", "delta", "low")
        extracted = [
            sa.func.json_extract(each.c.value, f"$[{index}]").label(field)
            for index, field in enumerate(fields)
        ]
        return sa.select(*extracted).subquery(_BATCH)

    def changes(self, changes: Sequence[StockChange]) -> Params:
        rows = [
            [c.product_code, c.inventory_count, sqlite_text(c.at), c.delta, c.low] for c in changes
        ]
        return {"changes": json.dumps(rows)}

    def apply(self, c: ProductColumns, update: sa.Update, v: sa.FromClause) -> sa.Executable:
        return update


_DIALECTS: dict[str, tuple[_BatchParameters, Any]] = {
    "postgresql": (_PostgresJson(), postgresql.insert),
    "sqlite": (_SqliteJson(), sqlite.insert),
}


@dataclass(frozen=True, slots=True)
class Statements:
    columns: ProductColumns
    batch: _BatchParameters
    known: sa.Select[Any]
    apply: sa.Executable
    insert: sa.Executable
    get: sa.Select[Any]
    all: sa.Select[Any]
    create_defaults: Params

    def insert_rows(self, products: Sequence[Product]) -> list[Params]:
        c = self.columns
        rows: list[Params] = []
        for product in products:
            row = {**self.create_defaults, c.code.key: product.code}
            row[c.count.key] = product.inventory_count
            if c.name is not None:
                row[c.name.key] = product.name
            if c.updated_at is not None:
                at = product.inventory_updated_at
                row[c.updated_at.key] = None if at is None else as_utc(at)
            rows.append(row)
        return rows


@functools.cache
def statements_for(mapping: TableMapping, dialect: str) -> Statements:
    """Every statement of the repository for this mapping on this dialect."""
    if dialect not in _DIALECTS:
        raise NotImplementedError(f"inventory-sync supports SQLite and PostgreSQL, not {dialect}")
    batch, insert = _DIALECTS[dialect]
    c = columns_for(mapping)
    shown = sa.select(
        c.code.label("code"),
        (c.name if c.name is not None else c.code).label("name"),
        c.count.label("inventory_count"),
        (c.updated_at if c.updated_at is not None else sa.null()).label("inventory_updated_at"),
    ).select_from(c.table)
    v = batch.changes_source()
    return Statements(
        columns=c,
        batch=batch,
        known=sa.select(c.code).where(batch.has_code(c.code)),
        apply=batch.apply(c, _conditional_update(c, v), v),
        insert=insert(c.table).on_conflict_do_nothing(index_elements=[c.code]),
        get=shown.where(c.code == sa.bindparam("code")),
        all=shown,
        create_defaults=dict(mapping.create_defaults),
    )


def _conditional_update(c: ProductColumns, v: sa.FromClause) -> sa.Update:
    """UPDATE ... FROM the batch, RETURNING the codes written. An absolute change sets the
    count, the stale guard in the WHERE; a relative one adds its delta where the count never
    dips below 0 (stored + low >= 0) and moves the time forward only."""
    relative = v.c.count.is_(None)
    values: dict[sa.ColumnClause[Any], Any] = {
        c.count: sa.case((relative, c.count + v.c.delta), else_=v.c.count)
    }
    where = [c.code == v.c.code, sa.or_(~relative, c.count + v.c.low >= 0)]
    if c.updated_at is not None:
        values[c.updated_at] = sa.case(
            (sa.and_(relative, c.updated_at > v.c.at), c.updated_at), else_=v.c.at
        )
        where.append(sa.or_(relative, c.updated_at.is_(None), c.updated_at <= v.c.at))
    if c.touched is not None:
        values[c.touched] = sa.func.now()
    return sa.update(c.table).where(*where).values(values).returning(c.code)
