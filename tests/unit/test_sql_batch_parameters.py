"""How a batch's times travel to the database: exact, in UTC, naive times refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.dialects import sqlite

from inventory_sync.adapters.sql.times import epoch_microseconds, sqlite_text
from inventory_sync.domain.model import StockChange

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
TIMES = [
    datetime(1, 1, 1, tzinfo=UTC),
    datetime(1, 1, 1, 2, 0, 0, 1, tzinfo=timezone(timedelta(hours=1))),
    datetime(999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
    datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
    datetime(2026, 3, 29, 1, 30, 0, 654_321, tzinfo=timezone(timedelta(hours=-7, minutes=-30))),
    datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
]


def changes_at(*times: datetime) -> list[StockChange]:
    return [StockChange(f"P-{index}", 1, at) for index, at in enumerate(times)]


def test_a_batch_carries_its_times_as_exact_microseconds_since_1970() -> None:
    microseconds = epoch_microseconds(changes_at(*TIMES))

    assert [EPOCH + timedelta(microseconds=us) for us in microseconds] == TIMES


@pytest.mark.parametrize(
    "at",
    [
        datetime(1, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=1))),
        datetime(9999, 12, 31, 23, 30, tzinfo=timezone(timedelta(hours=-5))),
    ],
)
def test_a_time_outside_years_1_to_9999_in_utc_is_refused(at: datetime) -> None:
    with pytest.raises(ValueError, match="outside years 1 to 9999"):
        epoch_microseconds(changes_at(TIMES[0], at))


def test_a_naive_time_in_a_batch_is_refused_as_naive() -> None:
    with pytest.raises(ValueError, match="naive"):
        epoch_microseconds(changes_at(TIMES[0], datetime(2026, 1, 1)))


@pytest.mark.parametrize("at", TIMES)
def test_sqlite_gets_the_text_sqlalchemy_writes_for_the_time_in_utc(at: datetime) -> None:
    write = sqlite.DATETIME().bind_processor(sqlite.dialect())
    assert write is not None

    assert sqlite_text(at) == write(at.astimezone(UTC).replace(tzinfo=None))


def test_sqlite_text_refuses_a_naive_time() -> None:
    with pytest.raises(ValueError, match="naive"):
        sqlite_text(datetime(2026, 1, 1))
