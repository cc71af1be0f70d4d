"""The `inventory-sync` command line.

Importing this loads typer and nothing heavy: each command imports what it needs
(settings, adapters, rich, prometheus_client) when it runs, so `--help` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from inventory_sync.entrypoints.cli import (
    admin,
    catalogue,
    consume,
    dead_letters,
    messaging,
    offsets,
    web,
)
from inventory_sync.entrypoints.cli.errors import ErrorHandlingGroup
from inventory_sync.entrypoints.cli.state import CliState, build_container

__all__ = ["app", "main"]


def _typer(help_text: str, cls: type[typer.core.TyperGroup] | None = None) -> typer.Typer:
    return typer.Typer(
        help=help_text,
        cls=cls,
        no_args_is_help=True,
        add_completion=False,
        rich_markup_mode=None,
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )


app = _typer(
    """Keep a shop's product inventory in sync with inventory events on Kafka.

    \b
    Examples:
      inventory-sync db upgrade
      inventory-sync products import examples/catalogue.csv
      inventory-sync apply examples/burst.jsonl
      inventory-sync products list

    Settings come from the flags below, then INVENTORY_SYNC_* environment variables,
    then the --config file (TOML), then defaults; see `inventory-sync config show`.
    Exit codes: 0 done, 1 the operation failed, 2 bad usage or settings.
    """,
    cls=ErrorHandlingGroup,
)
products_app = _typer(
    """Manage the catalogue: add, import, list.

    \b
    Examples:
      inventory-sync products import examples/catalogue.csv
      inventory-sync products list --json
    """
)
db_app = _typer(
    """The database schema.

    \b
    Example:
      inventory-sync db upgrade
    """
)
topics_app = _typer(
    """The Kafka topics.

    \b
    Example:
      inventory-sync topics create --partitions 3
    """
)
dlq_app = _typer(
    """The dead-letter topic: show and replay rejected events.

    \b
    Examples:
      inventory-sync dlq show --limit 10
      inventory-sync dlq replay
    """
)
config_app = _typer(
    """The effective settings.

    \b
    Example:
      inventory-sync config show
    """
)

app.command("run")(consume.run)
app.command("apply")(consume.apply)
app.command("status")(catalogue.status)
app.command("produce")(messaging.produce)
app.command("check")(admin.check)
app.command("web")(web.web)
app.add_typer(products_app, name="products")
products_app.command("add")(catalogue.add)
products_app.command("import")(catalogue.import_csv)
products_app.command("list")(catalogue.list_products)
app.add_typer(db_app, name="db")
db_app.command("upgrade")(admin.upgrade_database)
app.add_typer(topics_app, name="topics")
topics_app.command("create")(messaging.create_topics)
app.add_typer(dlq_app, name="dlq")
dlq_app.command("show")(dead_letters.show_dead_letters)
dlq_app.command("replay")(dead_letters.replay_dead_letters)
offsets_app = _typer(
    """Where the consumer group is: stored with the writes and committed to Kafka.

    \b
    Examples:
      inventory-sync offsets show
      inventory-sync offsets reset --to-earliest
    """
)
app.add_typer(offsets_app, name="offsets")
offsets_app.command("show")(offsets.show_offsets)
offsets_app.command("reset")(offsets.reset_offsets)
app.add_typer(config_app, name="config")
config_app.command("show")(admin.show_config)


def _version(value: bool) -> None:
    if value:
        from inventory_sync import __version__

        typer.echo(f"inventory-sync {__version__}")
        raise typer.Exit


def _flag(help_text: str, metavar: str = "TEXT") -> Any:
    return typer.Option(help=help_text, metavar=metavar, show_default=False)


@app.callback()
def global_options(
    ctx: typer.Context,
    *,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", envvar="INVENTORY_SYNC_CONFIG", metavar="FILE", help="A TOML settings file."
        ),
    ] = None,
    database_url: Annotated[
        str | None, _flag("SQLAlchemy URL [default: sqlite:///inventory_sync.db]", "URL")
    ] = None,
    bootstrap_servers: Annotated[
        str | None, _flag("Kafka host:port[,...] [default: localhost:9092]", "SERVERS")
    ] = None,
    topic: Annotated[str | None, _flag("[default: product_inventory_updates]", "TOPIC")] = None,
    dlq_topic: Annotated[
        str | None, _flag("[default: product_inventory_updates.dlq]", "TOPIC")
    ] = None,
    group_id: Annotated[str | None, _flag("Consumer group [default: inventory-sync]", "ID")] = None,
    kafka_client: Annotated[
        str | None, _flag("kafka-python or confluent [default: kafka-python]", "NAME")
    ] = None,
    log_level: Annotated[
        str | None, _flag("DEBUG, INFO, WARNING or ERROR [default: INFO]", "LEVEL")
    ] = None,
    log_format: Annotated[str | None, _flag("text or json [default: text]", "FORMAT")] = None,
    metrics_port: Annotated[
        str | None, _flag("Serve Prometheus metrics on this port (run)", "PORT")
    ] = None,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    flags = {
        "database_url": database_url,
        "bootstrap_servers": bootstrap_servers,
        "topic": topic,
        "dlq_topic": dlq_topic,
        "group_id": group_id,
        "kafka_client": kafka_client,
        "log_level": log_level,
        "log_format": log_format,
        "metrics_port": metrics_port,
    }
    factory = ctx.obj if callable(ctx.obj) else build_container
    ctx.obj = CliState(config, flags, factory)


def main() -> None:
    app(prog_name="inventory-sync")
