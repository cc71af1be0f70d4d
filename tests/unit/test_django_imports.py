"""The django extra is optional: the package and the CLI never import Django."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

RUN = "try:\n    app({args!r}, prog_name='inventory-sync')\nexcept SystemExit:\n    pass"
PROBE = """
import sys
{statement}
print("django-loaded" if any(m == "django" or m.startswith("django.") for m in sys.modules)
      else "no-django")
"""


@pytest.mark.parametrize(
    "statement",
    [
        "import inventory_sync\nfrom inventory_sync import InventorySync, Settings, StockStatus",
        "import inventory_sync.contrib, inventory_sync.contrib.django",
        "from inventory_sync.entrypoints.cli import app\n" + RUN.format(args=["--help"]),
        "from inventory_sync.entrypoints.cli import app\n" + RUN.format(args=["config", "show"]),
    ],
    ids=["package", "contrib-package", "cli-help", "cli-config-show"],
)
def test_django_is_never_imported(statement: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INVENTORY_SYNC_")}
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(statement=statement)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )

    assert result.stdout.splitlines()[-1] == "no-django", result.stdout + result.stderr


def test_the_probe_sees_django_when_it_is_imported() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(statement="import django.conf")],
        capture_output=True,
        text=True,
        check=True,
    )

    assert result.stdout.splitlines()[-1] == "django-loaded"


def test_only_the_bridge_imports_the_librarys_internals() -> None:
    """The rest of the contrib package uses the public API: `from inventory_sync import ...`."""
    import ast
    from pathlib import Path

    package = Path(__file__).resolve().parents[2] / "src" / "inventory_sync" / "contrib"
    internal: dict[str, list[str]] = {}
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            for name in names:
                if name.startswith("inventory_sync.") and not name.startswith(
                    "inventory_sync.contrib."
                ):
                    internal.setdefault(path.name, []).append(name)

    assert internal == {"bridge.py": ["inventory_sync.entrypoints.cli"]}
