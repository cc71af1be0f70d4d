"""Kafka from the command line: `produce`, `topics create`, `dlq show`, `dlq replay`."""

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
    with path.open("rb") as file:
        for line in file:
            value = line.rstrip(b"\r\n")
            if value.strip():
                yield _key_of(value), value


def _key_of(value: bytes) -> bytes | None:
    try:
        decoded = json.loads(value)
    except (ValueError, RecursionError):
        return None
    code = decoded.get("product_code") if isinstance(decoded, dict) else None
    return code.encode() if isinstance(code, str) and code else None


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


def create_topics(
    ctx: typer.Context,
    partitions: Annotated[
        int, typer.Option(min=1, metavar="N", help="Partitions of each topic.")
    ] = 3,
) -> None:
    """Create the topic and its dead-letter topic.

    Topics that exist already are left alone.

    \b
    Example:
      inventory-sync topics create --partitions 6
    """
    from inventory_sync.adapters.kafka.kafka_python.admin import create_topics as create

    settings = state_of(ctx).settings()
    created = create(settings, partitions)
    for topic in (settings.topic, settings.dlq_topic):
        done = "created" if topic in created else "already exists:"
        typer.echo(f"{done} {topic}" + (f" ({partitions} partitions)" if topic in created else ""))


def show_dead_letters(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(min=1, metavar="N", help="Show at most N.")] = 100,
    json_output: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
) -> None:
    """Show the dead letters and why each was rejected.

    Oldest first; reading them commits nothing, so showing again shows the same. A letter
    cut to fit the dead-letter topic says so, with the original value's size and SHA-256.

    \b
    Examples:
      inventory-sync dlq show
      inventory-sync dlq show --limit 10 --json
    """
    from inventory_sync.adapters.kafka.kafka_python.dead_letter_reader import read_dead_letters

    letters = read_dead_letters(state_of(ctx).settings(), limit)
    if json_output:
        typer.echo(json.dumps(letters))
        return
    if not letters:
        typer.echo("no dead letters")
    for letter in letters:
        typer.echo(f"{_where(letter)}  {letter['reason']}: {letter['error']}{_cut(letter)}")
        typer.echo(f"    {letter['value']}")


def replay_dead_letters(ctx: typer.Context) -> None:
    """Send the dead letters back to the topic.

    Once their cause is fixed (say, the unknown product was added), this sends the dead
    letters not yet replayed back to the topic; it remembers how far it got. A letter that
    was cut to fit the dead-letter topic is skipped (and listed): it is not the original.

    \b
    Example:
      inventory-sync dlq replay
    """
    from inventory_sync.adapters.kafka.kafka_python.dead_letter_reader import (
        replay_dead_letters as replay,
    )

    settings = state_of(ctx).settings()
    skipped: list[dict[str, Any]] = []
    replayed = replay(settings, on_skipped=skipped.append)
    for letter in skipped:
        typer.echo(f"skipped {_where(letter)}  {letter['reason']}{_cut(letter)}")
    typer.echo(
        f"replayed {replayed} dead letters from {settings.dlq_topic} to {settings.topic}"
        + (
            f"; skipped {len(skipped)} truncated one(s): replay them from "
            "their original offsets, or produce them again"
            if skipped
            else ""
        )
    )


def _where(letter: dict[str, Any]) -> str:
    return f"{letter['original_topic']}[{letter['original_partition']}]@{letter['original_offset']}"


def _cut(letter: dict[str, Any]) -> str:
    """ " (truncated: value of 1048000 bytes, sha256 ab12...)" for a letter cut to fit."""
    if "truncated" not in letter:
        return ""
    parts = ", ".join(letter["truncated"])
    if letter.get("original_value_size") is None:
        return f" (truncated: {parts})"
    return (
        f" (truncated: {parts}; the value was {letter['original_value_size']} bytes, "
        f"sha256 {letter['original_value_sha256']})"
    )
