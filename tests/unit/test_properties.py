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
from inventory_sync.domain.rejections import RejectionReason
from inventory_sync.domain.rules import DEFAULT_MAX_FUTURE_SKEW
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
        "inventory_delta": (
            0.2,
            st.one_of(st.integers(-2_147_483_647, 2_147_483_647), st.integers(-(2**40), 2**40)),
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
    count, delta = body.get("inventory_count"), body.get("inventory_delta")
    if count is not None and not (type(count) is int and 0 <= count <= 2_147_483_647):
        invalid.add("inventory_count")
    if delta is not None and not (type(delta) is int and abs(delta) <= 2_147_483_647):
        invalid.add("inventory_delta")
    if body.get("occurred_at") is not None and occurred_at(body) is None:
        invalid.add("occurred_at")
    for text_field in ("event_id", "reason"):
        if not isinstance(body.get(text_field), str | None):
            invalid.add(text_field)
    if not invalid and (count is None) == (delta is None):  # exactly one of the two
        invalid.add("inventory_count" if count is None else "inventory_delta")
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
    if body.get("inventory_delta") is not None:
        return RejectionReason.DELTA_NEEDS_DATABASE_OFFSETS
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


@st.composite
def deltas_batched_with_replays(
    draw: st.DrawFn,
) -> tuple[list[tuple[str, int]], list[tuple[int, int]]]:
    """(code, delta) events on one partition, and the (start, end) slices a worker applies
    them in: any batching, and after any batch a replay from any earlier offset (a crash
    before the offset commit, a rebalance), as Kafka would redeliver them."""
    events = draw(
        st.lists(st.tuples(st.sampled_from(CODES), st.integers(-1_000, 1_000)), max_size=40)
    )
    slices: list[tuple[int, int]] = []
    position = 0
    while position < len(events):
        end = draw(st.integers(position + 1, len(events)))
        slices.append((position, end))
        position = end
        if draw(st.booleans()):
            position = draw(st.integers(0, position))
    return events, slices


@settings(max_examples=300, deadline=None)
@given(deltas_batched_with_replays())
def test_with_offsets_in_the_database_any_batching_and_replay_of_deltas_ends_at_start_plus_sum(
    case: tuple[list[tuple[str, int]], list[tuple[int, int]]],
) -> None:
    events, slices = case
    start = 40_000  # high enough that no delta is refused as negative_stock
    repository = InMemoryRepository([Product(code, code, start) for code in CODES])
    service = InventoryService(InMemoryUnitOfWork(repository), offsets_group="group")
    values = [json.dumps({"product_code": c, "inventory_delta": d}).encode() for c, d in events]
    for first, end in slices:
        report = service.apply_batch(records(*values[first:end], start=first))
        assert report.summary.rejected == 0
    for code in CODES:
        expected = start + sum(d for c, d in events if c == code)
        assert repository.products[code].inventory_count == expected


@settings(max_examples=300, deadline=None)
@given(deltas_batched_with_replays(), st.sets(st.integers(0, 39), max_size=8))
def test_counts_mixed_with_deltas_end_at_the_last_count_plus_the_deltas_after_it(
    case: tuple[list[tuple[str, int]], list[tuple[int, int]]], absolute: set[int]
) -> None:
    """Events in time order: some are counts (the delta's size as the count), the rest deltas;
    the counts are small, so deltas after them often meet the floor at 0 (negative_stock)."""
    events, slices = case
    start = 40_000
    repository = InMemoryRepository([Product(code, code, start) for code in CODES])
    service = InventoryService(InMemoryUnitOfWork(repository), offsets_group="group")

    def body(offset: int) -> bytes:
        code, value = events[offset]
        field = (
            {"inventory_count": abs(value)} if offset in absolute else {"inventory_delta": value}
        )
        return json.dumps(
            {"product_code": code, **field, "occurred_at": at(offset).isoformat()}
        ).encode()

    for first, end in slices:
        service.apply_batch(records(*(body(i) for i in range(first, end)), start=first))
    for code in CODES:  # one by one: a count sets, a delta adds unless it would go below 0
        expected = start
        for offset, (c, value) in enumerate(events):
            if c != code:
                continue
            if offset in absolute:
                expected = abs(value)
            elif expected + value >= 0:
                expected += value
        assert repository.products[code].inventory_count == expected
