"""Importing the package or the CLI, and `--help`, load nothing heavy: no work at import time."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = (
    "sqlalchemy",
    "kafka",
    "confluent_kafka",
    "dependency_injector",
    "pydantic_settings",
    "rich",
    "prometheus_client",
    "alembic",
    "starlette",
    "jinja2",
    "uvicorn",
)

PROBE = """
import sys
{statement}
print(" ".join(sorted({{name.split(".")[0] for name in sys.modules}} & set(sys.argv[1:]))))
"""


@pytest.mark.parametrize(
    "statement",
    [
        "import inventory_sync",
        "import inventory_sync.entrypoints.cli",
        "from inventory_sync.entrypoints.cli import app\n"
        "try:\n    app(['--help'], prog_name='inventory-sync')\nexcept SystemExit:\n    pass",
    ],
    ids=["package", "cli", "help"],
)
def test_nothing_heavy_is_imported(statement: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(statement=statement), *HEAVY],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.splitlines()[-1] == ""
