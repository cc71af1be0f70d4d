"""Dead letters that converge: `dlq replay` and `dlq show` as a user runs them (CLI in a
subprocess), against a dead-letter topic holding a letter of every rejection reason."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from kafka import KafkaConsumer
from kafka.partitioner.default import murmur2
from kafka.structs import TopicPartition

from tests.integration.kafka_support import T0
from tests.integration.sql_support import create_shop_table, engine_on, shop_product
from tests.integration.test_cli_end_to_end import Cli

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

FUTURE = "2100-01-01T00:00:00+00:00"
PARTITIONS = 2


def event(code: str, count: object, at: str = T0.isoformat(), **extra: object) -> str:
    return json.dumps({"product_code": code, "inventory_count": count, "occurred_at": at, **extra})


def dlq_partition(key: str) -> int:
    """The dead-letter partition the worker's producer (kafka-python) gives a key."""
    return (murmur2(key.encode()) & 0x7FFFFFFF) % PARTITIONS


# GHOST-3's letter lands on dead-letter partition 1 and is rejected in the first run,
# GHOST-0's on partition 0 in the second: partition order and rejection order differ.
FIRST_GHOST, SECOND_GHOST = "GHOST-3", "GHOST-0"

FIRST_RUN = {
    "malformed_json": "[1, 2",
    "invalid_payload": event("SKU-1", -5),
    "unknown_product": event(FIRST_GHOST, 3),
    "too_large": event("SKU-1", 3, note="x" * 600),  # max_message_bytes is 512
    "storage_rejected": event("SKU-2", 5_000),  # the shop table allows at most 1000
    "from_the_future": event("SKU-3", 2, FUTURE),
    "applied": event("SKU-3", 7),
}
SECOND_RUN = [event(SECOND_GHOST, 4), event("SKU-1", 1, FUTURE)]


@dataclass
class Shop:
    cli: Cli
    database_url: str
    bootstrap: str
    topic: str

    @property
    def dlq_topic(self) -> str:
        return f"{self.topic}.dlq"

    def records(self, topic: str) -> list[Any]:
        """Every record of `topic` now, in partition and offset order."""
        return read_all(self.bootstrap, topic)

    def add_products(self, *codes: str) -> None:
        with engine_on(self.database_url, migrated=False) as engine, engine.begin() as conn:
            conn.execute(
                sa.insert(shop_product),
                [
                    {"sku": c, "title": c, "stock": 0, "price_cents": 1, "description": c}
                    for c in codes
                ],
            )

    def show(self, *args: str) -> list[dict[str, Any]]:
        letters: list[dict[str, Any]] = json.loads(self.cli("dlq", "show", "--json", *args).stdout)
        return letters

    def replay(self, *args: str) -> list[str]:
        return self.cli("dlq", "replay", *args).stdout.splitlines()


def read_all(bootstrap: str, topic: str) -> list[Any]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
        ends = consumer.end_offsets(tps)
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        records: list[Any] = []
        for _ in range(200):
            if all(consumer.position(tp) >= ends[tp] for tp in tps):
                break
            for batch in consumer.poll(timeout_ms=200).values():
                records.extend(batch)
        assert all(consumer.position(tp) >= ends[tp] for tp in tps), f"could not read {topic}"
        return sorted(records, key=lambda r: (r.partition, r.offset))
    finally:
        consumer.close()


def origin(letter: dict[str, Any]) -> tuple[int, int]:
    return letter["original_partition"], letter["original_offset"]


def record_origin(record: Any) -> tuple[int, int]:
    """The original coordinates a dead-letter record's headers give."""
    headers = dict(record.headers)
    return (
        int(headers["inventory_sync.original_partition"]),
        int(headers["inventory_sync.original_offset"]),
    )


@pytest.fixture
def shop(sqlite_url: str, kafka_bootstrap: str, topic_name: str, tmp_path: Path) -> Shop:
    """A shop table with SKU-1..3 and both topics (2 partitions each); the worker has run
    twice, leaving a dead letter of every reason, two unknown products and two from the future."""
    assert dlq_partition(FIRST_GHOST) == 1
    assert dlq_partition(SECOND_GHOST) == 0
    with engine_on(sqlite_url, migrated=False) as engine:
        create_shop_table(engine, ["SKU-1", "SKU-2", "SKU-3"])
    cli = Cli(
        database_url=sqlite_url,
        bootstrap_servers=kafka_bootstrap,
        topic=topic_name,
        dlq_topic=f"{topic_name}.dlq",
        group_id=f"group-{uuid.uuid4().hex[:8]}",
        log_level="WARNING",
        products_table="shop_product",
        code_column="sku",
        count_column="stock",
        updated_at_column="stock_changed_at",
        name_column="title",
        max_message_bytes="512",
    )
    cli("topics", "create", "--partitions", str(PARTITIONS))
    for number, lines in enumerate([list(FIRST_RUN.values()), SECOND_RUN]):
        events = tmp_path / f"events-{number}.jsonl"
        events.write_text("\n".join(lines) + "\n")
        cli("produce", "--file", str(events))
        count = str(len(lines))
        cli("run", "--max-messages", count, "--idle-timeout", "30", "--json")
    return Shop(cli, sqlite_url, kafka_bootstrap, topic_name)


def test_dlq_show_lists_the_letters_by_time_of_rejection_and_filters_them(shop: Shop) -> None:
    records = shop.records(shop.dlq_topic)
    origins = {record_origin(r): r for r in records}
    by_partition = [record_origin(r) for r in records]
    by_time = [
        record_origin(r)
        for r in sorted(records, key=lambda r: (r.timestamp, r.partition, r.offset))
    ]

    letters = shop.show()
    ghosts = shop.show("--reason", "unknown_product")
    second_ghost = shop.show("--product", SECOND_GHOST)
    futures_of_sku_1 = shop.show("--reason", "from_the_future", "--product", "SKU-1")
    oldest_two = shop.show("--limit", "2")
    text = shop.cli("dlq", "show", "--reason", "too_large").stdout.splitlines()

    assert by_time != by_partition  # else the order below would prove nothing
    assert [origin(letter) for letter in letters] == by_time
    assert Counter(letter["reason"] for letter in letters) == {
        "malformed_json": 1,
        "invalid_payload": 1,
        "unknown_product": 2,
        "too_large": 1,
        "storage_rejected": 1,
        "from_the_future": 2,
    }
    assert {letter["status"] for letter in letters} == {"pending"}
    for letter in letters:
        rejected = datetime.fromtimestamp(origins[origin(letter)].timestamp / 1000, UTC)
        assert letter["rejected_at"] == rejected.isoformat(timespec="milliseconds")
    assert [letter["key"] for letter in ghosts] == [FIRST_GHOST, SECOND_GHOST]
    assert [(d["reason"], d["key"]) for d in second_ghost] == [("unknown_product", SECOND_GHOST)]
    assert [json.loads(d["value"])["occurred_at"] for d in futures_of_sku_1] == [FUTURE]
    assert oldest_two == letters[:2]
    assert len(text) == 2
    assert text[0].startswith(f"{shop.topic}[")
    assert "  pending   " in text[0]
    assert "too_large: value is " in text[0]


def test_dlq_replay_sends_back_only_what_can_succeed_once_and_the_rest_when_named(
    shop: Shop,
) -> None:
    originals = {(r.partition, r.offset): r for r in shop.records(shop.topic)}
    shop.add_products(FIRST_GHOST, SECOND_GHOST)

    dry = shop.replay("--dry-run")
    after_dry = shop.records(shop.topic)
    pending_after_dry = shop.show()
    first = shop.replay()
    after_first = shop.records(shop.topic)
    second = shop.replay()
    after_second = shop.records(shop.topic)
    shown_after_first = shop.show()

    fixable = [
        d for d in pending_after_dry if d["reason"] in ("unknown_product", "storage_rejected")
    ]
    assert len(dry) == 1 + 3 + 4
    assert dry[0] == (
        f"would replay 3 dead letters from {shop.dlq_topic} to {shop.topic} "
        "(dry run: nothing sent, nothing committed)"
    )
    assert len(after_dry) == len(originals)
    assert {d["status"] for d in pending_after_dry} == {"pending"}
    assert first[0] == f"replayed 3 dead letters from {shop.dlq_topic} to {shop.topic}"
    assert sorted(first[1:]) == [
        "skipped 1 invalid_payload: cannot succeed as it is, so replayed only when named "
        "(--reason invalid_payload)",
        "skipped 1 malformed_json: cannot succeed as it is, so replayed only when named "
        "(--reason malformed_json)",
        "skipped 1 too_large: can succeed only once max_message_bytes is raised, so replayed "
        "only when named (--reason too_large)",
        "skipped 2 from_the_future: can succeed only once the producer's clock is right, so "
        "replayed only when named (--reason from_the_future)",
    ]
    sent = [r for r in after_first if (r.partition, r.offset) not in originals]
    assert sorted((r.key, r.value) for r in sent) == sorted(
        (d["key"].encode(), d["value"].encode()) for d in fixable
    )
    for record in sent:
        [letter] = [d for d in fixable if d["value"] == record.value.decode()]
        assert record.headers == []
        assert record.timestamp == originals[origin(letter)].timestamp
    assert second == [f"replayed 0 dead letters from {shop.dlq_topic} to {shop.topic}"]
    assert len(after_second) == len(after_first)
    status = {origin(d): d["status"] for d in shown_after_first}
    assert {w: s for w, s in status.items() if s == "replayed"} == {
        origin(d): "replayed" for d in fixable
    }
    assert Counter(status.values()) == {"replayed": 3, "pending": 5}
    assert [d["status"] for d in shop.show("--reason", "unknown_product")] == ["replayed"] * 2

    # The producer's clock is fixed: the letters from the future are replayed when named,
    # one product first, then the rest, and each only once.
    future_dry = shop.replay("--reason", "from_the_future", "--dry-run")
    one = shop.replay("--reason", "from_the_future", "--product", "SKU-3")
    rest = shop.replay("--reason", "from_the_future")
    again = shop.replay("--reason", "from_the_future")
    default_again = shop.replay()
    after_futures = shop.records(shop.topic)
    shown_at_last = shop.show()

    assert future_dry[0].startswith("would replay 2 dead letters")
    assert one[0].startswith("replayed 1 dead letters")
    assert "skipped 1 from_the_future: of products --product did not name" in one
    assert rest[0].startswith("replayed 1 dead letters")
    assert again[0].startswith("replayed 0 dead letters")
    assert default_again == [f"replayed 0 dead letters from {shop.dlq_topic} to {shop.topic}"]
    before = {(r.partition, r.offset) for r in after_first}
    new = [r for r in after_futures if (r.partition, r.offset) not in before]
    futures = [d for d in shown_at_last if d["reason"] == "from_the_future"]
    assert sorted(r.value for r in new) == sorted(d["value"].encode() for d in futures)
    assert len(after_futures) == len(after_first) + 2
    assert Counter((d["reason"], d["status"]) for d in shown_at_last) == {
        ("malformed_json", "pending"): 1,
        ("invalid_payload", "pending"): 1,
        ("too_large", "pending"): 1,
        ("unknown_product", "replayed"): 2,
        ("storage_rejected", "replayed"): 1,
        ("from_the_future", "replayed"): 2,
    }
