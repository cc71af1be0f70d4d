"""The batch use case: one outcome per record, coalescing, the stale guard, unknown products."""

import pytest

from inventory_sync.domain.errors import TransientError, UnknownProduct
from inventory_sync.domain.rejections import RejectionReason
from inventory_sync.domain.services import Outcome

from .helpers import at, event, records, service_with


def test_a_valid_update_of_a_known_product_is_applied() -> None:
    service, repository = service_with({"SKU-1": 10})
    report = service.apply_batch(records(event("SKU-1", 3, at(1))))
    assert [o.outcome for o in report.outcomes] == [Outcome.APPLIED]
    product = repository.get("SKU-1")
    assert product is not None
    assert (product.inventory_count, product.inventory_updated_at) == (3, at(1))


def test_a_stale_update_never_moves_the_count_back() -> None:
    service, repository = service_with({"SKU-1": 10})
    service.apply_batch(records(event("SKU-1", 7, at(10))))
    report = service.apply_batch(records(event("SKU-1", 2, at(5)), start=1))
    assert [o.outcome for o in report.outcomes] == [Outcome.STALE]
    assert report.summary.stale == 1
    assert repository.products["SKU-1"].inventory_count == 7


def test_an_update_at_the_same_time_as_the_stored_one_is_applied() -> None:
    service, repository = service_with({"SKU-1": 10})
    service.apply_batch(records(event("SKU-1", 7, at(10))))
    report = service.apply_batch(records(event("SKU-1", 8, at(10)), start=1))
    assert report.summary.applied == 1
    assert repository.products["SKU-1"].inventory_count == 8


def test_older_updates_of_a_product_in_the_same_batch_are_superseded() -> None:
    service, repository = service_with({"SKU-1": 10})
    batch = records(event("SKU-1", 9, at(3)), event("SKU-1", 5, at(1)), event("SKU-1", 8, at(2)))
    report = service.apply_batch(batch)
    assert [o.outcome for o in report.outcomes] == [
        Outcome.APPLIED,
        Outcome.SUPERSEDED,
        Outcome.SUPERSEDED,
    ]
    assert repository.products["SKU-1"].inventory_count == 9


def test_updates_without_a_time_use_the_record_timestamp_and_the_last_offset_wins() -> None:
    service, repository = service_with({"SKU-1": 10})
    report = service.apply_batch(records(event("SKU-1", 1), event("SKU-1", 2), event("SKU-1", 3)))
    assert report.summary.applied == 1
    assert report.summary.superseded == 2
    assert repository.products["SKU-1"].inventory_count == 3
    assert repository.products["SKU-1"].inventory_updated_at == records(b"")[0].timestamp


def test_an_unknown_product_is_rejected_by_default() -> None:
    service, repository = service_with({"SKU-1": 10})
    report = service.apply_batch(records(event("NOPE", 3), event("SKU-1", 4)))
    rejected = report.outcomes[0]
    assert rejected.outcome is Outcome.REJECTED
    assert rejected.rejection is not None
    assert rejected.rejection.reason is RejectionReason.UNKNOWN_PRODUCT
    assert "NOPE" not in repository.products
    assert report.summary.by_reason == {"unknown_product": 1}
    assert [letter.record.offset for letter in report.dead_letters] == [0]


def test_an_unknown_product_is_created_when_the_setting_says_create() -> None:
    service, repository = service_with({}, unknown_products="create")
    report = service.apply_batch(records(event("NEW-1", 4)))
    assert report.summary.applied == 1
    created = repository.products["NEW-1"]
    assert (created.name, created.inventory_count) == ("NEW-1", 4)


def test_invalid_records_are_rejected_while_the_rest_of_the_batch_applies() -> None:
    service, repository = service_with({"SKU-1": 10, "SKU-2": 10})
    batch = records(event("SKU-1", 1), b"{oops", event("SKU-2", -4), event("SKU-2", 2))
    report = service.apply_batch(batch)
    assert [o.outcome for o in report.outcomes] == [
        Outcome.APPLIED,
        Outcome.REJECTED,
        Outcome.REJECTED,
        Outcome.APPLIED,
    ]
    assert report.summary.by_reason == {"malformed_json": 1, "invalid_payload": 1}
    assert (
        repository.products["SKU-1"].inventory_count,
        repository.products["SKU-2"].inventory_count,
    ) == (1, 2)


def test_a_record_the_database_refuses_is_storage_rejected_and_only_it() -> None:
    service, repository = service_with({f"SKU-{i}": 10 for i in range(8)})
    repository.refused_codes.add("SKU-5")
    report = service.apply_batch(records(*(event(f"SKU-{i}", i) for i in range(8))))
    assert report.summary.applied == 7
    assert report.summary.by_reason == {"storage_rejected": 1}
    assert report.dead_letters[0].record.offset == 5
    assert repository.products["SKU-5"].inventory_count == 10
    assert all(repository.products[f"SKU-{i}"].inventory_count == i for i in range(8) if i != 5)


def test_a_transient_storage_fault_raises_and_commits_nothing() -> None:
    service, repository = service_with({"SKU-1": 10})
    repository.transient_failures = 1
    with pytest.raises(TransientError):
        service.apply_batch(records(event("SKU-1", 3)))
    assert repository.products["SKU-1"].inventory_count == 10
    assert service.apply_batch(records(event("SKU-1", 3))).summary.applied == 1


def test_the_summary_counts_every_outcome_once() -> None:
    service, _ = service_with({"SKU-1": 10, "SKU-2": 10})
    service.apply_batch(records(event("SKU-2", 5, at(100))))
    batch = records(
        event("SKU-1", 1, at(1)),
        event("SKU-1", 2, at(2)),
        event("SKU-2", 3, at(50)),
        event("GONE", 1),
        b"null",
        start=10,
    )
    summary = service.apply_batch(batch).summary
    assert summary.to_dict() == {
        "records": 5,
        "applied": 1,
        "stale": 1,
        "superseded": 1,
        "rejected": 2,
        "duplicate": 0,
        "by_reason": {"malformed_json": 1, "unknown_product": 1},
    }


def test_stock_status_of_an_unknown_product_raises_unknown_product() -> None:
    service, _ = service_with({})
    with pytest.raises(UnknownProduct):
        service.stock_status("NOPE")


def test_a_batch_decoded_ahead_gets_the_outcomes_of_one_decoded_in_the_write() -> None:
    batch = records(
        event("SKU-1", 1), b"{oops", event("SKU-2", -4), event("NOPE", 2), event("SKU-1", 3)
    )
    decoded_here, _ = service_with({"SKU-1": 10, "SKU-2": 10})
    ahead, repository = service_with({"SKU-1": 10, "SKU-2": 10})
    expected = decoded_here.apply_batch(batch)
    report = ahead.apply_batch(batch, ahead.decode(batch))
    assert report == expected
    assert report.summary.by_reason == {
        "malformed_json": 1,
        "invalid_payload": 1,
        "unknown_product": 1,
    }
    assert repository.products["SKU-1"].inventory_count == 3
