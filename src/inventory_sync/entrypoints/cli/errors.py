"""Expected errors become one line on stderr and an exit code, in one place: the root group.

Exit codes: 1 the operation failed (a service out of reach, an unknown product, a bad row),
2 bad usage or bad settings. Anything not recognised here is a bug and keeps its traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import typer
from typer.core import TyperGroup

from inventory_sync.domain.errors import InventorySyncError, PermanentFault


class BadUsage(Exception):
    """The command line itself is wrong (exit 2); the message says how to put it right."""


class ErrorHandlingGroup(TyperGroup):
    """The root command group: turns an expected error of any command into one line."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise  # --help, usage errors, Ctrl-C at a prompt: typer reports them itself
        except Exception as exc:
            from inventory_sync.entrypoints.cli.state import CliState

            state = ctx.find_object(CliState)
            described = describe(exc, state.loaded_settings if state else None)
            if described is None:
                raise
            code, message = described
            typer.echo(f"error: {message}", err=True)
            raise typer.Exit(code) from None


def describe(exc: BaseException, settings: Any) -> tuple[int, str] | None:
    """(exit code, one-line message) for an expected error, None for anything else."""
    if isinstance(exc, PermanentFault):  # says it all; its cause is a detail of it
        return 1, _one_line(str(exc))
    for cause in _chain(exc):
        module = type(cause).__module__
        if module.startswith(("kafka", "confluent_kafka")):
            return 1, _kafka_message(cause, settings)
        if module.startswith("sqlalchemy"):
            return _database_message(cause, settings)
    if _is_settings_error(exc):
        return 2, _settings_message(exc)
    if type(exc).__name__ == "SettingsError":  # a config file that cannot be read
        return 2, _one_line(str(exc))
    if isinstance(exc, BadUsage) or _is_missing_client(exc):
        return 2, _one_line(str(exc))
    if isinstance(exc, FileNotFoundError):
        return 2, f"no such file: {exc.filename}" if exc.filename else _one_line(str(exc))
    if isinstance(exc, OSError) and exc.filename:
        return 1, f"cannot open {exc.filename}: {exc.strerror}"
    if isinstance(exc, InventorySyncError):
        return 1, _one_line(str(exc))
    return None


def _is_settings_error(exc: BaseException) -> bool:
    """A pydantic ValidationError of Settings (checked without importing pydantic)."""
    return type(exc).__name__ == "ValidationError" and getattr(exc, "title", None) == "Settings"


def _is_missing_client(exc: BaseException) -> bool:
    if not isinstance(exc, RuntimeError):
        return False
    from inventory_sync.container import ConfluentNotInstalled

    return isinstance(exc, ConfluentNotInstalled)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _settings_message(exc: Any) -> str:
    errors = exc.errors(include_url=False, include_input=False)
    first = errors[0]
    name = ".".join(str(part) for part in first["loc"]) or "settings"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"setting {name}: {first['msg']}{more}"


_UNREACHABLE_KAFKA = frozenset(
    {
        "NoBrokersAvailable",  # kafka-python 2
        "KafkaConnectionError",
        "KafkaTimeoutError",
        "MetadataEmptyBrokerList",
        "NodeNotReadyError",
    }
)


def _kafka_message(exc: BaseException, settings: Any) -> str:
    where = settings.bootstrap_servers if settings is not None else "the configured servers"
    if type(exc).__name__ in _UNREACHABLE_KAFKA:
        return f"cannot reach Kafka at {where}"
    return f"Kafka at {where}: {type(exc).__name__}: {_one_line(str(exc))}"


def _database_message(exc: BaseException, settings: Any) -> tuple[int, str]:
    from inventory_sync.settings import mask_url_password

    name = type(exc).__name__
    if name in ("ArgumentError", "NoSuchModuleError"):
        return 2, f"setting database_url: {_one_line(str(exc))}"
    where = mask_url_password(settings.database_url) if settings is not None else "?"
    detail = _one_line(str(getattr(exc, "orig", None) or exc))
    if _names_missing_column(detail):
        return 1, (
            f"the database at {where} lacks a mapped column ({detail}): check the settings "
            "products_table, code_column, count_column, updated_at_column, name_column "
            "(inventory-sync check)"
        )
    if _names_missing_table(detail):
        return 1, f"the database at {where} is not set up ({detail}): run inventory-sync db upgrade"
    if name in ("OperationalError", "InterfaceError"):
        return 1, f"cannot reach the database at {where}: {detail}"
    return 1, f"database at {where}: {name}: {detail}"


def _names_missing_column(detail: str) -> bool:
    return "no such column" in detail or ("column" in detail and "does not exist" in detail)


def _names_missing_table(detail: str) -> bool:
    return "no such table" in detail or ("relation" in detail and "does not exist" in detail)


def _one_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else text.strip()
