"""Deciding a batch before anything is written: decode each record, coalesce per product.

A pure function of the records, the limits and the time: every record either has its outcome
already (rejected, superseded) or is the newest update of its product, to be written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from inventory_sync.domain.model import InventoryUpdate, Record, StockChange
from inventory_sync.domain.outcomes import Outcome, RecordOutcome
from inventory_sync.domain.rules import Rejection, decode_update, from_the_future


@dataclass(frozen=True, slots=True)
class Candidate:
    """The newest valid update of one product in the batch, and where it came from."""

    index: int
    update: InventoryUpdate
    at: datetime
    offset: int

    def change(self) -> StockChange:
        return StockChange(self.update.product_code, self.update.inventory_count, self.at)


@dataclass(frozen=True, slots=True)
class Decision:
    decided: list[RecordOutcome | None]
    """One slot per record: its outcome, or None for a candidate (its fate is the write's)."""
    candidates: dict[str, Candidate]
    """The update to write per product code."""


def decide_batch(
    records: Sequence[Record],
    *,
    max_message_bytes: int,
    now: datetime,
    max_future_skew: timedelta,
) -> Decision:
    """Reject what breaks the rules; of a product's valid updates, the newest (by time, then
    offset) is the candidate and the others are superseded."""
    decided: list[RecordOutcome | None] = [None] * len(records)
    newest: dict[str, Candidate] = {}
    for index, record in enumerate(records):
        decoded = decode_update(record.value, max_message_bytes)
        if isinstance(decoded, Rejection):
            decided[index] = RecordOutcome(record, Outcome.REJECTED, rejection=decoded)
            continue
        at = decoded.occurred_at or record.timestamp
        too_late = from_the_future(decoded, at, now, max_future_skew)
        if too_late is not None:
            decided[index] = RecordOutcome(
                record, Outcome.REJECTED, update=decoded, rejection=too_late
            )
            continue
        candidate = Candidate(index, decoded, at, record.offset)
        current = newest.get(decoded.product_code)
        if current is None or (candidate.at, candidate.offset) >= (current.at, current.offset):
            newest[decoded.product_code] = candidate
            loser = current
        else:
            loser = candidate
        if loser is not None:
            decided[loser.index] = RecordOutcome(
                records[loser.index], Outcome.SUPERSEDED, update=loser.update
            )
    return Decision(decided, newest)
