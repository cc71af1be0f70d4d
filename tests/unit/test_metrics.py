"""Prometheus metrics: served on a port, updated after every batch of the real run loop."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator

import pytest

from inventory_sync.adapters.memory import InMemoryDeadLetterSink, InMemoryRecordSource
from inventory_sync.adapters.metrics import Metrics, TimedSource
from inventory_sync.application.worker import Worker
from tests.unit.cli_support import free_port
from tests.unit.helpers import service_with


@pytest.fixture
def metrics() -> Iterator[tuple[Metrics, int]]:
    served = Metrics()
    port = free_port()
    served.serve(port, host="127.0.0.1")
    yield served, port
    served.close()


def scrape(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


def test_a_batch_updates_the_counters_the_lag_and_the_commit_time(
    metrics: tuple[Metrics, int],
) -> None:
    served, port = metrics
    service, _repository = service_with({"A": 1, "B": 1})
    source = InMemoryRecordSource()
    for value in (
        {"product_code": "A", "inventory_count": 5},
        {"product_code": "A", "inventory_count": 4},
        {"product_code": "B", "inventory_count": 0},
        {"product_code": "GHOST", "inventory_count": 1},
    ):
        source.append(json.dumps(value).encode())
    source.append(b"{nope")
    source.append(b'{"product_code": "B", "inventory_count": 9}')
    timed = TimedSource(source, wall_clock=lambda: 1_764_000_000.0)
    worker = Worker(timed, service, InMemoryDeadLetterSink(), batch_size=5, poll_timeout_s=0)
    worker.on_batch = lambda report: served.observe(
        report, timed.lag(), timed.last_batch_s, timed.last_commit_at
    )
    worker.run(max_records=5)

    samples = scrape(port)
    assert samples['inventory_sync_records_total{outcome="applied"}'] == 2
    assert samples['inventory_sync_records_total{outcome="superseded"}'] == 1
    assert samples['inventory_sync_records_total{outcome="stale"}'] == 0
    assert samples['inventory_sync_records_total{outcome="rejected"}'] == 2
    assert samples['inventory_sync_rejections_total{reason="unknown_product"}'] == 1
    assert samples['inventory_sync_rejections_total{reason="malformed_json"}'] == 1
    assert samples["inventory_sync_batch_duration_seconds_count"] == 1
    assert samples['inventory_sync_consumer_lag{partition="0"}'] == 1
    assert samples["inventory_sync_last_commit_timestamp_seconds"] == 1_764_000_000.0


def test_the_counters_add_up_over_batches(metrics: tuple[Metrics, int]) -> None:
    served, port = metrics
    service, _repository = service_with({"A": 1})
    source = InMemoryRecordSource()
    for count in range(3):
        source.append(json.dumps({"product_code": "A", "inventory_count": count}).encode())
    timed = TimedSource(source)
    worker = Worker(timed, service, InMemoryDeadLetterSink(), batch_size=1, poll_timeout_s=0)
    worker.on_batch = lambda report: served.observe(
        report, timed.lag(), timed.last_batch_s, timed.last_commit_at
    )
    worker.run(idle_timeout_s=0)

    samples = scrape(port)
    assert samples['inventory_sync_records_total{outcome="applied"}'] == 3
    assert samples["inventory_sync_batch_duration_seconds_count"] == 3
    assert samples['inventory_sync_consumer_lag{partition="0"}'] == 0
