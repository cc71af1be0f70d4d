"""The benchmark's report: where it ran, whether (c) was right, the ratios, the table, the JSON."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from bench_db import final_counts
from bench_produce import Expected

PACKAGES = ("inventory-sync", "kafka-python", "confluent-kafka", "sqlalchemy", "psycopg")


def environment(args: argparse.Namespace, topic: str) -> dict[str, Any]:
    return {
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
        },
        "versions": _versions(args),
        "events": args.events,
        "products": args.products,
        "invalid_ratio": args.invalid_ratio,
        "naive_events": args.naive_events,
        "topic": topic,
        "settings": args.settings,
    }


def _versions(args: argparse.Namespace) -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for package in PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    try:
        import confluent_kafka

        versions["librdkafka"] = confluent_kafka.libversion()[0]
    except ImportError:
        versions["librdkafka"] = None
    versions["sqlite"] = sqlite3.sqlite_version
    versions["broker_api"] = _broker_api_version(args.bootstrap_servers)
    versions["postgresql_server"] = (
        _postgres_version(args.postgres_url) if "postgresql" in args.databases else None
    )
    return versions


def _broker_api_version(bootstrap: str) -> str | None:
    """The broker's version as kafka-python's API probe sees it (e.g. "4.1")."""
    try:
        from kafka import KafkaConsumer

        consumer = KafkaConsumer(bootstrap_servers=bootstrap)
        probed = consumer.config["api_version"]
        consumer.close()
    except Exception:
        return None
    return ".".join(str(part) for part in probed)


def _postgres_version(postgres_url: str) -> str | None:
    import sqlalchemy as sa

    engine = sa.create_engine(sa.make_url(postgres_url).set(database="postgres"))
    try:
        with engine.connect() as conn:
            return str(conn.execute(sa.text("SHOW server_version")).scalar_one())
    except sa.exc.SQLAlchemyError:
        return None
    finally:
        engine.dispose()


def verify(result: dict[str, Any], expected: Expected, database_url: str) -> bool | str:
    """True, or what is wrong: a fast but wrong run must not pass as a result."""
    summary = result["summary"]
    problems = []
    if summary["records"] != expected.events:
        problems.append(f"records {summary['records']} != {expected.events}")
    if summary["by_reason"] != dict(expected.rejected_by_reason):
        problems.append(f"rejections {summary['by_reason']} != {dict(expected.rejected_by_reason)}")
    counts = final_counts(database_url)
    wrong = sorted(c for c, n in expected.final_counts.items() if counts.get(c) != n)
    if wrong:
        examples = ", ".join(
            f"{c}={counts.get(c)} (want {expected.final_counts[c]})" for c in wrong[:3]
        )
        problems.append(f"{len(wrong)} products have the wrong count: {examples}")
    return "; ".join(problems) or True


def ratios(out: dict[str, Any]) -> dict[str, dict[str, dict[str, float | None]]]:
    """c/a: the run loop over its client's raw ceiling; c/b: over the naive consumer, per db."""
    c_over_a: dict[str, dict[str, float | None]] = {}
    c_over_b: dict[str, dict[str, float | None]] = {}
    for client, per_db in out["inventory_sync"].items():
        for db, result in per_db.items():
            c = result["records_per_s"]
            a = out["raw"].get(client)
            b = out["naive"].get(db)
            c_over_a.setdefault(client, {})[db] = round(c / a, 3) if a else None
            c_over_b.setdefault(client, {})[db] = round(c / b, 1) if b else None
    return {"c_over_a": c_over_a, "c_over_b": c_over_b}


def print_table(out: dict[str, Any]) -> None:
    print(
        f"\n{out['events']:,} events, {out['products']:,} products, "
        f"{out['invalid_ratio']:.0%} invalid; {out['machine']['cores']} cores, "
        f"load {out['machine']['loadavg_at_start']}"
    )
    print(f"{'measurement':<42}{'records/s':>11}{'c/a':>7}{'c/b':>8}{'peak MB':>9}{'wall s':>8}")
    print(f"{'produce':<42}{out['produce_records_per_s']:>11,}")
    for client, rps in out["raw"].items():
        print(f"{'(a) raw ' + client:<42}{rps:>11,}")
    for db, rps in out["naive"].items():
        print(f"{'(b) naive ' + db + ' (kafka-python)':<42}{rps:>11,.0f}")
    for client, per_db in out["inventory_sync"].items():
        for db, r in per_db.items():
            c_a = out["ratios"]["c_over_a"][client][db]
            c_b = out["ratios"]["c_over_b"][client][db]
            flag = "" if r["verified"] is True else "  WRONG"
            print(
                f"{f'(c) inventory-sync {client} {db}':<42}{r['records_per_s']:>11,}"
                f"{_fmt(c_a, '.2f'):>7}{_fmt(c_b, '.0f'):>8}{r['peak_rss_mb']:>9.0f}"
                f"{r['wall_s']:>8.1f}{flag}"
            )


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def write_json(out: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2) + "\n")
