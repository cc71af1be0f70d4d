"""The layers' import rules, checked on the source: a pure domain, a core that drives ports
only, adapters that know nothing of the entrypoints, a library API without the CLI."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "inventory_sync"
STDLIB = sys.stdlib_module_names


def imported(path: Path) -> set[str]:
    """Every module a file imports, at any depth (functions, TYPE_CHECKING blocks too)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def offending(folder: str, allowed: tuple[str, ...]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in sorted((PACKAGE / folder).rglob("*.py")):
        bad = [
            name
            for name in sorted(imported(path))
            if name.split(".")[0] not in STDLIB
            and not any(name == a or name.startswith(a + ".") for a in allowed)
        ]
        if bad:
            found[str(path.relative_to(PACKAGE))] = bad
    return found


def test_the_domain_imports_only_the_standard_library_pydantic_and_itself() -> None:
    allowed = ("__future__", "pydantic", "pydantic_core", "inventory_sync.domain")
    assert offending("domain", allowed) == {}


def test_the_run_loop_imports_only_the_standard_library_and_the_domain() -> None:
    allowed = ("__future__", "inventory_sync.domain", "inventory_sync.application")
    assert offending("application", allowed) == {}


def test_no_adapter_imports_an_entrypoint() -> None:
    found = {
        str(path.relative_to(PACKAGE)): sorted(imported(path))
        for path in (PACKAGE / "adapters").rglob("*.py")
        if any(name.startswith("inventory_sync.entrypoints") for name in imported(path))
    }
    assert found == {}


@pytest.mark.parametrize("module", ["inventory_sync.facade", "inventory_sync.testing"])
def test_the_library_api_never_loads_the_entrypoints(module: str) -> None:
    probe = (
        f"import sys, {module}\n"
        "print(sorted(m for m in sys.modules if m.startswith('inventory_sync.entrypoints')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
    assert not any(n.startswith("inventory_sync.entrypoints") for n in imported(_file(module)))


def _file(module: str) -> Path:
    return PACKAGE / (module.split(".", 1)[1] + ".py")


WEB_EXTRA = ("starlette", "jinja2", "uvicorn", "fastapi")


def test_only_the_status_page_imports_the_web_extra() -> None:
    found = {
        str(path.relative_to(PACKAGE)): bad
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.parent.name != "web" or path.parent.parent != PACKAGE
        if (bad := sorted(n for n in imported(path) if n.split(".")[0] in WEB_EXTRA))
    }
    assert found == {}


def test_the_core_never_imports_the_status_page() -> None:
    found = {
        str(path.relative_to(PACKAGE)): sorted(imported(path))
        for folder in ("domain", "application", "adapters")
        for path in (PACKAGE / folder).rglob("*.py")
        if any(name.startswith("inventory_sync.web") for name in imported(path))
    }
    assert found == {}


@pytest.mark.parametrize(
    "module", ["inventory_sync.facade", "inventory_sync.entrypoints.cli", "inventory_sync.testing"]
)
def test_the_library_and_the_cli_load_the_status_page_only_when_they_serve_it(module: str) -> None:
    probe = (
        f"import sys, {module}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in sys.argv[1:]"
        " or m.startswith('inventory_sync.web')))"
    )
    # starlette is left out: dependency-injector imports it (and fastapi) itself, when they
    # are installed, for its wiring; the source rule above covers this package's own imports.
    result = subprocess.run(
        [sys.executable, "-c", probe, "jinja2", "uvicorn"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "[]"
