"""How the repository's statements carry times: SQLite as SQLAlchemy's text in UTC, PostgreSQL
as integers (microseconds since 1970) that the statement turns into timestamptz, exactly."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from inventory_sync.adapters.sql.tables import as_utc
from inventory_sync.domain.model import StockChange

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_FIRST_US = (datetime(1, 1, 1, tzinfo=UTC) - _EPOCH) // _MICROSECOND
_LAST_US = (datetime.max.replace(tzinfo=UTC) - _EPOCH) // _MICROSECOND


def sqlite_text(value: datetime) -> str:
    """How SQLite stores a time: the text SQLAlchemy's DATETIME writes, in UTC.

    isoformat pads years before 1000 ("0999-..."), so text order stays time order (strftime's
    %Y does not); its "+00:00" is cut off.
    """
    return as_utc(value).isoformat(" ", "microseconds")[:26]


def epoch_microseconds(changes: Sequence[StockChange]) -> list[int]:
    """The changes' times as exact integers, microseconds since 1970 UTC: no conversion to
    UTC needed (subtracting aware datetimes compares instants), a naive time refused."""
    try:
        times = [(change.at - _EPOCH) // _MICROSECOND for change in changes]
    except TypeError:  # a naive time cannot be subtracted from an aware one
        for change in changes:
            as_utc(change.at)  # raises for the naive one
        raise
    if times and (min(times) < _FIRST_US or max(times) > _LAST_US):
        raise ValueError("a change's time is outside years 1 to 9999 once converted to UTC")
    return times


def from_epoch_microseconds(us: sa.ColumnElement[int]) -> sa.ColumnElement[datetime]:
    """PostgreSQL's timestamptz of an epoch_microseconds() value, exact to the microsecond
    for years 1 to 9999: whole seconds and the rest times intervals, each product an integer
    that a double holds exactly (and no local-time day arithmetic: the interval is all time)."""
    million = sa.literal_column("1000000", sa.BigInteger)
    epoch = sa.literal_column("timestamptz 'epoch'", sa.DateTime(timezone=True))
    second = sa.literal_column("interval '1 second'", sa.Interval)
    microsecond = sa.literal_column("interval '1 microsecond'", sa.Interval)
    return epoch + (us // million) * second + (us % million) * microsecond
