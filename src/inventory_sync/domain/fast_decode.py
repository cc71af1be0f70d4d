"""The fast accept path of the message contract (rules.py): a value that is plainly valid
becomes its InventoryUpdate without pydantic's per-field validators, most of the cost of
deciding a record.

Plainly valid is what PlainDecoder's checks accept: a JSON object, parsed by the parser
model_validate_json uses, whose fields have the common shape. Any other value gets None and
goes to the contract's validator, which alone decides every rejection and its message.
tests/unit/test_decode_paths.py holds the two paths to the same result.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from pydantic_core import SchemaValidator, core_schema, from_json

Model = TypeVar("Model", bound=BaseModel)

_PLAIN_TIME = re.compile(
    r"\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d(?:\.\d+)?(?:[Zz]|[+-]\d\d:\d\d)", re.ASCII
)
"""The contract's RFC 3339 pattern with ASCII digits only: narrower, so what it refuses
(other digits) goes to the contract's validator."""


class PlainDecoder(Generic[Model]):
    """Called with a value: its update if it is plainly valid, else None. The model and its
    limits are given (rules.py makes one), so this module does not import the contract.

    One check a line, inline: a record pays for each call, so there are no helpers."""

    def __init__(self, model: type[Model], *, max_count: int, code_pattern: str) -> None:
        self._max = max_count
        self._code_matches = re.compile(code_pattern).fullmatch
        self._assemble: Callable[[dict[str, Any]], Model] = _assembler(model).validate_python

    def __call__(self, value: bytes) -> Model | None:
        try:
            body = from_json(value, cache_strings="keys")  # caching changes no value
        except ValueError:
            return None
        if type(body) is not dict:
            return None
        code = body.get("product_code")
        if type(code) is not str or not self._code_matches(code):
            return None
        count, delta = body.get("inventory_count"), body.get("inventory_delta")
        if count is not None:  # exactly one of count and delta, each an int in its range
            if delta is not None or type(count) is not int or not 0 <= count <= self._max:
                return None  # (type() is int: neither a bool nor a float like 1.0, strict mode)
        elif type(delta) is not int or not -self._max <= delta <= self._max:
            return None
        event_id, reason = body.get("event_id"), body.get("reason")
        if not (event_id is None or type(event_id) is str):
            return None
        if not (reason is None or type(reason) is str):
            return None
        occurred_at = body.get("occurred_at")
        if occurred_at is not None:
            if type(occurred_at) is not str or not _PLAIN_TIME.fullmatch(occurred_at):
                return None
            try:  # what rules._rfc_3339 and rules._in_utc make of it
                body["occurred_at"] = datetime.fromisoformat(occurred_at.upper()).astimezone(UTC)
            except (ValueError, OverflowError):  # a day or an offset out of range, a year 0
                return None
        return self._assemble(body)


def _assembler(model: type[BaseModel]) -> SchemaValidator:
    """Builds the model from a checked body with no validation: model_construct's result,
    fields_set and all, at a fifth of its cost. Unknown keys are ignored, as the model does."""
    fields = {
        name: core_schema.model_field(
            core_schema.any_schema()
            if field.is_required()
            else core_schema.with_default_schema(core_schema.any_schema(), default=field.default)
        )
        for name, field in model.model_fields.items()
    }
    return SchemaValidator(
        core_schema.model_schema(
            model, core_schema.model_fields_schema(fields, extra_behavior="ignore")
        )
    )
