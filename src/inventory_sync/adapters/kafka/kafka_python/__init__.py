"""The Kafka adapters over kafka-python, the default client (`kafka_client = kafka-python`).

Both client packages offer the same two factories, so the container chooses a client in one
place; `overrides` are extra client arguments (tests use them for short timeouts).
"""

from __future__ import annotations

from typing import Any

from inventory_sync.settings import Settings


def record_source(settings: Settings, **kwargs: Any) -> Any:
    from inventory_sync.adapters.kafka.kafka_python.source import KafkaRecordSource

    return KafkaRecordSource(settings, **kwargs)


def dead_letter_sink(settings: Settings, **kwargs: Any) -> Any:
    from inventory_sync.adapters.kafka.kafka_python.sink import KafkaDeadLetterSink

    return KafkaDeadLetterSink(settings, **kwargs)
