"""PendingOffsets: the commit bookkeeping both Kafka sources share."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from inventory_sync.adapters.kafka.offsets import PendingOffsets
from inventory_sync.domain.model import Record


def record(partition: int, offset: int, topic: str = "t") -> Record:
    return Record(
        key=None,
        value=b"{}",
        topic=topic,
        partition=partition,
        offset=offset,
        timestamp=datetime(2026, 1, 1, tzinfo=UTC),
    )


def test_release_keeps_the_highest_offset_plus_one_per_owned_partition() -> None:
    pending = PendingOffsets()
    released = pending.release(
        [record(0, 7), record(0, 3), record(1, 10)], owned={("t", 0), ("t", 1)}
    )
    assert released == {("t", 0): 8, ("t", 1): 11}
    assert pending.owned({("t", 0), ("t", 1)}) == {("t", 0): 8, ("t", 1): 11}


def test_partitions_not_owned_are_not_kept_and_say_so(caplog: pytest.LogCaptureFixture) -> None:
    pending = PendingOffsets()
    with caplog.at_level(logging.WARNING, logger="inventory_sync.kafka"):
        released = pending.release([record(0, 1), record(2, 5)], owned={("t", 0)})
    assert released == {("t", 0): 2}
    assert pending.owned({("t", 0), ("t", 2)}) == {("t", 0): 2}
    assert "t[2]@6" in caplog.text


def test_a_newer_release_supersedes_an_older_one() -> None:
    pending = PendingOffsets()
    owned = {("t", 0)}
    pending.release([record(0, 1)], owned)
    pending.release([record(0, 9)], owned)
    assert pending.owned(owned) == {("t", 0): 10}


def test_owned_filters_to_the_partitions_still_assigned() -> None:
    pending = PendingOffsets()
    pending.release([record(0, 1), record(1, 1)], owned={("t", 0), ("t", 1)})
    assert pending.owned({("t", 1)}) == {("t", 1): 2}


def test_forgotten_partitions_are_never_committed_by_this_member() -> None:
    pending = PendingOffsets()
    owned = {("t", 0), ("t", 1)}
    pending.release([record(0, 1), record(1, 4)], owned)
    pending.forget([("t", 0)])
    assert pending.owned(owned) == {("t", 1): 5}
    pending.forget([("t", 1)])
    assert not pending


def test_take_all_empties_it_and_clears_the_due_flag() -> None:
    pending = PendingOffsets()
    pending.release([record(0, 1), record(1, 1)], owned={("t", 0), ("t", 1)})
    pending.due = True
    assert pending.take_all({("t", 0)}) == {("t", 0): 2}
    assert not pending
    assert pending.due is False
    assert pending.owned({("t", 0), ("t", 1)}) == {}
