"""ConfluentDeadLetterSink: the DeadLetterSink port over a confluent-kafka (librdkafka) producer.

Dead letters look exactly as the kafka-python sink's (dead_letter_headers() builds the
headers for both). Unlike kafka-python, librdkafka can send a record with neither key nor
value, so even a keyless tombstone keeps its null key. Delivery is at least once, as there.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from inventory_sync.adapters.kafka.confluent_config import (
    client_logging,
    confluent_config,
    log_client_error,
)
from inventory_sync.adapters.kafka.dead_letter_headers import dead_letter_headers
from inventory_sync.domain.errors import TransientError
from inventory_sync.domain.ports import DeadLetter
from inventory_sync.settings import Settings

log = logging.getLogger("inventory_sync.kafka")

# acks=all and idempotence, as kafka-python's producer; murmur2 is the partitioner of the Java
# client and kafka-python, so a key's dead letters land in the same partition with either
# client. Bounded like the kafka-python sink: a broker that is away fails a publish within
# seconds (the run loop backs off and retries) instead of librdkafka's five minutes.
PRODUCER_TUNING: dict[str, Any] = {
    "acks": "all",
    "enable.idempotence": True,
    "linger.ms": 5,
    "partitioner": "murmur2_random",
    "socket.timeout.ms": 10_000,
    "message.timeout.ms": 20_000,
}


class ConfluentDeadLetterSink:
    """Sends dead letters to `dlq_topic`: send() hands them to the producer, the delivery it
    returns waits for the broker's acknowledgements (publish() does both).

    The producer is created on first send; `overrides` are extra librdkafka properties.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        topic: str | None = None,
        overrides: Mapping[str, Any] | None = None,
    ) -> None:
        self.topic = topic or settings.dlq_topic
        self._config: dict[str, Any] = {
            **confluent_config(settings),
            **client_logging(),
            "error_cb": self._on_client_error,
            **PRODUCER_TUNING,
            **(overrides or {}),
        }
        self._flush_timeout_s = int(self._config["message.timeout.ms"]) / 1000 + 5
        self._producer: Producer | None = None
        self._fatal: KafkaError | None = None

    def send(self, letters: Sequence[DeadLetter]) -> ConfluentDelivery:
        """Queue the letters in the producer; the returned delivery waits for the reports."""
        delivery = ConfluentDelivery(self, len(letters))
        if not letters:
            return delivery
        if self._producer is None:
            self._producer = Producer(self._config)
        try:
            for letter in letters:
                _produce(self._producer, self.topic, letter, delivery.delivered)
        except KafkaException as exc:  # refused before sending, e.g. a letter that is too large
            delivery.failures.append(exc.args[0])
        return delivery

    def publish(self, letters: Sequence[DeadLetter]) -> None:
        """Send and wait: every letter acknowledged, or TransientError."""
        self.send(letters).wait()

    def close(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            left = producer.flush(self._flush_timeout_s)
            if left:
                log.warning("closing the dead-letter producer: %d letter(s) not sent", left)

    def _drop_producer(self) -> None:
        """A fatal error ends a producer; the next publish makes a new one."""
        self._fatal = None
        producer, self._producer = self._producer, None
        if producer is not None:
            producer.purge()
            producer.poll(0)

    def _on_client_error(self, error: KafkaError) -> None:
        if error.fatal():
            self._fatal = error
        log_client_error(error)


def _produce(
    producer: Producer, topic: str, letter: DeadLetter, delivered: Callable[..., None]
) -> None:
    record = letter.record
    headers: list[tuple[str, str | bytes | None]] = list(dead_letter_headers(letter))
    while True:
        try:
            producer.produce(
                topic, value=record.value, key=record.key, headers=headers, on_delivery=delivered
            )
            return
        except BufferError:  # the local queue is full: let deliveries drain it
            producer.poll(0.1)


class ConfluentDelivery:
    """The delivery reports of one send(): wait() flushes and checks that all came back."""

    def __init__(self, sink: ConfluentDeadLetterSink, count: int) -> None:
        self.sink = sink
        self.count = count
        self.acknowledged = 0
        self.failures: list[KafkaError] = []

    def delivered(self, error: KafkaError | None, _message: Message) -> None:
        if error is None:
            self.acknowledged += 1
        else:
            self.failures.append(error)

    def wait(self) -> None:
        if not self.count:
            return
        sink, producer = self.sink, self.sink._producer
        left = 0
        if producer is not None:
            left = producer.flush(sink._flush_timeout_s)
            if left or self.failures:
                producer.purge()  # so that a retry does not send these a second time
                producer.poll(0)
        if sink._fatal is not None:
            self.failures.append(sink._fatal)
            sink._drop_producer()
        if self.acknowledged < self.count:
            reason = self.failures[0].str() if self.failures else f"{left} not acknowledged in time"
            raise TransientError(
                f"publishing {self.count} dead letter(s) to {sink.topic} failed: "
                f"{self.count - self.acknowledged} not acknowledged: {reason}"
            )
        log.debug("published %d dead letter(s) to %s", self.count, sink.topic)
