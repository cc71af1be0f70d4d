"""The use case: apply one batch of records to the product table, one outcome per record.

decide_batch (rules.py, pure: duplicates, decode, bound the future, plan per product), then
InventoryService writes the plans in one transaction, with the batch's offsets when
they are stored in the database, and reports every record.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Literal

from inventory_sync.domain.errors import StorageRejected, TransientError, UnknownProduct
from inventory_sync.domain.model import Product, Record, StockStatus, next_positions
from inventory_sync.domain.outcomes import BatchReport, Outcome, RecordOutcome, Summary
from inventory_sync.domain.ports import Partition, UnitOfWork
from inventory_sync.domain.rejections import Rejection, RejectionReason
from inventory_sync.domain.rules import (
    DEFAULT_MAX_FUTURE_SKEW,
    DEFAULT_MAX_MESSAGE_BYTES,
    Candidate,
    Decision,
    InventoryUpdate,
    ProductPlan,
    decide_batch,
    decode_all,
    relative_change,
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

Fate = Outcome | Rejection
"""What a write did to one record."""

Decoded = Sequence[InventoryUpdate | Rejection]
"""What decode() made of each record of a batch."""


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
        offsets_group: str | None = None,
        deltas_allowed: bool | None = None,
    ) -> None:
        """offsets_group: the consumer group whose positions are stored with the writes
        (offset_storage = database), None to leave them to Kafka. deltas_allowed: whether
        inventory_delta is applied (by default only with offsets_group)."""
        self.uow = uow
        self.offsets_group = offsets_group
        self.deltas_allowed = (
            offsets_group is not None if deltas_allowed is None else deltas_allowed
        )
        self.unknown_products = unknown_products
        self.max_message_bytes = max_message_bytes
        self.low_stock_threshold = low_stock_threshold
        self.max_future_skew = max_future_skew
        self.clock = clock

    def decode(self, records: Sequence[Record]) -> list[InventoryUpdate | Rejection]:
        """Each record's value decoded and validated, in order: pure work, no storage, which
        a caller may do ahead (the run loop does it while the previous batch is written)."""
        return decode_all(records, self.max_message_bytes)

    def apply_batch(self, records: Sequence[Record], decoded: Decoded | None = None) -> BatchReport:
        """Decide the batch, write it in one transaction, report every record. decoded: the
        batch's decode(), if done ahead; else it is decoded here.

        With offsets in the database, that transaction first reads (and locks) the stored
        next offsets of the batch's partitions, so the records below them are duplicates,
        and ends by storing the batch's next offsets. Raises TransientError (nothing
        committed) when storage is unavailable.
        """
        now = self.clock()
        refused: dict[str, Rejection] = {}
        while True:
            try:
                decision, fates = self._write_batch(records, now, refused, decoded)
                break
            except StorageRejected as exc:
                found = self._refused(self._plans(records, now, refused, decoded))
                if not found:
                    raise TransientError(
                        f"the database refused the batch but no record of it alone: {exc}"
                    ) from exc
                refused |= found
        outcomes, updates = decision.decided, decision.updates
        for index, fate in fates.items():
            if isinstance(fate, Rejection):
                outcome = RecordOutcome(records[index], Outcome.REJECTED, updates[index], fate)
            else:
                outcome = RecordOutcome(records[index], fate, updates[index])
            outcomes[index] = outcome
        final = [outcome for outcome in outcomes if outcome is not None]
        assert len(final) == len(records), "every record gets exactly one outcome"
        return BatchReport(final, Summary.of(final))

    def _decide(
        self,
        records: Sequence[Record],
        now: datetime,
        positions: dict[Partition, int],
        decoded: Decoded | None,
    ) -> Decision:
        return decide_batch(
            records,
            max_message_bytes=self.max_message_bytes,
            now=now,
            max_future_skew=self.max_future_skew,
            positions=positions,
            deltas_allowed=self.deltas_allowed,
            decoded=decoded,
        )

    def _plans(
        self,
        records: Sequence[Record],
        now: datetime,
        refused: dict[str, Rejection],
        decoded: Decoded | None,
    ) -> list[ProductPlan]:
        plans = self._decide(records, now, {}, decoded).plans
        return [plan for code, plan in plans.items() if code not in refused]

    def _write_batch(
        self,
        records: Sequence[Record],
        now: datetime,
        refused: dict[str, Rejection],
        decoded: Decoded | None,
    ) -> tuple[Decision, dict[int, Fate]]:
        """One transaction: the positions, the plans' writes, the new positions."""
        with self.uow as uow:
            positions: dict[Partition, int] = {}
            if self.offsets_group is not None:
                partitions = {(record.topic, record.partition) for record in records}
                positions = uow.offsets.positions(self.offsets_group, partitions)
            decision = self._decide(records, now, positions, decoded)
            fates: dict[int, Fate] = {}
            writable = []
            for code, plan in decision.plans.items():
                if code in refused:
                    fates |= _all_refused(plan, refused[code])
                else:
                    writable.append(plan)
            fates |= self._write_plans(uow, writable)
            if self.offsets_group is not None:
                uow.offsets.advance(self.offsets_group, next_positions(records))
            uow.commit()
        return decision, fates

    def _refused(self, plans: list[ProductPlan]) -> dict[str, Rejection]:
        """Which plans the database refuses: written in transactions that are rolled back,
        halving until each refused one is alone."""
        if not plans:
            return {}
        try:
            with self.uow as uow:
                self._write_plans(uow, plans)
            return {}
        except StorageRejected as exc:
            if len(plans) == 1:
                error = str(exc) or type(exc).__name__
                return {plans[0].code: Rejection(RejectionReason.STORAGE_REJECTED, error)}
        middle = len(plans) // 2
        return self._refused(plans[:middle]) | self._refused(plans[middle:])

    def _write_plans(self, uow: UnitOfWork, plans: list[ProductPlan]) -> dict[int, Fate]:
        """The unknown-product policy, then one conditional bulk statement for every plan's
        first change; a second for the deltas of the products that also had a count; one
        per delta only for the products whose deltas would dip below 0."""
        if not plans:
            return {}
        if self.unknown_products == "create":
            codes = [plan.code for plan in plans]
            missing = set(codes) - uow.products.known_codes(codes)
            if missing:
                uow.products.add([Product(code=code, name=code) for code in sorted(missing)])
        fates: dict[int, Fate] = {}
        first = uow.products.apply([plan.first_change() for plan in plans])
        dipping: list[tuple[str, list[Candidate]]] = []
        mixed: list[tuple[str, list[Candidate]]] = []
        for plan in plans:
            if plan.code in first.unknown:
                fates |= _all_refused(plan, _unknown(plan.code))
            elif plan.base is None:
                if plan.code in first.applied:
                    fates |= dict.fromkeys((d.index for d in plan.after), Outcome.APPLIED)
                else:
                    dipping.append((plan.code, plan.after))
            elif plan.code in first.applied:
                fates[plan.base.index] = Outcome.APPLIED
                if plan.before:
                    fates |= dict.fromkeys((d.index for d in plan.before), Outcome.SUPERSEDED)
                if plan.after:
                    mixed.append((plan.code, plan.after))
            else:
                fates[plan.base.index] = Outcome.STALE
                if plan.before or plan.after:
                    mixed.append((plan.code, plan.before + plan.after))
        if mixed:
            second = uow.products.apply([relative_change(code, ds) for code, ds in mixed])
            for code, deltas in mixed:
                if code in second.applied:
                    fates |= dict.fromkeys((d.index for d in deltas), Outcome.APPLIED)
                else:
                    dipping.append((code, deltas))
        for code, deltas in dipping:
            fates |= self._one_by_one(uow, code, deltas)
        return fates

    def _one_by_one(self, uow: UnitOfWork, code: str, deltas: list[Candidate]) -> dict[int, Fate]:
        """Deltas whose sum would dip below 0: each alone, in order; those that would take
        the count below 0 are rejected, the others applied."""
        fates: dict[int, Fate] = {}
        for delta in deltas:
            result = uow.products.apply([relative_change(code, [delta])])
            if code in result.applied:
                fates[delta.index] = Outcome.APPLIED
            else:
                fates[delta.index] = Rejection(
                    RejectionReason.NEGATIVE_STOCK,
                    f"inventory_delta {delta.delta} would take the count of {code!r} below 0",
                )
        return fates

    def stock_status(self, product_code: str) -> StockStatus:
        """The stock status a product page shows; raises UnknownProduct."""
        with self.uow as uow:
            product = uow.products.get(product_code)
        if product is None:
            raise UnknownProduct(product_code)
        return StockStatus.of(product.code, product.inventory_count, self.low_stock_threshold)


def _unknown(code: str) -> Rejection:
    return Rejection(RejectionReason.UNKNOWN_PRODUCT, f"no product with code {code!r}")


def _all_refused(plan: ProductPlan, rejection: Rejection) -> dict[int, Fate]:
    """A plan that cannot be written: its count and the deltas after it are rejected (their
    dead letters replay it whole); the deltas before the count are superseded by it."""
    fates: dict[int, Fate] = dict.fromkeys((d.index for d in plan.after), rejection)
    if plan.base is not None:
        fates[plan.base.index] = rejection
        fates |= dict.fromkeys((d.index for d in plan.before), Outcome.SUPERSEDED)
    return fates
