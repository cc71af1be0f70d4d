"""Topic administration and a plain producer, for `topics create`, `check` and `produce`, and
the topic size limit the dead-letter sink fits its letters to.

A broker that cannot be reached raises the domain's TransientError; other Kafka errors
(authorization, invalid configuration) propagate as kafka.errors.KafkaError.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType
from kafka.errors import TopicAlreadyExistsError, for_code

from inventory_sync.adapters.kafka.kafka_python.config import client_config
from inventory_sync.adapters.kafka.kafka_python.faults import transient_faults
from inventory_sync.domain.errors import InventorySyncError
from inventory_sync.settings import Settings

ADMIN_TIMEOUT_MS = 10_000
UNKNOWN_TOPIC = 3  # Kafka's UNKNOWN_TOPIC_OR_PARTITION


class TopicMissing(InventorySyncError):
    """The topic to produce to does not exist (and is not created on the fly)."""

    def __init__(self, topic: str) -> None:
        super().__init__(f"topic {topic} does not exist: run inventory-sync topics create")
        self.topic = topic


@dataclass(frozen=True, slots=True)
class TopicState:
    """A topic after `ensure_topics`: its partition count (None when the broker does not say)
    and whether it was created just now."""

    name: str
    partitions: int | None
    created: bool

    def differs_from(self, partitions: int) -> bool:
        """Whether it existed already with another partition count than `partitions`."""
        return not self.created and self.partitions is not None and self.partitions != partitions


def ensure_topics(settings: Settings, partitions: int) -> list[TopicState]:
    """Create the topic and the dead-letter topic where missing, with `partitions` each, and
    say what each has now. An existing topic is left as it is, whatever its partition count:
    adding partitions would move product keys to other partitions, so the events of one
    product could be consumed out of order."""
    names = [settings.topic, settings.dlq_topic]
    with _admin(settings) as admin:
        created = _create(admin, _missing(admin, settings), partitions)
        counts = _partition_counts(admin, names)
    return [TopicState(name, counts.get(name), name in created) for name in names]


def create_topics(settings: Settings, partitions: int = 1) -> list[str]:
    """Create the topic and the dead-letter topic where missing; returns the names created."""
    with _admin(settings) as admin:
        return _create(admin, _missing(admin, settings), partitions)


def missing_topics(settings: Settings) -> list[str]:
    """Which of the topic and the dead-letter topic the broker does not have."""
    with _admin(settings) as admin:
        return _missing(admin, settings)


def topic_message_limit(
    settings: Settings, topic: str, timeout_ms: int = ADMIN_TIMEOUT_MS
) -> int | None:
    """The topic's max.message.bytes as the broker reports it; None when it reports none
    (no such topic yet, or not allowed to describe it). Raises TransientError when the
    broker cannot be reached."""
    resource = ConfigResource(ConfigResourceType.TOPIC, topic, configs=["max.message.bytes"])
    with _admin(settings, timeout_ms) as admin:
        described = admin.describe_configs([resource], config_filter="all")
    entry = described.get("topic", {}).get(topic, {}).get("max.message.bytes")
    try:
        return int(entry["value"]) if entry else None
    except (TypeError, ValueError):
        return None


def produce(settings: Settings, values: Iterable[tuple[bytes | None, bytes | None]]) -> int:
    """Send (key, value) pairs to the topic as they are; returns how many were acknowledged.

    Raises TopicMissing, sending nothing, when the topic does not exist: the broker would
    otherwise create it on the fly, with its default partition count.
    """
    from inventory_sync.adapters.kafka.kafka_python.sink import acknowledged_producer

    with _admin(settings) as admin:
        if settings.topic not in _partition_counts(admin, [settings.topic]):
            raise TopicMissing(settings.topic)
    doing = f"producing to {settings.topic} at {settings.bootstrap_servers}"
    with transient_faults(doing, settings):
        producer = acknowledged_producer(settings, {"allow_auto_create_topics": False})
        try:
            futures = [producer.send(settings.topic, key=k, value=v) for k, v in values]
            producer.flush()
            for future in futures:
                future.get(timeout=0)
        finally:
            producer.close()
    return len(futures)


def _create(admin: Any, wanted: list[str], partitions: int) -> list[str]:
    """Create the `wanted` topics; returns those this call created, in the order wanted."""
    if not wanted:
        return []
    response = admin.create_topics(
        {name: {"num_partitions": partitions} for name in wanted}, raise_errors=False
    )
    created = []
    for topic in response["topics"]:
        error = for_code(topic["error_code"])
        if error is TopicAlreadyExistsError:  # created meanwhile by someone else
            continue
        if topic["error_code"] != 0:
            raise error(f"creating topic {topic['name']}: {topic.get('error_message')}")
        created.append(topic["name"])
    admin.wait_for_topics(created, timeout_ms=ADMIN_TIMEOUT_MS)
    return sorted(created, key=wanted.index)


def _partition_counts(admin: Any, names: Sequence[str]) -> dict[str, int | None]:
    """The partition count of each topic of `names` that exists; None for one the broker
    would not describe (not allowed, say), absent for one it does not have."""
    counts: dict[str, int | None] = {}
    for topic in admin.describe_topics(list(names)):
        if topic["error_code"] == UNKNOWN_TOPIC:
            continue
        ok = topic["error_code"] == 0
        counts[topic["name"]] = len(topic["partitions"]) if ok else None
    return counts


def _missing(admin: Any, settings: Settings) -> list[str]:
    existing = set(admin.list_topics())
    return [name for name in (settings.topic, settings.dlq_topic) if name not in existing]


@contextmanager
def _admin(settings: Settings, timeout_ms: int = ADMIN_TIMEOUT_MS) -> Iterator[Any]:
    with transient_faults(f"Kafka at {settings.bootstrap_servers}", settings):
        admin = KafkaAdminClient(
            **client_config(settings),
            bootstrap_timeout_ms=timeout_ms,
            request_timeout_ms=timeout_ms,
        )
        try:
            yield admin
        finally:
            admin.close()
