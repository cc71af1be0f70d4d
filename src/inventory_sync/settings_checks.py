"""Checks on what Settings.load reads: the TOML file's syntax, INVENTORY_SYNC_* variables that
name no setting, and the one line a validation error becomes."""

from __future__ import annotations

import difflib
import logging
import os
import tomllib
from pathlib import Path

from pydantic import ValidationError

from inventory_sync.domain.errors import SettingsError

ENV_PREFIX = "INVENTORY_SYNC_"
NOT_SETTINGS = ("CONFIG", "TEST_", "KAFKA_", "PG_", "DEMO_", "BENCH_", "SECRETS_DIR")
"""Variables with the prefix that are not settings: the config file, the test and local
service scripts' own."""

log = logging.getLogger("inventory_sync.settings")


def first_problem(exc: ValidationError) -> str:
    """ "setting batch_size: Input should be greater than 0 (and 2 more)": the first of a
    validation's errors, naming the setting."""
    errors = exc.errors(include_url=False, include_input=False)
    first = errors[0]
    message = str(first["msg"]).removeprefix("Value error, ")
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    if not first["loc"]:  # a rule across settings: its message names them
        return f"settings: {message}{more}"
    name = ".".join(str(part) for part in first["loc"])
    return f"setting {name}: {message}{more}"


def check_toml(path: Path) -> None:
    """A config file that is not TOML fails here with its name, line and column."""
    try:
        tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"config file {path}: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"config file {path}: {exc}") from None


def warn_unknown_variables(names: list[str]) -> None:
    """An INVENTORY_SYNC_* variable that names no setting is a typo: say so, with the
    nearest name, instead of ignoring it."""
    for variable in sorted(os.environ):
        if not variable.startswith(ENV_PREFIX):
            continue
        name = variable[len(ENV_PREFIX) :]
        if name in names or name.startswith(NOT_SETTINGS):
            continue
        nearest = difflib.get_close_matches(name, names, n=1)
        hint = f"; did you mean {ENV_PREFIX}{nearest[0]}?" if nearest else ""
        log.warning("%s names no setting and is ignored%s", variable, hint)
