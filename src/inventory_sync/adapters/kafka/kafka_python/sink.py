"""KafkaDeadLetterSink: the DeadLetterSink port over a kafka-python producer.

A dead letter is the original record, its key, value and headers as they came, sent to
`dlq_topic` with the inventory_sync.* headers of dead_letter_headers.py added, and cut to fit
the topic's size limit when it would not (fitted_dead_letter).

kafka-python cannot send a record whose key and value are both null, so the dead letter of a
keyless tombstone gets an empty key. Delivery is at least once: when a publish fails the run
loop retries it whole, and the producer may still deliver what it held, so a letter may arrive
twice; its original topic, partition and offset identify it.

A publish that failed for a reason that can clear (the broker away) raises TransientError and
the producer is replaced, since kafka-python's can stay wedged after a broker restart; one
the broker refuses for good (too large, invalid topic, not authorised) raises PermanentFault.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaError

from inventory_sync.adapters.kafka import Overrides
from inventory_sync.adapters.kafka.dead_letter_headers import LetterLimit, is_final_refusal
from inventory_sync.adapters.kafka.kafka_python.admin import topic_message_limit
from inventory_sync.adapters.kafka.kafka_python.config import client_config
from inventory_sync.adapters.kafka.kafka_python.faults import is_transient, refusal_behind
from inventory_sync.domain.errors import PermanentFault, TransientError
from inventory_sync.domain.ports import DeadLetter
from inventory_sync.settings import Settings

log = logging.getLogger("inventory_sync.kafka")

# Bounded, so that a broker that is away fails a publish within seconds (and the run loop
# backs off and retries) instead of blocking for kafka-python's two-minute default.
PRODUCER_TIMEOUTS: dict[str, Any] = {
    "bootstrap_timeout_ms": 10_000,
    "max_block_ms": 10_000,
    "reconnect_backoff_max_ms": 1_000,  # as the source: back within seconds of a broker restart
    "request_timeout_ms": 10_000,
    "delivery_timeout_ms": 20_000,
}
PRODUCER_MAX_REQUEST_SIZE = 1_048_576  # kafka-python's default max_request_size
PRODUCER_BATCH_SIZE = 16_384  # kafka-python's default batch_size
CLOSE_TIMEOUT_S = 5.0
"""How long close() waits for letters still on their way: their batch's offsets are not
committed, so what is left is sent again after a restart."""


def acknowledged_producer(settings: Settings, overrides: Mapping[str, Any] | None) -> Any:
    """A producer that waits for every in-sync replica (acks=all) and batches briefly."""
    return KafkaProducer(
        **client_config(settings),
        acks="all",
        linger_ms=5,
        **{**PRODUCER_TIMEOUTS, **(overrides or {})},
    )


def close_producer(producer: Any, timeout_s: float) -> None:
    """Close a producer within about `timeout_s`, dropping what it could not send by then.

    kafka-python's close() flushes first and, when that times out, raises before stopping
    its IO thread: the producer (a wedged one, say) would live on. Here its IO thread is then
    stopped forcibly, which fails the letters it held.
    """
    try:
        producer.close(timeout=timeout_s)
        return
    except KafkaError as exc:
        log.warning("the dead-letter producer did not finish in %.0f s: %s", timeout_s, exc)
    sender = getattr(producer, "_sender", None)
    if sender is not None:
        sender.force_close()
        sender.join(1.0)
    try:
        producer.close(timeout=0)
    except KafkaError as exc:
        log.debug("closing the dropped dead-letter producer: %s", exc)


def _sendable_key(key: bytes | None, value: bytes | None) -> bytes | None:
    """kafka-python refuses a record with neither key nor value: give such a one an empty key."""
    return b"" if key is None and value is None else key


class KafkaDeadLetterSink:
    """Dead letters to `dlq_topic` through a kafka-python producer, made on the first send."""

    def __init__(
        self, settings: Settings, *, topic: str | None = None, overrides: Overrides = None
    ) -> None:
        self.settings = settings
        self.topic = topic or settings.dlq_topic
        self.overrides = dict(overrides or {})
        self._producer: Any = None
        timeouts = {**PRODUCER_TIMEOUTS, **self.overrides}
        self._flush_timeout_s = timeouts["delivery_timeout_ms"] / 1000 + 5
        lookup_timeout_ms = int(timeouts["bootstrap_timeout_ms"])
        self.limit = LetterLimit(
            self.topic,
            int(self.overrides.get("max_request_size", PRODUCER_MAX_REQUEST_SIZE)),
            lambda: topic_message_limit(settings, self.topic, lookup_timeout_ms),
            (TransientError, KafkaError),
        )

    def send(self, letters: Sequence[DeadLetter]) -> KafkaDelivery:
        """Hand the letters to the producer; the returned delivery waits for the acks.

        Raises PermanentFault when a letter cannot fit the topic even cut, or the topic's
        name is not one Kafka allows.
        """
        if not letters:
            return self._delivery(None, [])
        outgoing = self.limit.fitted(letters)
        producer = None
        try:
            producer = self._connected(self.limit())
            futures = [
                producer.send(
                    self.topic,
                    key=_sendable_key(letter.key, letter.value),
                    value=letter.value,
                    headers=letter.headers,
                )
                for letter in outgoing
            ]
        except KafkaError as exc:
            refused = refusal_behind(exc, self.settings)
            if refused is not None:
                raise refused from exc
            return self._delivery(producer, [], failure=exc, count=len(letters))
        except ValueError as exc:  # kafka-python checks the topic's name before sending
            raise PermanentFault(f"cannot publish dead letters to {self.topic!r}: {exc}") from exc
        return self._delivery(producer, futures)

    def _delivery(self, producer: Any, futures: list[Any], **failed: Any) -> KafkaDelivery:
        return KafkaDelivery(
            producer,
            futures,
            topic=self.topic,
            flush_timeout_s=self._flush_timeout_s,
            on_failure=self._replace,
            **failed,
        )

    def close(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            close_producer(producer, CLOSE_TIMEOUT_S)

    def _connected(self, limit: int) -> Any:
        """The producer, created on first use; batches no larger than the letters' limit."""
        if self._producer is None:
            batch_size = min(PRODUCER_BATCH_SIZE, limit)
            overrides = {"batch_size": batch_size, **self.overrides}
            self._producer = acknowledged_producer(self.settings, overrides)
        return self._producer

    def _replace(self, producer: Any) -> None:
        """Drop a producer whose publish failed: the next send creates a fresh one."""
        if producer is None:
            return
        if self._producer is producer:
            self._producer = None
        close_producer(producer, 0)


@dataclass
class KafkaDelivery:
    """The acknowledgements of one send(): wait() flushes and checks every future."""

    producer: Any
    futures: list[Any]
    topic: str
    flush_timeout_s: float
    on_failure: Callable[[Any], None]
    """Called with the producer after a transient failure (the sink replaces it)."""
    failure: KafkaError | None = None
    count: int = 0

    def __post_init__(self) -> None:
        self.count = self.count or len(self.futures)

    def wait(self) -> None:
        if not self.count:
            return
        try:
            if self.failure is not None:
                raise self.failure
            self.producer.flush(timeout=self.flush_timeout_s)
            for future in self.futures:
                future.get(timeout=0)
        except KafkaError as exc:
            doing = f"publishing {self.count} dead letter(s) to {self.topic}"
            if _is_final(exc):
                raise PermanentFault(f"{doing} failed, and retrying cannot help: {exc}") from exc
            self.on_failure(self.producer)
            raise TransientError(f"{doing} failed: {exc}") from exc
        log.debug("published %d dead letter(s) to %s", self.count, self.topic)


def _is_final(exc: KafkaError) -> bool:
    """A refusal that no retry can clear (a too-large record, an invalid topic, no access)."""
    code = getattr(exc, "errno", None)
    return isinstance(code, int) and is_final_refusal(code) and not is_transient(exc)
