"""The message contract: turn a record's value into an InventoryUpdate or a Rejection."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Self

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
from pydantic_core import ErrorDetails, PydanticCustomError, from_json

MAX_INVENTORY_COUNT = 2_147_483_647
PRODUCT_CODE_PATTERN = r"^[A-Za-z0-9._-]{1,64}$"

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
    inventory_count: Annotated[int, Field(ge=0, le=MAX_INVENTORY_COUNT)] | None = None
    """The new count (an absolute event); exactly one of it and inventory_delta is given."""
    inventory_delta: (
        Annotated[int, Field(ge=-MAX_INVENTORY_COUNT, le=MAX_INVENTORY_COUNT)] | None
    ) = None
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

# pydantic error types that mean "this is not a JSON object at all", not "a field is wrong".
_NOT_AN_OBJECT = frozenset({"json_invalid", "model_type", "model_attributes_type", "json_type"})


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


def decode_update(
    value: bytes | None, max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
) -> InventoryUpdate | Rejection:
    """Decode and validate one value; never raises for bad input."""
    if value is None:
        return Rejection(RejectionReason.MALFORMED_JSON, "value is null (a tombstone)")
    if len(value) > max_message_bytes:
        error = f"value is {len(value)} bytes, over the limit of {max_message_bytes}"
        return Rejection(RejectionReason.TOO_LARGE, error)
    try:
        return InventoryUpdate.model_validate_json(value)
    except ValidationError as exc:
        return _rejection_from(exc, value)
    except (ValueError, RecursionError) as exc:
        return Rejection(RejectionReason.MALFORMED_JSON, str(exc))


def _rejection_from(exc: ValidationError, value: bytes) -> Rejection:
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


def from_the_future(
    update: InventoryUpdate, at: datetime, now: datetime, max_future_skew: timedelta
) -> Rejection | None:
    """An update dated later than now + max_future_skew would make every correct event after
    it stale until that time comes: one bad clock must not freeze a product."""
    if at <= now + max_future_skew:
        return None
    which = "occurred_at" if update.occurred_at is not None else "the record timestamp"
    error = (
        f"{which} {at.isoformat()} is {_ahead(at - now)} ahead of this worker's clock "
        f"(max_future_skew is {max_future_skew.total_seconds():g} s)"
    )
    return Rejection(RejectionReason.FROM_THE_FUTURE, error, update.product_code, update.event_id)


def _ahead(delta: timedelta) -> str:
    if delta.days >= 2:
        return f"{delta.days} days"
    return f"{delta.total_seconds():.0f} s"
