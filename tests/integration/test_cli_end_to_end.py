"""The command line as a user runs it: a subprocess against the real broker and databases."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

EXECUTABLE = str(Path(sys.executable).parent / "inventory-sync")

CATALOGUE = "code,name,inventory_count\nA,Blue mug,10\nB,Desk lamp,10\n"
EVENTS = [
    '{"product_code": "B", "inventory_count": 0, "event_id": "ev-b"}',
    '{"product_code": "GHOST", "inventory_count": 4, "event_id": "ev-ghost"}',
    '{"product_code": "B", "inventory_count": -1}',
    '{"product_code": "A", "inventory_count": ',
]


class Cli:
    """inventory-sync in a subprocess, with settings from the environment like a deployment."""

    def __init__(self, **settings: str) -> None:
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("INVENTORY_SYNC_")}
        self.env.update({f"INVENTORY_SYNC_{k.upper()}": v for k, v in settings.items()})

    def __call__(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [EXECUTABLE, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if ok:
            assert result.returncode == 0, f"{args}: {result.stdout}{result.stderr}"
        assert "Traceback" not in result.stderr
        return result


@pytest.fixture
def cli(database_url: str, kafka_bootstrap: str, topic_name: str) -> Cli:
    return Cli(
        database_url=database_url,
        bootstrap_servers=kafka_bootstrap,
        topic=topic_name,
        dlq_topic=f"{topic_name}.dlq",
        group_id=f"group-{uuid.uuid4().hex[:8]}",
        log_level="WARNING",
    )


@pytest.fixture
def consumed(cli: Cli, tmp_path: Path) -> dict[str, object]:
    """A catalogue, the topics, five events produced (one by CODE COUNT) and consumed."""
    catalogue, events = tmp_path / "catalogue.csv", tmp_path / "events.jsonl"
    catalogue.write_text(CATALOGUE)
    events.write_text("\n".join(EVENTS) + "\n")
    cli("db", "upgrade")
    cli("products", "import", str(catalogue))
    cli("topics", "create", "--partitions", "2")
    assert cli("produce", "A", "3").stdout.startswith("sent 1 event {")
    assert cli("produce", "--file", str(events)).stdout.startswith("sent 4 events from")
    result = cli("run", "--max-messages", "5", "--idle-timeout", "30", "--json")
    summary: dict[str, object] = json.loads(result.stdout.splitlines()[-1])
    return summary


def test_run_applies_the_valid_events_and_dead_letters_the_others(
    cli: Cli, consumed: dict[str, object]
) -> None:
    assert consumed == {
        "records": 5,
        "applied": 2,
        "stale": 0,
        "superseded": 0,
        "rejected": 3,
        "duplicate": 0,
        "by_reason": {"invalid_payload": 1, "malformed_json": 1, "unknown_product": 1},
    }
    statuses = json.loads(cli("products", "list", "--json").stdout)
    assert [(s["product_code"], s["inventory_count"], s["message"]) for s in statuses] == [
        ("A", 3, "Only 3 left in stock!"),
        ("B", 0, "Out of stock"),
    ]


def test_dlq_show_lists_each_rejected_event_and_commits_nothing(
    cli: Cli, consumed: dict[str, object], topic_name: str
) -> None:
    first = json.loads(cli("dlq", "show", "--json").stdout)
    again = json.loads(cli("dlq", "show", "--json").stdout)
    assert first == again
    by_reason = {letter["reason"]: letter for letter in first}
    assert set(by_reason) == {"unknown_product", "invalid_payload", "malformed_json"}
    ghost = by_reason["unknown_product"]
    assert ghost["original_topic"] == topic_name
    assert ghost["key"] == "GHOST"
    assert json.loads(ghost["value"])["event_id"] == "ev-ghost"
    assert ghost["error"] == "no product with code 'GHOST'"
    text = cli("dlq", "show", "--limit", "1").stdout.splitlines()
    assert len(text) == 2
    assert text[0].startswith(f"{topic_name}[")


def test_dlq_replay_sends_back_once_only_the_letters_whose_cause_can_be_fixed(
    cli: Cli, consumed: dict[str, object], topic_name: str
) -> None:
    cli("products", "add", "GHOST", "--name", "Ghost")
    replayed = cli("dlq", "replay").stdout.splitlines()
    assert replayed[0] == f"replayed 1 dead letters from {topic_name}.dlq to {topic_name}"
    assert [line.split(":")[0] for line in replayed[1:]] == [
        "skipped 1 invalid_payload",
        "skipped 1 malformed_json",
    ]
    assert cli("dlq", "replay").stdout.startswith("replayed 0 dead letters")
    summary = json.loads(cli("run", "--max-messages", "1", "--idle-timeout", "30", "--json").stdout)
    assert (summary["applied"], summary["rejected"]) == (1, 0)
    assert json.loads(cli("status", "GHOST", "--json").stdout)["inventory_count"] == 4


def test_check_says_what_is_missing_and_then_that_all_is_well(cli: Cli, database_url: str) -> None:
    before = cli("check", ok=False)
    assert before.returncode == 1
    lines = before.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("FAIL  database ")
    assert "run `inventory-sync db upgrade`" in lines[0]
    assert lines[1].startswith("FAIL  Kafka at ")
    assert "(kafka-python client)" in lines[1]
    assert "run `inventory-sync topics create`" in lines[1]

    cli("db", "upgrade")
    cli("topics", "create")
    after = cli("check").stdout.splitlines()
    assert [line.split()[0] for line in after] == ["ok", "ok"]
    assert "(current)" in after[0]
    assert "present" in after[1]


def test_status_of_an_unknown_product_exits_1(cli: Cli) -> None:
    cli("db", "upgrade")
    result = cli("status", "NOPE", ok=False)
    assert (result.returncode, result.stderr) == (1, "error: unknown product 'NOPE'\n")


def test_a_catalogue_with_a_bad_row_is_not_imported_at_all(cli: Cli, tmp_path: Path) -> None:
    cli("db", "upgrade")
    catalogue = tmp_path / "catalogue.csv"
    catalogue.write_text("code,name,inventory_count\nA,Mug,1\nB,Lamp,lots\n")
    result = cli("products", "import", str(catalogue), ok=False)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert f"error: {catalogue}, line 3: inventory_count 'lots'" in result.stderr
    assert json.loads(cli("products", "list", "--json").stdout) == []


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def offline() -> Cli:
    """Settings pointing at a broker and a PostgreSQL that are not there."""
    return Cli(
        database_url=f"postgresql+psycopg://shop:hunter2@127.0.0.1:{free_port()}/shop",
        bootstrap_servers=f"127.0.0.1:{free_port()}",
    )


def test_an_unreachable_broker_is_one_line_saying_where(offline: Cli) -> None:
    result = offline("produce", "A", "1", ok=False)
    assert result.returncode == 1
    servers = offline.env["INVENTORY_SYNC_BOOTSTRAP_SERVERS"]
    assert result.stderr == f"error: cannot reach Kafka at {servers}\n"


def test_an_unreachable_database_is_one_line_saying_where_without_the_password(
    offline: Cli,
) -> None:
    result = offline("products", "list", ok=False)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(
        "error: cannot reach the database at postgresql+psycopg://shop:**********@127.0.0.1:"
    )
    assert "hunter2" not in result.stderr


def test_check_reports_both_unreachable_services(offline: Cli) -> None:
    result = offline("check", ok=False)
    assert result.returncode == 1
    database, kafka = result.stdout.splitlines()
    assert database.startswith("FAIL  database postgresql+psycopg://shop:**********@")
    assert "cannot reach the database" in database
    assert kafka.startswith("FAIL  Kafka at ")
    assert "cannot reach Kafka" in kafka


def test_run_stops_cleanly_on_sigterm_with_its_summary(cli: Cli) -> None:
    cli("db", "upgrade")
    cli("products", "add", "A", "--name", "Mug", "--count", "10")
    cli("topics", "create")
    cli("produce", "A", "4")
    worker = subprocess.Popen(
        [EXECUTABLE, "run", "--json"],
        env=cli.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while json.loads(cli("status", "A", "--json").stdout)["inventory_count"] != 4:
            assert time.monotonic() < deadline, "the worker never applied the event"
            time.sleep(0.2)
        worker.send_signal(signal.SIGTERM)
        stdout, stderr = worker.communicate(timeout=60)
    finally:
        worker.kill()
    assert worker.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert json.loads(stdout.splitlines()[-1])["applied"] == 1


def test_run_and_check_work_the_same_with_the_confluent_client(
    sqlite_url: str, kafka_bootstrap: str, topic_name: str
) -> None:
    pytest.importorskip("confluent_kafka")
    cli = Cli(
        database_url=sqlite_url,
        bootstrap_servers=kafka_bootstrap,
        topic=topic_name,
        dlq_topic=f"{topic_name}.dlq",
        group_id=f"group-{uuid.uuid4().hex[:8]}",
        kafka_client="confluent",
        log_level="WARNING",
    )
    cli("db", "upgrade")
    cli("products", "add", "A", "--name", "Mug")
    cli("topics", "create")
    assert "(confluent client)" in cli("check").stdout
    cli("produce", "A", "2")
    cli("produce", "GHOST", "1")
    summary = json.loads(cli("run", "--max-messages", "2", "--idle-timeout", "30", "--json").stdout)
    assert (summary["applied"], summary["by_reason"]) == (1, {"unknown_product": 1})
    assert cli("status", "A").stdout == "A: Only 2 left in stock! (inventory count 2)\n"


def test_check_and_status_work_on_the_shops_own_table(database_url: str) -> None:
    from tests.integration.sql_support import create_shop_table, engine_on

    with engine_on(database_url, migrated=False) as engine:
        create_shop_table(engine, ["SKU-1"])
    shop = Cli(
        database_url=database_url,
        products_table="shop_product",
        code_column="sku",
        count_column="stock",
        updated_at_column="stock_changed_at",
        name_column="title",
    )
    assert shop("status", "SKU-1").stdout == "SKU-1: In stock (inventory count 10)\n"
    database_line = shop("check", ok=False).stdout.splitlines()[0]
    assert database_line.startswith("ok    database ")
    assert "table 'shop_product' mapped" in database_line
    upgraded = shop("db", "upgrade").stdout
    assert "the shop's own table: left untouched" in upgraded
    assert "applied 0002" in upgraded
    assert "inventory_sync_offsets" in sa.inspect(sa.create_engine(database_url)).get_table_names()

    wrong = Cli(database_url=database_url, products_table="shop_product", code_column="code_x")
    line = wrong("check", ok=False).stdout.splitlines()[0]
    assert line.startswith("FAIL  database ")
    assert "has no column 'code_x' (setting code_column)" in line
