"""Hostile records through the real broker and `inventory-sync run`: none stops the worker.

Every record a producer can write (any key, value, header bytes, record timestamp, any
calendar edge in occurred_at) gets exactly one outcome; the rejected ones are dead-lettered
once, the valid ones applied, and the run ends by itself with exit 0, on both Kafka clients
and both databases.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

from inventory_sync.adapters.kafka.kafka_python.dead_letter_reader import read_dead_letters
from inventory_sync.adapters.sql.repository import SqlUnitOfWork
from inventory_sync.domain.model import Product
from inventory_sync.settings import Settings
from tests.integration.hostile_support import (
    APPLIED,
    ORDERED,
    PRODUCTS,
    REJECTED,
    Hostile,
    create_permissive_topic,
    event,
    expected_counts,
    produce_hostile,
)
from tests.integration.kafka_support import CLIENTS, T0
from tests.integration.sql_support import engine_on

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

EXECUTABLE = str(Path(sys.executable).parent / "inventory-sync")


@pytest.fixture(params=CLIENTS)
def kafka_client(request: pytest.FixtureRequest) -> str:
    client: str = request.param
    return client


def hostile_settings(
    kafka_bootstrap: str, topic: str, database_url: str, client: str, **extra: object
) -> Settings:
    settings = Settings(
        kafka_client=client,  # type: ignore[arg-type]
        bootstrap_servers=kafka_bootstrap,
        topic=topic,
        dlq_topic=f"{topic}.dlq",
        group_id=f"{topic}-group",
        database_url=database_url,
        **extra,  # type: ignore[arg-type]
    )
    create_permissive_topic(settings, partitions=1)
    return settings


def seed(settings: Settings, codes: list[str]) -> dict[str, int]:
    """Migrate the database and add the products; returns their counts."""
    with engine_on(settings.database_url) as engine, SqlUnitOfWork(engine) as uow:
        uow.products.add([Product(code, code) for code in codes])
        uow.commit()
    return stock(settings)


def stock(settings: Settings) -> dict[str, int]:
    with engine_on(settings.database_url, migrated=False) as engine, SqlUnitOfWork(engine) as uow:
        return {product.code: product.inventory_count for product in uow.products.list()}


def run_cli(settings: Settings, records: int) -> dict[str, object]:
    """`inventory-sync run` until it has taken `records` records; its JSON summary."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("INVENTORY_SYNC_")}
    for name, value in settings.model_dump(mode="json").items():
        if value is not None and name in {
            "kafka_client",
            "bootstrap_servers",
            "topic",
            "dlq_topic",
            "group_id",
            "database_url",
            "batch_size",
        }:
            env[f"INVENTORY_SYNC_{name.upper()}"] = str(value)
    env["INVENTORY_SYNC_LOG_LEVEL"] = "WARNING"
    result = subprocess.run(
        [EXECUTABLE, "run", "--max-messages", str(records), "--idle-timeout", "60", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    summary: dict[str, object] = json.loads(result.stdout.splitlines()[-1])
    return summary


def dead_letters_by_offset(settings: Settings, count: int) -> dict[tuple[int, int], list[str]]:
    letters: dict[tuple[int, int], list[str]] = {}
    for letter in read_dead_letters(settings):
        where = (int(letter["original_partition"]), int(letter["original_offset"]))
        letters.setdefault(where, []).append(str(letter["reason"]))
    assert sum(len(reasons) for reasons in letters.values()) >= count
    return letters


def test_every_kind_of_hostile_record_gets_its_outcome_and_the_run_goes_on(
    kafka_bootstrap: str, topic_name: str, database_url: str, kafka_client: str
) -> None:
    settings = hostile_settings(
        kafka_bootstrap, topic_name, database_url, kafka_client, batch_size=1
    )
    seed(settings, list(PRODUCTS))
    records = [*REJECTED, *APPLIED, *ORDERED]
    produced = produce_hostile(settings, records)

    summary = run_cli(settings, len(records))

    assert summary["records"] == len(records)
    assert summary["rejected"] == len(REJECTED)
    assert summary["by_reason"] == dict(sorted(Counter(h.reason for h in REJECTED).items()))
    assert stock(settings) == expected_counts(records)
    letters = dead_letters_by_offset(settings, len(REJECTED))
    assert letters == {where: [reason] for where, reason in produced.rejected().items()}


def test_ten_thousand_hostile_records_among_valid_ones_need_no_restart(
    kafka_bootstrap: str, topic_name: str, fresh_postgres_url: str, kafka_client: str
) -> None:
    settings = hostile_settings(kafka_bootstrap, topic_name, fresh_postgres_url, kafka_client)
    valid_products = [f"V-{n:03d}" for n in range(100)]
    seed(settings, [*PRODUCTS, *valid_products])
    records: list[Hostile] = []
    for i in range(12_000):
        if i % 6 == 5:  # one in six is valid: 2,000 updates, each newer than the last
            code = valid_products[(i // 6) % 100]
            at = T0 + timedelta(seconds=i)
            records.append(
                Hostile(f"valid {i}", event(code, i, at), key=code.encode(), product=code, count=i)
            )
        else:  # every kind in turn; a 70 kB one only once in a hundred
            kinds = [h for h in REJECTED if h.name != "too large"] if i % 100 else REJECTED
            kind = kinds[i % len(kinds)]
            if kind.reason == "unknown_product":  # one code each: none supersedes another
                kind = Hostile(kind.name, event(f"NOPE-{i}", 1), reason=kind.reason)
            records.append(kind)
    records.extend(APPLIED)
    hostile = sum(1 for h in records if h.reason is not None)
    assert hostile >= 10_000
    produced = produce_hostile(settings, records)

    summary = run_cli(settings, len(records))

    assert summary["records"] == len(records)
    assert summary["rejected"] == hostile, summary
    assert stock(settings) == expected_counts(records)
    letters = dead_letters_by_offset(settings, hostile)
    assert letters == {where: [reason] for where, reason in produced.rejected().items()}
