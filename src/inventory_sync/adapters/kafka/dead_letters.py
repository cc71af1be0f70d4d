"""KafkaDeadLetterSink: the DeadLetterSink port over a kafka-python producer.

A dead letter is the original record, its key, value and headers as they came, sent to
`dlq_topic` with the inventory_sync.* headers of dead_letter_headers.py added.

kafka-python cannot send a record whose key and value are both null, so the dead letter of a
keyless tombstone gets an empty key. Delivery is at least once: when a publish fails the run
loop retries it whole, and the producer may still deliver what it held, so a letter may arrive
twice; its original topic, partition and offset identify it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaError

from inventory_sync.adapters.kafka.client_config import client_config
from inventory_sync.adapters.kafka.dead_letter_headers import dead_letter_headers
from inventory_sync.domain.errors import TransientError
from inventory_sync.domain.ports import DeadLetter
from inventory_sync.settings import Settings

log = logging.getLogger("inventory_sync.kafka")

# Bounded, so that a broker that is away fails a publish within seconds (and the run loop
# backs off and retries) instead of blocking for kafka-python's two-minute default.
PRODUCER_TIMEOUTS: dict[str, Any] = {
    "bootstrap_timeout_ms": 10_000,
    "max_block_ms": 10_000,
    "request_timeout_ms": 10_000,
    "delivery_timeout_ms": 20_000,
}


def acknowledged_producer(settings: Settings, overrides: Mapping[str, Any] | None) -> Any:
    """A producer that waits for every in-sync replica (acks=all) and batches briefly."""
    return KafkaProducer(
        **client_config(settings),
        acks="all",
        linger_ms=5,
        **{**PRODUCER_TIMEOUTS, **(overrides or {})},
    )


def _sendable_key(key: bytes | None, value: bytes | None) -> bytes | None:
    """kafka-python refuses a record with neither key nor value: give such a one an empty key."""
    return b"" if key is None and value is None else key


class KafkaDeadLetterSink:
    """Sends dead letters to `dlq_topic`: send() hands them to the producer, the delivery it
    returns waits for the broker's acknowledgements (publish() does both).

    The producer is created on first send; `overrides` are extra KafkaProducer arguments.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        topic: str | None = None,
        overrides: Mapping[str, Any] | None = None,
    ) -> None:
        self.settings = settings
        self.topic = topic or settings.dlq_topic
        self.overrides = dict(overrides or {})
        self._producer: Any = None
        delivery_timeout_ms = {**PRODUCER_TIMEOUTS, **self.overrides}["delivery_timeout_ms"]
        self._flush_timeout_s = delivery_timeout_ms / 1000 + 5

    def send(self, letters: Sequence[DeadLetter]) -> KafkaDelivery:
        """Hand the letters to the producer; the returned delivery waits for the acks."""
        futures: list[Any] = []
        if letters:
            try:
                if self._producer is None:
                    self._producer = acknowledged_producer(self.settings, self.overrides)
                futures = [
                    self._producer.send(
                        self.topic,
                        key=_sendable_key(letter.record.key, letter.record.value),
                        value=letter.record.value,
                        headers=dead_letter_headers(letter),
                    )
                    for letter in letters
                ]
            except KafkaError as exc:
                return KafkaDelivery(self, [], failure=exc, count=len(letters))
        return KafkaDelivery(self, futures)

    def publish(self, letters: Sequence[DeadLetter]) -> None:
        """Send and wait: every letter acknowledged, or TransientError."""
        self.send(letters).wait()

    def close(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            try:
                producer.close(timeout=self._flush_timeout_s)
            except KafkaError as exc:
                log.warning("closing the dead-letter producer: %s", exc)


class KafkaDelivery:
    """The acknowledgements of one send(): wait() flushes and checks every future."""

    def __init__(
        self,
        sink: KafkaDeadLetterSink,
        futures: list[Any],
        *,
        failure: KafkaError | None = None,
        count: int = 0,
    ) -> None:
        self.sink = sink
        self.futures = futures
        self.failure = failure
        self.count = count or len(futures)

    def wait(self) -> None:
        if not self.count:
            return
        try:
            if self.failure is not None:
                raise self.failure
            if self.sink._producer is not None:
                self.sink._producer.flush(timeout=self.sink._flush_timeout_s)
            for future in self.futures:
                future.get(timeout=0)
        except KafkaError as exc:
            raise TransientError(
                f"publishing {self.count} dead letter(s) to {self.sink.topic} failed: {exc}"
            ) from exc
        log.debug("published %d dead letter(s) to %s", self.count, self.sink.topic)
