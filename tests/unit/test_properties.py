"""Property tests: replays and batching never change the result; no input escapes as an error."""

from __future__ import annotations

from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from inventory_sync.domain.services import Outcome

from .helpers import at, event, records, service_with

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
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "product_code": st.one_of(st.sampled_from(CODES), json_values),
            "inventory_count": st.one_of(st.integers(-5, 2**40), json_values),
            "occurred_at": st.one_of(st.datetimes().map(lambda d: d.isoformat()), json_values),
            "event_id": json_values,
        },
    )
)
def test_arbitrary_json_objects_never_raise_and_get_one_outcome(body: dict[str, object]) -> None:
    import json

    service, _ = service_with(dict.fromkeys(CODES, 0))
    report = service.apply_batch(records(json.dumps(body).encode()))
    assert len(report.outcomes) == 1
