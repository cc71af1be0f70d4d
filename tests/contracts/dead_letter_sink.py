"""The DeadLetterSink contract: every implementation keeps these promises.

Subclasses provide `harness`, a SinkHarness around a new sink of the implementation under
test (a dead-letter topic or file of its own): the in-memory fake and the JSON-lines writer
with the unit tests, the kafka-python and confluent sinks with the integration tests. The
harness closes the sink after the test. Sinks whose deliveries can be made to fail (the fake)
also pass TransientFaultContract.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import pytest

from inventory_sync.domain.errors import TransientError
from inventory_sync.domain.model import Record
from inventory_sync.domain.ports import DeadLetter, DeadLetterSink
from inventory_sync.domain.rejections import Rejection, RejectionReason

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Seen:
    """A dead letter as its reader sees it: why, and where the original record came from.

    `topic` and `partition` are None where the implementation does not keep them (a file
    of rejects names the line only).
    """

    reason: str
    error: str
    topic: str | None
    partition: int | None
    offset: int
    value: bytes | None


class SinkHarness(Protocol):
    @property
    def sink(self) -> DeadLetterSink: ...

    @property
    def topic(self) -> str:
        """The topic the letters' original records come from."""
        ...

    @property
    def keeps_topic_and_partition(self) -> bool: ...

    def visible(self) -> list[Seen]:
        """Every letter the sink has made visible to its readers so far."""
        ...


class FailingSinkHarness(SinkHarness, Protocol):
    def fail_next_waits(self, count: int) -> None:
        """Make the next `count` waits for a delivery fail as a transient fault would."""
        ...


def letters(topic: str) -> list[DeadLetter]:
    """Three rejected records: from two partitions, one of them a keyless tombstone."""
    return [
        DeadLetter(
            Record(b"SKU-1", b'{"product_code": "SKU-1", "inventory_count": -1}', topic, 0, 41, T0),
            Rejection(RejectionReason.INVALID_PAYLOAD, "inventory_count: >= 0"),
        ),
        DeadLetter(
            Record(None, None, topic, 1, 7, T0),
            Rejection(RejectionReason.MALFORMED_JSON, "value is null (a tombstone)"),
        ),
        DeadLetter(
            Record(b"NOPE", b'{"product_code": "NOPE", "inventory_count": 1}', topic, 1, 8, T0),
            Rejection(RejectionReason.UNKNOWN_PRODUCT, "no product with code 'NOPE'"),
        ),
    ]


def seen(harness: SinkHarness, sent: Sequence[DeadLetter]) -> list[Seen]:
    """What the harness must show for these letters, in offset order."""
    keeps = harness.keeps_topic_and_partition
    expected = [
        Seen(
            letter.reason,
            letter.error,
            letter.record.topic if keeps else None,
            letter.record.partition if keeps else None,
            letter.record.offset,
            letter.record.value,
        )
        for letter in sent
    ]
    return by_offset(expected)


def by_offset(letters: list[Seen]) -> list[Seen]:
    return sorted(letters, key=lambda letter: (letter.offset, letter.reason))


class DeadLetterSinkContract:
    """The tests every DeadLetterSink passes."""

    @pytest.fixture
    def harness(self) -> SinkHarness:
        """A harness around a new sink of the implementation under test."""
        raise NotImplementedError("a subclass provides the sink under test")

    def test_a_waited_send_makes_every_letter_visible_once_with_its_reason_and_origin(
        self, harness: SinkHarness
    ) -> None:
        sent = letters(harness.topic)

        harness.sink.send(sent).wait()

        assert by_offset(harness.visible()) == seen(harness, sent)

    def test_letters_of_several_sends_are_all_visible_once_each_is_waited_for(
        self, harness: SinkHarness
    ) -> None:
        first, second, third = letters(harness.topic)

        deliveries = [harness.sink.send([first, second]), harness.sink.send([third])]
        for delivery in deliveries:
            delivery.wait()

        assert by_offset(harness.visible()) == seen(harness, [first, second, third])

    def test_waiting_for_an_empty_send_does_nothing(self, harness: SinkHarness) -> None:
        harness.sink.send([]).wait()

        assert harness.visible() == []

    def test_close_can_be_called_again(self, harness: SinkHarness) -> None:
        harness.sink.send(letters(harness.topic)[:1]).wait()

        harness.sink.close()
        harness.sink.close()  # and the harness closes it once more after the test


class TransientFaultContract:
    """For sinks whose deliveries a test can make fail: what the run loop's retry relies on."""

    @pytest.fixture
    def harness(self) -> FailingSinkHarness:
        raise NotImplementedError("a subclass provides the sink under test")

    def test_letters_whose_wait_failed_are_delivered_when_sent_again(
        self, harness: FailingSinkHarness
    ) -> None:
        sent = letters(harness.topic)
        harness.fail_next_waits(1)

        with pytest.raises(TransientError):
            harness.sink.send(sent).wait()
        harness.sink.send(sent).wait()

        assert by_offset(harness.visible()) == seen(harness, sent)

    def test_waiting_for_an_empty_send_succeeds_even_while_deliveries_fail(
        self, harness: FailingSinkHarness
    ) -> None:
        harness.fail_next_waits(1)

        harness.sink.send([]).wait()  # nothing to acknowledge, so nothing to wait for

        assert harness.visible() == []
