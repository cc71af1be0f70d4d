"""/livez, /readyz and /metrics of `inventory-sync run` against the real broker and a
PostgreSQL server of the test's own (stopped and started again), with the status page mounted
on the same port (status_page = true): one run, kafka-python, about 12 s;
and the probe that /readyz asks."""

from __future__ import annotations

import math
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from inventory_sync.adapters.health import DependencyProbe
from inventory_sync.adapters.sql.engine import create_engine_from_url
from inventory_sync.settings import Settings
from tests.integration.chaos_support import (
    CLI,
    PRODUCTS,
    ThrowawayPostgres,
    Workers,
    catalogue,
    free_port,
    throwaway_postgres,
    wait_for,
    workers,
)
from tests.integration.kafka_support import burst, send, topic_settings

__all__ = ["throwaway_postgres", "workers"]  # the fixtures

EVENTS = 3_000


def get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except OSError as error:
        return 0, str(error)


def samples(port: int, name: str) -> dict[str, float]:
    """The samples of one metric: {labels: value}."""
    found = {}
    for line in get(port, "/metrics")[1].splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            labels, _, value = line[len(name) :].rpartition(" ")
            found[labels] = float(value)
    return found


@pytest.mark.kafka
@pytest.mark.postgres
@pytest.mark.slow
def test_health_follows_the_loop_and_the_dependencies_and_the_lag_falls_to_zero(
    kafka_bootstrap: str,
    topic_name: str,
    throwaway_postgres: ThrowawayPostgres,
    workers: Workers,
    tmp_path: Path,
) -> None:
    began = time.monotonic()
    url = throwaway_postgres.url()
    settings = topic_settings(
        kafka_bootstrap,
        topic_name,
        partitions=3,
        database_url=url,
        batch_size=50,
        write_max_records=50,  # small writes: the burst takes a while, and /metrics sees lag
    )
    catalogue(url)
    events, _ = burst(PRODUCTS, EVENTS)
    send(settings, events)  # a burst waiting before the worker starts
    port, hang = free_port(), tmp_path / "hang"
    worker = workers.start(
        [*CLI, "run", "--json"],
        settings,
        INVENTORY_SYNC_METRICS_PORT=str(port),
        INVENTORY_SYNC_STATUS_PAGE="true",
        INVENTORY_SYNC_LIVENESS_TTL_S="2",
        INVENTORY_SYNC_TEST_HANG_FILE=str(hang),
    )

    lags_seen = []

    def drained() -> bool:
        lag = sum(samples(port, "inventory_sync_consumer_lag").values())
        lags_seen.append(lag)
        records = sum(samples(port, "inventory_sync_records_total").values())
        return records == EVENTS and lag == 0

    wait_for(drained, "the burst to be consumed, lag 0", timeout=60)
    print(f"lag seen in /metrics while draining: max {max(lags_seen):.0f}, then 0")
    assert max(lags_seen) > 0
    assert samples(port, "inventory_sync_lag_clear_seconds") == {"": 0.0}
    assert set(samples(port, "inventory_sync_consumer_lag_seconds").values()) == {0.0}
    assert samples(port, "inventory_sync_database_freshness_seconds")[""] >= 0
    wait_for(lambda: get(port, "/readyz")[0] == 200, "/readyz 200")
    assert get(port, "/livez")[0] == 200
    page = get(port, "/")[1]  # the status page, mounted beside the endpoints
    assert 'id="partitions"' in page
    assert f'id="outcome-records">{EVENTS}<' in page

    throwaway_postgres.stop()
    try:
        wait_for(lambda: get(port, "/readyz")[0] == 503, "/readyz 503 with PostgreSQL down")
        assert "database unreachable" in get(port, "/readyz")[1]
        assert get(port, "/livez")[0] == 200  # a dependency down is not a stuck loop
        # the gauge says so too, although the idle worker does not touch the database
        up = samples(port, "inventory_sync_dependency_up")
        assert up == {'{dependency="database"}': 0.0, '{dependency="kafka"}': 1.0}, up
    finally:
        throwaway_postgres.start()
    wait_for(lambda: get(port, "/readyz")[0] == 200, "/readyz 200 with PostgreSQL back")
    assert set(samples(port, "inventory_sync_dependency_up").values()) == {1.0}

    hang.touch()  # the test hook: the run loop's next poll blocks
    wait_for(lambda: get(port, "/livez")[0] == 503, "/livez 503 with the loop hanging")
    assert "the run loop has not polled" in get(port, "/livez")[1]
    hang.unlink()
    wait_for(lambda: get(port, "/livez")[0] == 200, "/livez 200 once the loop polls again")

    assert worker.stop() == 0
    assert worker.summary()["records"] == EVENTS
    print(f"health endpoints scenario: {time.monotonic() - began:.1f} s")


def test_the_probe_says_which_dependency_does_not_answer(tmp_path: Path) -> None:
    engine = create_engine_from_url(f"sqlite:///{tmp_path / 'probe.db'}")
    port = free_port()  # nothing listens there yet
    probe = DependencyProbe(engine, Settings(bootstrap_servers=f"127.0.0.1:{port}"))
    faults = probe.faults()
    assert list(faults) == ["kafka"]
    assert faults["kafka"].startswith("ConnectionError: no bootstrap server accepts a connection")
    with socket.create_server(("127.0.0.1", port)):
        probe._asked_at = -math.inf  # answers are kept a second: ask again now
        assert probe.faults() == {}
    engine.dispose()
