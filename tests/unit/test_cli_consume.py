"""`apply FILE` and `run` through the real service and run loop, on in-memory services."""

from __future__ import annotations

import json
import socket
import urllib.request
from pathlib import Path

import pytest

from inventory_sync.adapters.health import Health
from inventory_sync.adapters.memory import InMemoryRecordSource
from tests.unit.cli_support import FakeServices, clean_environment, free_port, one_error_line

BURST = [
    '{"product_code": "A", "inventory_count": 9, "occurred_at": "2026-01-01T10:00:00Z"}',
    '{"product_code": "A", "inventory_count": 8, "occurred_at": "2026-01-01T09:00:00Z"}',
    '{"product_code": "B", "inventory_count": 1}',
    "",
    '{"product_code": "GHOST", "inventory_count": 1}',
    '{"product_code": "B", "inventory_count": -1}',
    "{not json",
]


@pytest.fixture
def services(monkeypatch: pytest.MonkeyPatch) -> FakeServices:
    clean_environment(monkeypatch)
    services = FakeServices()
    services.add({"A": 5, "B": 5})
    return services


@pytest.fixture
def burst(tmp_path: Path) -> Path:
    path = tmp_path / "burst.jsonl"
    path.write_text("\n".join(BURST) + "\n")
    return path


def test_apply_json_gives_the_counts_of_every_outcome(services: FakeServices, burst: Path) -> None:
    result = services.invoke("apply", str(burst), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "records": 6,
        "applied": 2,
        "stale": 0,
        "superseded": 1,
        "rejected": 3,
        "duplicate": 0,
        "by_reason": {"invalid_payload": 1, "malformed_json": 1, "unknown_product": 1},
    }
    assert services.repository.products["A"].inventory_count == 9
    assert services.repository.products["B"].inventory_count == 1


def test_apply_lists_each_rejected_line_with_its_number(
    services: FakeServices, burst: Path
) -> None:
    result = services.invoke("apply", str(burst))
    lines = result.stdout.splitlines()
    assert lines[0] == (
        f"applied {burst}: 6 records: 2 applied, 0 stale, 1 superseded, 3 rejected"
        " (invalid_payload 1, malformed_json 1, unknown_product 1)"
    )
    assert lines[1].startswith("  line 5: unknown_product: no product with code 'GHOST'")
    assert lines[2].startswith("  line 6: invalid_payload: inventory_count")
    assert lines[3].startswith("  line 7: malformed_json:")


def test_apply_with_rejects_writes_each_rejected_line_as_json(
    services: FakeServices, burst: Path, tmp_path: Path
) -> None:
    rejects = tmp_path / "rejects.jsonl"
    result = services.invoke("apply", str(burst), "--rejects", str(rejects))
    assert result.exit_code == 0, result.output
    assert f"3 rejected line(s) written to {rejects}" in result.stdout
    written = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert [(w["reason"], w["line"], w["value"]) for w in written] == [
        ("unknown_product", 5, BURST[4]),
        ("invalid_payload", 6, BURST[5]),
        ("malformed_json", 7, BURST[6]),
    ]
    assert all(w["error"] for w in written)


def test_apply_stale_lines_never_move_a_count_back(services: FakeServices, tmp_path: Path) -> None:
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    first.write_text(
        '{"product_code": "A", "inventory_count": 3, "occurred_at": "2026-01-02T00:00:00Z"}\n'
    )
    second.write_text(
        '{"product_code": "A", "inventory_count": 7, "occurred_at": "2026-01-01T00:00:00Z"}\n'
    )
    services.invoke("apply", str(first))
    result = services.invoke("apply", str(second), "--json")
    assert json.loads(result.stdout)["stale"] == 1
    assert services.repository.products["A"].inventory_count == 3


def test_apply_of_a_missing_file_exits_2_naming_it(services: FakeServices, tmp_path: Path) -> None:
    result = services.invoke("apply", str(tmp_path / "missing.jsonl"))
    assert result.exit_code == 2
    assert one_error_line(result) == f"error: no such file: {tmp_path / 'missing.jsonl'}"


def test_apply_without_a_schema_exits_1_saying_what_to_do(
    services: FakeServices, burst: Path
) -> None:
    services.database = Health(False, "no schema yet: run `inventory-sync db upgrade`")
    result = services.invoke("apply", str(burst))
    assert result.exit_code == 1
    assert one_error_line(result) == (
        "error: database sqlite:///inventory_sync.db: "
        "no schema yet: run `inventory-sync db upgrade`"
    )
    assert services.repository.products["A"].inventory_count == 5


def test_run_consumes_until_idle_and_prints_the_summary_as_json(
    services: FakeServices,
) -> None:
    services.send({"product_code": "A", "inventory_count": 0})
    services.send({"product_code": "NOPE", "inventory_count": 1})
    result = services.invoke("run", "--idle-timeout", "0", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.splitlines()[-1]) == {
        "records": 2,
        "applied": 1,
        "stale": 0,
        "superseded": 0,
        "rejected": 1,
        "duplicate": 0,
        "by_reason": {"unknown_product": 1},
    }
    assert services.repository.products["A"].inventory_count == 0
    assert [letter.reason for letter in services.dead_letters.letters] == ["unknown_product"]
    assert services.topic.committed == 2


def test_run_stops_after_max_messages(services: FakeServices) -> None:
    for count in range(5):
        services.send({"product_code": "A", "inventory_count": count})
    result = services.invoke(
        "run", "--max-messages", "3", "--idle-timeout", "0", env={"INVENTORY_SYNC_BATCH_SIZE": "2"}
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("consumed 3 records:")
    assert services.topic.committed == 3


def test_run_refuses_to_start_when_a_topic_is_missing(services: FakeServices) -> None:
    services.kafka = Health(False, "no topic x.dlq: run `inventory-sync topics create`")
    result = services.invoke("run", "--idle-timeout", "0")
    assert result.exit_code == 1
    assert one_error_line(result) == (
        "error: Kafka at localhost:9092: no topic x.dlq: run `inventory-sync topics create`"
    )


def test_run_logs_each_rejection_with_its_coordinates_as_json_fields(
    services: FakeServices,
) -> None:
    services.send({"product_code": "NOPE", "inventory_count": 1, "event_id": "ev-7"})
    result = services.invoke("--log-format", "json", "run", "--idle-timeout", "0")
    logged = [json.loads(line) for line in result.stderr.splitlines()]
    rejected = [entry for entry in logged if entry["message"].startswith("rejected")]
    assert rejected[0]["message"] == "rejected: no product with code 'NOPE'"
    assert {k: rejected[0][k] for k in ("topic", "partition", "offset")} == {
        "topic": "product_inventory_updates",
        "partition": 0,
        "offset": 0,
    }
    assert (rejected[0]["product_code"], rejected[0]["event_id"]) == ("NOPE", "ev-7")
    assert rejected[0]["reason"] == "unknown_product"
    assert rejected[0]["level"] == "INFO"
    assert rejected[0]["logger"] == "inventory_sync.worker"


class ScrapingTopic(InMemoryRecordSource):
    """A topic that scrapes /metrics when the worker closes it, while `run` still serves them."""

    def __init__(self, port: int) -> None:
        super().__init__()
        self.port = port
        self.scraped = ""

    def close(self) -> None:
        url = f"http://127.0.0.1:{self.port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as response:
            self.scraped = response.read().decode()
        super().close()


def test_run_serves_metrics_on_the_metrics_port(services: FakeServices) -> None:
    port = free_port()
    services.topic = ScrapingTopic(port)
    services.send({"product_code": "A", "inventory_count": 1})
    services.send({"product_code": "NOPE", "inventory_count": 1})
    result = services.invoke("--metrics-port", str(port), "run", "--idle-timeout", "0")
    assert result.exit_code == 0, result.output
    scraped = services.topic.scraped
    assert 'inventory_sync_records_total{outcome="applied"} 1.0' in scraped
    assert 'inventory_sync_rejections_total{reason="unknown_product"} 1.0' in scraped


def test_run_says_when_the_metrics_port_is_taken(services: FakeServices) -> None:
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = services.invoke("--metrics-port", str(port), "run", "--idle-timeout", "0")
    assert result.exit_code == 1
    assert one_error_line(result).startswith(f"error: cannot serve metrics on 127.0.0.1:{port}: ")


def test_run_can_log_rejections_once_per_batch(services: FakeServices) -> None:
    services.add({"SKU-1": 1})
    services.send({"product_code": "NOPE", "inventory_count": 1})
    services.send(b"{not json")
    services.send({"product_code": "SKU-1", "inventory_count": 2})
    env = {"INVENTORY_SYNC_LOG_REJECTIONS": "batch"}
    result = services.invoke("--log-format", "json", "run", "--idle-timeout", "0", env=env)
    logged = [json.loads(line) for line in result.stderr.splitlines()]
    rejected = [entry for entry in logged if entry["message"].startswith("rejected")]
    assert [entry["message"] for entry in rejected] == [
        "rejected 2 of 3 records (malformed_json 1, unknown_product 1)"
    ]
    assert rejected[0]["by_reason"] == {"unknown_product": 1, "malformed_json": 1}
