"""A fix for kafka-python 3.0's consumer-group join, applied to each consumer we create.

kafka-python 3.0 runs a rebalance's JoinGroup/SyncGroup exchange as a task on its IO thread,
and the poll() that started it applies the result. When that poll() times out first (the
broker holds JoinGroup until every member rejoins, often longer than a poll timeout), the
next poll() finds the task done and starts a *new* join instead of applying it, or none at
all when a metadata change started the rebalance. The member then keeps its old partitions
with heartbeats off, rebalances the group again, or drops out of it. The Java client keeps
a finished join pending until it is applied; `apply_finished_joins` makes kafka-python do
the same. Drop it once kafka-python does (the adapter's rebalance tests tell).
"""

from __future__ import annotations

import logging
from typing import Any

from kafka.structs import MemberState

log = logging.getLogger("inventory_sync.kafka")


def apply_finished_joins(consumer: Any) -> None:
    """Make the consumer apply a join that finished while no poll() was waiting for it."""
    coordinator: Any = getattr(consumer, "_coordinator", None)
    join_group = getattr(coordinator, "join_group_async", None)
    if join_group is None or not hasattr(coordinator, "_join_task"):
        log.debug("kafka-python without join tasks: nothing to fix")
        return

    async def join_group_async(timeout_ms: float | None = None) -> bool:
        task = coordinator._join_task
        if task is None or not task.is_done or not task.succeeded():
            return bool(await join_group(timeout_ms=timeout_ms))
        coordinator._join_task = None  # what kafka-python does after awaiting it itself
        with coordinator._lock:
            coordinator.rejoining = False
            coordinator.rejoin_needed = False
            coordinator.state = MemberState.STABLE
            coordinator._enable_heartbeat()
        generation = coordinator._generation
        await coordinator._on_join_complete_async(
            generation.generation_id, generation.member_id, generation.protocol, task.value
        )
        return True

    coordinator.join_group_async = join_group_async
