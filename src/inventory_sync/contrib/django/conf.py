"""inventory-sync's Settings from a Django project: INVENTORY_SYNC, DATABASES and the model.

The precedence is inventory-sync's own: a command-line flag, then an INVENTORY_SYNC_*
environment variable, then the INVENTORY_SYNC dict (which takes the place of the TOML file),
then the default.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from inventory_sync.contrib.django.mapping import FIELD_KEYS, model_columns
from inventory_sync.contrib.django.problems import Problem, setting

if TYPE_CHECKING:
    from inventory_sync import Settings

DJANGO_KEYS = ("model", *FIELD_KEYS, "database")
"""The keys of INVENTORY_SYNC that are not Settings names: they say where settings come from."""
ENV_PREFIX = "INVENTORY_SYNC_"
EMPTY_MEANS_NONE = frozenset({"updated_at_column", "name_column", "sasl_mechanism"})
UNSHOWN = frozenset({"database_url", "sasl_password"})
"""Values a message never repeats: they may hold a password."""


@dataclass(frozen=True)
class Configuration:
    """What the project gives each setting, before the environment, and what is wrong with it."""

    values: dict[str, Any] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    from_dict: frozenset[str] = frozenset()

    def errors(self) -> list[Problem]:
        return [problem for problem in self.problems if not problem.warning]


def configuration() -> Configuration:
    """INVENTORY_SYNC with the model and the database resolved into Settings names."""
    from django.conf import settings as project

    raw = getattr(project, "INVENTORY_SYNC", {})
    if not isinstance(raw, Mapping):
        kind = type(raw).__name__
        return Configuration(problems=[Problem(1, f"INVENTORY_SYNC is a {kind}: give a dict")])
    values = {
        key: str(value) if isinstance(value, PurePath) else value  # BASE_DIR / "ca.pem"
        for key, value in raw.items()
        if key not in DJANGO_KEYS
    }
    columns, problems = model_columns(raw)
    values.update(columns)
    if "database_url" in raw and "database" in raw:
        both = f"{setting('database')} and {setting('database_url')}"
        problems.append(Problem(6, f"{both}: give one of them, not both"))
    elif "database_url" not in raw and not in_environment("database_url"):
        url, problem = _database_url(raw.get("database", "default"))
        if problem is not None:
            problems.append(problem)
        else:
            values["database_url"] = url
    return Configuration(values, problems, frozenset(values) & frozenset(raw))


def inventory_settings() -> Settings:
    """The Settings this project gives: what `manage.py inventory_sync` runs with.

    Use it to embed the library: `InventorySync(inventory_settings())`.
    """
    from django.core.exceptions import ImproperlyConfigured

    from inventory_sync import Settings

    config = configuration()
    if config.errors():
        raise ImproperlyConfigured(config.errors()[0].message)
    return Settings(**without_environment(config.values))


def validation_problems(config: Configuration) -> list[Problem]:
    """What Settings says of the values (and of the environment), one problem per error."""
    from pydantic import ValidationError

    from inventory_sync import Settings

    try:
        Settings(**without_environment(config.values))
    except ValidationError as exc:
        return [_validation_problem(error, config) for error in exc.errors(include_url=False)]
    return []


def _validation_problem(error: Any, config: Configuration) -> Problem:
    name = str(error["loc"][0]) if error["loc"] else "settings"
    if error["type"] == "extra_forbidden":
        return Problem(5, f"{setting(name)}: not an inventory-sync setting")
    if in_environment(name):
        where = f"environment variable {ENV_PREFIX}{name.upper()}"
    elif name in config.from_dict:
        where = setting(name) if name in UNSHOWN else setting(name, config.values[name])
    else:
        where = f"setting {name}"
    return Problem(5, f"{where}: {error['msg']}")


def in_environment(name: str) -> bool:
    """Whether an INVENTORY_SYNC_* variable sets it (the names are not case-sensitive)."""
    wanted = (ENV_PREFIX + name).lower()
    return any(key.lower() == wanted for key in os.environ)


def without_environment(values: Mapping[str, Any]) -> dict[str, Any]:
    """The values the environment does not override: so that the environment wins."""
    return {name: value for name, value in values.items() if not in_environment(name)}


def toml_text(values: Mapping[str, Any]) -> str:
    """The values as a TOML settings file, the file the command line reads below the
    environment. A None column (no such column) is written as "", which Settings reads as None."""
    lines = []
    for name, value in values.items():
        if value is None and name not in EMPTY_MEANS_NONE:
            continue  # None is the default of every other setting that may be None
        lines.append(f"{name} = {_toml_value(name, '' if value is None else value)}")
    return "\n".join(lines) + "\n"


def _toml_value(name: str, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, timedelta):
        return repr(value.total_seconds())
    if hasattr(value, "get_secret_value"):
        value = value.get_secret_value()
    if isinstance(value, str | PurePath):
        # A JSON string is a TOML basic string, but for DEL, which TOML wants escaped.
        return json.dumps(str(value), ensure_ascii=False).replace("\x7f", "\\u007f")
    raise TypeError(f"{setting(name)}: a {type(value).__name__} is no value of a setting")


def _database_url(alias: Any) -> tuple[str, Problem | None]:
    from django.conf import settings as project

    from inventory_sync.contrib.django.database import UnsupportedDatabase, database_url

    databases = getattr(project, "DATABASES", {})
    if not isinstance(alias, str) or alias not in databases:
        known = ", ".join(sorted(databases)) or "none"
        return "", Problem(6, f"{setting('database', alias)}: no such alias in DATABASES ({known})")
    try:
        return database_url(alias, databases[alias]), None
    except UnsupportedDatabase as exc:
        return "", Problem(6, str(exc))


@dataclass(frozen=True, slots=True)
class InstanceReading:
    """How a model instance is read: the attributes of code and count, and the threshold."""

    code_attribute: str
    count_attribute: str
    low_stock_threshold: int


@functools.cache
def instance_reading() -> InstanceReading:
    """Cached: a product page reads it on every render. Forgotten when settings change."""
    from django.conf import settings as project

    from inventory_sync import Settings

    raw = getattr(project, "INVENTORY_SYNC", {})
    raw = raw if isinstance(raw, Mapping) else {}  # the system check says what is wrong
    given = {k: v for k, v in raw.items() if k == "low_stock_threshold"}
    threshold = Settings(**without_environment(given)).low_stock_threshold
    return InstanceReading(
        raw.get("code_field") or "code", raw.get("count_field") or "inventory_count", threshold
    )


def clear_cache() -> None:
    instance_reading.cache_clear()
