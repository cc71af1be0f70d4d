"""Why a record is refused: the stable reasons, and the one-line error each rejection carries.

Only rejected records come here; their path ends in a dead letter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from pydantic import ValidationError
from pydantic_core import ErrorDetails, from_json

if TYPE_CHECKING:
    from inventory_sync.domain.rules import InventoryUpdate


class RejectionReason(StrEnum):
    MALFORMED_JSON = "malformed_json"
    INVALID_PAYLOAD = "invalid_payload"
    UNKNOWN_PRODUCT = "unknown_product"
    TOO_LARGE = "too_large"
    STORAGE_REJECTED = "storage_rejected"
    FROM_THE_FUTURE = "from_the_future"
    NEGATIVE_STOCK = "negative_stock"
    """A delta that would take the count below 0."""
    DELTA_NEEDS_DATABASE_OFFSETS = "delta_needs_database_offsets"
    """A delta while offset_storage = kafka: only offsets stored with the writes apply it once."""


@dataclass(frozen=True, slots=True)
class Rejection:
    reason: RejectionReason
    error: str
    product_code: str | None = None
    """What the value names, when it is a JSON object that breaks a rule (for logs)."""
    event_id: str | None = None


DELTA_NEEDS_DATABASE_OFFSETS = (
    "inventory_delta is applied only with offset_storage = database: with offsets in Kafka, "
    "a replay would apply it twice"
)

# pydantic error types that mean "this is not a JSON object at all", not "a field is wrong".
_NOT_AN_OBJECT = frozenset({"json_invalid", "model_type", "model_attributes_type", "json_type"})


def invalid(exc: ValidationError, value: bytes) -> Rejection:
    """A value the contract refuses: malformed_json when it is no JSON object at all, else
    invalid_payload naming every field that is wrong."""
    errors = exc.errors(include_url=False, include_input=False)
    top = errors[0]
    if not top["loc"] and top["type"] in _NOT_AN_OBJECT:
        return Rejection(RejectionReason.MALFORMED_JSON, _describe_top(top["type"], top["msg"]))
    described = "; ".join(f"{_field(error)}: {error['msg']}" for error in errors)
    code, event_id = _identify(value)
    return Rejection(RejectionReason.INVALID_PAYLOAD, described, code, event_id)


def _identify(value: bytes) -> tuple[str | None, str | None]:
    """The product code and event id a JSON object names, if they are strings; parsed again
    only for invalid payloads (valid JSON, so the parse succeeds)."""
    try:
        parsed = from_json(value)
    except ValueError:
        return None, None
    if not isinstance(parsed, dict):
        return None, None
    code, event_id = parsed.get("product_code"), parsed.get("event_id")
    return (
        code if isinstance(code, str) else None,
        event_id if isinstance(event_id, str) else None,
    )


def _describe_top(error_type: str, message: str) -> str:
    if error_type == "json_invalid":
        return message
    return "value is not a JSON object"


def _field(error: ErrorDetails) -> str:
    """The field an error is about: its location, or the field a whole-object rule names."""
    named = error.get("ctx", {}).get("field")
    return ".".join(str(part) for part in error["loc"]) or (named or "value")


def refusal(
    update: InventoryUpdate,
    at: datetime,
    now: datetime,
    max_future_skew: timedelta,
    deltas_allowed: bool,
) -> Rejection:
    """Why a valid update is refused: a delta while deltas are not applied; else it is dated
    after now + max_future_skew, which would make every correct event after it stale until
    that time comes (one bad clock must not freeze a product)."""
    code, event_id = update.product_code, update.event_id
    if update.relative and not deltas_allowed:
        reason = RejectionReason.DELTA_NEEDS_DATABASE_OFFSETS
        return Rejection(reason, DELTA_NEEDS_DATABASE_OFFSETS, code, event_id)
    which = "occurred_at" if update.occurred_at is not None else "the record timestamp"
    return from_the_future(code, event_id, which, at, now, max_future_skew)


def from_the_future(  # noqa: PLR0917 (each is in the message)
    code: str,
    event_id: str | None,
    which: str,
    at: datetime,
    now: datetime,
    max_future_skew: timedelta,
) -> Rejection:
    """An update dated later than now + max_future_skew: `which` time it was dated by."""
    error = (
        f"{which} {at.isoformat()} is {_ahead(at - now)} ahead of this worker's clock "
        f"(max_future_skew is {max_future_skew.total_seconds():g} s)"
    )
    return Rejection(RejectionReason.FROM_THE_FUTURE, error, code, event_id)


def _ahead(delta: timedelta) -> str:
    if delta.days >= 2:
        return f"{delta.days} days"
    return f"{delta.total_seconds():.0f} s"
