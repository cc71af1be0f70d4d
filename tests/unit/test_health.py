"""/livez and /readyz of a run on in-memory services: liveness follows the run loop's polls
only (the test hook makes it hang), readiness the dependencies' answers, the assignment and
the faults being waited out; RunStatus's rate, time to clear and freshness."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from inventory_sync import InventorySync, Settings
from inventory_sync.adapters.memory import InMemoryRecordSource
from inventory_sync.adapters.run_status import RunStatus
from inventory_sync.adapters.timed_source import HANG_FILE_ENV, TimedSource
from inventory_sync.domain.outcomes import BatchReport, Summary

from .cli_support import FakeServices, free_port
from .test_embedding import eventually, fetch


def running(services: FakeServices, **settings: object) -> tuple[InventorySync, int]:
    port = free_port()
    chosen = Settings(poll_timeout_ms=10, metrics_port=port, **settings)  # type: ignore[arg-type]
    return InventorySync(chosen, container=services.container(chosen)), port


def test_livez_fails_once_the_loop_hangs_past_the_ttl_and_recovers_when_it_polls_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hang = tmp_path / "hang"
    monkeypatch.setenv(HANG_FILE_ENV, str(hang))
    sync, port = running(FakeServices(), liveness_ttl_s=0.3)
    with sync:
        assert eventually(lambda: fetch(port, "/livez")[0] == 200)
        hang.touch()
        assert eventually(lambda: fetch(port, "/livez")[0] == 503)
        _status, body = fetch(port, "/livez")
        assert body.startswith("failing: the run loop has not polled for")
        assert fetch(port, "/readyz")[0] == 503
        hang.unlink()
        assert eventually(lambda: fetch(port, "/livez")[0] == 200)


def test_readyz_fails_while_a_dependency_does_not_answer_and_livez_does_not() -> None:
    services = FakeServices()
    sync, port = running(services)
    with sync:
        assert eventually(lambda: fetch(port, "/readyz")[0] == 200)
        services.probe.down["database"] = "OperationalError: connection refused"
        assert eventually(lambda: fetch(port, "/readyz")[0] == 503)
        assert fetch(port, "/readyz")[1] == (
            "failing: database unreachable: OperationalError: connection refused\n"
        )
        assert fetch(port, "/livez")[0] == 200
        services.probe.down.clear()
        assert eventually(lambda: fetch(port, "/readyz")[0] == 200)


def test_livez_never_asks_the_dependencies_and_readyz_does() -> None:
    services = FakeServices()
    sync, port = running(services)
    with sync:
        assert eventually(lambda: fetch(port, "/livez")[0] == 200)
        for _ in range(3):
            assert fetch(port, "/livez")[0] == 200
        assert services.probe.asked == 0
        assert fetch(port, "/readyz")[0] == 200
        assert services.probe.asked == 1


class UnassignedSource(InMemoryRecordSource):
    """A member of a group that has given it no partition."""

    def assignment(self) -> set[int]:
        return set()


def test_readyz_fails_while_the_member_owns_no_partition() -> None:
    services = FakeServices(topic=UnassignedSource())
    sync, port = running(services)
    with sync:
        assert eventually(lambda: fetch(port, "/readyz")[0] == 503)
        assert "no partition of product_inventory_updates assigned" in fetch(port, "/readyz")[1]
        assert fetch(port, "/livez")[0] == 200


def test_the_lag_gauges_and_the_status_say_how_far_behind_and_how_fresh() -> None:
    services = FakeServices()
    services.add({"SKU-1": 10})
    sync, port = running(services)
    with sync:
        services.send({"product_code": "SKU-1", "inventory_count": 3})
        assert eventually(
            lambda: "inventory_sync_database_freshness_seconds" in fetch(port, "/metrics")[1]
        )
        assert eventually(lambda: fetch(port, "/status.json")[1].count('"applied": 1') == 1)
        metrics = fetch(port, "/metrics")[1]
        assert "inventory_sync_lag_clear_seconds 0.0" in metrics
        assert "inventory_sync_records_per_second" in metrics
        assert 'inventory_sync_consumer_lag_seconds{partition="0"} 0.0' in metrics
        freshness = [
            line
            for line in metrics.splitlines()
            if line.startswith("inventory_sync_database_freshness_seconds ")
        ]
        assert freshness
        assert float(freshness[0].split()[1]) >= 0


def report_of(records: int, applied: int) -> BatchReport:
    summary = Summary(records=records, applied=applied)
    return BatchReport(outcomes=[], summary=summary)


def test_run_status_rate_time_to_clear_and_freshness() -> None:
    now = [1_000_000.0]
    status = RunStatus(wall_clock=lambda: now[0])
    assert status.freshness_seconds() is None
    now[0] += 30
    status.observe(report_of(300, 0), {0: 600, 1: 0}, {0: 12.0, 1: 0.0})
    assert status.rate() == pytest.approx(10.0)
    assert status.clear_seconds() == pytest.approx(60.0)
    assert status.freshness_seconds() is None  # nothing was written
    status.observe(report_of(100, 50), {0: 0, 1: 0}, {})
    now[0] += 5
    assert status.clear_seconds() == 0.0
    assert status.freshness_seconds() == pytest.approx(5.0)
    now[0] += 600
    status.observe(report_of(0, 0), {0: 10}, {})
    assert status.clear_seconds() is None  # records wait and none is being consumed
    snapshot = status.snapshot()
    assert snapshot["lag"] == {"0": 10}
    assert len(snapshot["history"]) == 60


def test_lag_seconds_is_the_age_of_the_newest_record_consumed_while_records_wait() -> None:
    source = InMemoryRecordSource()
    source.append(b'{"product_code": "A", "inventory_count": 1}')
    timed = TimedSource(source)
    batch = timed.poll(10, 0)
    consumed_at = batch[0].timestamp.timestamp()
    timed.wall_clock = lambda: consumed_at + 42
    assert timed.lag_seconds({0: 5}) == {0: pytest.approx(42.0)}
    assert timed.lag_seconds({0: 0}) == {0: 0.0}


def test_the_status_keeps_the_transient_faults_the_run_logged() -> None:
    services = FakeServices()
    services.add({"SKU-1": 10})
    services.repository.transient_failures = 2
    sync, port = running(services)
    with sync:
        services.send({"product_code": "SKU-1", "inventory_count": 3})
        assert eventually(lambda: "recovered after 2 attempt" in fetch(port, "/status.json")[1])
        problems = json.loads(fetch(port, "/status.json")[1])["problems"]
    messages = [problem["message"] for problem in problems]
    assert messages[0].startswith("recovered after 2 attempt(s)")  # newest first
    assert sum("transient fault, attempt" in message for message in messages) == 2
    assert {problem["level"] for problem in problems} == {"WARNING"}
