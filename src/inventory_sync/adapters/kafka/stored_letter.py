"""A dead letter as read back from the dead-letter topic: its reason, error, origin and
whether it was cut to fit, from the inventory_sync.* headers."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from inventory_sync.adapters.kafka.dead_letter_headers import (
    ERROR,
    HEADER_PREFIX,
    ORIGINAL_OFFSET,
    ORIGINAL_PARTITION,
    ORIGINAL_TIMESTAMP,
    ORIGINAL_TOPIC,
    ORIGINAL_VALUE_SHA256,
    ORIGINAL_VALUE_SIZE,
    REASON,
    TRUNCATED,
)


@dataclass(frozen=True, slots=True)
class StoredLetter:
    """One record of the dead-letter topic: where it is, when it was written (= rejected), and
    the letter it carries."""

    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes | None]]

    @classmethod
    def of(cls, record: Any) -> StoredLetter:
        """From a kafka-python ConsumerRecord."""
        stamp = record.timestamp if isinstance(record.timestamp, int) else 0
        return cls(record.partition, record.offset, stamp, record.key, record.value, record.headers)

    def header(self, name: str) -> bytes | None:
        return next((value for key, value in self.headers if key == name), None)

    @property
    def reason(self) -> str | None:
        return _text(self.header(REASON))

    @property
    def product(self) -> str | None:
        """The product code the value names, else the key (dead letters are keyed by product)."""
        return product_code_of(self.value) or _text(self.key) or None

    @property
    def truncated(self) -> bool:
        return self.header(TRUNCATED) is not None

    @property
    def rejected_at(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp_ms / 1000, UTC)

    @property
    def original_timestamp_ms(self) -> int | None:
        """The original record's timestamp (header inventory_sync.original_timestamp), if any."""
        try:
            moment = datetime.fromisoformat(_text(self.header(ORIGINAL_TIMESTAMP)) or "")
        except ValueError:
            return None
        return round(moment.timestamp() * 1000) if moment.tzinfo is not None else None

    def original_headers(self) -> list[tuple[str, bytes]]:
        return [
            (k, b"" if v is None else v) for k, v in self.headers if not k.startswith(HEADER_PREFIX)
        ]

    def described_headers(self) -> list[list[str | None]]:
        """Every header, its own and the inventory_sync.* ones, as [name, text]."""
        return [[name, _text(value)] for name, value in self.headers]

    def describe(self) -> dict[str, Any]:
        """The letter as `dlq show --json` gives it (without its status). One cut to fit the
        dead-letter topic also has `truncated` (what was cut: "value", "headers", "key"), and,
        when its value was cut, `original_value_size` and `original_value_sha256`."""
        described: dict[str, Any] = {
            "reason": self.reason,
            "error": _text(self.header(ERROR)),
            "original_topic": _text(self.header(ORIGINAL_TOPIC)),
            "original_partition": _number(self.header(ORIGINAL_PARTITION)),
            "original_offset": _number(self.header(ORIGINAL_OFFSET)),
            "key": _text(self.key),
            "value": _text(self.value),
            "rejected_at": self.rejected_at.isoformat(timespec="milliseconds"),
        }
        cut = _text(self.header(TRUNCATED))
        if cut is not None:
            described["truncated"] = [part for part in cut.split(",") if part]
            if self.header(ORIGINAL_VALUE_SIZE) is not None:
                described["original_value_size"] = _number(self.header(ORIGINAL_VALUE_SIZE))
                described["original_value_sha256"] = _text(self.header(ORIGINAL_VALUE_SHA256))
        return described


def product_code_of(value: bytes | None) -> str | None:
    """The product_code a JSON object names, if it is one and names one as a non-empty string."""
    try:
        decoded = json.loads(value) if value else None
    except (ValueError, RecursionError):
        return None
    code = decoded.get("product_code") if isinstance(decoded, dict) else None
    return code if isinstance(code, str) and code else None


# -- reading and replaying on the broker ---------------------------------------------------


def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode("utf-8", errors="replace")


def _number(value: bytes | None) -> int | None:
    try:
        return None if value is None else int(value)
    except ValueError:
        return None
