"""Topic administration and a plain producer, for `topics create`, `check` and `produce`, and
the topic size limit the dead-letter sink fits its letters to.

A broker that cannot be reached raises the domain's TransientError; other Kafka errors
(authorization, invalid configuration) propagate as kafka.errors.KafkaError.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType
from kafka.errors import TopicAlreadyExistsError, for_code

from inventory_sync.adapters.kafka.kafka_python.config import client_config
from inventory_sync.adapters.kafka.kafka_python.faults import transient_faults
from inventory_sync.settings import Settings

ADMIN_TIMEOUT_MS = 10_000


def create_topics(settings: Settings, partitions: int = 1) -> list[str]:
    """Create the topic and the dead-letter topic where missing; returns the names created."""
    with _admin(settings) as admin:
        wanted = _missing(admin, settings)
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
    """Send (key, value) pairs to the topic as they are; returns how many were acknowledged."""
    from inventory_sync.adapters.kafka.kafka_python.sink import acknowledged_producer

    with transient_faults(f"producing to {settings.topic} at {settings.bootstrap_servers}"):
        producer = acknowledged_producer(settings, None)
        try:
            futures = [producer.send(settings.topic, key=k, value=v) for k, v in values]
            producer.flush()
            for future in futures:
                future.get(timeout=0)
        finally:
            producer.close()
    return len(futures)


def _missing(admin: Any, settings: Settings) -> list[str]:
    existing = set(admin.list_topics())
    return [name for name in (settings.topic, settings.dlq_topic) if name not in existing]


@contextmanager
def _admin(settings: Settings, timeout_ms: int = ADMIN_TIMEOUT_MS) -> Iterator[Any]:
    with transient_faults(f"Kafka at {settings.bootstrap_servers}"):
        admin = KafkaAdminClient(
            **client_config(settings),
            bootstrap_timeout_ms=timeout_ms,
            request_timeout_ms=timeout_ms,
        )
        try:
            yield admin
        finally:
            admin.close()
