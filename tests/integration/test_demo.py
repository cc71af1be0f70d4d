"""The one-command demo of the README, run as a newcomer would, against the real broker."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

DEMO = Path(__file__).resolve().parents[2] / "scripts" / "demo"


def run_demo(kafka_bootstrap: str, demo_dir: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INVENTORY_SYNC_")}
    env["INVENTORY_SYNC_BOOTSTRAP_SERVERS"] = kafka_bootstrap
    env["INVENTORY_SYNC_DEMO_DIR"] = str(demo_dir)
    result = subprocess.run(
        [str(DEMO)], env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


def test_the_demo_shows_stock_statuses_and_dead_letters(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    output = run_demo(kafka_bootstrap, tmp_path)

    assert "imported 6 products from examples/catalogue.csv" in output
    assert "sent 12 events from examples/burst.jsonl" in output
    assert (
        "consumed 12 records: 7 applied, 2 stale, 0 superseded, 3 rejected"
        " (invalid_payload 1, malformed_json 1, unknown_product 1)"
    ) in output

    final = output.split("==> 8.", 1)[1].split("==> 9.", 1)[0]
    for code, count, message in [
        ("LAMP-1", 24, "In stock"),
        ("MUG-BLUE", 39, "In stock"),
        ("MUG-RED", 3, "Only 3 left in stock!"),
        ("POSTER-7", 2, "Only 2 left in stock!"),
        ("TEE-M", 0, "Out of stock"),
        ("TEE-S", 1, "Only 1 left in stock!"),
    ]:
        row = next(line for line in final.splitlines() if line.startswith(code + " "))
        assert row.split()[-len(message.split()) - 1 :] == [str(count), *message.split()]

    letters = output.split("==> 9.", 1)[1]
    for reason in ("unknown_product", "invalid_payload", "malformed_json"):
        assert f"  {reason}: " in letters
    assert "no product with code 'GHOST-9'" in letters
    assert (tmp_path / "inventory_sync.db").exists()


def test_the_demo_can_run_again_from_a_clean_slate(kafka_bootstrap: str, tmp_path: Path) -> None:
    run_demo(kafka_bootstrap, tmp_path)
    again = run_demo(kafka_bootstrap, tmp_path)
    assert "imported 6 products from examples/catalogue.csv" in again
    assert "consumed 12 records: 7 applied, 2 stale" in again
