"""A JSON-lines file as a record source: backfills, and trying the service without a broker."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from inventory_sync.domain.model import Record


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
                batch.append(Record(None, value, self.topic, 0, self._line_number, now))
        return batch

    def commit(self, records: Sequence[Record]) -> None:
        if records:
            self.committed = max(self.committed, records[-1].offset)

    def pause(self) -> None:
        self._paused = True

    def resume(self) -> None:
        self._paused = False

    def lag(self) -> dict[int, int]:
        return {}

    def close(self) -> None:
        self._file.close()
