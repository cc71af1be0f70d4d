"""Offsets stored with the writes (offset_storage = database) and relative (delta) events:
duplicates, coalescing of counts and deltas, the floor at 0, and the harness in both modes."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from inventory_sync.adapters.memory import InMemoryRepository, InMemoryUnitOfWork
from inventory_sync.domain.model import Product, Record
from inventory_sync.domain.rejections import RejectionReason
from inventory_sync.domain.services import InventoryService, Outcome, decide_batch
from inventory_sync.testing import InventoryHarness

from .helpers import T0, at, event

GROUP = "inventory-sync"
TOPIC = "product_inventory_updates"


def delta(code: str, value: int, occurred_at: datetime | None = None) -> bytes:
    body: dict[str, object] = {"product_code": code, "inventory_delta": value}
    if occurred_at is not None:
        body["occurred_at"] = occurred_at.isoformat()
    return json.dumps(body).encode()


def batch(*values: bytes, start: int = 0, partition: int = 0) -> list[Record]:
    return [Record(None, v, TOPIC, partition, start + i, T0) for i, v in enumerate(values)]


def database_mode(products: dict[str, int]) -> tuple[InventoryService, InMemoryUnitOfWork]:
    uow = InMemoryUnitOfWork(InMemoryRepository([Product(c, c, n) for c, n in products.items()]))
    return InventoryService(uow, offsets_group=GROUP), uow


def count(uow: InMemoryUnitOfWork, code: str) -> int:
    return uow.repository.products[code].inventory_count


def outcomes(report: object) -> list[str]:
    return [
        o.rejection.reason.value if o.rejection else o.outcome.value
        for o in report.outcomes  # type: ignore[attr-defined]
    ]


def test_a_replayed_batch_is_duplicate_and_changes_nothing() -> None:
    service, uow = database_mode({"A": 10})
    records = batch(delta("A", -2), delta("A", 5), event("A", 1), delta("A", 3))
    first = service.apply_batch(records)
    assert count(uow, "A") == 4
    assert uow.offset_store.positions(GROUP, [(TOPIC, 0)]) == {(TOPIC, 0): 4}

    again = service.apply_batch(records)

    assert count(uow, "A") == 4
    assert (again.summary.duplicate, again.summary.applied, again.summary.rejected) == (4, 0, 0)
    assert again.dead_letters == []
    assert first.summary.duplicate == 0


def test_a_batch_that_overlaps_the_stored_position_applies_only_the_new_records() -> None:
    service, uow = database_mode({"A": 0})
    service.apply_batch(batch(*(delta("A", 1) for _ in range(5))))
    report = service.apply_batch(batch(*(delta("A", 1) for _ in range(5)), start=3))
    assert outcomes(report) == ["duplicate", "duplicate", "applied", "applied", "applied"]
    assert count(uow, "A") == 8


def test_positions_are_per_partition_and_never_move_back() -> None:
    service, uow = database_mode({"A": 0, "B": 0})
    service.apply_batch(batch(delta("A", 1), start=7, partition=0))
    service.apply_batch(batch(delta("B", 1), start=2, partition=1))
    with uow:
        uow.offsets.advance(GROUP, {(TOPIC, 0): 3})
        assert uow.offsets.positions(GROUP, [(TOPIC, 0), (TOPIC, 1), (TOPIC, 2)]) == {
            (TOPIC, 0): 8,
            (TOPIC, 1): 3,
        }
        assert uow.offsets.positions("other-group", [(TOPIC, 0)]) == {}


def test_the_memory_unit_of_work_rolls_positions_back_with_the_writes() -> None:
    _, uow = database_mode({"A": 0})
    with uow:
        uow.offsets.advance(GROUP, {(TOPIC, 0): 5})
    with uow:
        assert uow.offsets.positions(GROUP, [(TOPIC, 0)]) == {}
        uow.offsets.advance(GROUP, {(TOPIC, 0): 5})
        uow.commit()
    assert uow.offset_store.positions(GROUP, [(TOPIC, 0)]) == {(TOPIC, 0): 5}


def test_with_offsets_in_kafka_a_delta_is_rejected_with_its_own_reason() -> None:
    uow = InMemoryUnitOfWork(InMemoryRepository([Product("A", "A", 10)]))
    report = InventoryService(uow).apply_batch(batch(delta("A", -2), event("A", 3)))
    assert outcomes(report) == ["delta_needs_database_offsets", "applied"]
    assert report.dead_letters[0].reason == "delta_needs_database_offsets"
    assert "offset_storage = database" in report.dead_letters[0].error
    assert uow.repository.products["A"].inventory_count == 3


def test_deltas_of_a_batch_are_summed_into_one_write() -> None:
    service, uow = database_mode({"A": 10, "B": 0})
    report = service.apply_batch(
        batch(delta("A", -2), delta("B", 50), delta("A", -3), delta("A", 1))
    )
    assert outcomes(report) == ["applied"] * 4
    assert (count(uow, "A"), count(uow, "B")) == (6, 50)


def test_a_count_resets_and_the_deltas_after_it_add_to_it() -> None:
    service, uow = database_mode({"A": 10})
    report = service.apply_batch(
        batch(delta("A", -2), event("A", 40, at(1)), delta("A", -1), delta("A", 5))
    )
    assert outcomes(report) == ["superseded", "applied", "applied", "applied"]
    assert count(uow, "A") == 44


def test_the_newest_of_several_counts_is_the_base_of_the_deltas_after_it() -> None:
    service, uow = database_mode({"A": 0})
    report = service.apply_batch(
        batch(event("A", 7, at(1)), delta("A", 2), event("A", 20, at(2)), delta("A", -5))
    )
    assert outcomes(report) == ["superseded", "superseded", "applied", "applied"]
    assert count(uow, "A") == 15


def test_a_stale_count_leaves_every_delta_of_the_batch_to_apply_to_the_stored_count() -> None:
    service, uow = database_mode({"A": 0})
    service.apply_batch(batch(event("A", 100, at(10))))
    report = service.apply_batch(
        batch(delta("A", -1, at(11)), event("A", 7, at(5)), delta("A", -2, at(12)), start=1)
    )
    assert outcomes(report) == ["applied", "stale", "applied"]
    assert count(uow, "A") == 97
    assert uow.repository.products["A"].inventory_updated_at == at(12)


def test_deltas_are_not_stale_guarded_but_move_the_time_forward_only() -> None:
    service, uow = database_mode({"A": 5})
    service.apply_batch(batch(event("A", 5, at(10))))
    report = service.apply_batch(batch(delta("A", 1, at(3)), start=1))
    assert outcomes(report) == ["applied"]
    assert count(uow, "A") == 6
    assert uow.repository.products["A"].inventory_updated_at == at(10)
    service.apply_batch(batch(delta("A", 1, at(20)), start=2))
    assert uow.repository.products["A"].inventory_updated_at == at(20)
    stale = service.apply_batch(batch(event("A", 0, at(15)), start=3))
    assert outcomes(stale) == ["stale"]


def test_a_delta_that_would_take_the_count_below_zero_is_rejected_alone() -> None:
    service, uow = database_mode({"A": 3, "B": 1})
    report = service.apply_batch(
        batch(delta("A", -2), delta("A", -2), delta("A", 4), delta("B", -1), delta("A", -5))
    )
    assert outcomes(report) == ["applied", "negative_stock", "applied", "applied", "applied"]
    assert (count(uow, "A"), count(uow, "B")) == (0, 0)
    (letter,) = report.dead_letters
    assert letter.reason == RejectionReason.NEGATIVE_STOCK.value
    assert "would take the count of 'A' below 0" in letter.error


def test_a_dip_below_zero_inside_a_batch_is_rejected_as_it_would_be_one_by_one() -> None:
    service, uow = database_mode({"A": 1})
    report = service.apply_batch(batch(delta("A", -2), delta("A", 5)))
    assert outcomes(report) == ["negative_stock", "applied"]
    assert count(uow, "A") == 6


def test_deltas_of_an_unknown_product_are_each_dead_lettered() -> None:
    service, _ = database_mode({})
    report = service.apply_batch(batch(delta("GHOST", 1), delta("GHOST", 2)))
    assert outcomes(report) == ["unknown_product", "unknown_product"]
    assert len(report.dead_letters) == 2


def test_deltas_create_an_unknown_product_at_zero_in_create_mode() -> None:
    uow = InMemoryUnitOfWork(InMemoryRepository())
    service = InventoryService(uow, offsets_group=GROUP, unknown_products="create")
    service.apply_batch(batch(delta("NEW", 4), delta("NEW", -1)))
    assert uow.repository.products["NEW"].inventory_count == 3


def test_a_refused_product_is_rejected_and_the_rest_of_the_batch_commits_with_its_offsets() -> None:
    service, uow = database_mode({"A": 0, "BAD": 0})
    uow.repository.refused_codes.add("BAD")
    report = service.apply_batch(batch(delta("A", 1), delta("BAD", 1), delta("A", 1)))
    assert outcomes(report) == ["applied", "storage_rejected", "applied"]
    assert count(uow, "A") == 2
    assert uow.offset_store.positions(GROUP, [(TOPIC, 0)]) == {(TOPIC, 0): 3}
    assert service.apply_batch(batch(delta("A", 1), delta("BAD", 1))).summary.duplicate == 2


def test_decide_batch_plans_counts_and_deltas_in_offset_order() -> None:
    records = batch(delta("A", 1), event("A", 9, at(1)), delta("A", 2), delta("B", -1))
    decision = decide_batch(records, max_message_bytes=65_536, now=T0, max_future_skew=at(60) - T0)
    plan_a, plan_b = decision.plans["A"], decision.plans["B"]
    assert plan_a.base is not None
    assert plan_a.base.index == 1
    assert [d.delta for d in plan_a.before] == [1]
    assert [d.delta for d in plan_a.after] == [2]
    assert plan_b.base is None
    assert [d.delta for d in plan_b.after] == [-1]
    assert decision.decided == [None] * 4


def test_decide_batch_marks_records_below_the_stored_position_as_duplicates() -> None:
    records = batch(delta("A", 1), b"not json", delta("A", 2), start=10)
    decision = decide_batch(
        records,
        max_message_bytes=65_536,
        now=T0,
        max_future_skew=at(60) - T0,
        positions={(TOPIC, 0): 12},
    )
    assert [o.outcome if o else None for o in decision.decided] == [
        Outcome.DUPLICATE,
        Outcome.DUPLICATE,
        None,
    ]


@pytest.mark.parametrize("offset_storage", ["kafka", "database"])
def test_the_harness_in_both_modes(offset_storage: str) -> None:
    h = InventoryHarness(products={"SKU-1": 10}, offset_storage=offset_storage)  # type: ignore[arg-type]
    h.send({"product_code": "SKU-1", "inventory_delta": -3})
    h.send({"product_code": "SKU-1", "inventory_count": 8})
    first = h.drain()
    h.replay_from(0)
    again = h.drain()
    if offset_storage == "database":
        assert (first.superseded, first.applied, first.rejected) == (1, 1, 0)  # 8 includes -3
        assert (again.duplicate, again.applied) == (2, 0)
        h.send({"product_code": "SKU-1", "inventory_delta": -1})
        h.rebalance()
        assert h.drain().applied == 1
        assert h.stock_status("SKU-1").inventory_count == 7
    else:
        assert (first.applied, first.rejected) == (1, 1)
        assert h.dead_letters[0].reason == "delta_needs_database_offsets"
        assert (again.duplicate, again.applied) == (0, 1)
        assert h.stock_status("SKU-1").inventory_count == 8
