"""A JSON-lines file as a record source: backfills, and trying the service without a broker."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, TextIO

from inventory_sync.domain.model import Record
from inventory_sync.domain.ports import Acknowledged, DeadLetter

PARTITION = 0
"""A file is one partition."""


class JsonLinesSource:
    """Each non-blank line is a record whose offset is its line number (from 1) and whose
    timestamp is the moment it was read, so lines without occurred_at apply in file order."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.topic = f"file:{path.name}"
        self._file: BinaryIO = path.open("rb")
        self._line_number = 0
        self._paused = False
        self.committed = 0

    def poll(self, max_records: int, timeout_s: float) -> list[Record]:
        if self._paused:
            return []
        batch: list[Record] = []
        now = datetime.now(UTC)
        while len(batch) < max_records:
            line = self._file.readline()
            if not line:
                break
            self._line_number += 1
            value = line.rstrip(b"\r\n")
            if value.strip():
                batch.append(Record(None, value, self.topic, PARTITION, self._line_number, now))
        return batch

    def commit(self, records: Sequence[Record]) -> None:
        """Like a consumer group's commit: the next line to read, the highest line + 1 of the
        records of this file (the one partition it has)."""
        lines = [
            record.offset
            for record in records
            if (record.topic, record.partition) == (self.topic, PARTITION)
        ]
        if lines:
            self.committed = max(self.committed, max(lines) + 1)

    def pause(self) -> None:
        self._paused = True

    def resume(self) -> None:
        self._paused = False

    def lag(self) -> dict[int, int]:
        return {}

    def close(self) -> None:
        self._file.close()


class JsonLinesDeadLetterWriter:
    """A dead-letter sink that writes each letter as one JSON line: {reason, error, line, value}.

    `line` is the record's offset (its line number for a JsonLinesSource) and `value` the
    record's text as it came (invalid UTF-8 replaced), so a fixed file can be applied again.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.written = 0
        self._file: TextIO = path.open("w", encoding="utf-8")

    def send(self, letters: Sequence[DeadLetter]) -> Acknowledged:
        for letter in letters:
            value = letter.record.value
            entry = {
                "reason": letter.reason,
                "error": letter.error,
                "line": letter.record.offset,
                "value": None if value is None else value.decode("utf-8", errors="replace"),
            }
            self._file.write(json.dumps(entry) + "\n")
        self._file.flush()
        self.written += len(letters)
        return Acknowledged()

    def close(self) -> None:
        self._file.close()
