"""The OffsetStore port over SQL (offset_storage = database): the table inventory_sync_offsets
in the transaction of the writes, and what the sources and `inventory-sync offsets` read and
reset outside of one.

Reading the positions of a batch is an upsert that changes nothing: on PostgreSQL it locks
each row (a missing one is inserted, so a racing member of the group waits for it too); on
SQLite it takes the database's write lock. Either way a second member writing the same
partitions waits for the first to commit, then sees its positions.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from inventory_sync.adapters.sql.errors import translated
from inventory_sync.adapters.sql.tables import offsets
from inventory_sync.domain.ports import Partition

_INSERTS: dict[str, Any] = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
_KEY = [offsets.c.group_id, offsets.c.topic, offsets.c.partition]


def _rows(group_id: str, positions: Mapping[Partition, int | None]) -> list[dict[str, Any]]:
    """In one order, so that two members lock the same rows in the same order (no deadlock)."""
    return [
        {"group_id": group_id, "topic": topic, "partition": partition, "next_offset": offset}
        for (topic, partition), offset in sorted(positions.items())
    ]


class SqlOffsetStore:
    """The stored next offsets, on the connection (and transaction) of a unit of work."""

    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection
        self._insert = _INSERTS[connection.dialect.name]

    def positions(self, group_id: str, partitions: Collection[Partition]) -> dict[Partition, int]:
        if not partitions:
            return {}
        lock = (
            self._insert(offsets)
            .values(_rows(group_id, dict.fromkeys(partitions)))
            .on_conflict_do_update(index_elements=_KEY, set_={"next_offset": offsets.c.next_offset})
            .returning(offsets.c.topic, offsets.c.partition, offsets.c.next_offset)
        )
        with translated():
            rows = self._connection.execute(lock).all()
        return {
            (row.topic, row.partition): row.next_offset
            for row in rows
            if row.next_offset is not None
        }

    def advance(self, group_id: str, positions: Mapping[Partition, int]) -> None:
        if not positions:
            return
        insert = self._insert(offsets)
        stored, new = offsets.c.next_offset, insert.excluded.next_offset
        higher = sa.case((sa.or_(stored.is_(None), stored < new), new), else_=stored)
        upsert = insert.on_conflict_do_update(
            index_elements=_KEY, set_={"next_offset": higher, "updated_at": sa.func.now()}
        )
        with translated():
            self._connection.execute(upsert, _rows(group_id, positions))


def stored_positions(
    engine: sa.Engine, group_id: str, partitions: Collection[Partition] | None = None
) -> dict[Partition, int]:
    """The stored next offsets of a group (of these partitions, or all), without a lock: what
    a source seeks to when partitions are assigned."""
    query = sa.select(offsets.c.topic, offsets.c.partition, offsets.c.next_offset).where(
        offsets.c.group_id == group_id, offsets.c.next_offset.is_not(None)
    )
    with translated(), engine.connect() as connection:
        rows = connection.execute(query).all()
    found = {(row.topic, row.partition): row.next_offset for row in rows}
    if partitions is None:
        return found
    return {where: offset for where, offset in found.items() if where in set(partitions)}


def reset_positions(engine: sa.Engine, group_id: str, positions: Mapping[Partition, int]) -> None:
    """Set a group's stored next offsets to these, lower or higher (`offsets reset`)."""
    if not positions:
        return
    insert = _INSERTS[engine.dialect.name](offsets)
    upsert = insert.on_conflict_do_update(
        index_elements=_KEY,
        set_={"next_offset": insert.excluded.next_offset, "updated_at": sa.func.now()},
    )
    with translated(), engine.begin() as connection:
        connection.execute(upsert, _rows(group_id, positions))
