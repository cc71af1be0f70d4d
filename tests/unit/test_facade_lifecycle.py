"""InventorySync as a library: run, stop and run again; start() in the background; a context
manager for a web app's lifespan; what stopped a background run is raised by stop()."""

from __future__ import annotations

import threading

import pytest
from dependency_injector import providers

from inventory_sync.domain.errors import PermanentFault
from inventory_sync.domain.ports import DeadLetter
from inventory_sync.facade import InventorySync
from inventory_sync.settings import Settings

from .cli_support import FakeServices


def embedded(services: FakeServices) -> InventorySync:
    settings = Settings(poll_timeout_ms=10)
    return InventorySync(settings, container=services.container(settings))


def wait_until(condition: object, what: str) -> None:
    done = threading.Event()
    for _ in range(500):
        if callable(condition) and condition():
            return
        done.wait(0.01)
    pytest.fail(f"timed out waiting for {what}")


def test_run_stop_run_again_consumes_in_both_runs() -> None:
    services = FakeServices()
    services.add({"SKU-1": 10})
    sync = embedded(services)

    services.send({"product_code": "SKU-1", "inventory_count": 3})
    first = sync.run(idle_timeout_s=0)
    sync.stop()
    services.send({"product_code": "SKU-1", "inventory_count": 2})
    second = sync.run(idle_timeout_s=0)

    assert (first.applied, second.applied) == (1, 1)
    assert sync.stock_status("SKU-1").message == "Only 2 left in stock!"


def test_start_stop_start_runs_in_the_background_each_time() -> None:
    services = FakeServices()
    services.add({"SKU-1": 10})
    sync = embedded(services)
    consumed: list[int] = []

    for count in (4, 0):
        sync.start(on_batch=lambda report: consumed.append(report.summary.applied))
        assert sync.running
        services.send({"product_code": "SKU-1", "inventory_count": count})
        wait_until(
            lambda c=count: services.repository.products["SKU-1"].inventory_count == c,
            f"count {count}",
        )
        sync.stop()
        assert not sync.running

    assert consumed == [1, 1]
    assert sync.stock_status("SKU-1").message == "Out of stock"
    assert services.topic.committed == 2


def test_as_a_context_manager_it_runs_inside_the_block_only() -> None:
    services = FakeServices()
    services.add({"SKU-1": 10})
    sync = embedded(services)

    with sync:
        assert sync.running
        services.send({"product_code": "SKU-1", "inventory_count": 7})
        wait_until(lambda: services.topic.committed == 1, "the commit")

    assert not sync.running
    assert services.topic.closed
    assert services.dead_letters.closed


def test_starting_twice_is_refused_and_stopping_when_idle_is_a_no_op() -> None:
    sync = embedded(FakeServices())
    sync.stop()

    sync.start()
    with pytest.raises(RuntimeError, match="already running"):
        sync.start()
    sync.stop()
    sync.stop()
    assert not sync.running


class _RefusingSink:
    """A dead-letter topic that refuses every letter for good."""

    closed = False

    def send(self, letters: list[DeadLetter]) -> object:
        raise PermanentFault("topic authorization failed (injected)")

    def close(self) -> None:
        self.closed = True


def test_a_permanent_fault_in_the_background_is_raised_by_stop() -> None:
    services = FakeServices()
    settings = Settings(poll_timeout_ms=10)
    container = services.container(settings)
    sink = _RefusingSink()
    container.dead_letter_sink.override(providers.Object(sink))
    sync = InventorySync(settings, container=container)

    sync.start()
    services.send(b"not json")
    wait_until(lambda: not sync.running, "the run to stop")

    with pytest.raises(PermanentFault, match="authorization"):
        sync.stop()
    assert services.topic.committed == 0
    assert sink.closed
