"""The Kafka adapters over confluent-kafka (librdkafka), chosen by `kafka_client = confluent`.

An optional extra (`pip install 'inventory-sync[confluent]'`): only the container imports this,
and only when that client is chosen.
"""

from __future__ import annotations

from inventory_sync.adapters.kafka.confluent_sink import ConfluentDeadLetterSink
from inventory_sync.adapters.kafka.confluent_source import ConfluentRecordSource

__all__ = ["ConfluentDeadLetterSink", "ConfluentRecordSource"]
