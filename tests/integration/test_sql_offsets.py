"""Offsets stored with the writes, on SQLite and PostgreSQL: two members of a group that race
through the same records (as around a rebalance) apply each record exactly once, because each
batch reads its positions under a lock and stores the new ones in its own transaction."""

from __future__ import annotations

import json
import random
import threading
import time

import sqlalchemy as sa

from inventory_sync.adapters.sql.offsets import reset_positions, stored_positions
from inventory_sync.adapters.sql.repository import SqlUnitOfWork
from inventory_sync.domain.errors import TransientError
from inventory_sync.domain.model import Product, Record
from inventory_sync.domain.services import InventoryService
from tests.integration.sql_support import T0, engine_on

CODES = [f"P-{n:02}" for n in range(10)]
TOPIC = "product_inventory_updates"
RECORDS = 600


def delta_records(seed: int, codes: list[str]) -> list[Record]:
    rng = random.Random(seed)
    records = []
    for offset in range(RECORDS):
        body = {"product_code": rng.choice(codes), "inventory_delta": rng.randint(-3, 5)}
        records.append(Record(None, json.dumps(body).encode(), TOPIC, 0, offset, T0))
    return records


def race(engine: sa.Engine, group: str, records: list[Record]) -> tuple[list[int], list[int]]:
    """Two members of `group` apply every record, each in batches of its own, at once; how
    many each applied and found duplicate."""
    barrier = threading.Barrier(2)
    applied, duplicates = [0, 0], [0, 0]

    def member(index: int, seed: int) -> None:
        service = InventoryService(SqlUnitOfWork(engine), offsets_group=group)
        rng = random.Random(seed)
        barrier.wait()
        position = 0
        while position < RECORDS:
            end = min(RECORDS, position + rng.randint(1, 60))
            while True:
                try:
                    report = service.apply_batch(records[position:end])
                    break
                except TransientError:  # SQLite busy, a PostgreSQL deadlock: retry
                    time.sleep(0.01)
            applied[index] += report.summary.applied
            duplicates[index] += report.summary.duplicate
            position = end
            time.sleep(rng.random() / 200)  # let the other member in

    threads = [threading.Thread(target=member, args=(i, 100 + i)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return applied, duplicates


def test_two_members_racing_through_the_same_records_apply_each_exactly_once(
    database_url: str,
) -> None:
    """Repeated (up to five times, with products of their own) until both members applied
    some records, so that the batches really interleaved; each attempt must be exact."""
    raced = False
    with engine_on(database_url) as engine:
        uow = SqlUnitOfWork(engine)
        for attempt in range(5):
            codes = [f"R{attempt}-{code}" for code in CODES]
            with uow:
                uow.products.add([Product(code, code, 1_000) for code in codes])
                uow.commit()
            records = delta_records(11 + attempt, codes)
            started = time.monotonic()
            applied, duplicates = race(engine, f"g{attempt}", records)
            print(f"racing members: {time.monotonic() - started:.2f} s, applied {applied}")

            assert sum(applied) == sum(duplicates) == RECORDS
            with uow:
                counts = {p.code: p.inventory_count for p in uow.products.list()}
            for code in codes:
                expected = 1_000
                for record in records:
                    body = json.loads(record.value or b"")
                    if body["product_code"] == code:
                        expected += body["inventory_delta"]
                assert counts[code] == expected, code
            assert stored_positions(engine, f"g{attempt}") == {(TOPIC, 0): RECORDS}
            if min(applied) > 0:
                raced = True
                break
    assert raced, "the two members never interleaved"


def test_reset_moves_a_stored_position_back_and_forth(database_url: str) -> None:
    with engine_on(database_url) as engine:
        reset_positions(engine, "g", {(TOPIC, 0): 40, (TOPIC, 1): 7})
        reset_positions(engine, "g", {(TOPIC, 0): 3})
        assert stored_positions(engine, "g") == {(TOPIC, 0): 3, (TOPIC, 1): 7}
        assert stored_positions(engine, "g", [(TOPIC, 1)]) == {(TOPIC, 1): 7}
        assert stored_positions(engine, "other") == {}
