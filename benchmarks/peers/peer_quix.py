"""Quix Streams 3.28 with its PostgreSQL sink, the way its documentation shows it.

An Application reads the topic with the JSON deserializer, a StreamingDataFrame keeps the
events that have a product code and a non-negative integer count, and `sdf.sink()` hands
`{product_code, inventory_count}` to `PostgreSQLSink` upserting on `product_code`: the last
write wins. No stale guard, no dead letters, no catalogue (it writes a table of its own,
`quix_inventory`, which the sink creates). Malformed JSON is skipped by `on_consumer_error`.

Runs in a drainer process of its own (peers.py _drain quix ...).
"""

from __future__ import annotations

import tempfile
import time
from typing import Any

from peer_workload import QUIX_TABLE, is_plausible_event

GIVE_UP_AFTER_S = 60.0  # no record for this long: the topic holds fewer records than expected


class TooFewRecords(RuntimeError):
    def __init__(self, got: int, wanted: int) -> None:
        super().__init__(f"only {got} of {wanted} records arrived")


def drain_quix(
    *, bootstrap: str, topic: str, group: str, events: int, postgres: dict[str, Any]
) -> dict[str, Any]:
    from quixstreams import Application
    from quixstreams.sinks.community.postgresql import PostgreSQLSink

    progress = {"seen": 0, "skipped": 0, "first_at": None, "written_at": None}

    class TimedPostgreSQLSink(PostgreSQLSink):
        """The documented sink, noting when its last batch was written (measurement only)."""

        def write(self, batch: Any) -> None:
            super().write(batch)
            progress["written_at"] = time.perf_counter()

    def count_one() -> None:
        if progress["first_at"] is None:
            progress["first_at"] = time.perf_counter()
        progress["seen"] += 1
        if progress["seen"] >= events:
            app.stop()

    def on_message_processed(_topic: str, _partition: int, _offset: int) -> None:
        count_one()

    def skip_malformed(exc: Exception, message: Any, logger: Any) -> bool:
        progress["skipped"] += 1
        count_one()
        return True  # ignore the message: no dead letters in this peer

    app = Application(
        broker_address=bootstrap,
        consumer_group=group,
        auto_offset_reset="earliest",
        on_consumer_error=skip_malformed,
        on_message_processed=on_message_processed,
        state_dir=tempfile.mkdtemp(prefix="quix-state-"),
    )
    source = app.topic(topic, key_deserializer="str", value_deserializer="json")
    sdf = app.dataframe(source)
    sdf = sdf.filter(is_plausible_event)
    sdf = sdf[["product_code", "inventory_count"]]
    sdf.sink(
        TimedPostgreSQLSink(
            host=postgres["host"],
            port=postgres["port"],
            dbname=postgres["dbname"],
            user=postgres["user"],
            password=postgres["password"],
            table_name=QUIX_TABLE,
            primary_key_columns="product_code",
            upsert_on_primary_key=True,
        )
    )
    started = time.perf_counter()
    app.run(timeout=GIVE_UP_AFTER_S, collect=False)  # collect=True would keep every output
    ended = time.perf_counter()
    if progress["seen"] < events:
        raise TooFewRecords(progress["seen"], events)
    first = progress["first_at"] or started
    last = progress["written_at"] or ended
    return {
        "records": progress["seen"],
        "skipped_malformed": progress["skipped"],
        "drain_records_per_s": progress["seen"] / max(last - first, 1e-9),
        "drain_s": round(last - first, 3),
        "startup_s": round(first - started, 3),
    }
