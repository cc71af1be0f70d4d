"""`run` (consume the topic) and `apply` (a file of events): one service, two sources."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from inventory_sync.entrypoints.cli.state import state_of

if TYPE_CHECKING:
    from inventory_sync.container import Container
    from inventory_sync.domain.outcomes import BatchReport, Summary
    from inventory_sync.domain.ports import DeadLetter
    from inventory_sync.entrypoints.progress import Progress
    from inventory_sync.facade import InventorySync
    from inventory_sync.settings import Settings

log = logging.getLogger("inventory_sync.cli")

JsonFlag = Annotated[bool, typer.Option("--json", help="Print the summary as one JSON object.")]


def run(
    ctx: typer.Context,
    max_messages: Annotated[
        int | None, typer.Option(min=1, metavar="N", help="Stop after N records.")
    ] = None,
    idle_timeout: Annotated[
        float | None,
        typer.Option(min=0, metavar="S", help="Stop after S seconds without a record."),
    ] = None,
    json_output: JsonFlag = False,
) -> None:
    """Consume the topic and apply its events.

    Runs until Ctrl-C or SIGTERM (or --max-messages, or --idle-timeout). On a terminal a
    live line on stderr shows records, applied, stale, superseded, rejected, records/s and
    lag; otherwise a progress log line every 5 s. At exit it prints a summary on stdout:
    one line, or with --json the object {"records", "applied", "stale", "superseded",
    "rejected", "by_reason"}.

    It first makes sure the database schema is current, Kafka answers and both topics
    exist (exit 1 if not); once running, it rides out database and broker outages by itself.
    A fault that retrying cannot clear (a dead-letter topic that refuses the letters) stops
    it with exit 1, leaving the failed batch uncommitted so that a restart replays it.

    \b
    Examples:
      inventory-sync run
      inventory-sync run --idle-timeout 5 --json
    """
    from inventory_sync.container import require_client
    from inventory_sync.entrypoints.progress import progress_for
    from inventory_sync.facade import InventorySync

    state = state_of(ctx)
    settings, container = state.settings(), state.container()
    require_client(settings)
    if settings.status_page and settings.metrics_port is not None:
        require_status_page(settings)
    require_database(container, settings)
    require_kafka(container, settings)
    progress = progress_for(terminal=sys.stderr.isatty())
    sync = InventorySync(settings, container=container)
    try:
        observer = RunObserver(sync, progress)
        summary = sync.run(
            max_records=max_messages,
            idle_timeout_s=idle_timeout,
            on_batch=observer.on_batch,
            on_idle=observer.on_idle,
        )
    finally:
        progress.close()
    print_summary(summary, json_output, "consumed")


def apply(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(metavar="FILE.jsonl", help="One JSON event per line.")],
    rejects: Annotated[
        Path | None,
        typer.Option(
            metavar="OUT.jsonl",
            help="Write each rejected line here as {reason, error, line, value}.",
        ),
    ] = None,
    json_output: JsonFlag = False,
) -> None:
    """Apply a file of events, without Kafka.

    The same service as `run`, for backfills or trying it out. Each line is a record whose
    offset is its line number; lines without occurred_at apply in file order. Rejected lines
    are listed (or written to --rejects).

    \b
    Examples:
      inventory-sync apply examples/burst.jsonl
      inventory-sync apply backfill.jsonl --rejects rejected.jsonl --json
    """
    from inventory_sync.adapters.jsonl import JsonLinesDeadLetterWriter, JsonLinesSource
    from inventory_sync.adapters.memory import InMemoryDeadLetterSink
    from inventory_sync.domain.ports import DeadLetterSink

    state = state_of(ctx)
    settings, container = state.settings(), state.container()
    if not file.is_file():
        raise FileNotFoundError(2, "No such file", str(file))
    require_database(container, settings)
    source = JsonLinesSource(file)
    kept = InMemoryDeadLetterSink()
    sink: DeadLetterSink = JsonLinesDeadLetterWriter(rejects) if rejects is not None else kept
    # A file is not a topic: no positions are stored for it, and its deltas apply each time
    # the file is applied.
    service = container.service(offsets_group=None, deltas_allowed=True)
    worker = container.worker(source=source, dead_letters=sink, service=service)
    try:
        summary = worker.run(idle_timeout_s=0)
    finally:
        source.close()
        sink.close()
    print_summary(summary, json_output, f"applied {file}:")
    if json_output:
        return
    if rejects is not None:
        typer.echo(f"{summary.rejected} rejected line(s) written to {rejects}")
    for letter in kept.letters:
        typer.echo(f"  line {letter.record.offset}: {_letter_line(letter)}")


def require_status_page(settings: Settings) -> None:
    """Exit 2 before anything starts when status_page cannot be served: a non-loopback
    metrics_host without web_token, or the web extra missing."""
    from inventory_sync.entrypoints.cli.errors import BadUsage
    from inventory_sync.web import WebExtraMissing, require_extra
    from inventory_sync.web.binding import TokenRequired, require_token_for

    token = settings.web_token.get_secret_value() if settings.web_token else None
    try:
        require_token_for(settings.metrics_host, token, "metrics_host")
        require_extra()
    except (TokenRequired, WebExtraMissing) as exc:
        raise BadUsage(str(exc)) from None


def require_database(container: Container, settings: Settings) -> None:
    """Exit 1 with what to do when the schema is missing or old (raises if unreachable)."""
    from inventory_sync.domain.errors import InventorySyncError

    health = container.database_health()
    if not health.ok:
        raise InventorySyncError(f"database {_masked_url(settings)}: {health.detail}")


def require_kafka(container: Container, settings: Settings) -> None:
    """Exit 1 when a topic is missing (raises when Kafka cannot be reached)."""
    from inventory_sync.domain.errors import InventorySyncError

    health = container.kafka_health()
    if not health.ok:
        raise InventorySyncError(f"Kafka at {settings.bootstrap_servers}: {health.detail}")


class RunObserver:
    """Called after every committed batch: keeps the totals and the progress line current."""

    def __init__(self, sync: InventorySync, progress: Progress) -> None:
        from inventory_sync.domain.outcomes import Summary

        self.sync = sync
        self.progress = progress
        self.totals = Summary()

    def on_batch(self, report: BatchReport) -> None:
        self.totals.add(report.summary)
        self.progress.update(self.totals, self.sync.lag())

    def on_idle(self) -> None:
        """While no record comes, the progress line keeps coming (records/s 0)."""
        self.progress.update(self.totals, self.sync.lag())


def print_summary(summary: Summary, json_output: bool, verb: str) -> None:
    if json_output:
        typer.echo(json.dumps(summary.to_dict()))
        return
    reasons = ", ".join(f"{reason} {count}" for reason, count in sorted(summary.by_reason.items()))
    typer.echo(
        f"{verb} {summary.records} records: {summary.applied} applied, {summary.stale} stale, "
        f"{summary.superseded} superseded, {summary.rejected} rejected"
        + (f" ({reasons})" if reasons else "")
        + (f", {summary.duplicate} duplicate" if summary.duplicate else "")
    )


def _letter_line(letter: DeadLetter) -> str:
    return f"{letter.reason}: {letter.error}"


def _masked_url(settings: Settings) -> str:
    from inventory_sync.settings import mask_url_password

    return mask_url_password(settings.database_url)
