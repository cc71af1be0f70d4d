"""Whatever a Kafka record holds, turning it into a Record and deciding its outcome never raises.

Records are built as each client delivers them (kafka-python's ConsumerRecord, confluent's
Message) from arbitrary keys, values, headers and timestamps, then decided by the real service.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from confluent_kafka import Message
from hypothesis import given, settings
from hypothesis import strategies as st
from kafka.consumer.fetcher import ConsumerRecord
from kafka.record.default_records import DefaultRecordBatch, DefaultRecordBatchBuilder

from inventory_sync.adapters.kafka import records
from inventory_sync.adapters.kafka.dead_letter_headers import dead_letter_headers
from inventory_sync.adapters.kafka.kafka_python.header_keys import tolerate_undecodable_header_keys
from inventory_sync.adapters.kafka.records import MAX_TIMESTAMP_MS, record_time
from inventory_sync.adapters.memory import InMemoryRepository, InMemoryUnitOfWork
from inventory_sync.domain.model import Product, Record
from inventory_sync.domain.services import InventoryService, Outcome

from .helpers import event

INT64 = st.integers(-(2**63), 2**63 - 1)
TIMESTAMPS = st.one_of(
    INT64,
    st.integers(-1, MAX_TIMESTAMP_MS + 1),
    st.sampled_from([-1, 0, MAX_TIMESTAMP_MS, MAX_TIMESTAMP_MS + 1, 1_796_160_872_845_961]),
)
TIMES = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.timezones()
)
VALUES = st.one_of(
    st.none(),
    st.binary(max_size=200),
    st.builds(
        event,
        st.sampled_from(["SKU-1", "SKU-2", "NOPE"]),
        st.integers(-5, 2**40),
        st.one_of(st.none(), TIMES),
    ),
    st.builds(
        lambda text: text.encode(), st.sampled_from(['{"product_code": "SKU-1"}', "[]", "1"])
    ),
)
HEADERS = st.lists(st.tuples(st.text(max_size=10), st.one_of(st.none(), st.binary(max_size=20))))


def decide(converted: list[Record]) -> None:
    """Decide the batch as the run loop would, and build each dead letter's headers."""
    repository = InMemoryRepository([Product("SKU-1", "SKU-1"), Product("SKU-2", "SKU-2")])
    report = InventoryService(InMemoryUnitOfWork(repository)).apply_batch(converted)
    assert len(report.outcomes) == len(converted)
    assert [o.record for o in report.outcomes] == converted
    for letter in report.dead_letters:
        for key, value in dead_letter_headers(letter):
            key.encode()  # a header key must be sendable as UTF-8
            assert isinstance(value, bytes)


@st.composite
def consumer_records(draw: st.DrawFn) -> list[Any]:
    count = draw(st.integers(1, 8))
    return [
        ConsumerRecord(
            "t",
            draw(st.integers(0, 5)),
            0,
            offset,
            draw(TIMESTAMPS),
            draw(st.sampled_from([-1, 0, 1])),
            draw(st.one_of(st.none(), st.binary(max_size=20))),
            draw(VALUES),
            draw(HEADERS),
            None,
            -1,
            -1,
            -1,
        )
        for offset in range(count)
    ]


@settings(max_examples=300, deadline=None)
@given(consumer_records())
def test_any_kafka_python_record_converts_and_gets_one_outcome(consumed: list[Any]) -> None:
    converted = records.records_of_kafka_python([consumed])

    assert [(r.partition, r.offset, r.key, r.value) for r in converted] == [
        (c.partition, c.offset, c.key, c.value) for c in consumed
    ]
    decide(converted)


class _UnreadableHeaders(Message):  # type: ignore[misc]
    """What confluent-kafka does with a header key that is not UTF-8."""

    def headers(self) -> Any:
        raise SystemError("<method 'headers'> returned a result with an exception set")


@st.composite
def messages(draw: st.DrawFn) -> list[Message]:
    count = draw(st.integers(1, 8))
    made = []
    for offset in range(count):
        kind = _UnreadableHeaders if draw(st.booleans()) else Message
        made.append(
            kind(
                topic="t",
                partition=draw(st.integers(0, 5)),
                offset=offset,
                key=draw(st.one_of(st.none(), st.binary(max_size=20))),
                value=draw(VALUES),
                headers=draw(HEADERS) or None,
                timestamp=(draw(st.sampled_from([0, 1, 2])), draw(TIMESTAMPS)),
            )
        )
    return made


@settings(max_examples=300, deadline=None)
@given(messages())
def test_any_confluent_message_converts_and_gets_one_outcome(delivered: list[Message]) -> None:
    converted = records.records_of_confluent(delivered, on_error=pytest.fail)

    assert [(r.offset, r.key, r.value) for r in converted] == [
        (m.offset(), m.key(), m.value()) for m in delivered
    ]
    for message, record in zip(delivered, converted, strict=True):
        if isinstance(message, _UnreadableHeaders):
            assert record.headers == ()
    decide(converted)


class _RawKey(str):
    """A header key that kafka-python's record builder writes as raw bytes."""

    raw = b""

    def encode(self, encoding: str = "utf-8", errors: str = "strict") -> bytes:
        return self.raw


@settings(max_examples=100, deadline=None)
@given(st.binary(min_size=1, max_size=12))
def test_kafka_python_parses_a_batch_whose_header_key_is_any_bytes(raw: bytes) -> None:
    assert tolerate_undecodable_header_keys()
    key = _RawKey("k")
    key.raw = raw
    builder = DefaultRecordBatchBuilder(
        magic=2,
        compression_type=0,
        is_transactional=False,
        producer_id=-1,
        producer_epoch=-1,
        base_sequence=-1,
        batch_size=1 << 20,
    )
    builder.append(0, timestamp=5, key=b"k", value=b"v", headers=[(key, b"h")])
    builder.append(1, timestamp=6, key=b"k", value=b"w", headers=[])

    parsed = list(DefaultRecordBatch(bytes(builder.build())))

    assert [(r.offset, r.value) for r in parsed] == [(0, b"v"), (1, b"w")]
    assert parsed[0].headers == [(raw.decode("utf-8", "replace"), b"h")]


READ_AT = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("ms", "expected"),
    [
        (0, datetime(1970, 1, 1, tzinfo=UTC)),
        (MAX_TIMESTAMP_MS, datetime(9999, 12, 31, 23, 59, 59, 999_000, tzinfo=UTC)),
        (-1, READ_AT),
        (MAX_TIMESTAMP_MS + 1, READ_AT),
        (1_796_160_872_845_961, READ_AT),
        (-(2**63), READ_AT),
    ],
)
def test_a_record_timestamp_a_datetime_cannot_hold_falls_back_to_the_time_it_was_read(
    ms: int, expected: datetime
) -> None:
    assert record_time(ms, READ_AT, ("t", 0, 1)) == expected


def test_the_fallback_from_a_bad_record_timestamp_says_which_record_and_value(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, "inventory_sync.kafka"):
        record_time(1_796_160_872_845_961, READ_AT, ("t", 3, 42))
        record_time(-1, READ_AT, ("t", 3, 43))

    assert [r.getMessage() for r in caplog.records] == [
        "t[3]@42 has a record timestamp of 1796160872845961 ms, outside years 1970 to 9999 "
        "(microseconds?); using the time it was read, 2026-06-01T00:00:00+00:00"
    ]


# -- the service: calendar edges and the bound on the future ---------------------------------

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def service(skew: timedelta = timedelta(minutes=5)) -> tuple[InventoryService, InMemoryRepository]:
    repository = InMemoryRepository([Product("SKU-1", "SKU-1", 10)])
    uow = InMemoryUnitOfWork(repository)
    return InventoryService(uow, max_future_skew=skew, clock=lambda: NOW), repository


def record(value: bytes, offset: int = 0, timestamp: datetime = NOW) -> Record:
    return Record(b"SKU-1", value, "t", 0, offset, timestamp)


@pytest.mark.parametrize("occurred_at", ["0001-01-01T00:30:00+01:00", "9999-12-31T23:30:00-05:00"])
def test_an_occurred_at_outside_the_calendar_once_in_utc_is_an_invalid_payload(
    occurred_at: str,
) -> None:
    svc, repository = service()
    value = b'{"product_code": "SKU-1", "inventory_count": 1, "occurred_at": "%s"}' % (
        occurred_at.encode()
    )

    [outcome] = svc.apply_batch([record(value)]).outcomes

    assert outcome.rejection is not None
    assert outcome.rejection.reason == "invalid_payload"
    assert outcome.rejection.error.startswith("occurred_at: ")
    assert "outside years 1 to 9999 once converted to UTC" in outcome.rejection.error
    assert repository.products["SKU-1"].inventory_count == 10


def test_an_event_beyond_the_future_skew_is_rejected_and_does_not_freeze_the_product() -> None:
    svc, repository = service()
    future = svc.apply_batch([record(event("SKU-1", 1, NOW + timedelta(minutes=6)))])
    later = svc.apply_batch([record(event("SKU-1", 2, NOW - timedelta(seconds=1)), offset=1)])

    [rejected] = future.outcomes
    assert rejected.rejection is not None
    assert rejected.rejection.reason == "from_the_future"
    assert rejected.rejection.error.startswith("occurred_at 2026-06-01T12:06:00+00:00 is 360 s")
    assert future.summary.by_reason == {"from_the_future": 1}
    assert [o.outcome for o in later.outcomes] == [Outcome.APPLIED]
    assert repository.products["SKU-1"].inventory_count == 2


def test_an_event_within_the_future_skew_is_applied() -> None:
    svc, repository = service()

    report = svc.apply_batch([record(event("SKU-1", 1, NOW + timedelta(minutes=5)))])

    assert [o.outcome for o in report.outcomes] == [Outcome.APPLIED]
    assert repository.products["SKU-1"].inventory_count == 1


def test_a_record_timestamp_beyond_the_skew_is_from_the_future_when_occurred_at_is_absent() -> None:
    svc, _ = service(skew=timedelta(0))

    [outcome] = svc.apply_batch(
        [record(event("SKU-1", 1), timestamp=datetime(9000, 1, 1, tzinfo=UTC))]
    ).outcomes

    assert outcome.rejection is not None
    assert outcome.rejection.reason == "from_the_future"
    assert outcome.rejection.error.startswith("the record timestamp 9000-01-01")


def test_a_rejected_future_event_does_not_supersede_the_valid_one_before_it() -> None:
    svc, repository = service()

    report = svc.apply_batch(
        [
            record(event("SKU-1", 3, NOW - timedelta(minutes=1)), offset=0),
            record(event("SKU-1", 4, datetime(9999, 1, 1, tzinfo=UTC)), offset=1),
        ]
    )

    assert [o.outcome for o in report.outcomes] == [Outcome.APPLIED, Outcome.REJECTED]
    assert repository.products["SKU-1"].inventory_count == 3


@pytest.mark.parametrize(
    "occurred_at", ["1700000000", "2026-01-01T00:00:00", "2026-01-01", "yesterday"]
)
def test_an_occurred_at_that_is_not_rfc_3339_with_an_offset_is_an_invalid_payload(
    occurred_at: str,
) -> None:
    svc, _ = service()
    value = b'{"product_code": "SKU-1", "inventory_count": 1, "occurred_at": "%s"}' % (
        occurred_at.encode()
    )

    [outcome] = svc.apply_batch([record(value)]).outcomes

    assert outcome.rejection is not None
    assert outcome.rejection.reason == "invalid_payload"
    assert outcome.rejection.error.startswith("occurred_at: ")
