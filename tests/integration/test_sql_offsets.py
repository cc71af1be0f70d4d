"""Offsets stored with the writes, on SQLite and PostgreSQL: two members of a group that race
through the same records (as around a rebalance) apply each record exactly once, because each
batch reads its positions under a lock and stores the new ones in its own transaction."""

from __future__ import annotations

import json
import random
import threading
import time

from inventory_sync.adapters.sql.offsets import reset_positions, stored_positions
from inventory_sync.adapters.sql.repository import SqlUnitOfWork
from inventory_sync.domain.errors import TransientError
from inventory_sync.domain.model import Product, Record
from inventory_sync.domain.services import InventoryService
from tests.integration.sql_support import T0, engine_on

CODES = [f"P-{n:02}" for n in range(10)]
TOPIC = "product_inventory_updates"
RECORDS = 600


def delta_records(seed: int) -> list[Record]:
    rng = random.Random(seed)
    records = []
    for offset in range(RECORDS):
        body = {"product_code": rng.choice(CODES), "inventory_delta": rng.randint(-3, 5)}
        records.append(Record(None, json.dumps(body).encode(), TOPIC, 0, offset, T0))
    return records


def test_two_members_racing_through_the_same_records_apply_each_exactly_once(
    database_url: str,
) -> None:
    with engine_on(database_url) as engine:
        uow = SqlUnitOfWork(engine)
        with uow:
            uow.products.add([Product(code, code, 1_000) for code in CODES])
            uow.commit()
        records = delta_records(11)
        barrier = threading.Barrier(2)
        applied = [0, 0]
        duplicates = [0, 0]

        def member(index: int, seed: int) -> None:
            service = InventoryService(SqlUnitOfWork(engine), offsets_group="g")
            rng = random.Random(seed)
            barrier.wait()
            position = 0
            while position < RECORDS:  # each member reads every record, in its own batches
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

        started = time.monotonic()
        threads = [threading.Thread(target=member, args=(i, 100 + i)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        print(f"racing members: {time.monotonic() - started:.2f} s, applied {applied}")

        assert sum(applied) == RECORDS
        assert min(applied) > 0, "both members applied some: they raced"
        assert sum(duplicates) == RECORDS
        with uow:
            counts = {p.code: p.inventory_count for p in uow.products.list()}
        for code in CODES:
            expected = 1_000
            for record in records:
                body = json.loads(record.value or b"")
                if body["product_code"] == code:
                    expected += body["inventory_delta"]
            assert counts[code] == expected, code
        assert stored_positions(engine, "g") == {(TOPIC, 0): RECORDS}


def test_reset_moves_a_stored_position_back_and_forth(database_url: str) -> None:
    with engine_on(database_url) as engine:
        reset_positions(engine, "g", {(TOPIC, 0): 40, (TOPIC, 1): 7})
        reset_positions(engine, "g", {(TOPIC, 0): 3})
        assert stored_positions(engine, "g") == {(TOPIC, 0): 3, (TOPIC, 1): 7}
        assert stored_positions(engine, "g", [(TOPIC, 1)]) == {(TOPIC, 1): 7}
        assert stored_positions(engine, "other") == {}
