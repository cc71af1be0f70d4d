"""The Kafka adapters over confluent-kafka (librdkafka), chosen by `kafka_client = confluent`.

An optional extra (`pip install 'inventory-sync[confluent]'`): only the container imports this,
and only when that client is chosen. The same two factories as the kafka_python package.
"""

from __future__ import annotations

from typing import Any

from inventory_sync.settings import Settings


def record_source(settings: Settings, **kwargs: Any) -> Any:
    from inventory_sync.adapters.kafka.confluent.source import ConfluentRecordSource

    return ConfluentRecordSource(settings, **kwargs)


def dead_letter_sink(settings: Settings, **kwargs: Any) -> Any:
    from inventory_sync.adapters.kafka.confluent.sink import ConfluentDeadLetterSink

    return ConfluentDeadLetterSink(settings, **kwargs)
