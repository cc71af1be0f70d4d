"""FastStream 0.7 with a Kafka batch subscriber and inventory-sync's guarantees written by hand.

What its documentation shows: a `KafkaBroker`, a `FastStream` app, `@broker.subscriber(...,
batch=True)` with a consumer group and `AckPolicy.MANUAL`, the message from the context
(`KafkaMessage`) acknowledged by hand, a pydantic model for the payload, and a
`broker.publisher()` for the dead letters. Per batch, written as a FastStream user who wants
the same guarantees would: validate each record, keep the newest update per product, one
UPDATE for the batch with the stale guard (which also names the unknown products), commit,
publish the dead letters and wait for the broker, and only then ack (commit the offsets).

Runs in a drainer process of its own (peers.py _drain faststream ...).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

import psycopg
from faststream import AckPolicy, FastStream
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage  # resolved by name: keep it module-level
from pydantic import AwareDatetime, BaseModel, Field, StrictInt, StringConstraints, ValidationError

BATCH_RECORDS = 500  # as inventory-sync's default batch_size
GIVE_UP_AFTER_S = 60.0  # no batch acknowledged for this long: stop, and say so

# One statement per batch: apply the newest change per product unless the stored time is
# newer (the stale guard), and name the codes that are not in the catalogue.
APPLY_BATCH = """
WITH changes AS (
    SELECT * FROM unnest(%(codes)s::text[], %(counts)s::int[], %(times)s::timestamptz[])
        AS c(code, inventory_count, occurred_at)
), applied AS (
    UPDATE products AS p
    SET inventory_count = c.inventory_count, inventory_updated_at = c.occurred_at,
        updated_at = now()
    FROM changes AS c
    WHERE p.code = c.code
      AND (p.inventory_updated_at IS NULL OR p.inventory_updated_at <= c.occurred_at)
    RETURNING p.code
)
SELECT c.code FROM changes AS c
WHERE NOT EXISTS (SELECT 1 FROM products AS p WHERE p.code = c.code)
"""


class InventoryEvent(BaseModel):
    product_code: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,64}$")]
    inventory_count: Annotated[StrictInt, Field(ge=0, le=2_147_483_647)]
    occurred_at: AwareDatetime | None = None


class DrainFailed(RuntimeError):
    pass


@dataclass
class Progress:
    seen: int = 0
    first_at: float | None = None
    acked_at: float | None = None
    failure: str | None = None
    done: bool = False
    by_reason: dict[str, int] = field(default_factory=dict)


def drain_faststream(
    *, bootstrap: str, topic: str, dlq_topic: str, group: str, events: int, conninfo: str
) -> dict[str, Any]:
    return asyncio.run(
        _drain(
            bootstrap,
            topic=topic,
            dlq_topic=dlq_topic,
            group=group,
            events=events,
            conninfo=conninfo,
        )
    )


async def _drain(
    bootstrap: str, *, topic: str, dlq_topic: str, group: str, events: int, conninfo: str
) -> dict[str, Any]:
    broker = KafkaBroker(bootstrap)
    app = FastStream(broker)
    dead_letters = broker.publisher(dlq_topic)
    db = await psycopg.AsyncConnection.connect(conninfo, autocommit=True)
    progress = Progress()

    @broker.subscriber(
        topic,
        group_id=group,
        batch=True,
        max_records=BATCH_RECORDS,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.MANUAL,
    )
    async def apply_batch(body: list[Any], msg: KafkaMessage) -> None:
        if progress.first_at is None:
            progress.first_at = time.perf_counter()
        try:
            records = msg.raw_message
            newest, rejected = decide(records, body)
            unknown = await _apply(db, newest)
            rejected += [
                (record, "unknown_product", "not in the catalogue")
                for record, value in zip(records, body, strict=True)
                if isinstance(value, dict) and value.get("product_code") in unknown
            ]
            await asyncio.gather(*(_dead_letter(dead_letters, *item) for item in rejected))
            await msg.ack()
        except Exception as exc:  # the benchmark must stop, not redeliver forever
            progress.failure = repr(exc)
            app.exit()
            return
        for _record, reason, _error in rejected:
            progress.by_reason[reason] = progress.by_reason.get(reason, 0) + 1
        progress.seen += len(records)
        progress.acked_at = time.perf_counter()
        if progress.seen >= events:
            app.exit()

    started = time.perf_counter()
    try:
        await asyncio.gather(_run(app, progress), _give_up_when_stuck(app, progress, started))
    finally:
        await db.close()
    if progress.failure is not None:
        raise DrainFailed(progress.failure)
    first = progress.first_at or started
    last = progress.acked_at or time.perf_counter()
    return {
        "records": progress.seen,
        "drain_records_per_s": progress.seen / max(last - first, 1e-9),
        "drain_s": round(last - first, 3),
        "startup_s": round(first - started, 3),
        "summary": {"records": progress.seen, "by_reason": progress.by_reason},
    }


def decide(
    records: tuple[Any, ...], body: list[Any]
) -> tuple[dict[str, tuple[int, datetime]], list[tuple[Any, str, str]]]:
    """The newest valid (count, time) per product, and the records rejected with why."""
    newest: dict[str, tuple[int, datetime]] = {}
    rejected: list[tuple[Any, str, str]] = []
    for record, value in zip(records, body, strict=True):
        if not isinstance(value, dict):  # FastStream leaves undecodable JSON as bytes
            rejected.append((record, "malformed_json", "not a JSON object"))
            continue
        try:
            event = InventoryEvent.model_validate(value)
        except ValidationError as exc:
            fields = ",".join(str(e["loc"][0]) for e in exc.errors() if e["loc"])
            rejected.append((record, "invalid_payload", fields))
            continue
        at = event.occurred_at or datetime.fromtimestamp(record.timestamp / 1000, UTC)
        held = newest.get(event.product_code)
        if held is None or held[1] <= at:
            newest[event.product_code] = (event.inventory_count, at)
    return newest, rejected


async def _run(app: Any, progress: Progress) -> None:
    try:
        await app.run()
    finally:
        progress.done = True


async def _give_up_when_stuck(app: Any, progress: Progress, started: float) -> None:
    """A handler that fails before its body runs (decoding) would be redelivered forever."""
    while not progress.done:
        await asyncio.sleep(1)
        if time.perf_counter() - (progress.acked_at or started) > GIVE_UP_AFTER_S:
            progress.failure = f"no batch acknowledged for {GIVE_UP_AFTER_S:.0f} s"
            app.exit()
            return


async def _apply(db: Any, newest: dict[str, tuple[int, datetime]]) -> set[str]:
    """The batch's one UPDATE, committed; the codes that are not in the catalogue."""
    if not newest:
        return set()
    params = {
        "codes": list(newest),
        "counts": [count for count, _at in newest.values()],
        "times": [at for _count, at in newest.values()],
    }
    async with db.transaction():
        cursor = await db.execute(APPLY_BATCH, params)
        rows = await cursor.fetchall()
    return {code for (code,) in rows}


async def _dead_letter(publisher: Any, record: Any, reason: str, error: str) -> None:
    """The original key and value, with the reason and where it came from in headers."""
    headers = {
        "inventory_sync.reason": reason,
        "inventory_sync.error": error,
        "inventory_sync.original_topic": record.topic,
        "inventory_sync.original_partition": str(record.partition),
        "inventory_sync.original_offset": str(record.offset),
        "inventory_sync.original_timestamp": datetime.fromtimestamp(
            record.timestamp / 1000, UTC
        ).isoformat(),
    }
    await publisher.publish(record.value, key=record.key, headers=headers)
