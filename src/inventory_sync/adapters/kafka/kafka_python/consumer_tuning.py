"""How the source's kafka-python consumer is configured, and why (measured values)."""

from __future__ import annotations

from typing import Any

from inventory_sync.adapters.kafka.kafka_python.config import client_config
from inventory_sync.settings import Settings

# kafka-python 3.0 backs off reconnecting up to reconnect_backoff_max_ms (30 s by default),
# and its metadata refresh loop sleeps that backoff out even when a refresh is requested. A
# restarted broker has new leader epochs: positions await validation, so fetching waits, until
# the metadata is refreshed (measured: 20 to 45 s without a fetch once the broker was back).
# With 1 s, the Java client's default, it resumes within about 2 s.
RECOVERY_TUNING: dict[str, Any] = {"reconnect_backoff_max_ms": 1_000}

# Measured with benchmarks/throughput.py (200k events, 6 partitions): 1 MiB per partition and
# 8 MiB per fetch keep the run loop fed (it is slower than the fetches) and its peak memory
# near 110 MB; 4 MiB per partition was no faster and peaked over 150 MB.
FETCH_TUNING: dict[str, Any] = {
    "fetch_min_bytes": 1,
    "fetch_max_wait_ms": 500,
    "max_partition_fetch_bytes": 1024 * 1024,
    "fetch_max_bytes": 8 * 1024 * 1024,
}


def consumer_config(settings: Settings, group_id: str) -> dict[str, Any]:
    """A member of `group_id` that never commits by itself: the run loop says when."""
    return {
        **client_config(settings),
        "group_id": group_id,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "max_poll_records": settings.batch_size,
        "bootstrap_timeout_ms": 10_000,
        **FETCH_TUNING,
        **RECOVERY_TUNING,
    }
