"""What happened to each record of a batch, and the counts that `apply --json` and `run` show."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, NamedTuple

from inventory_sync.domain.model import Record
from inventory_sync.domain.ports import DeadLetter
from inventory_sync.domain.rejections import Rejection

if TYPE_CHECKING:
    from inventory_sync.domain.rules import InventoryUpdate


class Outcome(StrEnum):
    APPLIED = "applied"
    STALE = "stale"
    SUPERSEDED = "superseded"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"
    """Below the stored next offset of its partition: applied before, not written again."""


class RecordOutcome(NamedTuple):
    """What happened to one record (a tuple: every record gets one, and no immutable object
    is cheaper to make)."""

    record: Record
    outcome: Outcome
    update: InventoryUpdate | None = None
    rejection: Rejection | None = None

    @property
    def product_code(self) -> str | None:
        """The product the record is about, as far as its value says (for logs)."""
        if self.update is not None:
            return self.update.product_code
        return None if self.rejection is None else self.rejection.product_code

    @property
    def event_id(self) -> str | None:
        if self.update is not None:
            return self.update.event_id
        return None if self.rejection is None else self.rejection.event_id


@dataclass(slots=True)
class Summary:
    """Counts of outcomes; the shape of `apply --json` and of the summary of `run`."""

    records: int = 0
    applied: int = 0
    stale: int = 0
    superseded: int = 0
    rejected: int = 0
    duplicate: int = 0
    by_reason: Counter[str] = field(default_factory=Counter)

    @classmethod
    def of(cls, outcomes: list[RecordOutcome]) -> Summary:
        counts = Counter(outcome.outcome for outcome in outcomes)
        by_reason = Counter(
            outcome.rejection.reason.value for outcome in outcomes if outcome.rejection is not None
        )
        return cls(
            records=len(outcomes),
            applied=counts[Outcome.APPLIED],
            stale=counts[Outcome.STALE],
            superseded=counts[Outcome.SUPERSEDED],
            rejected=counts[Outcome.REJECTED],
            duplicate=counts[Outcome.DUPLICATE],
            by_reason=by_reason,
        )

    def add(self, other: Summary) -> None:
        self.records += other.records
        self.applied += other.applied
        self.stale += other.stale
        self.superseded += other.superseded
        self.rejected += other.rejected
        self.duplicate += other.duplicate
        self.by_reason.update(other.by_reason)

    def to_dict(self) -> dict[str, object]:
        return {
            "records": self.records,
            "applied": self.applied,
            "stale": self.stale,
            "superseded": self.superseded,
            "rejected": self.rejected,
            "duplicate": self.duplicate,
            "by_reason": dict(sorted(self.by_reason.items())),
        }


@dataclass(frozen=True, slots=True)
class BatchReport:
    outcomes: list[RecordOutcome]
    summary: Summary

    @property
    def dead_letters(self) -> list[DeadLetter]:
        return [DeadLetter(o.record, o.rejection) for o in self.outcomes if o.rejection is not None]
