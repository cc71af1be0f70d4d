"""The use case: apply one batch of records to the product table, one outcome per record.

Read top down: decide_batch (pure: decode, bound the future, coalesce per product), then
InventoryService writes the candidates in one transaction and reports every record.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from inventory_sync.domain.errors import StorageRejected, UnknownProduct
from inventory_sync.domain.model import Product, Record, StockChange, StockStatus
from inventory_sync.domain.outcomes import BatchReport, Outcome, RecordOutcome, Summary
from inventory_sync.domain.ports import UnitOfWork
from inventory_sync.domain.rules import (
    DEFAULT_MAX_FUTURE_SKEW,
    DEFAULT_MAX_MESSAGE_BYTES,
    InventoryUpdate,
    Rejection,
    RejectionReason,
    decode_update,
    from_the_future,
)

__all__ = [
    "BatchReport",
    "Decision",
    "InventoryService",
    "Outcome",
    "RecordOutcome",
    "Summary",
    "decide_batch",
]

UnknownProducts = Literal["reject", "create"]


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
        """Decide the batch, write its candidates in one transaction, report every record.

        Raises TransientError (nothing committed) when storage is unavailable.
        """
        decision = decide_batch(
            records,
            max_message_bytes=self.max_message_bytes,
            now=self.clock(),
            max_future_skew=self.max_future_skew,
        )
        outcomes = decision.decided
        for code, fate in self._write(list(decision.candidates.values())).items():
            candidate = decision.candidates[code]
            record = records[candidate.index]
            if isinstance(fate, Rejection):
                outcomes[candidate.index] = RecordOutcome(
                    record, Outcome.REJECTED, update=candidate.update, rejection=fate
                )
            else:
                outcomes[candidate.index] = RecordOutcome(record, fate, update=candidate.update)

        final = [outcome for outcome in outcomes if outcome is not None]
        assert len(final) == len(records), "every record gets exactly one outcome"
        return BatchReport(final, Summary.of(final))

    def _write(self, candidates: list[Candidate]) -> dict[str, Outcome | Rejection]:
        """Write the candidates in one transaction; when the database refuses a record's data,
        split the batch until that record is isolated, and reject only it."""
        if not candidates:
            return {}
        try:
            return self._write_once(candidates)
        except StorageRejected as exc:
            if len(candidates) == 1:
                update = candidates[0].update
                error = str(exc) or type(exc).__name__
                return {update.product_code: Rejection(RejectionReason.STORAGE_REJECTED, error)}
        middle = len(candidates) // 2
        return self._write(candidates[:middle]) | self._write(candidates[middle:])

    def _write_once(self, candidates: list[Candidate]) -> dict[str, Outcome | Rejection]:
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
