"""What offset_storage = database costs: the run loop (throughput.py's measurement (c)) with
the offsets in Kafka and in the database, per client and database, on the same topic.

Each measurement drains the whole topic in a process of its own with a fresh group and a
fresh, seeded database, and is checked for correctness. The two storages alternate within
each round (kafka first in odd rounds, database first in even ones) so that a shared
machine's drift falls on both; the medians over the rounds are compared. Writes JSON to
benchmarks/results/offset_storage.json with the load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench_child import run_child
from bench_db import DEFAULT_POSTGRES_URL, drop_postgres, fresh_database, seed
from bench_produce import create_topics, delete_topics, produce, product_code
from bench_report import verify

CLIENTS = ("kafka-python", "confluent")
DATABASES = ("sqlite", "postgresql")
STORAGES = ("kafka", "database")
PARTITIONS = 6


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--invalid-ratio", type=float, default=0.05)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--clients", default=",".join(CLIENTS))
    parser.add_argument("--databases", default=",".join(DATABASES))
    parser.add_argument(
        "--bootstrap-servers",
        default=os.environ.get("INVENTORY_SYNC_TEST_KAFKA", "127.0.0.1:9092"),
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "INVENTORY_SYNC_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL + "_offsets"
        ),
        help="dropped and recreated per measurement: its database name must contain 'bench'",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=Path(__file__).parent / "results" / "offset_storage.json",
    )
    args = parser.parse_args(argv)
    args.clients = args.clients.split(",")
    args.databases = args.databases.split(",")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    topic = f"inventory-bench-eo-{uuid.uuid4().hex[:8]}"
    workdir = Path(tempfile.mkdtemp(prefix="inventory-sync-bench-eo-"))
    codes = [product_code(i) for i in range(args.products)]
    out: dict[str, Any] = {
        "events": args.events,
        "partitions": PARTITIONS,
        "rounds": args.rounds,
        "cpus": os.cpu_count(),
        "load_average_before": os.getloadavg(),
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "runs": [],
    }
    failures: list[str] = []
    try:
        create_topics(args.bootstrap_servers, topic, PARTITIONS)
        expected, _ = produce(
            args.bootstrap_servers, topic, args.events, args.products, args.invalid_ratio
        )
        for round_ in range(args.rounds):
            order = STORAGES if round_ % 2 == 0 else STORAGES[::-1]
            for client in args.clients:
                for db in args.databases:
                    for storage in order:
                        name = f"{client}-{db}-{storage}-{round_}"
                        url = fresh_database(db, args.postgres_url, workdir, name)
                        seed(url, codes)
                        result = run_child(
                            "loop",
                            {
                                "bootstrap": args.bootstrap_servers,
                                "topic": topic,
                                "events": args.events,
                                "client": client,
                                "group": f"{topic}-{name}",
                                "database_url": url,
                                "overrides": {"offset_storage": storage},
                                "profile_to": None,
                            },
                        )
                        verified = verify(result, expected, url)
                        if verified is not True:
                            failures.append(f"{name}: {verified}")
                        out["runs"].append(
                            {
                                "client": client,
                                "database": db,
                                "offset_storage": storage,
                                "round": round_,
                                "records_per_s": round(result["records_per_s"]),
                                "peak_rss_mb": result["peak_rss_mb"],
                                "verified": verified,
                            }
                        )
                        print(
                            f"  {name}: {result['records_per_s']:,.0f} records/s",
                            file=sys.stderr,
                            flush=True,
                        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        try:
            delete_topics(args.bootstrap_servers, topic)
        except Exception as exc:  # leftovers are harmless: a fresh topic per run
            print(f"could not delete topic {topic}: {exc}", file=sys.stderr)
        if "postgresql" in args.databases:
            drop_postgres(args.postgres_url)
    out["load_average_after"] = os.getloadavg()
    out["medians"] = medians(out["runs"])
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(out, indent=2) + "\n")
    print_table(out["medians"])
    print(f"load average before {out['load_average_before']}, after {out['load_average_after']}")
    print(f"wrote {args.output}")
    for failure in failures:
        print(f"WRONG RESULT {failure}", file=sys.stderr)
    return 1 if failures else 0


def medians(runs: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, float]]]:
    """client -> database -> {kafka, database, cost_pct}: median records/s per storage, and
    how much slower database is, in percent."""
    table: dict[str, dict[str, dict[str, float]]] = {}
    for run in runs:
        cell = table.setdefault(run["client"], {}).setdefault(run["database"], {})
        cell.setdefault(run["offset_storage"], [])  # type: ignore[arg-type]
        cell[run["offset_storage"]].append(run["records_per_s"])  # type: ignore[attr-defined]
    for per_db in table.values():
        for cell in per_db.values():
            for storage in STORAGES:
                cell[storage] = round(statistics.median(cell[storage]))  # type: ignore[arg-type]
            cell["cost_pct"] = round(100 * (1 - cell["database"] / cell["kafka"]), 1)
    return table


def print_table(table: dict[str, dict[str, dict[str, float]]]) -> None:
    print("\n| client | database | kafka (records/s) | database (records/s) | cost |")
    print("|---|---|---:|---:|---:|")
    for client, per_db in table.items():
        for db, cell in per_db.items():
            print(
                f"| {client} | {db} | {cell['kafka']:,.0f} | {cell['database']:,.0f} "
                f"| {cell['cost_pct']:.1f}% |"
            )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
