"""Logging for the command line: text or one JSON object per line, on stderr.

Library users configure logging themselves; only the CLI calls configure_logging().
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, TextIO

# The attributes every LogRecord has; anything else was passed as `extra=` and is shown.
_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """{"time", "level", "logger", "message", ...extra fields} on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name, value in vars(record).items():
            if name not in _STANDARD and not name.startswith("_"):
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    """`2026-11-26T12:00:00.123Z INFO inventory_sync.worker: message key=value ...`"""

    def format(self, record: logging.LogRecord) -> str:
        time = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        extra = " ".join(
            f"{name}={value}"
            for name, value in vars(record).items()
            if name not in _STANDARD and not name.startswith("_")
        )
        line = f"{time}.{int(record.msecs):03d}Z {record.levelname} {record.name}: "
        line += record.getMessage() + (f" {extra}" if extra else "")
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


REDACTED = "**********"


class StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever sys.stderr is now, so a live progress line can redirect it, with
    every known secret value masked, whoever logs it (kafka-python logs its whole config at
    DEBUG, librdkafka's debug lines can hold anything)."""

    def __init__(self, secrets: Sequence[str] = ()) -> None:
        super().__init__(sys.stderr)
        self.secrets = sorted(
            {shape for secret in secrets for shape in _shapes(secret)}, key=len, reverse=True
        )

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), self.secrets)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


def _shapes(secret: str) -> set[str]:
    """A secret as a log line can hold it: as it is, as repr() shows it (a client's config
    dict), and either of those inside a JSON string."""
    plain = {secret, repr(secret)[1:-1]}
    return plain | {json.dumps(shape)[1:-1] for shape in plain}


def redact(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    return text


def configure_logging(level: str, log_format: str, secrets: Sequence[str] = ()) -> None:
    """Send inventory_sync's logs (and warnings of the libraries under it) to stderr, with
    the `secrets` (Settings.secret_values()) masked."""
    handler = StderrHandler(secrets)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, StderrHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger("inventory_sync").setLevel(level)
    # kafka-python logs every connection attempt at WARNING/ERROR; the CLI says it in one line.
    logging.getLogger("kafka").setLevel(logging.CRITICAL if level != "DEBUG" else logging.DEBUG)
