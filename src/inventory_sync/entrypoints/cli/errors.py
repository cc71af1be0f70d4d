"""Expected errors become one line on stderr and an exit code, in one place: the root group.

Exit codes: 1 the operation failed (a service out of reach, an unknown product, a bad row),
2 bad usage or bad settings. Anything not recognised here is a bug and keeps its traceback.
"""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperGroup

from inventory_sync.domain.errors import InventorySyncError, PermanentFault, SettingsError


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
    if settings is not None:  # an adapter's library error, or a fault it caused
        from inventory_sync.container import adapter_error

        exc = adapter_error(exc, settings) or exc
    if isinstance(exc, SettingsError | BadUsage):
        return 2, _one_line(str(exc))
    if isinstance(exc, FileNotFoundError):
        return 2, f"no such file: {exc.filename}" if exc.filename else _one_line(str(exc))
    if isinstance(exc, OSError) and exc.filename:
        return 1, f"cannot open {exc.filename}: {exc.strerror}"
    if isinstance(exc, InventorySyncError):
        return 1, _one_line(str(exc))
    return None


def _one_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else text.strip()
