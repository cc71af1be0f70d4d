"""`dlq show` and `dlq replay`: the dead letters, their status, and sending the fixable ones
back once their cause is fixed."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from inventory_sync.entrypoints.cli.errors import BadUsage
from inventory_sync.entrypoints.cli.state import state_of

if TYPE_CHECKING:
    from inventory_sync.adapters.kafka.dead_letter_replay import ReplayReport


ReasonOption = Annotated[
    list[str] | None,
    typer.Option(
        "--reason",
        metavar="REASON",
        help="Only letters of this rejection reason (repeatable).",
        show_default=False,
    ),
]
ProductOption = Annotated[
    list[str] | None,
    typer.Option(
        "--product",
        metavar="CODE",
        help="Only letters of this product code (repeatable).",
        show_default=False,
    ),
]


def show_dead_letters(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(min=1, metavar="N", help="Show at most N.")] = 100,
    reason: ReasonOption = None,
    product: ProductOption = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
) -> None:
    """Show the dead letters, why each was rejected, and whether it was replayed.

    Oldest rejection first. Each is `pending` (not sent back yet) or `replayed`; a letter
    cut to fit the dead-letter topic says so, with the original value's size and SHA-256,
    and is `skipped` once a replay has passed it (it is never sent). Reading them commits
    nothing, so showing again shows the same. --json adds `status` and `rejected_at`.

    \b
    Examples:
      inventory-sync dlq show
      inventory-sync dlq show --reason unknown_product --product SKU-1
      inventory-sync dlq show --limit 10 --json
    """
    from inventory_sync.adapters.kafka.kafka_python.dead_letter_reader import read_dead_letters

    reasons = _reasons(reason)
    letters = read_dead_letters(
        state_of(ctx).settings(), limit, reasons=reasons, products=product or ()
    )
    if json_output:
        typer.echo(json.dumps(letters))
        return
    if not letters:
        typer.echo("no dead letters" + (" of that choice" if reasons or product else ""))
    for letter in letters:
        typer.echo(
            f"{_where(letter)}  {letter['status']:<8}  {letter['rejected_at']}  "
            f"{letter['reason']}: {letter['error']}{_cut(letter)}"
        )
        typer.echo(f"    {letter['value']}")


def replay_dead_letters(
    ctx: typer.Context,
    reason: Annotated[
        list[str] | None,
        typer.Option(
            "--reason",
            metavar="REASON",
            help="Replay the letters of this reason, whether it is replayed by default or "
            "not (repeatable) [default: unknown_product and storage_rejected].",
            show_default=False,
        ),
    ] = None,
    product: ProductOption = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Print what would be sent; send and commit nothing."),
    ] = False,
) -> None:
    """Send pending dead letters back to the topic, once their cause is fixed.

    By default only those that can succeed once their cause is fixed: unknown_product (add
    the product), storage_rejected (put the table or the data right) and
    delta_needs_database_offsets (set offset_storage = database). Name others with
    --reason: from_the_future once the producer's clock is right, too_large once
    max_message_bytes is raised, negative_stock once someone has decided it should count.
    Each goes back as the original record, with its original timestamp. Replay remembers
    what it sent (in the consumer group GROUP_ID.dlq-replay), so replaying again sends
    nothing twice; a letter passed over because its reason or product was not chosen stays
    pending for a later replay that chooses it. A letter cut to fit the dead-letter topic is
    never sent: it is not the original.

    \b
    Examples:
      inventory-sync dlq replay --dry-run
      inventory-sync dlq replay
      inventory-sync dlq replay --reason from_the_future --product SKU-1
    """
    from inventory_sync.adapters.kafka.dead_letter_replay import ReplayChoice
    from inventory_sync.adapters.kafka.kafka_python import dead_letter_reader as reader

    settings = state_of(ctx).settings()
    choice = ReplayChoice.of(_reasons(reason), product or ())
    report = reader.replay_dead_letters(settings, choice, dry_run=dry_run)
    for line in replay_lines(report, settings.dlq_topic, settings.topic):
        typer.echo(line)


def replay_lines(report: ReplayReport, dlq_topic: str, topic: str) -> list[str]:
    """What `dlq replay` says about a ReplayReport: how many it replayed, then one line per
    kind of letter it passed over, with why, and what to do about it."""
    count = len(report.replayed)
    if report.dry_run:
        lines = [
            f"would replay {count} dead letters from {dlq_topic} to {topic} "
            "(dry run: nothing sent, nothing committed)"
        ]
        lines += [
            f"    {_where(letter)}  {letter['reason']}  {letter['value']}"
            for letter in (stored.describe() for stored in report.replayed)
        ]
    else:
        lines = [f"replayed {count} dead letters from {dlq_topic} to {topic}"]
    for reason, skipped in sorted(report.not_chosen.items()):
        lines.append(f"skipped {skipped} {reason}: {_why_not_chosen(reason)}")
    for reason, skipped in sorted(report.other_products.items()):
        lines.append(f"skipped {skipped} {reason}: of products --product did not name")
    for stored in report.truncated:
        letter = stored.describe()
        lines.append(
            f"skipped truncated {_where(letter)}  {letter['reason']}{_cut(letter)}: not the "
            "original record; replay it from its original offset, or produce it again"
        )
    return lines


_REPLAYED_ONLY_WHEN_NAMED = {
    "malformed_json": "cannot succeed as it is",
    "invalid_payload": "cannot succeed as it is",
    "too_large": "can succeed only once max_message_bytes is raised",
    "from_the_future": "can succeed only once the producer's clock is right",
    "negative_stock": "needs the stock put right first, and then may count the event twice",
}


def _why_not_chosen(reason: str) -> str:
    if reason in _REPLAYED_ONLY_WHEN_NAMED:
        why = _REPLAYED_ONLY_WHEN_NAMED[reason]
        return f"{why}, so replayed only when named (--reason {reason})"
    return "not one of the reasons named by --reason"


def _reasons(named: list[str] | None) -> list[str]:
    """The --reason values, each checked to be a rejection reason."""
    from inventory_sync.domain.rejections import RejectionReason

    known = [reason.value for reason in RejectionReason]
    for reason in named or ():
        if reason not in known:
            raise BadUsage(
                f"--reason {reason!r} is not a rejection reason: one of {', '.join(known)}"
            )
    return list(named or ())


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
