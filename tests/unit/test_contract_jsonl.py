"""The RecordSource and DeadLetterSink contracts (tests/contracts/) on the JSON-lines file
adapters that `inventory-sync apply FILE --rejects OUT` uses."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from inventory_sync.adapters.jsonl import JsonLinesDeadLetterWriter, JsonLinesSource
from inventory_sync.domain.model import Record
from tests.contracts.dead_letter_sink import DeadLetterSinkContract, Seen
from tests.contracts.record_source import RecordSourceContract


class JsonLinesSourceHarness:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.touch()
        self.source = JsonLinesSource(path)

    def add(self, *values: bytes) -> None:
        with self.path.open("ab") as file:
            file.writelines(value + b"\n" for value in values)

    def committed_at(self, record: Record) -> int | None:
        if (record.topic, record.partition) != (self.source.topic, 0):
            return None  # a file has one partition
        return self.source.committed or None

    def not_owned(self, offset: int) -> Record:
        return Record(None, b"{}", self.source.topic, 1, offset, datetime.now(UTC))


class TestJsonLinesSource(RecordSourceContract):
    @pytest.fixture
    def harness(self, tmp_path: Path) -> Iterator[JsonLinesSourceHarness]:
        harness = JsonLinesSourceHarness(tmp_path / "events.jsonl")
        yield harness
        harness.source.close()


class JsonLinesSinkHarness:
    topic = "file:events.jsonl"
    keeps_topic_and_partition = False
    """A rejects file names the line (the offset) only: it comes from one file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sink = JsonLinesDeadLetterWriter(path)

    def visible(self) -> list[Seen]:
        lines = self.path.read_text(encoding="utf-8").splitlines()
        return [_seen(json.loads(line)) for line in lines]


def _seen(entry: dict[str, Any]) -> Seen:
    value = entry["value"]
    return Seen(
        entry["reason"],
        entry["error"],
        None,
        None,
        entry["line"],
        None if value is None else value.encode(),
    )


class TestJsonLinesDeadLetterWriter(DeadLetterSinkContract):
    @pytest.fixture
    def harness(self, tmp_path: Path) -> Iterator[JsonLinesSinkHarness]:
        harness = JsonLinesSinkHarness(tmp_path / "rejects.jsonl")
        yield harness
        harness.sink.close()
