"""The use case: apply one batch of records to the product table, one outcome per record."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Literal

from inventory_sync.domain.errors import StorageRejected, UnknownProduct
from inventory_sync.domain.model import InventoryUpdate, Product, Record, StockChange, StockStatus
from inventory_sync.domain.ports import DeadLetter, UnitOfWork
from inventory_sync.domain.rules import (
    DEFAULT_MAX_FUTURE_SKEW,
    DEFAULT_MAX_MESSAGE_BYTES,
    Rejection,
    RejectionReason,
    decode_update,
    from_the_future,
)

UnknownProducts = Literal["reject", "create"]


class Outcome(StrEnum):
    APPLIED = "applied"
    STALE = "stale"
    SUPERSEDED = "superseded"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class RecordOutcome:
    record: Record
    outcome: Outcome
    update: InventoryUpdate | None = None
    rejection: Rejection | None = None


@dataclass(slots=True)
class Summary:
    """Counts of outcomes; the shape of `apply --json` and of the summary of `run`."""

    records: int = 0
    applied: int = 0
    stale: int = 0
    superseded: int = 0
    rejected: int = 0
    by_reason: Counter[str] = field(default_factory=Counter)

    def add(self, other: Summary) -> None:
        self.records += other.records
        self.applied += other.applied
        self.stale += other.stale
        self.superseded += other.superseded
        self.rejected += other.rejected
        self.by_reason.update(other.by_reason)

    def to_dict(self) -> dict[str, object]:
        return {
            "records": self.records,
            "applied": self.applied,
            "stale": self.stale,
            "superseded": self.superseded,
            "rejected": self.rejected,
            "by_reason": dict(sorted(self.by_reason.items())),
        }


@dataclass(frozen=True, slots=True)
class BatchReport:
    outcomes: list[RecordOutcome]
    summary: Summary

    @property
    def dead_letters(self) -> list[DeadLetter]:
        return [DeadLetter(o.record, o.rejection) for o in self.outcomes if o.rejection is not None]


@dataclass(slots=True)
class _Candidate:
    """The newest valid update of one product in the batch, and where it came from."""

    index: int
    update: InventoryUpdate
    at: datetime
    offset: int

    def change(self) -> StockChange:
        return StockChange(self.update.product_code, self.update.inventory_count, self.at)


class InventoryService:
    """Applies batches of records; all business rules of the product live here."""

    def __init__(
        self,
        uow: UnitOfWork,
        *,
        unknown_products: UnknownProducts = "reject",
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        low_stock_threshold: int = 5,
        max_future_skew: timedelta = DEFAULT_MAX_FUTURE_SKEW,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.uow = uow
        self.unknown_products = unknown_products
        self.max_message_bytes = max_message_bytes
        self.low_stock_threshold = low_stock_threshold
        self.max_future_skew = max_future_skew
        self.clock = clock

    def apply_batch(self, records: Sequence[Record]) -> BatchReport:
        """Decode, coalesce per product (newest wins), write in one transaction, report.

        Raises TransientError (nothing committed) when storage is unavailable.
        """
        outcomes: list[RecordOutcome | None] = [None] * len(records)
        newest: dict[str, _Candidate] = {}
        now = self.clock()
        for index, record in enumerate(records):
            decoded = decode_update(record.value, self.max_message_bytes)
            if isinstance(decoded, Rejection):
                outcomes[index] = RecordOutcome(record, Outcome.REJECTED, rejection=decoded)
                continue
            at = decoded.occurred_at or record.timestamp
            too_late = from_the_future(decoded, at, now, self.max_future_skew)
            if too_late is not None:
                outcomes[index] = RecordOutcome(
                    record, Outcome.REJECTED, update=decoded, rejection=too_late
                )
                continue
            candidate = _Candidate(index, decoded, at, record.offset)
            current = newest.get(decoded.product_code)
            if current is None or (candidate.at, candidate.offset) >= (current.at, current.offset):
                newest[decoded.product_code] = candidate
                loser = current
            else:
                loser = candidate
            if loser is not None:
                outcomes[loser.index] = RecordOutcome(
                    records[loser.index], Outcome.SUPERSEDED, update=loser.update
                )

        for code, fate in self._write(list(newest.values())).items():
            candidate = newest[code]
            record = records[candidate.index]
            if isinstance(fate, Rejection):
                outcomes[candidate.index] = RecordOutcome(
                    record, Outcome.REJECTED, update=candidate.update, rejection=fate
                )
            else:
                outcomes[candidate.index] = RecordOutcome(record, fate, update=candidate.update)

        final = [outcome for outcome in outcomes if outcome is not None]
        assert len(final) == len(records), "every record gets exactly one outcome"
        return BatchReport(final, _summarize(final))

    def _write(self, candidates: list[_Candidate]) -> dict[str, Outcome | Rejection]:
        """Write the candidates in one transaction; when the database refuses a record's data,
        split the batch until that record is isolated, and reject only it."""
        if not candidates:
            return {}
        try:
            return self._write_once(candidates)
        except StorageRejected as exc:
            if len(candidates) == 1:
                return {
                    candidates[0].update.product_code: Rejection(
                        RejectionReason.STORAGE_REJECTED, str(exc) or type(exc).__name__
                    )
                }
        middle = len(candidates) // 2
        return self._write(candidates[:middle]) | self._write(candidates[middle:])

    def _write_once(self, candidates: list[_Candidate]) -> dict[str, Outcome | Rejection]:
        """One transaction: the unknown-product policy, then the conditional bulk apply."""
        fates: dict[str, Outcome | Rejection] = {}
        with self.uow as uow:
            if self.unknown_products == "create":
                codes = [candidate.update.product_code for candidate in candidates]
                missing = set(codes) - uow.products.known_codes(codes)
                if missing:
                    uow.products.add([Product(code=code, name=code) for code in sorted(missing)])
            result = uow.products.apply([candidate.change() for candidate in candidates])
            uow.commit()
        for code in result.unknown:
            fates[code] = Rejection(
                RejectionReason.UNKNOWN_PRODUCT, f"no product with code {code!r}"
            )
        fates.update(dict.fromkeys(result.applied, Outcome.APPLIED))
        fates.update(dict.fromkeys(result.stale, Outcome.STALE))
        return fates

    def stock_status(self, product_code: str) -> StockStatus:
        """The stock status a product page shows; raises UnknownProduct."""
        with self.uow as uow:
            product = uow.products.get(product_code)
        if product is None:
            raise UnknownProduct(product_code)
        return StockStatus.of(product.code, product.inventory_count, self.low_stock_threshold)


def _summarize(outcomes: list[RecordOutcome]) -> Summary:
    summary = Summary(records=len(outcomes))
    for outcome in outcomes:
        match outcome.outcome:
            case Outcome.APPLIED:
                summary.applied += 1
            case Outcome.STALE:
                summary.stale += 1
            case Outcome.SUPERSEDED:
                summary.superseded += 1
            case Outcome.REJECTED:
                summary.rejected += 1
                assert outcome.rejection is not None
                summary.by_reason[outcome.rejection.reason.value] += 1
    return summary
