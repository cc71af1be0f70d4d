"""How long deciding a batch takes per record, with no broker and no database.

Records shaped like the throughput benchmark's (bench_produce.generate: ~125-byte JSON
objects, 5% invalid), in batches of the default batch_size, over 6 partitions. Times
decide_batch alone; then with what the service reads of the decision (each plan's first
change); decode_update alone; and the pure pydantic decoder when this
version has one (decode_update_validated). Best of --repeat runs, in µs per record; run it
with PYTHONPATH pointing at another checkout's src to compare. CPU time (process_time):
the machine may be shared. The garbage collector runs as in the worker (collector.py, at
gc_threshold's default).

    .venv/bin/python benchmarks/decode.py [--events 100000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bench_produce import BASE_TIME, Expected, generate
from inventory_sync import Settings
from inventory_sync.application.collector import collecting_less
from inventory_sync.domain import rules
from inventory_sync.domain.model import Record

PARTITIONS = 6
BATCH_SIZE = 500


def synthetic_records(events: int, products: int, invalid_ratio: float) -> list[Record]:
    pairs = generate(events, products, invalid_ratio, Expected())
    return [
        Record(key, value, "bench", i % PARTITIONS, i // PARTITIONS, BASE_TIME)
        for i, (key, value) in enumerate(pairs)
    ]


def decide_one(batch: list[Record], now: datetime) -> rules.Decision:
    return rules.decide_batch(
        batch,
        max_message_bytes=rules.DEFAULT_MAX_MESSAGE_BYTES,
        now=now,
        max_future_skew=timedelta(minutes=5),
    )


def best_of(repeat: int, run: Callable[[], object]) -> float:
    timings = []
    for _ in range(repeat):
        started = time.process_time()
        run()
        timings.append(time.process_time() - started)
    return min(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--invalid-ratio", type=float, default=0.05)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    records = synthetic_records(args.events, args.products, args.invalid_ratio)
    batches = [records[i : i + BATCH_SIZE] for i in range(0, len(records), BATCH_SIZE)]
    values = [record.value for record in records]
    now = datetime.now(UTC)

    def decide() -> None:
        for batch in batches:
            decide_one(batch, now)

    def decide_and_read() -> None:
        for batch in batches:
            decision = decide_one(batch, now)
            for plan in decision.plans.values():
                plan.first_change()

    def decoder(decode: Callable[[bytes | None], object]) -> Callable[[], None]:
        def run() -> None:
            for value in values:
                decode(value)

        return run

    timed = {
        "decide_batch": decide,
        "decide_batch + first_change": decide_and_read,
        "decode_update": decoder(rules.decode_update),
    }
    validated = getattr(rules, "decode_update_validated", None)
    if validated is not None:
        timed["decode_update_validated (pydantic only)"] = decoder(validated)
    print(f"{len(records)} records in batches of {BATCH_SIZE}, best of {args.repeat}")
    with collecting_less(Settings.model_fields["gc_threshold"].default):
        for name, run in timed.items():
            seconds = best_of(args.repeat, run)
            print(f"  {name:42s} {seconds / len(records) * 1e6:6.2f} µs per record")


if __name__ == "__main__":
    main()
