"""The repository's SQL, built once per table mapping and dialect.

A batch travels as one parameter whatever its size (a JSON text, or a PostgreSQL array of
codes), so no statement nears a bind-parameter limit and every statement stays cached.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from inventory_sync.adapters.sql.tables import ProductColumns, TableMapping, as_utc, columns_for
from inventory_sync.domain.model import Product, StockChange

Params = dict[str, Any]


def sqlite_text(value: datetime) -> str:
    """How SQLite stores a time: the text SQLAlchemy's DATETIME writes, in UTC.

    Not strftime: its %Y does not pad years before 1000 ("999-..."), and text order would
    then differ from time order.
    """
    t = as_utc(value)
    return (
        f"{t.year:04d}-{t.month:02d}-{t.day:02d} "
        f"{t.hour:02d}:{t.minute:02d}:{t.second:02d}.{t.microsecond:06d}"
    )


class _BatchParameters(Protocol):
    """How one dialect takes a whole batch as a single bound parameter."""

    def has_code(self, column: sa.ColumnClause[Any]) -> sa.ColumnElement[bool]: ...

    def codes(self, codes: Collection[str]) -> Params: ...

    def changes_source(self) -> sa.FromClause:
        """A FROM item with columns code, count (null for a relative change), at, delta and
        low: the rows of the batch."""
        ...

    def changes(self, changes: Sequence[StockChange]) -> Params: ...


class _PostgresJson:
    def has_code(self, column: sa.ColumnClause[Any]) -> sa.ColumnElement[bool]:
        return column == sa.any_(sa.bindparam("codes", type_=postgresql.ARRAY(sa.Text)))

    def codes(self, codes: Collection[str]) -> Params:
        return {"codes": list(codes)}

    def changes_source(self) -> sa.FromClause:
        """json_to_recordset over one JSON text: json.dumps is C, psycopg's array dumping is
        Python, and it was a tenth of the run loop's time."""
        rows = sa.func.json_to_recordset(sa.cast(sa.bindparam("changes", type_=sa.Text), sa.JSON))
        typed = rows.table_valued(
            sa.column("code", sa.Text),
            sa.column("count", sa.BigInteger),
            sa.column("at", sa.DateTime(timezone=True)),
            sa.column("delta", sa.BigInteger),
            sa.column("low", sa.BigInteger),
        )
        return typed.render_derived(name="v", with_types=True)

    def changes(self, changes: Sequence[StockChange]) -> Params:
        rows = [
            {
                "code": c.product_code,
                "count": c.inventory_count,
                "at": as_utc(c.at).isoformat(),
                "delta": c.delta,
                "low": c.low,
            }
            for c in changes
        ]
        return {"changes": json.dumps(rows)}


class _SqliteJson:
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
        return sa.select(*extracted).subquery("v")

    def changes(self, changes: Sequence[StockChange]) -> Params:
        rows = [
            [c.product_code, c.inventory_count, sqlite_text(c.at), c.delta, c.low] for c in changes
        ]
        return {"changes": json.dumps(rows)}


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
    return Statements(
        columns=c,
        batch=batch,
        known=sa.select(c.code).where(batch.has_code(c.code)),
        apply=_conditional_update(c, batch.changes_source()),
        insert=insert(c.table).on_conflict_do_nothing(index_elements=[c.code]),
        get=shown.where(c.code == sa.bindparam("code")),
        all=shown,
        create_defaults=dict(mapping.create_defaults),
    )


def _conditional_update(c: ProductColumns, v: sa.FromClause) -> sa.Executable:
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
