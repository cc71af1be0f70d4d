"""What the kafka-python source needs from kafka-python 3.0's internals, in one place: a fix
for its consumer-group join, and a look at whether a consumer is making progress.

kafka-python 3.0 runs a rebalance's JoinGroup/SyncGroup exchange as a task on its IO thread,
and the poll() that started it applies the result. When that poll() times out first (the
broker holds JoinGroup until every member rejoins, often longer than a poll timeout), the
next poll() finds the task done and starts a *new* join instead of applying it, or none at
all when a metadata change started the rebalance. The member then keeps its old partitions
with heartbeats off, rebalances the group again, or drops out of it. The Java client keeps
a finished join pending until it is applied; `apply_finished_joins` makes kafka-python do
the same. Drop it once kafka-python does (the adapter's rebalance tests tell).

`why_stuck` reads what the public API does not show (the coordinator, the heartbeats, the
positions awaiting validation), so that the source can tell a consumer that is recovering
from one that is not (faults.StallWatch) and replace it.
"""

from __future__ import annotations

import logging
from typing import Any

from kafka.structs import MemberState, TopicPartition

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


def why_stuck(consumer: Any) -> str | None:
    """Why this consumer cannot make progress right now, or None if nothing says so.

    Not stuck: waiting in a rebalance, or for records, or holding paused partitions. Stuck:
    no group coordinator, a stable member whose heartbeats go unanswered for a session, or
    assigned, unpaused partitions it cannot fetch (no position, or one awaiting validation
    against a new leader epoch, as after a broker restart).
    """
    try:
        coordinator: Any = consumer._coordinator
        if coordinator.coordinator_id is None:
            return "no group coordinator"
        stable = coordinator.state is MemberState.STABLE
        if stable and coordinator.heartbeat.session_timeout_expired():
            return "no heartbeat answered for a whole session"
        states: dict[TopicPartition, Any] = dict(consumer._subscriptions.assignment)
        blocked = sorted(
            f"{tp.topic}[{tp.partition}]"
            for tp, state in states.items()
            if not state.paused and (not state.has_valid_position or state.awaiting_validation)
        )
    except AttributeError as exc:  # another kafka-python: no opinion rather than a crash
        log.debug("cannot tell whether the consumer is stuck: %s", exc)
        return None
    if blocked:
        return f"cannot fetch {', '.join(blocked)} (position unknown or not validated)"
    return None
