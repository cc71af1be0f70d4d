"""`inventory-sync offsets show|reset` and `run` with offset_storage = database, as a deployment
runs them (subprocesses, settings in the environment), on SQLite and the shared broker."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from pathlib import Path

from tests.integration.test_cli_end_to_end import EXECUTABLE, Cli

DELTAS = [("A", -2), ("B", 5), ("A", 7), ("B", -1), ("A", -1)]


def show(cli: Cli) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = json.loads(cli("offsets", "show", "--json").stdout)
    return rows


def counts(cli: Cli) -> dict[str, int]:
    rows = json.loads(cli("products", "list", "--json").stdout)
    return {row["product_code"]: row["inventory_count"] for row in rows}


def test_offsets_show_and_reset_move_the_stored_and_committed_position(
    sqlite_url: str, kafka_bootstrap: str, topic_name: str, tmp_path: Path
) -> None:
    started = time.monotonic()
    cli = Cli(
        database_url=sqlite_url,
        bootstrap_servers=kafka_bootstrap,
        topic=topic_name,
        dlq_topic=f"{topic_name}.dlq",
        group_id=f"group-{uuid.uuid4().hex[:8]}",
        offset_storage="database",
        log_level="WARNING",
    )
    cli("db", "upgrade")
    cli("products", "add", "A", "--name", "Mug", "--count", "10")
    cli("products", "add", "B", "--name", "Tee", "--count", "10")
    cli("topics", "create", "--partitions", "2")
    events = tmp_path / "deltas.jsonl"
    events.write_text(
        "".join(json.dumps({"product_code": c, "inventory_delta": d}) + "\n" for c, d in DELTAS)
    )
    cli("produce", "--file", str(events))

    first = json.loads(cli("run", "--idle-timeout", "3", "--json").stdout.splitlines()[-1])
    assert (first["applied"], first["duplicate"], first["rejected"]) == (5, 0, 0)
    assert counts(cli) == {"A": 14, "B": 14}
    rows = show(cli)
    assert sum(int(row["end"]) for row in rows) == 5  # type: ignore[call-overload]
    assert [(row["stored"] or 0, row["committed"] or 0) for row in rows] == [
        (row["end"], row["end"]) for row in rows
    ]  # a partition without records has neither
    table = cli("offsets", "show").stdout
    assert table.splitlines()[0].split() == [
        "group",
        "topic",
        "partition",
        "stored",
        "committed",
        "end",
    ]
    assert "offset_storage = database" in table

    # Refused, with one line and exit 1, while a worker of the group runs.
    log = tmp_path / "worker.log"
    with log.open("wb") as err:
        worker = subprocess.Popen(
            [EXECUTABLE, "run", "--idle-timeout", "60"],
            env={**cli.env, "INVENTORY_SYNC_LOG_LEVEL": "INFO"},
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    try:
        deadline = time.monotonic() + 60
        while "inventory_sync.kafka: assigned" not in log.read_text(errors="replace"):
            assert time.monotonic() < deadline, "the worker never joined its group"
            time.sleep(0.2)
        refused = cli("offsets", "reset", "--to-earliest", ok=False)
        assert refused.returncode == 1
        assert refused.stderr.count("\n") == 1
        assert "active member(s): stop its workers first" in refused.stderr
    finally:
        worker.terminate()
        worker.wait(60)

    # A reset to the start applies the deltas again: that is what a reset means for deltas.
    reset = cli("offsets", "reset", "--to-earliest").stdout
    assert reset.startswith(f"reset {cli.env['INVENTORY_SYNC_GROUP_ID']}: ")
    assert all(row["stored"] == row["committed"] == 0 for row in show(cli))
    again = json.loads(cli("run", "--idle-timeout", "3", "--json").stdout.splitlines()[-1])
    assert again["applied"] == 5
    assert counts(cli) == {"A": 18, "B": 18}

    cli("offsets", "reset", "--to-offset", "1")
    assert all(row["stored"] == row["committed"] == min(1, row["end"]) for row in show(cli))  # type: ignore[call-overload]
    cli("offsets", "reset", "--to-time", "2999-01-01T00:00:00+00:00")
    assert all(row["stored"] == row["committed"] == row["end"] for row in show(cli))
    assert cli("offsets", "reset", ok=False).returncode == 2
    print(f"offsets cli: {time.monotonic() - started:.1f} s")
