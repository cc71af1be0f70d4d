"""ConfluentDeadLetterSink: the DeadLetterSink port over a confluent-kafka (librdkafka) producer.

Dead letters look exactly as the kafka-python sink's (fitted_dead_letter() builds them for
both, cut to fit the topic's size limit). Unlike kafka-python, librdkafka can send a record
with neither key nor value, so even a keyless tombstone keeps its null key. Delivery is at
least once, as there; a publish the broker refuses for good raises PermanentFault, any other
failure TransientError.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer
from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AdminClient,
    ConfigResource,
    ResourceType,
)

from inventory_sync.adapters.kafka import Overrides
from inventory_sync.adapters.kafka.confluent.config import (
    client_logging,
    confluent_config,
    log_client_error,
)
from inventory_sync.adapters.kafka.confluent.faults import refusal_of
from inventory_sync.adapters.kafka.dead_letter_headers import (
    LetterLimit,
    OutgoingLetter,
    is_final_refusal,
)
from inventory_sync.domain.errors import PermanentFault, TransientError
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
PRODUCER_MESSAGE_MAX_BYTES = 1_000_000  # librdkafka's default message.max.bytes and batch.size
CLOSE_TIMEOUT_S = 5.0
"""How long close() waits for letters still on their way: their batch's offsets are not
committed, so what is left is sent again after a restart."""
# The broker answered a size-limit lookup, just not with a limit: fall back to its default.
_NO_LIMIT_GIVEN = frozenset(
    {
        KafkaError.UNKNOWN_TOPIC_OR_PART,
        KafkaError.TOPIC_EXCEPTION,
        KafkaError.TOPIC_AUTHORIZATION_FAILED,
        KafkaError.CLUSTER_AUTHORIZATION_FAILED,
    }
)


class ConfluentDeadLetterSink:
    """Dead letters to `dlq_topic` through a librdkafka producer, made on the first send."""

    def __init__(
        self, settings: Settings, *, topic: str | None = None, overrides: Overrides = None
    ) -> None:
        self.topic = topic or settings.dlq_topic
        self._settings = settings
        self._refused: tuple[PermanentFault, KafkaError] | None = None
        self._client_config = {**confluent_config(settings), **client_logging()}
        self._config: dict[str, Any] = {
            **self._client_config,
            "error_cb": self._on_client_error,
            **PRODUCER_TUNING,
            **(overrides or {}),
        }
        message_timeout_s = int(self._config["message.timeout.ms"]) / 1000
        self._flush_timeout_s = message_timeout_s + 5
        self._lookup_timeout_s = min(message_timeout_s, 10.0)
        self._producer: Producer | None = None
        self._fatal: KafkaError | None = None
        self.limit = LetterLimit(
            self.topic,
            int(self._config.get("message.max.bytes", PRODUCER_MESSAGE_MAX_BYTES)),
            self._topic_limit,
            (KafkaException, FutureTimeout),
        )

    def send(self, letters: Sequence[DeadLetter]) -> ConfluentDelivery:
        """Queue the letters in the producer; the returned delivery waits for the reports.

        Raises PermanentFault when a letter cannot fit the topic even cut.
        """
        if self._refused is not None:
            refused, error = self._refused
            raise refused from KafkaException(error)
        if not letters:
            return ConfluentDelivery(None, 0, self.topic, self._flush_timeout_s, self._take_fatal)
        outgoing = self.limit.fitted(letters)
        if self._producer is None:
            batch_size = min(PRODUCER_MESSAGE_MAX_BYTES, self.limit())
            self._producer = Producer({"batch.size": batch_size, **self._config})
        delivery = ConfluentDelivery(
            self._producer, len(letters), self.topic, self._flush_timeout_s, self._take_fatal
        )
        try:
            for letter in outgoing:
                _produce(self._producer, self.topic, letter, delivery.delivered)
        except KafkaException as exc:  # refused before sending, e.g. a letter that is too large
            delivery.failures.append(exc.args[0])
        return delivery

    def _topic_limit(self) -> int | None:
        """The topic's max.message.bytes; None when the broker gives none (no such topic)."""
        admin = AdminClient(self._client_config)
        resource = ConfigResource(ResourceType.TOPIC, self.topic)
        timeout = self._lookup_timeout_s
        try:
            futures = admin.describe_configs([resource], request_timeout=timeout)
            configs = futures[resource].result(timeout=timeout)
        except KafkaException as exc:
            error = exc.args[0] if exc.args else None
            if isinstance(error, KafkaError) and error.code() in _NO_LIMIT_GIVEN:
                return None
            raise
        entry = configs.get("max.message.bytes")
        try:
            return int(entry.value) if entry is not None and entry.value else None
        except ValueError:
            return None

    def close(self) -> None:
        """Wait a little for letters still on their way, then drop them."""
        producer, self._producer = self._producer, None
        if producer is not None:
            left = producer.flush(CLOSE_TIMEOUT_S)
            if left:
                log.warning("closing the dead-letter producer: %d letter(s) not sent", left)
                producer.purge()
                producer.poll(0)

    def _take_fatal(self, failed: bool = False) -> KafkaError | None:
        """The fatal error the producer met, if any: it ends that producer, so it is dropped
        and the next send makes a new one. So is a producer whose delivery `failed`: after a
        broker restart librdkafka's producer can keep a stale leader for a partition and time
        every letter out for it, where a new one asks for fresh metadata at once."""
        fatal, self._fatal = self._fatal, None
        if fatal is not None or failed:
            producer, self._producer = self._producer, None
            if producer is not None:
                producer.purge()
                producer.poll(0)
        return fatal

    def _on_client_error(self, error: KafkaError) -> None:
        if error.fatal():
            self._fatal = error
        refused = refusal_of(error, self._settings)
        if refused is not None:
            self._refused = (refused, error)
        log_client_error(error)


def _produce(
    producer: Producer, topic: str, letter: OutgoingLetter, delivered: Callable[..., None]
) -> None:
    headers: list[tuple[str, str | bytes | None]] = list(letter.headers)
    while True:
        try:
            producer.produce(
                topic, value=letter.value, key=letter.key, headers=headers, on_delivery=delivered
            )
            return
        except BufferError:  # the local queue is full: let deliveries drain it
            producer.poll(0.1)


@dataclass
class ConfluentDelivery:
    """The delivery reports of one send(): wait() flushes and checks that all came back."""

    producer: Producer | None
    count: int
    topic: str
    flush_timeout_s: float
    take_fatal: Callable[[bool], KafkaError | None]
    """The producer's fatal error, if it met one (the sink then drops that producer)."""
    acknowledged: int = field(default=0, init=False)
    failures: list[KafkaError] = field(default_factory=list, init=False)

    def delivered(self, error: KafkaError | None, _message: Message) -> None:
        if error is None:
            self.acknowledged += 1
        else:
            self.failures.append(error)

    def wait(self) -> None:
        if not self.count:
            return
        producer = self.producer
        left = 0
        if producer is not None:
            producer.poll(0)  # the reports already in: usually all of them (no flush then)
            if self.acknowledged + len(self.failures) < self.count:
                left = producer.flush(self.flush_timeout_s)
            if left or self.failures:
                producer.purge()  # so that a retry does not send these a second time
                producer.poll(0)
        fatal = self.take_fatal(self.acknowledged < self.count)
        if fatal is not None:
            self.failures.append(fatal)
        if self.acknowledged < self.count:
            doing = f"publishing {self.count} dead letter(s) to {self.topic}"
            final = next((error for error in self.failures if _is_final(error)), None)
            if final is not None:
                raise PermanentFault(
                    f"{doing} failed, and retrying cannot help: {final.name()}: {final.str()}"
                )
            reason = self.failures[0].str() if self.failures else f"{left} not acknowledged in time"
            raise TransientError(
                f"{doing} failed: {self.count - self.acknowledged} not acknowledged: {reason}"
            )
        log.debug("published %d dead letter(s) to %s", self.count, self.topic)


def _is_final(error: KafkaError) -> bool:
    """A refusal that no retry can clear (a too-large record, an invalid topic, no access)."""
    return is_final_refusal(error.code()) and not error.retriable()
