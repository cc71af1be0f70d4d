"""Two writers racing on the same products never move a count back: the guard is in the write."""

from __future__ import annotations

import random
import threading
from datetime import timedelta

from inventory_sync.adapters.sql.repository import SqlUnitOfWork
from inventory_sync.domain.errors import TransientError
from inventory_sync.domain.model import Product, StockChange
from tests.integration.sql_support import T0, engine_on

CODES = [f"P-{n:02}" for n in range(20)]
STEPS = 240


def test_racing_writers_never_leave_a_count_older_than_the_newest_applied(
    database_url: str,
) -> None:
    """Step n is written as count n at T0 + n seconds; the writers share the steps, shuffled."""
    with engine_on(database_url) as engine:
        uow = SqlUnitOfWork(engine)
        with uow:
            uow.products.add([Product(code, code) for code in CODES])
            uow.commit()
        steps = list(range(STEPS))
        random.Random(7).shuffle(steps)
        barrier = threading.Barrier(2)
        violations: list[str] = []
        retries: list[int] = []

        def write(my_steps: list[int], seed: int) -> None:
            shuffle = random.Random(seed).shuffle
            barrier.wait()
            for step in my_steps:
                codes = list(CODES)
                shuffle(codes)
                changes = [StockChange(c, step, T0 + timedelta(seconds=step)) for c in codes]
                while True:
                    try:
                        with uow:
                            applied = uow.products.apply(changes).applied
                            uow.commit()
                        break
                    except TransientError:
                        retries.append(step)
                with uow:
                    for code in applied:
                        product = uow.products.get(code)
                        assert product is not None
                        written_at = T0 + timedelta(seconds=product.inventory_count)
                        if product.inventory_count < step or (
                            product.inventory_updated_at != written_at
                        ):
                            violations.append(f"{code} at {product} after step {step}")

        writers = [
            threading.Thread(target=write, args=(steps[0::2], 1)),
            threading.Thread(target=write, args=(steps[1::2], 2)),
        ]
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.join()

        with uow:
            final = {
                p.code: (p.inventory_count, p.inventory_updated_at) for p in uow.products.list()
            }
        newest = STEPS - 1
        assert violations == []
        assert final == dict.fromkeys(CODES, (newest, T0 + timedelta(seconds=newest)))
