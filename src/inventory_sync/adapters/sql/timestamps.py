"""Inventory times in and out of SQL as aware UTC datetimes, stored so that SQL orders them right.

On SQLite a time is text: always UTC in one fixed-width format (SQLAlchemy's own DATETIME
storage format), so comparing the text compares the times, which the stale guard relies on.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa


def as_utc(value: datetime) -> datetime:
    """The same instant in UTC; a naive datetime is refused, since its instant is unknown."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value.isoformat()}: inventory times must be aware")
    return value.astimezone(UTC)


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
