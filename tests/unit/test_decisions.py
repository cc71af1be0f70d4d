"""Deciding a batch is pure: no unit of work, the same records always decide the same way."""

from __future__ import annotations

from datetime import timedelta

from inventory_sync.domain.outcomes import Outcome
from inventory_sync.domain.rejections import Rejection
from inventory_sync.domain.rules import Candidate, Decision, decode_update
from inventory_sync.domain.services import decide_batch

from .helpers import T0, at, event, records


def bases(decision: Decision) -> dict[str, Candidate]:
    """The absolute count to write per product code (products that have one)."""
    return {code: plan.base for code, plan in decision.plans.items() if plan.base is not None}


LIMITS = {"max_message_bytes": 65_536, "now": T0, "max_future_skew": timedelta(minutes=5)}


def test_a_batch_is_decided_without_storage_newest_update_per_product_is_the_candidate() -> None:
    batch = records(
        event("SKU-1", 1, at(-30)),
        b"{not json",
        event("SKU-1", 2, at(-10)),
        event("SKU-2", 3, at(-20)),
        event("SKU-1", 4, at(-20)),
    )

    decision = decide_batch(batch, **LIMITS)  # type: ignore[arg-type]

    assert {code: c.update.inventory_count for code, c in bases(decision).items()} == {
        "SKU-1": 2,
        "SKU-2": 3,
    }
    assert [None if o is None else o.outcome for o in decision.decided] == [
        Outcome.SUPERSEDED,
        Outcome.REJECTED,
        None,
        None,
        Outcome.SUPERSEDED,
    ]


def test_a_rejected_payload_still_names_its_product_and_event_for_the_logs() -> None:
    named = decode_update(b'{"product_code": "SKU-9", "inventory_count": -1, "event_id": "e7"}')
    unnamed = decode_update(b'{"product_code": 12, "inventory_count": -1}')

    assert isinstance(named, Rejection)
    assert isinstance(unnamed, Rejection)
    assert (named.reason, named.product_code, named.event_id) == ("invalid_payload", "SKU-9", "e7")
    assert (unnamed.product_code, unnamed.event_id) == (None, None)


def test_a_decided_rejection_reports_the_product_code_and_event_id() -> None:
    batch = records(event("SKU-3", -5, at(-1), event_id="ev-3"), event("SKU-4", 1, at(3600)))

    decision = decide_batch(batch, **LIMITS)  # type: ignore[arg-type]

    [invalid, future] = decision.decided
    assert invalid is not None
    assert future is not None
    assert (invalid.product_code, invalid.event_id) == ("SKU-3", "ev-3")
    assert (future.product_code, future.rejection and future.rejection.reason) == (
        "SKU-4",
        "from_the_future",
    )
