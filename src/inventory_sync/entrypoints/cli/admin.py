"""Setting up and looking around: `db upgrade`, `check`, `config show`."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from inventory_sync.entrypoints.cli.errors import describe
from inventory_sync.entrypoints.cli.state import state_of

if TYPE_CHECKING:
    from inventory_sync.adapters.health import Health
    from inventory_sync.settings import Settings


def upgrade_database(ctx: typer.Context) -> None:
    """Create or upgrade the database schema.

    Creates the products table and inventory-sync's own tables (the stored offsets), or
    upgrades them to the newest schema; safe to repeat. A table of the shop's own (setting
    products_table) is never touched: beside it only inventory-sync's own tables are created.

    \b
    Examples:
      inventory-sync db upgrade
      inventory-sync --database-url postgresql+psycopg://shop@db/shop db upgrade
    """
    from inventory_sync.adapters.sql.migrate import upgrade
    from inventory_sync.settings import mask_url_password

    state = state_of(ctx)
    settings = state.settings()
    owned = state.container().mapping().owned
    applied = upgrade(state.container().engine(), products=owned)
    where = mask_url_password(settings.database_url)
    if not owned:
        typer.echo(
            f"products_table is {settings.products_table!r}, the shop's own table: left "
            "untouched; only inventory-sync's own tables (inventory_sync_offsets) are managed"
        )
    if applied:
        typer.echo(f"upgraded the schema of {where}: applied {', '.join(applied)}")
    else:
        typer.echo(f"the schema of {where} is already current")


def check(ctx: typer.Context) -> None:
    """Check the database and Kafka.

    One line each, exit 1 if any fails: the database must be reachable with a current
    schema, Kafka reachable with both topics present. It names the Kafka client in use.

    \b
    Example:
      inventory-sync check
    """
    from inventory_sync.adapters.health import database_where, kafka_where

    state = state_of(ctx)
    settings, container = state.settings(), state.container()
    results = [
        _probe(database_where(settings), container.database_health, settings),
        _probe(kafka_where(settings), container.kafka_health, settings),
    ]
    for _ok, line in results:
        typer.echo(line)
    if not all(ok for ok, _line in results):
        raise typer.Exit(1)


def _probe(where: str, probe: Callable[[], Health], settings: Settings) -> tuple[bool, str]:
    try:
        health = probe()
    except Exception as exc:
        described = describe(exc, settings)
        if described is None:
            raise
        return False, f"FAIL  {where}: {described[1]}"
    return health.ok, f"{'ok  ' if health.ok else 'FAIL'}  {where}: {health.detail}"


def show_config(
    ctx: typer.Context,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Show the effective settings, secrets masked.

    Flag, then environment (INVENTORY_SYNC_*), then the --config file, then default.

    \b
    Examples:
      inventory-sync config show
      INVENTORY_SYNC_BATCH_SIZE=100 inventory-sync --config prod.toml config show --json
    """
    shown = state_of(ctx).settings().masked()
    if json_output:
        typer.echo(json.dumps(shown, indent=2))
        return
    for name, value in shown.items():
        typer.echo(f"{name} = {'(not set)' if value is None else json.dumps(value)}")
