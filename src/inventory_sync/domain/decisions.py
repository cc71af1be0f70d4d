"""Deciding a batch, before anything is written: which records are duplicates (below the
stored positions), which break the rules, and what each product's valid events come to.

Pure: no I/O. The service writes each ProductPlan and gives its records their outcomes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from inventory_sync.domain.model import Record, StockChange
from inventory_sync.domain.outcomes import Outcome, RecordOutcome
from inventory_sync.domain.ports import Partition
from inventory_sync.domain.rules import (
    InventoryUpdate,
    Rejection,
    RejectionReason,
    decode_update,
    from_the_future,
)

DELTA_NEEDS_DATABASE_OFFSETS = (
    "inventory_delta is applied only with offset_storage = database: with offsets in Kafka, "
    "a replay would apply it twice"
)


def next_positions(records: Sequence[Record]) -> dict[Partition, int]:
    """(topic, partition) -> the next offset after these records, in any order."""
    highest: dict[Partition, int] = {}
    for record in records:
        where = (record.topic, record.partition)
        if record.offset >= highest.get(where, -1):
            highest[where] = record.offset
    return {where: offset + 1 for where, offset in highest.items()}


@dataclass(frozen=True, slots=True)
class Candidate:
    """A valid update of the batch, and where it came from."""

    index: int
    update: InventoryUpdate
    at: datetime
    offset: int

    @property
    def delta(self) -> int:
        assert self.update.inventory_delta is not None, "an absolute update has no delta"
        return self.update.inventory_delta

    def change(self) -> StockChange:
        """The absolute count to write."""
        assert self.update.inventory_count is not None, "a relative update has no count"
        return StockChange(self.update.product_code, self.update.inventory_count, self.at)


def relative_change(code: str, deltas: Sequence[Candidate]) -> StockChange:
    """Deltas of one product, in offset order, as one change stamped with the newest time."""
    return StockChange.relative(code, [d.delta for d in deltas], max(d.at for d in deltas))


@dataclass(slots=True)
class ProductPlan:
    """What one product's valid events in the batch come to: the newest absolute count, if
    any (by time, ties to the highest offset), and the deltas before and after it in offset
    order. A count includes what happened before it, so the deltas before it count only if
    it turns out stale."""

    code: str
    base: Candidate | None = None
    before: list[Candidate] = field(default_factory=list)
    after: list[Candidate] = field(default_factory=list)
    """The deltas after the base; every delta when there is no base."""

    def first_change(self) -> StockChange:
        """The write of the batch's first statement: the base, else the deltas."""
        if self.base is not None:
            return self.base.change()
        return relative_change(self.code, self.after)

    def add(self, candidate: Candidate) -> Candidate | None:
        """Take one more valid update (in offset order); returns the one it supersedes."""
        if candidate.update.relative:
            self.after.append(candidate)
            return None
        current = self.base
        if current is not None and (candidate.at, candidate.offset) < (current.at, current.offset):
            return candidate
        self.base = candidate
        self.before.extend(self.after)
        self.after = []
        return current


@dataclass(frozen=True, slots=True)
class Decision:
    decided: list[RecordOutcome | None]
    """One slot per record: its outcome, or None for a record of a plan (its fate is the
    write's)."""
    plans: dict[str, ProductPlan]
    """What to write, per product code."""

    def updates(self) -> dict[int, InventoryUpdate]:
        """The update of each record that belongs to a plan, by its index in the batch."""
        return {
            candidate.index: candidate.update
            for plan in self.plans.values()
            for candidate in (*plan.before, *plan.after, *([plan.base] if plan.base else []))
        }

    @property
    def candidates(self) -> dict[str, Candidate]:
        """The absolute count to write per product code (products that have one)."""
        return {code: plan.base for code, plan in self.plans.items() if plan.base is not None}


def decide_batch(
    records: Sequence[Record],
    *,
    max_message_bytes: int,
    now: datetime,
    max_future_skew: timedelta,
    positions: Mapping[Partition, int] | None = None,
    deltas_allowed: bool = True,
) -> Decision:
    """Mark as duplicates the records below their partition's stored next offset, reject what
    breaks the rules, and plan each product's writes (the superseded counts are decided here)."""
    decided: list[RecordOutcome | None] = [None] * len(records)
    plans: dict[str, ProductPlan] = {}
    stored = positions or {}
    for index, record in enumerate(records):
        if record.offset < stored.get((record.topic, record.partition), -1):
            decided[index] = RecordOutcome(record, Outcome.DUPLICATE)
            continue
        decoded = decode_update(record.value, max_message_bytes)
        if isinstance(decoded, Rejection):
            decided[index] = RecordOutcome(record, Outcome.REJECTED, rejection=decoded)
            continue
        refused = _refusal(decoded, record, now, max_future_skew, deltas_allowed)
        if refused is not None:
            decided[index] = RecordOutcome(
                record, Outcome.REJECTED, update=decoded, rejection=refused
            )
            continue
        at = decoded.occurred_at or record.timestamp
        candidate = Candidate(index, decoded, at, record.offset)
        plan = plans.setdefault(decoded.product_code, ProductPlan(decoded.product_code))
        loser = plan.add(candidate)
        if loser is not None:
            decided[loser.index] = RecordOutcome(
                records[loser.index], Outcome.SUPERSEDED, update=loser.update
            )
    return Decision(decided, plans)


def _refusal(
    update: InventoryUpdate,
    record: Record,
    now: datetime,
    max_future_skew: timedelta,
    deltas_allowed: bool,
) -> Rejection | None:
    if update.relative and not deltas_allowed:
        return Rejection(
            RejectionReason.DELTA_NEEDS_DATABASE_OFFSETS,
            DELTA_NEEDS_DATABASE_OFFSETS,
            update.product_code,
            update.event_id,
        )
    return from_the_future(update, update.occurred_at or record.timestamp, now, max_future_skew)
