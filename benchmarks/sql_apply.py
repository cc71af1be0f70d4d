"""Rows per second of the repository's bulk conditional apply against per-row ORM updates.

    python benchmarks/sql_apply.py [--rows 10000] [--repeat 3] [--postgres-url URL]
                                   [--batch 500] [--batches 200] [--odd 5]

Both write the same N coalesced updates (one per product, each newer than the stored one)
to the owned `products` table, in one transaction:
  bulk     SqlUnitOfWork: SqlProductRepository.apply(changes), then commit; the stale
           guard is in the UPDATE itself.
  per-row  an ORM Session: for each update, SELECT the product by code, check the guard in
           Python, set two attributes, flush; one commit at the end. (Not even race-safe.)
Then the run loop's shape: --batches units of work of --batch changes over the same
products, each with --odd unknown codes and --odd stale changes (older than stored), so
that not every code is written: µs per batch and per change of apply() alone, and of the
whole unit of work (enter, apply, commit, exit).
PostgreSQL comes from --postgres-url or INVENTORY_SYNC_TEST_POSTGRES_URL; the benchmark
creates a database of its own there and drops it. SQLite uses a temporary file.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import Session, registry

from inventory_sync.adapters.sql.engine import create_engine_from_url
from inventory_sync.adapters.sql.migrate import upgrade
from inventory_sync.adapters.sql.repository import SqlUnitOfWork
from inventory_sync.adapters.sql.tables import products
from inventory_sync.domain.model import Product, StockChange

T0 = datetime(2026, 1, 1, tzinfo=UTC)


class ProductRow:
    """The owned table as an ORM class, for the per-row way."""

    code: str
    inventory_count: int
    inventory_updated_at: datetime | None


registry().map_imperatively(ProductRow, products)


def changes_for(rows: int, round_: int) -> list[StockChange]:
    at = T0 + timedelta(minutes=round_)
    return [StockChange(f"P-{n:06}", (n + round_) % 1000, at) for n in range(rows)]


def bulk(engine: sa.Engine, changes: list[StockChange]) -> None:
    with SqlUnitOfWork(engine) as uow:
        result = uow.products.apply(changes)
        uow.commit()
    assert len(result.applied) == len(changes), "every update is newer: all must apply"


def per_row(engine: sa.Engine, changes: list[StockChange]) -> None:
    with Session(engine) as session:
        for change in changes:
            query = sa.select(ProductRow).where(products.c.code == change.product_code)
            row = session.scalars(query).one()
            stored_at = row.inventory_updated_at
            if stored_at is None or stored_at <= change.at:
                row.inventory_count = change.inventory_count
                row.inventory_updated_at = change.at
            session.flush()
        session.commit()


def mixed_batches(rows: int, size: int, count: int, odd: int) -> list[list[StockChange]]:
    """Batches cycling over the products, each newer than the last, with `odd` unknown codes
    and `odd` changes older than anything stored (stale)."""
    batches = []
    for n in range(count):
        at = T0 + timedelta(days=1, seconds=n)
        known = size - 2 * odd
        start = n * known % max(rows - known, 1)
        batch = [StockChange(f"P-{start + i:06}", n % 1000, at) for i in range(known)]
        batch += [StockChange(f"U-{n}-{i}", 1, at) for i in range(odd)]
        batch += [StockChange(f"P-{start + known + i:06}", 1, T0) for i in range(odd)]
        batches.append(batch)
    return batches


class Timing(NamedTuple):
    """µs per batch, the median over the batches: wall clock, and this process's CPU (the
    Python side; the rest is the database's work and the round trips)."""

    wall: float
    cpu: float


def measure_batches(engine: sa.Engine, batches: list[list[StockChange]]) -> dict[str, Timing]:
    """apply() alone and the whole unit of work (enter, apply, commit, exit) of each batch."""
    times: dict[str, list[tuple[float, float]]] = {"apply() of a batch": [], "unit of work": []}
    uow = SqlUnitOfWork(engine)
    for changes in batches:
        started = time.perf_counter(), time.process_time()
        with uow:
            applying = time.perf_counter(), time.process_time()
            result = uow.products.apply(changes)
            applied = time.perf_counter(), time.process_time()
            uow.commit()
        done = time.perf_counter(), time.process_time()
        times["apply() of a batch"].append((applied[0] - applying[0], applied[1] - applying[1]))
        times["unit of work"].append((done[0] - started[0], done[1] - started[1]))
        assert len(result.unknown) == len(result.stale), result
    return {
        way: Timing(*(statistics.median(column) * 1e6 for column in zip(*pairs, strict=True)))
        for way, pairs in times.items()
    }


def measure(
    engine: sa.Engine, way: Callable[[sa.Engine, list[StockChange]], None], rows: int, rounds: range
) -> float:
    """The best rows per second over the rounds; each round's updates are newer than the last's."""
    best = 0.0
    for round_ in rounds:
        changes = changes_for(rows, round_)
        started = time.perf_counter()
        way(engine, changes)
        best = max(best, rows / (time.perf_counter() - started))
    return best


@contextmanager
def sqlite_database() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as folder:
        yield f"sqlite:///{Path(folder) / 'bench.db'}"


@contextmanager
def postgres_database(server_url: str) -> Iterator[str]:
    name = f"inventory_sync_sql_apply_{uuid.uuid4().hex[:8]}"
    admin = create_engine_from_url(server_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run(label: str, url: str, rows: int, repeat: int, batches: list[list[StockChange]]) -> None:
    engine = create_engine_from_url(url)
    try:
        upgrade(engine)
        with SqlUnitOfWork(engine) as uow:
            uow.products.add([Product(f"P-{n:06}", f"Product {n}") for n in range(rows)])
            uow.commit()
        bulk_rate = measure(engine, bulk, rows, range(1, repeat + 1))
        row_rate = measure(engine, per_row, rows, range(repeat + 1, 2 * repeat + 1))
        timings = measure_batches(engine, batches)
    finally:
        engine.dispose()
    size = len(batches[0])
    print(f"{label:<11}{'bulk conditional apply':<28}{rows:>8}{bulk_rate:>14,.0f}")
    print(f"{label:<11}{'per-row ORM, flush per row':<28}{rows:>8}{row_rate:>14,.0f}")
    print(f"{label:<11}{'bulk / per-row':<28}{'':>8}{bulk_rate / row_rate:>13.1f}x")
    for way, (wall, cpu) in timings.items():
        rate = f"{wall:,.0f} µs/batch {wall / size:.2f} µs/change, CPU {cpu:,.0f} µs/batch"
        print(f"{label:<11}{way:<28}{size:>8}  {rate}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the best one counts")
    parser.add_argument("--batch", type=int, default=500, help="changes per unit of work")
    parser.add_argument("--batches", type=int, default=200, help="units of work; the median")
    parser.add_argument("--odd", type=int, default=5, help="unknown and stale codes per batch")
    parser.add_argument(
        "--postgres-url", default=os.environ.get("INVENTORY_SYNC_TEST_POSTGRES_URL")
    )
    args = parser.parse_args()
    batches = mixed_batches(args.rows, args.batch, args.batches, args.odd)
    print(f"{'database':<11}{'way':<28}{'rows':>8}{'rows/s':>14}")
    with sqlite_database() as url:
        run("sqlite", url, args.rows, args.repeat, batches)
    if args.postgres_url:
        with postgres_database(args.postgres_url) as url:
            run("postgresql", url, args.rows, args.repeat, batches)
    else:
        print("postgresql skipped: give --postgres-url or INVENTORY_SYNC_TEST_POSTGRES_URL")


if __name__ == "__main__":
    main()
