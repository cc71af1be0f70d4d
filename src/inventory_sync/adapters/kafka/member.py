"""GroupMember: what both Kafka sources share, whichever client they drive.

A member of the consumer group `group_id` on `topic`, made on first poll from the client's
configuration (plus the caller's overrides); its pause state; the offsets it has released
but Kafka has not made durable yet (PendingOffsets); and what a rebalance does to them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from inventory_sync.adapters.kafka import Overrides
from inventory_sync.adapters.kafka.offsets import Partition, PendingOffsets, describe_partitions
from inventory_sync.adapters.kafka.reachability import Reachability, StallWatch
from inventory_sync.domain.ports import StoredPositions
from inventory_sync.settings import Settings

log = logging.getLogger("inventory_sync.kafka")


class GroupMember:
    """Base of the sources: subclasses give their client's configuration for the group."""

    stall_timeout_s = 30.0
    """How long its consumer may stay stuck while a broker answers before it is replaced."""

    def __init__(
        self,
        settings: Settings,
        *,
        topic: str | None = None,
        group_id: str | None = None,
        overrides: Overrides = None,
        stored_positions: StoredPositions | None = None,
    ) -> None:
        self.topic = topic or settings.topic
        self._stored_positions = stored_positions
        self.group_id = group_id or settings.group_id
        self._settings = settings
        self._config: dict[str, Any] = {
            **self._group_config(settings),
            **(overrides or {}),
        }
        self._paused = False
        self._closed = False
        self._pending = PendingOffsets()
        servers = settings.bootstrap_servers.split(",")
        self._reach = Reachability(servers)
        self._watch = StallWatch(f"the consumer of {self.topic}", servers, self.stall_timeout_s)
        self._init_client()

    def _init_client(self) -> None:
        """The client's own state, once the configuration is known."""

    def _group_config(self, settings: Settings) -> dict[str, Any]:
        """The client's configuration of a member of self.group_id (offsets never
        committed by the client itself)."""
        raise NotImplementedError

    _consumer: Any = None

    @property
    def reachable(self) -> bool:
        """False from the WARNING that the broker cannot be reached to the INFO line that it
        is back (see Reachability)."""
        return self._reach.reachable

    def lag(self) -> dict[int, int]:
        """End offset minus position per assigned partition, from what the client already
        knows; best effort ({} when unknown): it is for progress lines and metrics only."""
        if self._consumer is None:
            return {}
        try:
            return self._lags(self._consumer)
        except Exception as exc:
            log.debug("lag unknown: %s", exc)
            return {}

    def _lags(self, consumer: Any) -> dict[int, int]:
        raise NotImplementedError

    def assignment(self) -> set[int]:
        """The partitions of the topic this member owns now (none before it joins)."""
        if self._consumer is None:
            return set()
        return {tp.partition for tp in self._consumer.assignment() if tp.topic == self.topic}

    def close(self) -> None:
        """Commit the last offsets synchronously, then leave the group cleanly, so the
        partitions move to the other members at once."""
        self._closed = True
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            self._commit_last(consumer)
            self._close_client(consumer)

    def _commit_last(self, consumer: Any) -> None:
        raise NotImplementedError

    def _close_client(self, consumer: Any) -> None:
        raise NotImplementedError

    def _positions_to_seek(self, partitions: Iterable[Any]) -> dict[Partition, int]:
        """offset_storage = database: the stored next offsets of newly assigned partitions,
        to seek to ({} otherwise). Should the database not answer, the partitions start from
        Kafka's committed offsets, which are never ahead of the stored ones: the records
        between are then recognised as duplicates in the transaction, so none applies twice."""
        if self._stored_positions is None:
            return {}
        wanted = [(tp.topic, tp.partition) for tp in partitions]
        if not wanted:
            return {}
        try:
            positions = self._stored_positions(wanted)
        except Exception as exc:
            log.warning("stored offsets unknown, starting from Kafka's committed ones: %s", exc)
            return {}
        if positions:
            shown = ", ".join(f"{t}[{p}]@{o}" for (t, p), o in sorted(positions.items()))
            log.info("seeking to the offsets stored with the writes: %s", shown)
            self._pending.adopt(positions)
        return positions

    def _revoked(self, partitions: Iterable[Any]) -> None:
        """Partitions given up in a rebalance: their next owner commits them."""
        partitions = list(partitions)
        log.info("revoked %s", describe_partitions(partitions))
        self._pending.forget((tp.topic, tp.partition) for tp in partitions)

    def _lost(self, partitions: Iterable[Any]) -> None:
        partitions = list(partitions)
        log.warning("lost %s (evicted from the group)", describe_partitions(partitions))
        self._pending.forget((tp.topic, tp.partition) for tp in partitions)


def owned_by(consumer: Any) -> set[tuple[str, int]]:
    """The (topic, partition) pairs assigned to a consumer of either client."""
    return {(tp.topic, tp.partition) for tp in consumer.assignment()}
