"""The throughput benchmark runs end to end with a tiny N, so it cannot rot. Nothing is timed."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "benchmarks" / "throughput.py"
CLIENTS = ("kafka-python", "confluent")
DATABASES = ("sqlite", "postgresql")

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]


def test_the_benchmark_measures_every_client_and_database_and_writes_every_field(
    kafka_bootstrap: str, postgres_url: str, tmp_path: Path
) -> None:
    bench_db = f"inventory_sync_bench_{uuid.uuid4().hex[:8]}"
    bench_url = sa.make_url(postgres_url).set(database=bench_db)
    output = tmp_path / "latest.json"

    done = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--events=300",
            "--products=20",
            "--naive-events=20",
            f"--clients={','.join(CLIENTS)}",
            f"--databases={','.join(DATABASES)}",
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
    assert {"cores", "python", "platform"} <= result["machine"].keys()
    assert {"inventory-sync", "kafka-python", "confluent-kafka", "sqlalchemy", "psycopg"} <= result[
        "versions"
    ].keys()
    assert (result["events"], result["products"], result["invalid_ratio"]) == (300, 20, 0.05)
    assert set(result["raw"]) == set(CLIENTS)
    assert set(result["naive"]) == set(DATABASES)
    for client in CLIENTS:
        assert set(result["inventory_sync"][client]) == set(DATABASES)
        for db in DATABASES:
            run = result["inventory_sync"][client][db]
            assert {"records_per_s", "wall_s", "peak_rss_mb", "summary"} <= run.keys()
            assert run["summary"]["records"] == 300
            assert run["verified"] is True
            assert result["ratios"]["c_over_a"][client][db] > 0
            assert result["ratios"]["c_over_b"][client][db] > 0
    assert "WRONG" not in done.stdout
