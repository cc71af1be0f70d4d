"""The rules: the message contract each record's value is decoded by (an InventoryUpdate or a
Rejection), and decide_batch, what the rules make of a whole batch before anything is written.

decide_batch is pure: it marks the duplicates below the stored positions, rejects what breaks
a rule, and plans each product's writes (ProductPlan); the service writes the plans.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, NamedTuple, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError

from inventory_sync.domain import rejections
from inventory_sync.domain.fast_decode import PlainDecoder
from inventory_sync.domain.model import Record, StockChange
from inventory_sync.domain.outcomes import Outcome, RecordOutcome
from inventory_sync.domain.ports import Partition
from inventory_sync.domain.rejections import Rejection, RejectionReason

MAX_INVENTORY_COUNT = 2_147_483_647
PRODUCT_CODE_PATTERN = r"^[A-Za-z0-9._-]{1,64}$"

Count = Annotated[int, Field(ge=0, le=MAX_INVENTORY_COUNT)]
Delta = Annotated[int, Field(ge=-MAX_INVENTORY_COUNT, le=MAX_INVENTORY_COUNT)]
ProductCode = Annotated[str, Field(min_length=1, max_length=64, pattern=PRODUCT_CODE_PATTERN)]


def _in_utc(value: datetime) -> datetime:
    """The same instant in UTC; a time that falls outside years 1 to 9999 once converted
    (0001-01-01T00:00:00+01:00, 9999-12-31T23:00:00-05:00) has no place to be stored."""
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError(
            f"{value.isoformat()} is outside years 1 to 9999 once converted to UTC"
        ) from None


_RFC_3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


def _rfc_3339(value: object) -> object:
    """Only an RFC 3339 date-time with an offset: pydantic alone would also read "1700000000"
    as seconds since the epoch, which the contract does not allow."""
    if not isinstance(value, str):
        return value  # not a string: the strict datetime check refuses it
    if not _RFC_3339.fullmatch(value):
        raise ValueError(f"{value[:40]!r} is not an RFC 3339 timestamp with an offset")
    return datetime.fromisoformat(value.upper())


UtcTimestamp = Annotated[AwareDatetime, BeforeValidator(_rfc_3339), AfterValidator(_in_utc)]


class InventoryUpdate(BaseModel):
    """One event of the topic, validated by the message contract; unknown fields are ignored."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)

    product_code: ProductCode
    inventory_count: Count | None = None
    """The new count (an absolute event); exactly one of it and inventory_delta is given."""
    inventory_delta: Delta | None = None
    """What changed (a relative event: -2 sold, +50 restocked), applied exactly once."""
    occurred_at: UtcTimestamp | None = None
    """Normalised to UTC by validation, so every later comparison or conversion is safe."""
    event_id: str | None = None
    reason: str | None = None

    @model_validator(mode="after")
    def _count_or_delta(self) -> Self:
        if (self.inventory_count is None) == (self.inventory_delta is None):
            given = "both are given" if self.relative else "neither is given"
            raise PydanticCustomError(
                "count_or_delta",
                "give exactly one of inventory_count and inventory_delta ({given})",
                {
                    "given": given,
                    "field": "inventory_delta" if self.relative else "inventory_count",
                },
            )
        return self

    @property
    def relative(self) -> bool:
        return self.inventory_delta is not None


DEFAULT_MAX_MESSAGE_BYTES = 65_536
DEFAULT_MAX_FUTURE_SKEW = timedelta(minutes=5)

decode_plainly_valid = PlainDecoder(
    InventoryUpdate, max_count=MAX_INVENTORY_COUNT, code_pattern=PRODUCT_CODE_PATTERN
)
"""The fast path alone: a value's update if it is plainly valid, else None."""


def decode_update(
    value: bytes | None, max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
) -> InventoryUpdate | Rejection:
    """Decode and validate one value; never raises for bad input. A plainly valid value is
    accepted by the fast path (fast_decode.py); the contract's validator decides the rest."""
    if isinstance(value, bytes) and len(value) <= max_message_bytes:
        update = decode_plainly_valid(value)
        if update is not None:
            return update
    return decode_update_validated(value, max_message_bytes)


def decode_update_validated(
    value: bytes | None, max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
) -> InventoryUpdate | Rejection:
    """decode_update by pydantic alone, the contract's validator: every rejection is its."""
    if value is None:
        return Rejection(RejectionReason.MALFORMED_JSON, "value is null (a tombstone)")
    if len(value) > max_message_bytes:
        error = f"value is {len(value)} bytes, over the limit of {max_message_bytes}"
        return Rejection(RejectionReason.TOO_LARGE, error)
    try:
        return InventoryUpdate.model_validate_json(value)
    except ValidationError as exc:
        return rejections.invalid(exc, value)
    except (ValueError, RecursionError) as exc:
        return Rejection(RejectionReason.MALFORMED_JSON, str(exc))


def decode_all(
    records: Sequence[Record], max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
) -> list[InventoryUpdate | Rejection]:
    """decode_update of each record's value, in order."""
    return [decode_update(record.value, max_message_bytes) for record in records]


# -- a batch ------------------------------------------------------------------------------


class Candidate(NamedTuple):
    """A valid update of the batch, and where it came from (a tuple: every valid record makes
    one, and no immutable object is cheaper to make)."""

    index: int  # type: ignore[assignment]  # (hides tuple.index, which nothing here calls)
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
        if self.after:
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
    updates: list[InventoryUpdate | None]
    """One slot per record: its update if it belongs to a plan, else None."""


def decide_batch(
    records: Sequence[Record],
    *,
    max_message_bytes: int,
    now: datetime,
    max_future_skew: timedelta,
    positions: Mapping[Partition, int] | None = None,
    deltas_allowed: bool = True,
    decoded: Sequence[InventoryUpdate | Rejection] | None = None,
) -> Decision:
    """Mark as duplicates the records below their partition's stored next offset, reject what
    breaks the rules, and plan each product's writes (the superseded counts are decided here).

    decoded: each record's decode_update, if the caller decoded them ahead (decode_all)."""
    assert decoded is None or len(decoded) == len(records), "one decoded value per record"
    decided: list[RecordOutcome | None] = [None] * len(records)
    updates: list[InventoryUpdate | None] = [None] * len(records)
    plans: dict[str, ProductPlan] = {}
    stored = positions or {}
    latest = now + max_future_skew
    for index, record in enumerate(records):
        if stored and record.offset < stored.get((record.topic, record.partition), -1):
            decided[index] = RecordOutcome(record, Outcome.DUPLICATE)
            continue
        update = (
            decode_update(record.value, max_message_bytes) if decoded is None else decoded[index]
        )
        if isinstance(update, Rejection):
            decided[index] = RecordOutcome(record, Outcome.REJECTED, None, update)
            continue
        at = update.occurred_at or record.timestamp
        if at > latest or (update.relative and not deltas_allowed):
            refused = rejections.refusal(update, at, now, max_future_skew, deltas_allowed)
            decided[index] = RecordOutcome(record, Outcome.REJECTED, update, refused)
            continue
        plan = plans.get(update.product_code)
        if plan is None:
            plan = plans[update.product_code] = ProductPlan(update.product_code)
        updates[index] = update
        loser = plan.add(Candidate(index, update, at, record.offset))
        if loser is not None:
            updates[loser.index] = None
            decided[loser.index] = RecordOutcome(
                records[loser.index], Outcome.SUPERSEDED, loser.update
            )
    return Decision(decided, plans, updates)
