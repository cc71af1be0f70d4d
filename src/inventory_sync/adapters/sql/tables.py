"""The owned tables (`products`, `inventory_sync_offsets`), and the mapping that points the
repository at a shop's own table."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

if TYPE_CHECKING:
    from inventory_sync.settings import Settings


def as_utc(value: datetime) -> datetime:
    """The same instant in UTC; a naive datetime is refused, since its instant is unknown.

    The domain's times are already in UTC: those come back as they are, without a conversion.
    """
    if value.tzinfo is UTC:
        return value
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value.isoformat()}: inventory times must be aware")
    return value.astimezone(UTC)


class UtcDateTime(sa.TypeDecorator[datetime]):
    """A timestamp with time zone that binds UTC and reads back aware UTC on every database."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        return None if value is None else as_utc(value)

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        moment: datetime = value
        if moment.tzinfo is None:
            return moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)


metadata = sa.MetaData()

products = sa.Table(
    "products",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("code", sa.String(64), nullable=False),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("inventory_count", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("inventory_updated_at", UtcDateTime, nullable=True),
    sa.Column("created_at", UtcDateTime, nullable=False, server_default=sa.func.now()),
    sa.Column("updated_at", UtcDateTime, nullable=False, server_default=sa.func.now()),
    sa.UniqueConstraint("code", name="uq_products_code"),
    sa.CheckConstraint("inventory_count >= 0", name="ck_products_inventory_count_not_negative"),
)


offsets = sa.Table(
    "inventory_sync_offsets",
    metadata,
    sa.Column("group_id", sa.String(255), primary_key=True),
    sa.Column("topic", sa.String(255), primary_key=True),
    sa.Column("partition", sa.Integer, primary_key=True),
    sa.Column("next_offset", sa.BigInteger, nullable=True),
    sa.Column("updated_at", UtcDateTime, nullable=False, server_default=sa.func.now()),
)
"""offset_storage = database: per consumer group and partition, the next offset to apply,
written in the transaction of the writes. Always owned, also beside a shop's own table."""


@dataclass(frozen=True, slots=True)
class TableMapping:
    """Which table and columns hold the products; the defaults are the owned schema."""

    table: str = "products"
    code_column: str = "code"
    count_column: str = "inventory_count"
    updated_at_column: str | None = "inventory_updated_at"
    name_column: str | None = "name"
    create_defaults: tuple[tuple[str, Any], ...] = ()
    """Values for the other NOT NULL columns of a row that `unknown_products = create` inserts."""

    @classmethod
    def from_settings(cls, settings: Settings) -> TableMapping:
        """On a shop's table the name column is needed only to create products: it is mapped
        when the setting is given or unknown products are created, not by default."""
        owned_table = (settings.products_table, settings.code_column) == ("products", "code")
        wants_name = (
            owned_table
            or settings.unknown_products == "create"
            or "name_column" in settings.model_fields_set
        )
        return cls(
            table=settings.products_table,
            code_column=settings.code_column,
            count_column=settings.count_column,
            updated_at_column=settings.updated_at_column,
            name_column=settings.name_column if wants_name else None,
            create_defaults=tuple(sorted(settings.create_defaults.items())),
        )

    @property
    def owned(self) -> bool:
        """True for the `products` table that the migrations create and upgrade."""
        return self == TableMapping()


@dataclass(frozen=True, slots=True)
class ProductColumns:
    """The SQL objects behind a mapping: what the statements read and write."""

    table: sa.TableClause
    code: sa.ColumnClause[Any]
    count: sa.ColumnClause[Any]
    updated_at: sa.ColumnClause[Any] | None
    name: sa.ColumnClause[Any] | None
    touched: sa.ColumnClause[Any] | None
    """The owned table's row-level `updated_at`, set on every write; None for a shop's table."""


@functools.cache
def columns_for(mapping: TableMapping) -> ProductColumns:
    """The owned Table, or a lightweight table() construct naming only the mapped columns.

    A shop's table is never reflected: the library needs nothing but these columns and
    must not depend on (or touch) the others.
    """
    if mapping.owned:
        c = products.c
        return ProductColumns(
            products, c.code, c.inventory_count, c.inventory_updated_at, c.name, c.updated_at
        )
    code = sa.column(mapping.code_column, sa.String)
    count = sa.column(mapping.count_column, sa.Integer)
    updated_at = _optional(mapping.updated_at_column, UtcDateTime())
    name = _optional(mapping.name_column, sa.String())
    present = [column for column in (code, count, updated_at, name) if column is not None]
    present += [sa.column(column) for column, _ in mapping.create_defaults]
    schema, _, table_name = mapping.table.rpartition(".")
    table = sa.table(table_name, *present, schema=schema or None)
    return ProductColumns(table, code, count, updated_at, name, None)


def _optional(name: str | None, type_: sa.types.TypeEngine[Any]) -> sa.ColumnClause[Any] | None:
    return None if name is None else sa.column(name, type_)
