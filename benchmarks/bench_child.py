"""Each measurement runs in a fresh Python process: cold start, and a peak RSS of its own.

The parent calls `run_child(kind, params)`; the child is `throughput.py _measure KIND PARAMS
RESULT_FILE`, which imports only what that measurement needs.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).with_name("throughput.py")


class MeasurementFailed(RuntimeError):
    def __init__(self, kind: str, returncode: int) -> None:
        super().__init__(f"the {kind} measurement exited with {returncode} (its stderr is above)")


def run_child(kind: str, params: dict[str, Any]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="inventory-sync-bench-") as tmp:
        result_file = Path(tmp) / "result.json"
        command = [sys.executable, str(SCRIPT), "_measure", kind, json.dumps(params)]
        done = subprocess.run([*command, str(result_file)], check=False)
        if done.returncode != 0 or not result_file.exists():
            raise MeasurementFailed(kind, done.returncode)
        result: dict[str, Any] = json.loads(result_file.read_text())
        return result


def child_main(argv: list[str]) -> int:
    """Entry point of the child process: run one measurement, write its result as JSON."""
    from rss import peak_rss_mb

    kind, params_json, result_file = argv
    params = json.loads(params_json)
    if kind == "raw":
        from bench_raw import measure_raw

        result = measure_raw(**params)
    elif kind == "naive":
        from bench_naive import measure_naive

        result = measure_naive(**params)
    elif kind == "loop":
        from bench_loop import measure_loop

        result = measure_loop(**params)
    else:
        print(f"unknown measurement {kind!r}", file=sys.stderr)
        return 2
    result.setdefault("peak_rss_mb", round(peak_rss_mb(), 1))
    Path(result_file).write_text(json.dumps(result))
    return 0
