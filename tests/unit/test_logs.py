"""Log lines: text or one JSON object per line, with the extra fields a caller passes."""

from __future__ import annotations

import json
import logging

from inventory_sync.entrypoints.logs import JsonFormatter, TextFormatter


def record(message: str, *args: object, **extra: object) -> logging.LogRecord:
    entry = logging.makeLogRecord(
        {"name": "inventory_sync.worker", "levelno": logging.INFO, "levelname": "INFO"}
    )
    entry.msg, entry.args = message, args
    entry.__dict__.update(extra)
    return entry


def test_a_json_line_has_time_level_logger_message_and_the_extra_fields() -> None:
    line = JsonFormatter().format(record("rejected %s", "t[0]@7", topic="t", offset=7))
    entry = json.loads(line)
    assert entry["level"] == "INFO"
    assert entry["logger"] == "inventory_sync.worker"
    assert entry["message"] == "rejected t[0]@7"
    assert (entry["topic"], entry["offset"]) == ("t", 7)
    assert entry["time"].endswith("+00:00")


def test_a_text_line_shows_the_extra_fields_as_key_value() -> None:
    line = TextFormatter().format(record("rejected", product_code="SKU-1"))
    assert line.endswith("Z INFO inventory_sync.worker: rejected product_code=SKU-1")
