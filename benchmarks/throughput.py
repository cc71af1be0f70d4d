"""Throughput benchmark of inventory-sync against a real Kafka broker (see benchmarks/README.md).

Produces N events to a fresh topic, then measures, each in a process of its own:
(a) raw: each Kafka client reading and JSON-decoding, writing nothing (the client's ceiling);
(b) naive: a tutorial consumer (per record: ORM load, set, commit, offset commit);
(c) inventory-sync's own run loop, per client and per database, checked for correctness.
Prints a table and writes the numbers as JSON.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench_child import child_main, run_child
from bench_db import DEFAULT_POSTGRES_URL, drop_postgres, fresh_database, seed
from bench_produce import create_topics, delete_topics, produce, product_code
from bench_report import environment, print_table, ratios, verify, write_json

CLIENTS = ("kafka-python", "confluent")
DATABASES = ("sqlite", "postgresql")
PARTITIONS = 6


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--invalid-ratio", type=float, default=0.05)
    parser.add_argument("--naive-events", type=int, default=5_000, help="0 skips (b)")
    parser.add_argument("--clients", type=_names(CLIENTS), default=list(CLIENTS))
    parser.add_argument("--databases", type=_names(DATABASES), default=list(DATABASES))
    parser.add_argument("--bootstrap-servers", default="127.0.0.1:9092")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("INVENTORY_SYNC_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL),
        help="dropped and recreated per measurement: its database name must contain 'bench'",
    )
    parser.add_argument(
        "--output", type=Path, default=Path(__file__).parent / "results" / "latest.json"
    )
    parser.add_argument(
        "--profile", action="store_true", help="profile (c) with pyinstrument, next to --output"
    )
    parser.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an inventory-sync setting for (c), e.g. batch_size=2000 (repeatable)",
    )
    args = parser.parse_args(argv)
    args.naive_events = min(args.naive_events, args.events)
    args.settings = dict(item.split("=", 1) for item in args.setting)
    return args


def _names(allowed: tuple[str, ...]) -> Any:
    def parse(text: str) -> list[str]:
        names = [name.strip() for name in text.split(",") if name.strip()]
        unknown = set(names) - set(allowed)
        if unknown or not names:
            raise argparse.ArgumentTypeError(f"choose from {', '.join(allowed)}")
        return names

    return parse


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    run_id = uuid.uuid4().hex[:8]
    topic = f"inventory-bench-{run_id}"
    workdir = Path(tempfile.mkdtemp(prefix="inventory-sync-bench-"))
    codes = [product_code(i) for i in range(args.products)]
    out: dict[str, Any] = environment(args, topic)
    try:
        create_topics(args.bootstrap_servers, topic, PARTITIONS)
        expected, produce_rps = produce(
            args.bootstrap_servers, topic, args.events, args.products, args.invalid_ratio
        )
        out["produce_records_per_s"] = round(produce_rps)
        common = {"bootstrap": args.bootstrap_servers, "topic": topic}

        out["raw"] = {}
        for client in args.clients:
            group = f"{topic}-raw-{client}"
            params = {**common, "client": client, "group": group, "events": args.events}
            result = run_child("raw", params)
            out["raw"][client] = round(result["records_per_s"])
            _progress(f"(a) raw {client}", result)

        out["naive"] = {}
        for db in args.databases if args.naive_events else ():
            url = fresh_database(db, args.postgres_url, workdir, f"naive-{db}")
            seed(url, codes)
            params = {**common, "database_url": url, "events": args.naive_events}
            result = run_child("naive", {**params, "group": f"{topic}-naive-{db}"})
            out["naive"][db] = round(result["records_per_s"], 1)
            _progress(f"(b) naive {db}", result)

        out["inventory_sync"] = {}
        for client in args.clients:
            for db in args.databases:
                url = fresh_database(db, args.postgres_url, workdir, f"loop-{client}-{db}")
                seed(url, codes)
                profile = args.output.parent / f"profile-{client}-{db}" if args.profile else None
                params = {
                    **common,
                    "events": args.events,
                    "client": client,
                    "group": f"{topic}-loop-{client}-{db}",
                    "database_url": url,
                    "overrides": args.settings,
                    "profile_to": str(profile) if profile else None,
                }
                result = run_child("loop", params)
                result["records_per_s"] = round(result["records_per_s"])
                result["verified"] = verify(result, expected, url)
                out["inventory_sync"].setdefault(client, {})[db] = result
                _progress(f"(c) inventory-sync {client} {db}", result)
    finally:
        _clean_up(args, topic, workdir)
    out["ratios"] = ratios(out)
    out["finished_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    print_table(out)
    write_json(out, args.output)
    print(f"\nwrote {args.output}")
    failures = [
        f"{client}/{db}: {result['verified']}"
        for client, per_db in out["inventory_sync"].items()
        for db, result in per_db.items()
        if result["verified"] is not True
    ]
    for failure in failures:
        print(f"WRONG RESULT {failure}", file=sys.stderr)
    return 1 if failures else 0


def _progress(label: str, result: dict[str, Any]) -> None:
    print(f"  {label}: {result['records_per_s']:,.0f} records/s", file=sys.stderr, flush=True)


def _clean_up(args: argparse.Namespace, topic: str, workdir: Path) -> None:
    shutil.rmtree(workdir, ignore_errors=True)
    try:
        delete_topics(args.bootstrap_servers, topic)
    except Exception as exc:  # leftovers are harmless: a fresh topic per run
        print(f"could not delete topic {topic}: {exc}", file=sys.stderr)
    if "postgresql" in args.databases:
        drop_postgres(args.postgres_url)


if __name__ == "__main__":
    if sys.argv[1:2] == ["_measure"]:
        sys.exit(child_main(sys.argv[2:]))
    sys.exit(main(sys.argv[1:]))
