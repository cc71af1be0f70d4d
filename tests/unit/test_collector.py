"""The garbage collector while the worker runs: gc_threshold, and put back afterwards."""

from __future__ import annotations

import gc

import pytest

from inventory_sync.application.collector import collecting_less
from inventory_sync.facade import InventorySync
from inventory_sync.settings import Settings

from .cli_support import FakeServices


def run_noting_the_collector(gc_threshold: int) -> list[tuple[int, int]]:
    """One run of an embedded worker over one record; what the collector was in its batch:
    (first threshold, frozen objects)."""
    services = FakeServices()
    services.add({"SKU-1": 10})
    settings = Settings(poll_timeout_ms=10, gc_threshold=gc_threshold)
    sync = InventorySync(settings, container=services.container(settings))
    services.send({"product_code": "SKU-1", "inventory_count": 3})
    seen: list[tuple[int, int]] = []
    sync.run(
        idle_timeout_s=0,
        on_batch=lambda _: seen.append((gc.get_threshold()[0], gc.get_freeze_count())),
    )
    return seen


def test_the_worker_collects_less_while_it_runs_and_puts_the_collector_back() -> None:
    before = gc.get_threshold()
    frozen_before = gc.get_freeze_count()

    seen = run_noting_the_collector(gc_threshold=123_456)

    [(threshold, frozen)] = seen
    assert threshold == 123_456
    assert frozen > frozen_before
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == frozen_before


def test_a_threshold_of_zero_leaves_the_collector_as_it_is() -> None:
    before = gc.get_threshold()
    frozen_before = gc.get_freeze_count()

    seen = run_noting_the_collector(gc_threshold=0)

    assert seen == [(before[0], frozen_before)]
    assert gc.get_threshold() == before


def test_the_collector_is_put_back_when_the_run_fails() -> None:
    before = gc.get_threshold()
    frozen_before = gc.get_freeze_count()
    services = FakeServices()
    settings = Settings(poll_timeout_ms=10, gc_threshold=50_000)
    sync = InventorySync(settings, container=services.container(settings))

    def fail(_: object) -> None:
        raise RuntimeError("a callback that fails (injected)")

    services.add({"SKU-1": 10})
    services.send({"product_code": "SKU-1", "inventory_count": 3})
    with pytest.raises(RuntimeError, match="injected"):
        sync.run(idle_timeout_s=0, on_batch=fail)
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == frozen_before


def test_objects_the_process_froze_itself_stay_frozen() -> None:
    """A pre-forking server freezes its objects; the worker must not unfreeze them."""
    gc.freeze()
    try:
        seen = run_noting_the_collector(gc_threshold=123_456)
        assert seen[0][0] == 123_456
        assert gc.get_freeze_count() > 0  # gc.unfreeze() would have made it 0
    finally:
        gc.unfreeze()


def test_overlapping_runs_put_the_collector_back_as_it_was() -> None:
    before = gc.get_threshold()
    first, second = collecting_less(111_111), collecting_less(222_222)

    first.__enter__()
    second.__enter__()
    during = gc.get_threshold()[0]
    first.__exit__(None, None, None)
    still = gc.get_threshold()[0]
    second.__exit__(None, None, None)

    assert (during, still) == (111_111, 111_111)
    assert gc.get_threshold() == before
