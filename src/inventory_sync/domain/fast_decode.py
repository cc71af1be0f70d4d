"""The fast accept path of the message contract (rules.py): a value that is plainly valid
becomes its InventoryUpdate in one call into pydantic-core, without the contract's Python
validators, most of the cost of deciding a record.

Plainly valid is what PlainDecoder's schema accepts: a JSON object, parsed by the parser
model_validate_json uses, whose fields have the common shape, checked in Rust (strict types,
the ranges, the patterns); only the time is converted in Python. Any other value gets None
and goes to the contract's validator, which alone decides every rejection and its message.
tests/unit/test_decode_paths.py holds the two paths to the same result.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Generic, TypeVar

from pydantic import BaseModel
from pydantic_core import CoreSchema, SchemaValidator, core_schema

Model = TypeVar("Model", bound=BaseModel)

FIELDS = ("product_code", "inventory_count", "inventory_delta", "occurred_at", "event_id", "reason")

_PLAIN_TIME = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?"
    r"(?:[Zz]|[+-][0-9]{2}:[0-9]{2})$"
)
"""The contract's RFC 3339 pattern with ASCII digits only: narrower, so what it refuses
(other digits) goes to the contract's validator."""


def _in_utc(text: str) -> datetime:
    """What rules._rfc_3339 and rules._in_utc make of a plain time; a day or an offset out of
    range, or a year 0 once in UTC, raises (and the value goes to the contract's validator)."""
    return datetime.fromisoformat(text.upper()).astimezone(UTC)


class PlainDecoder(Generic[Model]):
    """Called with a value: its update if it is plainly valid, else None. The model and its
    limits are given (rules.py makes one), so this module does not import the contract."""

    def __init__(self, model: type[Model], *, max_count: int, code_pattern: str) -> None:
        if tuple(model.model_fields) != FIELDS:  # pragma: no cover
            raise TypeError(f"{model.__name__}'s fields changed; update {__name__}")
        self._validate = SchemaValidator(_schema(model, max_count, code_pattern)).validate_json

    def __call__(self, value: bytes) -> Model | None:
        try:
            update: Model = self._validate(value)
        except (ValueError, OverflowError, RecursionError):  # ValidationError is a ValueError
            return None
        if (update.inventory_count is None) == (update.inventory_delta is None):  # type: ignore[attr-defined]
            return None  # exactly one of count and delta
        return update


def _schema(model: type[BaseModel], max_count: int, code_pattern: str) -> CoreSchema:
    """The model built straight from JSON: strict (neither a bool nor a float like 1.0 is an
    int), unknown keys ignored, the fields set those the value has, as the model does."""

    def optional(schema: CoreSchema) -> core_schema.ModelField:
        return core_schema.model_field(
            core_schema.with_default_schema(core_schema.nullable_schema(schema), default=None)
        )

    text = core_schema.str_schema(strict=True)
    time = core_schema.no_info_after_validator_function(
        _in_utc, core_schema.str_schema(pattern=_PLAIN_TIME, strict=True)
    )
    fields = {
        "product_code": core_schema.model_field(
            core_schema.str_schema(pattern=code_pattern, strict=True)
        ),
        "inventory_count": optional(core_schema.int_schema(ge=0, le=max_count, strict=True)),
        "inventory_delta": optional(
            core_schema.int_schema(ge=-max_count, le=max_count, strict=True)
        ),
        "occurred_at": optional(time),
        "event_id": optional(text),
        "reason": optional(text),
    }
    return core_schema.model_schema(
        model, core_schema.model_fields_schema(fields, extra_behavior="ignore")
    )
