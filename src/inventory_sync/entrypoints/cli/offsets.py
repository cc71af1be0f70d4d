"""`offsets show` and `offsets reset`: where the group is, in the database (offset_storage =
database) and in Kafka, and moving both while no worker of the group runs."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

import typer

from inventory_sync.entrypoints.cli.errors import BadUsage
from inventory_sync.entrypoints.cli.state import state_of


def show_offsets(
    ctx: typer.Context,
    json_output: Annotated[bool, typer.Option("--json", help="A JSON list.")] = False,
) -> None:
    """The group's position per partition: stored with the writes, committed to Kafka, end.

    \b
    Examples:
      inventory-sync offsets show
      inventory-sync --group-id inventory-sync offsets show --json
    """
    from inventory_sync.adapters.kafka.kafka_python.group_positions import topic_offsets
    from inventory_sync.adapters.sql.offsets import stored_positions

    state = state_of(ctx)
    settings = state.settings()
    kafka = topic_offsets(settings, settings.group_id, settings.topic)
    stored = stored_positions(state.container().engine(), settings.group_id)
    rows = [
        {
            "group": settings.group_id,
            "topic": settings.topic,
            "partition": partition,
            "stored": stored.get((settings.topic, partition)),
            "committed": kafka.committed[partition],
            "end": kafka.end[partition],
        }
        for partition in sorted(kafka.end)
    ]
    if json_output:
        typer.echo(json.dumps(rows))
        return
    header = ("group", "topic", "partition", "stored", "committed", "end")
    table = [header] + [
        tuple("-" if row[k] is None else str(row[k]) for k in header) for row in rows
    ]
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    for line in table:
        typer.echo("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)))
    typer.echo(f"offset_storage = {settings.offset_storage}")


def reset_offsets(
    ctx: typer.Context,
    to_earliest: Annotated[
        bool, typer.Option("--to-earliest", help="The first offset Kafka still has.")
    ] = False,
    to_offset: Annotated[
        int | None,
        typer.Option("--to-offset", metavar="N", min=0, help="Offset N of every partition."),
    ] = None,
    to_time: Annotated[
        datetime | None,
        typer.Option(
            "--to-time",
            metavar="TS",
            formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S"],
            help="The first record at or after this time (ISO 8601; UTC when no offset).",
        ),
    ] = None,
) -> None:
    """Move the group's position, stored and committed, on every partition of the topic.

    Refused while a worker of the group runs (it would overwrite the new position). An
    offset beyond a partition's end is the end. The records from the new position on are
    applied again when the workers start: with deltas, that is their effect again.

    \b
    Examples:
      inventory-sync offsets reset --to-earliest
      inventory-sync offsets reset --to-time 2026-12-01T08:00:00+00:00
    """
    from datetime import UTC

    from inventory_sync.adapters.kafka.kafka_python.group_positions import (
        GroupActive,
        active_members,
        commit_group_offsets,
        offsets_at,
        topic_offsets,
    )
    from inventory_sync.adapters.sql.offsets import reset_positions

    chosen = [to_earliest, to_offset is not None, to_time is not None]
    if sum(chosen) != 1:
        raise BadUsage("give exactly one of --to-earliest, --to-offset N, --to-time TS")
    state = state_of(ctx)
    settings = state.settings()
    group, topic = settings.group_id, settings.topic
    members = active_members(settings, group)
    if members:
        raise GroupActive(
            f"the group {group} has {members} active member(s): stop its workers first"
        )
    kafka = topic_offsets(settings, group, topic)
    if to_earliest:
        target = dict(kafka.earliest)
    elif to_offset is not None:
        target = {p: max(kafka.earliest[p], min(to_offset, end)) for p, end in kafka.end.items()}
    else:
        assert to_time is not None
        moment = to_time if to_time.tzinfo is not None else to_time.replace(tzinfo=UTC)
        target = offsets_at(settings, topic, moment)
    reset_positions(state.container().engine(), group, {(topic, p): o for p, o in target.items()})
    commit_group_offsets(settings, group, topic, target)
    shown = ", ".join(f"{topic}[{p}]@{o}" for p, o in sorted(target.items()))
    typer.echo(f"reset {group}: {shown} (stored and committed)")
