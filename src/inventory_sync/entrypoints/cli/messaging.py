"""Kafka from the command line: `produce` and `topics create` (dlq: dead_letters.py)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from inventory_sync.entrypoints.cli.errors import BadUsage
from inventory_sync.entrypoints.cli.state import state_of


def produce(
    ctx: typer.Context,
    code: Annotated[str | None, typer.Argument(metavar="CODE", help="The product code.")] = None,
    count: Annotated[
        int | None, typer.Argument(metavar="COUNT", help="Its new inventory count.")
    ] = None,
    occurred_at: Annotated[
        str | None,
        typer.Option(metavar="TS", help="When the count changed, RFC 3339 with an offset."),
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE.jsonl", help="Send each line of the file as it is, invalid ones too."
        ),
    ] = None,
) -> None:
    """Publish inventory events to the topic.

    One event (CODE COUNT), or every line of a file. A file's lines go as they are; the key
    is the line's product_code when it has one.

    \b
    Examples:
      inventory-sync produce SKU-1 3
      inventory-sync produce SKU-1 3 --occurred-at 2026-11-26T12:00:00+00:00
      inventory-sync produce --file examples/burst.jsonl
    """
    if file is not None:
        if code is not None or count is not None or occurred_at is not None:
            raise BadUsage("give either CODE COUNT [--occurred-at TS] or --file FILE.jsonl")
        pairs = list(events_from_file(file))
        what = f"events from {file}"
    elif code is not None and count is not None:
        event = json.dumps(_event(code, count, occurred_at))
        pairs = [(code.encode(), event.encode())]
        what = f"event {event}"
    else:
        raise BadUsage("give CODE COUNT, or --file FILE.jsonl (see inventory-sync produce --help)")
    from inventory_sync.adapters.kafka.kafka_python.admin import produce as send

    settings = state_of(ctx).settings()
    sent = send(settings, pairs)
    typer.echo(f"sent {sent} {what} to {settings.topic}")


def events_from_file(path: Path) -> Iterator[tuple[bytes | None, bytes]]:
    """(key, value) per non-blank line: the value as it is, the key its product_code if any."""
    from inventory_sync.adapters.kafka.stored_letter import product_code_of

    with path.open("rb") as file:
        for line in file:
            value = line.rstrip(b"\r\n")
            if value.strip():
                code = product_code_of(value)
                yield (code.encode() if code else None), value


def _event(code: str, count: int, occurred_at: str | None) -> dict[str, Any]:
    event: dict[str, Any] = {"product_code": code, "inventory_count": count}
    if occurred_at is not None:
        try:
            moment = datetime.fromisoformat(occurred_at)
        except ValueError:
            raise BadUsage(f"--occurred-at {occurred_at!r} is not an RFC 3339 timestamp") from None
        if moment.tzinfo is None:
            raise BadUsage(f"--occurred-at {occurred_at!r} needs an offset, e.g. +00:00 or Z")
        event["occurred_at"] = occurred_at
    event["event_id"] = str(uuid.uuid4())
    return event


DEFAULT_PARTITIONS = 3
"""Partitions of a topic `topics create` makes when --partitions is not given."""


def create_topics(
    ctx: typer.Context,
    partitions: Annotated[
        int | None,
        typer.Option(
            min=1,
            metavar="N",
            help="Partitions of each topic [default: 3 for a new topic; an existing one, "
            "whatever it has].",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Create the topic and its dead-letter topic.

    A topic that exists already is left as it is. With --partitions N, one that has another
    partition count is an error (exit 1): partitions are not added to it, since that moves
    product keys to other partitions and events of one product could be applied out of
    order; add them with Kafka's own tools once the topic is drained, if you must.

    \b
    Example:
      inventory-sync topics create --partitions 6
    """
    from inventory_sync.adapters.kafka.kafka_python.admin import ensure_topics

    settings = state_of(ctx).settings()
    states = ensure_topics(settings, partitions or DEFAULT_PARTITIONS)
    for state in states:
        if partitions is not None and state.differs_from(partitions):
            typer.echo(
                f"error: topic {state.name} exists with {_partitions(state.partitions)}, not "
                f"{partitions}: left as it is (adding partitions would move product keys to "
                "other partitions)",
                err=True,
            )
        elif state.created:
            typer.echo(f"created {state.name} ({_partitions(state.partitions)})")
        else:
            typer.echo(f"already exists: {state.name} ({_partitions(state.partitions)})")
    if partitions is not None and any(state.differs_from(partitions) for state in states):
        raise typer.Exit(1)


def _partitions(count: int | None) -> str:
    if count is None:
        return "partitions unknown"
    return f"{count} partition" + ("" if count == 1 else "s")
