"""What the peers agree on: Quix's table, its filter, and what last-write-wins must end with.

The workload itself (events, products, the invalid share, what a correct consumer ends with)
is the throughput benchmark's: bench_produce.generate() and Expected.
"""

from __future__ import annotations

import json
from typing import Any

QUIX_TABLE = "quix_inventory"


def is_plausible_event(event: Any) -> bool:
    """The one check a Quix user writes before the sink: a code and a count that is a
    non-negative integer (a negative count would be written as it is otherwise)."""
    if not isinstance(event, dict):
        return False
    count = event.get("inventory_count")
    return (
        isinstance(event.get("product_code"), str)
        and isinstance(count, int)
        and not isinstance(count, bool)
        and count >= 0
    )


def last_write_wins(events: int, products: int, invalid_ratio: float) -> dict[str, int]:
    """The table a last-write-wins sink must end with: per product code (the value's, as the
    sink's primary key), the count of the last event in the topic that passes the filter.
    Events of one key share a partition, so the topic's order per code is produce order."""
    from bench_produce import Expected, generate

    table: dict[str, int] = {}
    for _key, value in generate(events, products, invalid_ratio, Expected()):
        try:
            event = json.loads(value)
        except ValueError:
            continue  # malformed JSON: skipped by the consumer's error callback
        if is_plausible_event(event):
            table[event["product_code"]] = event["inventory_count"]
    return table
