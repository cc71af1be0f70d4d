"""The message contract: every kind of bad input gets one rejection with the right reason."""

import json

import pytest

from inventory_sync.domain.rejections import Rejection, RejectionReason
from inventory_sync.domain.rules import InventoryUpdate, decode_update


def valid(**fields: object) -> bytes:
    return json.dumps({"product_code": "SKU-1", "inventory_count": 3, **fields}).encode()


def reason_of(value: bytes | None, max_bytes: int = 65_536) -> RejectionReason:
    decoded = decode_update(value, max_bytes)
    assert isinstance(decoded, Rejection), f"expected a rejection, got {decoded!r}"
    return decoded.reason


def test_a_valid_event_decodes_with_its_optional_fields() -> None:
    decoded = decode_update(
        valid(occurred_at="2026-11-26T10:00:00+01:00", event_id="e-1", reason="purchase")
    )
    assert isinstance(decoded, InventoryUpdate)
    assert decoded.product_code == "SKU-1"
    assert decoded.inventory_count == 3
    assert decoded.occurred_at is not None
    assert decoded.occurred_at.utcoffset() is not None
    assert (decoded.event_id, decoded.reason) == ("e-1", "purchase")


def test_unknown_fields_are_ignored_so_producers_can_add_fields() -> None:
    decoded = decode_update(valid(warehouse="north", extra={"nested": [1, 2]}))
    assert isinstance(decoded, InventoryUpdate)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(b"\xff\xfe\x00garbage", id="non-utf8 bytes"),
        pytest.param(b'{"product_code": "SKU-\xff", "inventory_count": 1}', id="non-utf8 inside"),
        pytest.param(b"not json at all", id="plain text"),
        pytest.param(b"[1, 2, 3]", id="array"),
        pytest.param(b'"SKU-1"', id="string"),
        pytest.param(b"42", id="number"),
        pytest.param(b"null", id="json null"),
        pytest.param(None, id="null record value"),
        pytest.param(b"", id="empty"),
        pytest.param(b"[" * 10_000 + b"]" * 10_000, id="deep nesting"),
        pytest.param(b'{"product_code": "SKU-1", "inventory_count": 3', id="truncated"),
    ],
)
def test_a_value_that_is_not_a_json_object_is_malformed_json(value: bytes | None) -> None:
    assert reason_of(value) is RejectionReason.MALFORMED_JSON


@pytest.mark.parametrize(
    ("fields", "named_field"),
    [
        pytest.param({"inventory_count": -1}, "inventory_count", id="negative count"),
        pytest.param({"inventory_count": 2_147_483_648}, "inventory_count", id="over int32"),
        pytest.param({"inventory_count": 10**400}, "inventory_count", id="huge number"),
        pytest.param({"inventory_count": 3.0}, "inventory_count", id="float"),
        pytest.param({"inventory_count": 1e400}, "inventory_count", id="float overflow"),
        pytest.param({"inventory_count": True}, "inventory_count", id="boolean"),
        pytest.param({"inventory_count": "3"}, "inventory_count", id="string for a number"),
        pytest.param({"inventory_count": None}, "inventory_count", id="null count"),
        pytest.param({"product_code": ""}, "product_code", id="empty code"),
        pytest.param({"product_code": "X" * 65}, "product_code", id="code too long"),
        pytest.param({"product_code": "SKU 1"}, "product_code", id="space in code"),
        pytest.param({"product_code": "SKÜ-1"}, "product_code", id="non-ascii code"),
        pytest.param({"product_code": 17}, "product_code", id="number for code"),
        pytest.param({"occurred_at": "2026-11-26T10:00:00"}, "occurred_at", id="naive time"),
        pytest.param({"occurred_at": "yesterday"}, "occurred_at", id="not a time"),
        pytest.param({"occurred_at": 1764150000}, "occurred_at", id="epoch number"),
        pytest.param({"event_id": 12}, "event_id", id="number for event id"),
    ],
)
def test_a_rule_violation_is_invalid_payload_naming_the_field(
    fields: dict[str, object], named_field: str
) -> None:
    decoded = decode_update(valid(**fields))
    assert isinstance(decoded, Rejection)
    assert decoded.reason is RejectionReason.INVALID_PAYLOAD
    assert named_field in decoded.error


def test_missing_required_fields_are_named_in_the_error() -> None:
    decoded = decode_update(b"{}")
    assert isinstance(decoded, Rejection)
    assert decoded.reason is RejectionReason.INVALID_PAYLOAD
    assert "product_code" in decoded.error
    without_count = decode_update(b'{"product_code": "SKU-1"}')
    assert isinstance(without_count, Rejection)
    assert without_count.error.startswith("inventory_count: ")


def delta(value: object, **fields: object) -> bytes:
    return json.dumps({"product_code": "SKU-1", "inventory_delta": value, **fields}).encode()


@pytest.mark.parametrize("value", [-2, 0, 50, -2_147_483_647, 2_147_483_647])
def test_a_delta_alone_is_a_valid_relative_event(value: int) -> None:
    decoded = decode_update(delta(value))
    assert isinstance(decoded, InventoryUpdate)
    assert (decoded.relative, decoded.inventory_delta, decoded.inventory_count) == (
        True,
        value,
        None,
    )


def test_a_count_and_a_delta_together_are_invalid_payload_naming_the_delta() -> None:
    decoded = decode_update(delta(-2, inventory_count=5))
    assert isinstance(decoded, Rejection)
    assert decoded.reason is RejectionReason.INVALID_PAYLOAD
    assert decoded.error.startswith("inventory_delta: give exactly one of")
    assert "both are given" in decoded.error


def test_neither_a_count_nor_a_delta_is_invalid_payload_naming_the_count() -> None:
    for value in (b'{"product_code": "SKU-1"}', delta(None), delta(None, inventory_count=None)):
        decoded = decode_update(value)
        assert isinstance(decoded, Rejection)
        assert decoded.reason is RejectionReason.INVALID_PAYLOAD
        assert decoded.error.startswith("inventory_count: give exactly one of")
        assert "neither is given" in decoded.error


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(True, id="boolean"),
        pytest.param(False, id="false"),
        pytest.param(-2.0, id="float"),
        pytest.param("-2", id="string"),
        pytest.param(2_147_483_648, id="over int32"),
        pytest.param(-2_147_483_648, id="under -int32 max"),
        pytest.param(10**30, id="huge"),
        pytest.param([1], id="list"),
    ],
)
def test_a_delta_that_is_not_a_small_integer_is_invalid_payload_naming_it(value: object) -> None:
    decoded = decode_update(delta(value))
    assert isinstance(decoded, Rejection)
    assert decoded.reason is RejectionReason.INVALID_PAYLOAD
    assert decoded.error.startswith("inventory_delta: ")


def test_a_value_over_the_size_limit_is_too_large_before_it_is_decoded() -> None:
    big_but_valid = valid(padding="x" * 200)
    assert reason_of(big_but_valid, max_bytes=100) is RejectionReason.TOO_LARGE
    assert reason_of(b"\xff" * 101, max_bytes=100) is RejectionReason.TOO_LARGE


def test_a_value_at_the_size_limit_is_accepted() -> None:
    value = valid()
    assert isinstance(decode_update(value, max_message_bytes=len(value)), InventoryUpdate)


def test_the_boundaries_of_the_count_are_valid() -> None:
    for count in (0, 2_147_483_647):
        assert isinstance(decode_update(valid(inventory_count=count)), InventoryUpdate)
