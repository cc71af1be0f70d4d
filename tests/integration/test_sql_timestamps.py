"""The stale guard compares every storable time as the calendar does, on SQLite and PostgreSQL.

Years 1 to 9999 at any offset: the database decides "not older than what is stored" in the
UPDATE itself, so its order of stored times must be the order of the instants.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta, timezone

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inventory_sync.adapters.sql.repository import SqlUnitOfWork
from inventory_sync.domain.model import Product, StockChange
from tests.integration.sql_support import engine_on

OFFSETS = st.integers(-14 * 60, 14 * 60).map(lambda minutes: timezone(timedelta(minutes=minutes)))
TIMES = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=OFFSETS
)
NEAR = st.sampled_from([timedelta(0), timedelta(microseconds=1), timedelta(microseconds=-1)])
_codes = itertools.count()


@st.composite
def two_times(draw: st.DrawFn) -> tuple[datetime, datetime]:
    """A stored time and an update's: anywhere in the calendar, or a microsecond apart."""
    stored = draw(TIMES)
    if draw(st.booleans()):
        return stored, draw(TIMES)
    update = (stored.astimezone(UTC) + draw(NEAR)).astimezone(draw(OFFSETS))
    return stored, update


def test_the_stale_guard_orders_times_from_year_1_to_9999_like_the_calendar(
    database_url: str,
) -> None:
    with engine_on(database_url) as engine:
        uow = SqlUnitOfWork(engine)

        @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @given(two_times())
        def check(times: tuple[datetime, datetime]) -> None:
            stored, update = times
            code = f"T{next(_codes)}"
            with uow as opened:
                opened.products.add([Product(code, code)])
                first = opened.products.apply([StockChange(code, 1, stored)])
                second = opened.products.apply([StockChange(code, 2, update)])
                opened.commit()
            assert first.applied == {code}
            assert (code in second.applied) == (update >= stored), (stored, update)
            assert (code in second.stale) == (update < stored), (stored, update)

        check()


EDGES = [
    datetime(1, 1, 1, tzinfo=UTC),
    datetime(1, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
    datetime(999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
    datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
    datetime(1970, 1, 1, tzinfo=UTC),
    datetime(2026, 3, 29, 1, 30, 0, 654_321, tzinfo=timezone(timedelta(hours=-7))),
    datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
]


def test_times_at_the_ends_of_the_calendar_are_stored_to_the_microsecond(
    database_url: str,
) -> None:
    with engine_on(database_url) as engine:
        uow = SqlUnitOfWork(engine)
        codes = [f"E{index}" for index in range(len(EDGES))]
        with uow:
            uow.products.add([Product(code, code) for code in codes])
            result = uow.products.apply(
                [StockChange(code, 1, at) for code, at in zip(codes, EDGES, strict=True)]
            )
            uow.commit()
        with uow:
            stored = [uow.products.get(code) for code in codes]

    assert result.applied == set(codes)
    assert [product and product.inventory_updated_at for product in stored] == EDGES


def test_stored_times_do_not_depend_on_the_database_sessions_time_zone(
    fresh_postgres_url: str,
) -> None:
    """PostgreSQL adds days in the session's time zone: a batch's times must not go that way."""
    far_from_utc = sa.make_url(fresh_postgres_url).update_query_dict(
        {"options": "-c timezone=America/St_Johns"}
    )
    with engine_on(far_from_utc.render_as_string(hide_password=False)) as engine:
        uow = SqlUnitOfWork(engine)
        times = EDGES[2:]  # year 1 in UTC is year 0 there: psycopg cannot read that back
        codes = [f"Z{index}" for index in range(len(times))]
        with uow:
            uow.products.add([Product(code, code) for code in codes])
            uow.products.apply(
                [StockChange(code, 1, at) for code, at in zip(codes, times, strict=True)]
            )
            uow.commit()
        with engine.connect() as connection:
            zone = connection.execute(sa.text("SHOW timezone")).scalar_one()
        with uow:
            stored = [uow.products.get(code) for code in codes]

    assert zone == "America/St_Johns"
    assert [product and product.inventory_updated_at for product in stored] == times
