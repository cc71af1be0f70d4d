"""The dead letter as it is sent, the same for every Kafka client: its headers, how it is cut
to fit the dead-letter topic, and which broker refusals of it are final.

Headers (values UTF-8):

    inventory_sync.reason              a rejection reason, e.g. b"invalid_payload"
    inventory_sync.error               what was wrong, in words (at most 1,000 characters)
    inventory_sync.original_topic      where the record came from ...
    inventory_sync.original_partition  ... as a decimal number, e.g. b"0"
    inventory_sync.original_offset     ... as a decimal number, e.g. b"1234"
    inventory_sync.original_timestamp  the record's timestamp, ISO-8601 in UTC with
                                       milliseconds, e.g. b"2025-05-01T12:00:00.123+00:00"

The original record's own headers come first, as they were. A letter that would not fit the
dead-letter topic's size limit is cut (fitted_dead_letter) and then also carries:

    inventory_sync.truncated              what was cut, in order, of b"value,headers,key":
                                          e.g. b"value", b"headers" or b"value,headers"
                                          (value and key: cut short; headers: the original
                                          ones, all dropped)
    inventory_sync.original_value_size    the original value's length in bytes, e.g. b"1048000"
    inventory_sync.original_value_sha256  the hex SHA-256 digest of the original value
                                          (these two only when the value was cut)

The six headers above are always there, so a cut letter still says why and where from.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC

from inventory_sync.domain.errors import PermanentFault
from inventory_sync.domain.ports import DeadLetter

log = logging.getLogger("inventory_sync.kafka")

HEADER_PREFIX = "inventory_sync."
REASON = HEADER_PREFIX + "reason"
ERROR = HEADER_PREFIX + "error"
ORIGINAL_TOPIC = HEADER_PREFIX + "original_topic"
ORIGINAL_PARTITION = HEADER_PREFIX + "original_partition"
ORIGINAL_OFFSET = HEADER_PREFIX + "original_offset"
ORIGINAL_TIMESTAMP = HEADER_PREFIX + "original_timestamp"
TRUNCATED = HEADER_PREFIX + "truncated"
ORIGINAL_VALUE_SIZE = HEADER_PREFIX + "original_value_size"
ORIGINAL_VALUE_SHA256 = HEADER_PREFIX + "original_value_sha256"

MAX_ERROR_CHARS = 1_000
"""An error text longer than this is cut (ending in "…"): it is a diagnosis, not a payload."""

BROKER_DEFAULT_MAX_MESSAGE_BYTES = 1_048_588
"""Kafka's default message.max.bytes: the limit assumed when the broker does not say."""

RECORD_BATCH_OVERHEAD = 128
"""Bytes kept free under the limit for the record batch around a letter: its 61-byte header
and slack. The limit applies to the whole batch; encoded_size() counts the record itself."""

_RECORD_FRAMING = 36  # length, attributes, timestamp and offset deltas, key and value lengths,
_HEADER_FRAMING = 10  # header count (varints at their largest); per header: two lengths

# Broker error codes that no retry of a publish can clear: the record or the request is
# refused as it is (too large, invalid), or this client is not allowed to write (authorisation).
# The codes are Kafka's own, so kafka-python's errno and librdkafka's code() agree on them.
FINAL_REFUSALS = frozenset(
    {
        10,  # MESSAGE_TOO_LARGE
        17,  # INVALID_TOPIC_EXCEPTION
        18,  # RECORD_LIST_TOO_LARGE
        21,  # INVALID_REQUIRED_ACKS
        29,  # TOPIC_AUTHORIZATION_FAILED
        31,  # CLUSTER_AUTHORIZATION_FAILED
        35,  # UNSUPPORTED_VERSION
        43,  # UNSUPPORTED_FOR_MESSAGE_FORMAT
        44,  # POLICY_VIOLATION
        76,  # UNSUPPORTED_COMPRESSION_TYPE
        87,  # INVALID_RECORD (e.g. a keyless record for a compacted topic)
    }
)


@dataclass(frozen=True, slots=True)
class OutgoingLetter:
    """A dead letter as it goes to the dead-letter topic."""

    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]
    truncated: tuple[str, ...] = ()
    """What was cut to make it fit: a subset of ("value", "headers", "key"); () when whole."""


def letter_limit(topic_limit: int | None, producer_limit: int) -> int:
    """The record batch size a dead letter may take: the topic's max.message.bytes (the
    broker's default when unknown) or the producer's own limit, whichever is smaller."""
    return min(topic_limit or BROKER_DEFAULT_MAX_MESSAGE_BYTES, producer_limit)


class LetterLimit:
    """The size a dead letter to `topic` may take, learned from the broker once: while the
    broker cannot be asked (`unknown` errors), its default, asked again next time."""

    def __init__(
        self,
        topic: str,
        producer_limit: int,
        topic_limit: Callable[[], int | None],
        unknown: tuple[type[BaseException], ...],
    ) -> None:
        self.topic = topic
        self.producer_limit = producer_limit
        self.topic_limit = topic_limit
        self.unknown = unknown
        self._learned: int | None = None

    def __call__(self) -> int:
        if self._learned is not None:
            return self._learned
        try:
            topic_limit = self.topic_limit()
        except self.unknown as exc:
            log.warning("the size limit of %s is unknown for now: %s", self.topic, exc)
            return letter_limit(None, self.producer_limit)
        self._learned = letter_limit(topic_limit, self.producer_limit)
        log.debug("dead letters to %s: at most %d bytes each", self.topic, self._learned)
        return self._learned

    def fitted(self, letters: Sequence[DeadLetter]) -> list[OutgoingLetter]:
        """The letters, each cut to fit (fitted_dead_letter)."""
        limit = self()
        return [fitted_dead_letter(letter, limit) for letter in letters]


def dead_letter_headers(letter: DeadLetter) -> list[tuple[str, bytes]]:
    """The original record's headers followed by the six inventory_sync.* ones."""
    return [*_original_headers(letter.record.headers), *_own_headers(letter)]


def fitted_dead_letter(letter: DeadLetter, limit: int) -> OutgoingLetter:
    """The dead letter of `letter`, cut if need be so that it fits a record batch of `limit`
    bytes: first its value (to a prefix), then the original headers (all of them, keeping the
    value whole if it then fits), then its key (with the value emptied); the six
    inventory_sync.* headers always stay. Raises PermanentFault when even those alone do not
    fit."""
    record = letter.record
    key, value = record.key, record.value
    original, own = _original_headers(record.headers), _own_headers(letter)
    room = limit - RECORD_BATCH_OVERHEAD

    def cut_to_fit(cut: list[str], kept: list[tuple[str, bytes]]) -> OutgoingLetter | None:
        headers = [*kept, *own, *_truncation_headers(cut, value)]
        if "value" not in cut:
            fits = encoded_size(key, value, headers) <= room
            return OutgoingLetter(key, value, headers, tuple(cut)) if fits else None
        spare = room - encoded_size(key, b"", headers)
        if spare < 0:
            return None
        return OutgoingLetter(key, value[:spare] if value else value, headers, tuple(cut))

    if fitted := cut_to_fit([], original):
        return fitted
    if value and (fitted := cut_to_fit(["value"], original)):
        return fitted
    if original and (fitted := cut_to_fit(["headers"], [])):
        return fitted
    if value and original and (fitted := cut_to_fit(["value", "headers"], [])):
        return fitted
    cut = [*(["value"] if value else []), *(["headers"] if original else []), "key"]
    emptied = b"" if value else value
    headers = [*own, *_truncation_headers(cut, value)]
    spare = room - encoded_size(b"", emptied, headers)
    if key and spare >= 0:
        return OutgoingLetter(key[:spare], emptied, headers, tuple(cut))
    least = encoded_size(None, None, headers)
    raise PermanentFault(
        f"the dead letter of {record.topic}[{record.partition}]@{record.offset} needs at least "
        f"{least + RECORD_BATCH_OVERHEAD} bytes for its inventory_sync.* headers alone, "
        f"over the dead-letter topic's limit of {limit} bytes"
    )


def encoded_size(
    key: bytes | None, value: bytes | None, headers: Sequence[tuple[str, bytes]]
) -> int:
    """An upper bound of the bytes one record takes in a record batch, framing included."""
    size = _RECORD_FRAMING + len(key or b"") + len(value or b"")
    for name, data in headers:
        size += _HEADER_FRAMING + len(name.encode()) + len(data)
    return size


def is_final_refusal(code: int) -> bool:
    """Whether a broker error code of a publish means that retrying cannot help."""
    return code in FINAL_REFUSALS


def bounded_error(error: str) -> str:
    """The error text, cut to MAX_ERROR_CHARS characters."""
    return error if len(error) <= MAX_ERROR_CHARS else error[: MAX_ERROR_CHARS - 1] + "…"


def _own_headers(letter: DeadLetter) -> list[tuple[str, bytes]]:
    record = letter.record
    stamp = record.timestamp.astimezone(UTC).isoformat(timespec="milliseconds")
    return [
        (REASON, letter.reason.encode()),
        (ERROR, bounded_error(letter.error).encode("utf-8", errors="replace")),
        (ORIGINAL_TOPIC, record.topic.encode("utf-8", errors="replace")),
        (ORIGINAL_PARTITION, str(record.partition).encode()),
        (ORIGINAL_OFFSET, str(record.offset).encode()),
        (ORIGINAL_TIMESTAMP, stamp.encode()),
    ]


def _original_headers(headers: Sequence[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """The record's headers, with any name that is not valid UTF-8 text made so (the producers
    encode names strictly)."""
    return [(_sendable_name(name), value) for name, value in headers]


def _sendable_name(name: str) -> str:
    try:
        name.encode()
    except UnicodeEncodeError:
        return name.encode("utf-8", errors="replace").decode()
    return name


def _truncation_headers(cut: Sequence[str], value: bytes | None) -> list[tuple[str, bytes]]:
    if not cut:
        return []
    headers = [(TRUNCATED, ",".join(cut).encode())]
    if "value" in cut and value:
        headers.append((ORIGINAL_VALUE_SIZE, str(len(value)).encode()))
        headers.append((ORIGINAL_VALUE_SHA256, hashlib.sha256(value).hexdigest().encode()))
    return headers
