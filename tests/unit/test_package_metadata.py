"""The installed distribution's metadata: what a package index and `pip show` display."""

from __future__ import annotations

from importlib.metadata import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_the_metadata_has_the_licence_file_classifiers_and_project_urls() -> None:
    meta = metadata("inventory-sync")
    assert meta["License-Expression"] == "MIT"
    assert "LICENSE" in (meta.get_all("License-File") or [])
    assert "MIT License" in (REPO / "LICENSE").read_text()
    classifiers = meta.get_all("Classifier") or []
    assert "Typing :: Typed" in classifiers
    assert "Programming Language :: Python :: 3.11" in classifiers
    assert "Framework :: Django" in classifiers
    urls = dict(url.split(", ", 1) for url in meta.get_all("Project-URL") or [])
    assert {"Homepage", "Documentation", "Source", "Issues"} <= urls.keys()
    assert all(url.startswith("https://") for url in urls.values())


def test_every_extra_the_readme_lists_is_declared() -> None:
    extras = set(metadata("inventory-sync").get_all("Provides-Extra") or [])
    readme = (REPO / "README.md").read_text()
    assert {"postgres", "confluent", "django", "dev"} <= extras
    for extra in extras - {"dev"}:
        assert f"`{extra}`" in readme or f"[{extra}]" in readme, extra
