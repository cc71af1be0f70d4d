"""The latency benchmark runs end to end with tiny sizes, so it cannot rot. Nothing is timed."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "benchmarks" / "latency.py"
CLIENTS = ("kafka-python", "confluent")
DATABASES = ("postgresql", "sqlite")
SCENARIOS = ("light", "burst")
LIGHT_EVENTS = 15
BURST_EVENTS = 300

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]


def test_the_latency_benchmark_measures_every_client_database_and_scenario_and_checks_them(
    kafka_bootstrap: str, postgres_url: str, tmp_path: Path
) -> None:
    bench_url = sa.make_url(postgres_url).set(
        database=f"inventory_sync_bench_{uuid.uuid4().hex[:8]}"
    )
    output = tmp_path / "latency.json"

    done = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            f"--light-events={LIGHT_EVENTS}",
            f"--burst-events={BURST_EVENTS}",
            "--burst-products=20",
            "--probe-products=4",
            f"--clients={','.join(CLIENTS)}",
            f"--databases={','.join(DATABASES)}",
            f"--scenarios={','.join(SCENARIOS)}",
            f"--bootstrap-servers={kafka_bootstrap}",
            f"--postgres-url={bench_url.render_as_string(hide_password=False)}",
            f"--output={output}",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(output.read_text())
    assert {"cores", "memory_gb", "python", "platform", "loadavg_at_start"} <= result[
        "machine"
    ].keys()
    assert {"inventory-sync", "kafka-python", "confluent-kafka", "sqlalchemy", "psycopg"} <= result[
        "versions"
    ].keys()
    assert result["command"][1:2] == [str(SCRIPT)]
    assert (result["config"]["light_events"], result["config"]["burst_events"]) == (
        LIGHT_EVENTS,
        BURST_EVENTS,
    )
    measured = {(m["client"], m["database"], m["scenario"]) for m in result["measurements"]}
    assert measured == {(c, d, s) for c in CLIENTS for d in DATABASES for s in SCENARIOS}
    for m in result["measurements"]:
        assert m["verified"] is True, m
        assert len(m["loadavg_at_start"]) == 3
        latency = m["latency_ms"]
        assert {"count", "p50", "p90", "p99", "max"} <= latency.keys()
        assert latency["count"] == m["trickle_events"] > 0
        assert latency["p50"] <= latency["p90"] <= latency["p99"] <= latency["max"]
        assert m["worker"]["returncode"] == 0
        assert m["worker"]["peak_rss_mb"] > 0
        if m["scenario"] == "light":
            assert m["trickle_events"] == LIGHT_EVENTS
        else:
            assert m["burst"]["events"] == BURST_EVENTS
            assert m["burst"]["drained_in_s"] is not None
            assert m["latency_ms_during_drain"]["count"] > 0
            assert m["worker"]["summary"]["rejected"] > 0  # the burst's invalid share
    assert "WRONG" not in done.stdout
