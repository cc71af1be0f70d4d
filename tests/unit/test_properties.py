"""Property tests: replays and batching never change the result; no input escapes as an error."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from inventory_sync.adapters.memory import InMemoryRepository, InMemoryUnitOfWork
from inventory_sync.domain.model import Product
from inventory_sync.domain.rules import DEFAULT_MAX_FUTURE_SKEW, RejectionReason
from inventory_sync.domain.services import InventoryService, Outcome

from .helpers import T0, at, event, records, service_with

CODES = ["SKU-1", "SKU-2", "SKU-3"]


@st.composite
def timed_updates(draw: st.DrawFn) -> list[tuple[str, int, int]]:
    """(code, count, second) events; times are distinct per product so "newest" is defined."""
    size = draw(st.integers(min_value=1, max_value=40))
    seconds = draw(st.lists(st.integers(0, 10_000), min_size=size, max_size=size, unique=True))
    return [
        (draw(st.sampled_from(CODES)), draw(st.integers(0, 2_147_483_647)), second)
        for second in seconds
    ]


@st.composite
def batched_with_replays(draw: st.DrawFn) -> tuple[list[tuple[str, int, int]], list[list[int]]]:
    """The updates, and the order batches (as index lists) are applied in, replays included."""
    updates = draw(timed_updates())
    cuts = sorted(draw(st.sets(st.integers(1, len(updates) - 1))) if len(updates) > 1 else set())
    bounds = [0, *cuts, len(updates)]
    batches = [list(range(a, b)) for a, b in pairwise(bounds)]
    order: list[list[int]] = []
    for index, batch in enumerate(batches):
        order.append(batch)
        replays = draw(st.lists(st.integers(0, index), max_size=3))
        order.extend(batches[replayed] for replayed in replays)
    return updates, order


@settings(max_examples=300, deadline=None)
@given(batched_with_replays())
def test_batching_and_replays_always_end_at_each_products_newest_count(
    case: tuple[list[tuple[str, int, int]], list[list[int]]],
) -> None:
    updates, order = case
    service, repository = service_with(dict.fromkeys(CODES, 0))
    for batch in order:
        values = [event(updates[i][0], updates[i][1], at(updates[i][2])) for i in batch]
        service.apply_batch(records(*values, start=batch[0]))
    for code in CODES:
        mine = [(second, count) for c, count, second in updates if c == code]
        expected = max(mine)[1] if mine else 0
        assert repository.products[code].inventory_count == expected


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), st.binary(max_size=300)), min_size=1, max_size=20))
def test_arbitrary_bytes_never_raise_and_get_exactly_one_outcome_each(
    values: list[bytes | None],
) -> None:
    service, _ = service_with(dict.fromkeys(CODES, 0))
    report = service.apply_batch(records(*values))
    assert len(report.outcomes) == len(values)
    assert [o.record.offset for o in report.outcomes] == list(range(len(values)))
    assert sum(o.outcome is Outcome.REJECTED for o in report.outcomes) == report.summary.rejected


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)  # JSON has neither
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
NOW = T0
"""The service's clock; the records' timestamp is T0 too (helpers.records)."""
whole_minute_offsets = st.integers(-(24 * 60 - 1), 24 * 60 - 1).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
timestamps = st.one_of(
    st.datetimes(max_value=datetime(2026, 11, 1), timezones=whole_minute_offsets),
    st.datetimes(min_value=datetime(2026, 12, 1), timezones=whole_minute_offsets),
    st.datetimes(timezones=whole_minute_offsets),
    st.sampled_from([T0 + timedelta(minutes=5), T0 + timedelta(minutes=5, microseconds=1)]),
    st.datetimes(),  # no offset
    st.sampled_from(["2026-01-01", "yesterday", "2026-01-01T00:00:00+24:00", ""]),
).map(lambda value: value if isinstance(value, str) else value.isoformat())
"""Texts for occurred_at whose meaning datetime.fromisoformat knows: the test's oracle."""
not_text = json_values.filter(lambda value: value is None or not isinstance(value, str))


@st.composite
def event_objects(draw: st.DrawFn) -> dict[str, object]:
    """JSON objects with the contract's fields, mostly right and sometimes wrong or missing,
    and maybe a field the contract does not know."""
    texts = st.one_of(st.none(), st.text(max_size=20), json_values)
    fields: dict[str, tuple[float, st.SearchStrategy[object]]] = {
        "product_code": (
            0.9,
            st.one_of(
                st.sampled_from(CODES),
                st.from_regex(r"[A-Za-z0-9._-]{1,64}", fullmatch=True),
                json_values,
            ),
        ),
        "inventory_count": (
            0.9,
            st.one_of(st.integers(0, 2_147_483_647), st.integers(-5, 2**40), json_values),
        ),
        "occurred_at": (0.6, st.one_of(timestamps, not_text)),
        "event_id": (0.5, texts),
        "reason": (0.5, texts),
        "colour": (0.3, json_values),
    }
    return {
        name: draw(values)
        for name, (present, values) in fields.items()
        if draw(st.floats(0, 1)) < present
    }


def invalid_fields(body: dict[str, object]) -> set[str]:
    """The fields the message contract (DESIGN.md) refuses, worked out independently of it."""
    invalid = set()
    code = body.get("product_code")
    if not (isinstance(code, str) and re.fullmatch(r"[A-Za-z0-9._-]{1,64}", code)):
        invalid.add("product_code")
    count = body.get("inventory_count")
    if not (type(count) is int and 0 <= count <= 2_147_483_647):
        invalid.add("inventory_count")
    if body.get("occurred_at") is not None and occurred_at(body) is None:
        invalid.add("occurred_at")
    for text_field in ("event_id", "reason"):
        if not isinstance(body.get(text_field), str | None):
            invalid.add(text_field)
    return invalid


def occurred_at(body: dict[str, object]) -> datetime | None:
    """The event's time in UTC, or None when it has none that the contract accepts."""
    value = body.get("occurred_at")
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
        return None if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def expected_rejection(body: dict[str, object]) -> RejectionReason | None:
    """What the rules make of the body, in their order; None for an update to apply."""
    if invalid_fields(body):
        return RejectionReason.INVALID_PAYLOAD
    if (occurred_at(body) or T0) > NOW + DEFAULT_MAX_FUTURE_SKEW:
        return RejectionReason.FROM_THE_FUTURE
    if body["product_code"] not in CODES:
        return RejectionReason.UNKNOWN_PRODUCT
    return None


@settings(max_examples=500, deadline=None)
@given(event_objects())
def test_arbitrary_json_objects_never_raise_and_get_the_outcome_the_contract_gives(
    body: dict[str, object],
) -> None:
    repository = InMemoryRepository([Product(code, code) for code in CODES])
    service = InventoryService(InMemoryUnitOfWork(repository), clock=lambda: NOW)

    report = service.apply_batch(records(json.dumps(body).encode()))

    (outcome,) = report.outcomes
    expected = expected_rejection(body)
    if expected is None:
        assert (outcome.outcome, outcome.rejection) == (Outcome.APPLIED, None)
        stored = repository.products[str(body["product_code"])]
        at = occurred_at(body) or T0
        assert (stored.inventory_count, stored.inventory_updated_at) == (
            body["inventory_count"],
            at,
        )
        return
    assert outcome.outcome is Outcome.REJECTED
    assert outcome.rejection is not None
    assert outcome.rejection.reason is expected
    assert [letter.record for letter in report.dead_letters] == [outcome.record]
    assert all(product.inventory_count == 0 for product in repository.products.values())
    if expected is RejectionReason.INVALID_PAYLOAD:  # the error names every field at fault
        named = {part.split(":", 1)[0] for part in outcome.rejection.error.split("; ")}
        assert named == invalid_fields(body)
