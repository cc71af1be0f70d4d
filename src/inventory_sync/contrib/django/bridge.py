"""Where inventory_sync.contrib.django meets the library's internals: this module only.

Everything else in the package uses the public API (inventory_sync.Settings, StockStatus,
InventorySync, ...), so a change of the library's layout is a change of this file.
"""

from __future__ import annotations

from collections.abc import Sequence


def run_cli(args: Sequence[str], prog_name: str) -> int:
    """Run `inventory-sync ARGS` in this process, as the command line does; its exit code."""
    from inventory_sync.entrypoints.cli import app

    try:
        app(args=list(args), prog_name=prog_name)
    except SystemExit as exc:
        return exit_code(exc.code)
    return 0


def exit_code(code: object) -> int:
    if code is None:
        return 0
    return code if isinstance(code, int) else 1
