"""Exactly once into the database (offset_storage = database), worker processes on a broker of
the tests' own with short group sessions (chaos_support), once per client, the databases
alternated so that each client meets each database:

- a burst of deltas, the worker SIGKILLed at several points (once right after a database
  commit, before the Kafka commit; once inside a write in the writer thread, its
  transaction open) and restarted: every count is start + the sum, exactly
  (kafka-python + PostgreSQL, confluent + SQLite);
- the same with two workers in one group, one SIGKILLed mid-burst (kafka-python + SQLite,
  confluent + PostgreSQL);
- a shop's own table without an updated_at column (no stale guard), two workers racing
  through forced rebalances (one joins mid-burst, then the first leaves): every count is its
  product's newest event's (kafka-python + PostgreSQL, confluent + SQLite).

Each prints its wall time: EXACTLY_ONCE scenario=... client=... database=... wall_s=...
"""

from __future__ import annotations

import json
import random
import signal
import time
from dataclasses import dataclass, field

import pytest
import sqlalchemy as sa

from inventory_sync.adapters.sql.migrate import upgrade
from inventory_sync.adapters.sql.offsets import stored_positions
from inventory_sync.adapters.sql.repository import SqlUnitOfWork
from inventory_sync.adapters.sql.tables import TableMapping
from inventory_sync.domain.model import Product
from inventory_sync.settings import Settings
from tests.integration.chaos_support import (
    DRIVER,
    PrivateBroker,
    Worker,
    Workers,
    private_broker,
    wait_for,
    workers,
)
from tests.integration.kafka_support import (
    Event,
    committed_offsets,
    end_offsets,
    send,
    topic_settings,
)
from tests.integration.sql_support import engine_on

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]
__all__ = ["private_broker", "workers"]  # the fixtures

PRODUCTS = [f"SKU-{n:03d}" for n in range(100)]
START = 1_000
EVENTS = 2_000
DRAIN_DEADLINE_S = 120.0
GROUP_TIMINGS: dict[str, dict[str, int]] = {
    "kafka-python": {
        "session_timeout_ms": 3_000,
        "heartbeat_interval_ms": 500,
        "fetch_max_wait_ms": 100,
    },
    "confluent": {
        "session.timeout.ms": 3_000,
        "heartbeat.interval.ms": 500,
        "fetch.wait.max.ms": 100,
    },
}
"""A killed member leaves the group in 3 s (the private broker allows sessions that short)."""

SHOP = TableMapping(
    table="shop_stock",
    code_column="sku",
    count_column="qty",
    updated_at_column=None,
    name_column=None,
)
"""A shop's table with no time column: the stale guard is off."""


def delta_burst(size: int, seed: int) -> tuple[list[Event], dict[str, int]]:
    """Deltas keyed by product code; the count each product must end with."""
    rng = random.Random(seed)
    events, expected = [], dict.fromkeys(PRODUCTS, START)
    for _ in range(size):
        code, delta = rng.choice(PRODUCTS), rng.randint(-3, 5)
        events.append(
            Event(
                code.encode(), json.dumps({"product_code": code, "inventory_delta": delta}).encode()
            )
        )
        expected[code] += delta
    return events, expected


def count_burst(size: int, seed: int) -> tuple[list[Event], dict[str, int]]:
    """Absolute counts without occurred_at (nothing orders them but the offsets), keyed by
    product; each product's newest count is the last one sent."""
    rng = random.Random(seed)
    events, newest = [], {}
    for n in range(size):
        code = rng.choice(PRODUCTS)
        events.append(
            Event(code.encode(), json.dumps({"product_code": code, "inventory_count": n}).encode())
        )
        newest[code] = n
    return events, newest


@dataclass
class Scenario:
    name: str
    client: str
    database: str
    settings: Settings
    partitions: int
    expected: dict[str, int]
    env: dict[str, str] = field(default_factory=dict)
    started_at: float = field(default_factory=time.monotonic)

    def run(self, workers: Workers, **env: str) -> Worker:
        overrides = json.dumps(GROUP_TIMINGS[self.client])
        env = {"TEST_CONSUMER_OVERRIDES": overrides, **self.env, **env}
        return workers.start([*DRIVER, "180"], self.settings, **env)

    def stored(self) -> dict[int, int]:
        with engine_on(self.settings.database_url, migrated=False) as engine:
            found = stored_positions(engine, self.settings.group_id)
        return {partition: offset for (_, partition), offset in found.items()}

    def stored_total(self) -> int:
        return sum(self.stored().values())

    def wait_drained(self) -> None:
        end = end_offsets(self.settings, self.partitions)
        wait_for(lambda: self.stored() == end, "every record applied", DRAIN_DEADLINE_S)
        wait_for(
            lambda: committed_offsets(self.settings, self.partitions) == end,
            "the Kafka commit to follow",
            DRAIN_DEADLINE_S,
        )

    def counts(self, mapping: TableMapping | None = None) -> dict[str, int]:
        url = self.settings.database_url
        with engine_on(url, migrated=False) as engine, SqlUnitOfWork(engine, mapping) as uow:
            return {p.code: p.inventory_count for p in uow.products.list()}

    def report(self, capsys: pytest.CaptureFixture[str]) -> None:
        with capsys.disabled():
            print(
                f"\nEXACTLY_ONCE scenario={self.name} client={self.client} "
                f"database={self.database} wall_s={time.monotonic() - self.started_at:.1f}"
            )


@pytest.fixture
def make_scenario(
    request: pytest.FixtureRequest, private_broker: PrivateBroker, topic_name: str
) -> object:
    def make(
        name: str, client: str, database: str, partitions: int, expected: dict[str, int]
    ) -> Scenario:
        fixture = "sqlite_url" if database == "sqlite" else "fresh_postgres_url"
        url: str = request.getfixturevalue(fixture)
        settings = topic_settings(
            private_broker.bootstrap,
            topic_name,
            kafka_client=client,
            partitions=partitions,
            database_url=url,
            batch_size=10,
            write_max_records=30,  # many small writes, each gathered from up to three polls
        )
        return Scenario(
            name,
            client,
            database,
            settings,
            partitions,
            expected,
            env={"INVENTORY_SYNC_OFFSET_STORAGE": "database"},
        )

    return make


def with_catalogue(url: str) -> None:
    with engine_on(url) as engine, SqlUnitOfWork(engine) as uow:
        uow.products.add([Product(code, code, START) for code in PRODUCTS])
        uow.commit()


@pytest.mark.parametrize(
    ("client", "database"), [("kafka-python", "postgresql"), ("confluent", "sqlite")]
)
def test_deltas_through_sigkills_at_several_points_end_at_start_plus_sum_exactly(
    client: str,
    database: str,
    make_scenario: object,
    workers: Workers,
    capsys: pytest.CaptureFixture[str],
) -> None:
    events, expected = delta_burst(EVENTS, seed=21)
    scenario: Scenario = make_scenario("deltas_sigkill", client, database, 3, expected)  # type: ignore[operator]
    with_catalogue(scenario.settings.database_url)
    rng = random.Random(5)
    chunks = [events[i : i + EVENTS // 4] for i in range(0, EVENTS, EVENTS // 4)]
    # The first dies right after its 4th database commit, before that batch's Kafka commit:
    # Kafka's offsets are then behind the database's, and the next worker must not re-apply.
    send(scenario.settings, chunks[0])
    first = scenario.run(workers, TEST_CRASH_BEFORE_COMMIT_OF_BATCH="4")
    assert first.wait() == -signal.SIGKILL
    # The second dies inside its 3rd write, in the writer thread, with that write's UPDATE run
    # and its transaction open (and the loop gathering the next batch meanwhile).
    send(scenario.settings, chunks[1])
    second = scenario.run(workers, TEST_CRASH_DURING_WRITE_OF_BATCH="3")
    assert second.wait() == -signal.SIGKILL
    assert "killed in the middle of a write, in thread inventory-sync-writer" in second.log()
    for chunk in chunks[2:]:  # then killed at a random moment of each further chunk
        send(scenario.settings, chunk)
        applied = scenario.stored_total()
        worker = scenario.run(workers)
        wait_for(lambda applied=applied: scenario.stored_total() > applied, "a batch applied")
        time.sleep(rng.uniform(0.0, 0.3))
        assert worker.kill() == -signal.SIGKILL
    last = scenario.run(workers)
    wait_for(lambda: bool(last.assigned()), "the last worker to join")
    scenario.wait_drained()
    assert last.stop() == 0
    scenario.report(capsys)

    assert all(w.ran_on(client) for w in workers.started)
    assert scenario.counts() == expected
    assert "seeking to the offsets stored with the writes" in last.log()
    assert last.summary()["rejected"] == 0


@pytest.mark.parametrize(
    ("client", "database"), [("kafka-python", "sqlite"), ("confluent", "postgresql")]
)
def test_deltas_with_two_workers_one_sigkilled_mid_burst_end_at_start_plus_sum_exactly(
    client: str,
    database: str,
    make_scenario: object,
    workers: Workers,
    capsys: pytest.CaptureFixture[str],
) -> None:
    events, expected = delta_burst(EVENTS, seed=22)
    scenario: Scenario = make_scenario("deltas_two_workers", client, database, 4, expected)  # type: ignore[operator]
    with_catalogue(scenario.settings.database_url)
    first, second = scenario.run(workers), scenario.run(workers)
    wait_for(lambda: len(first.assigned()) == len(second.assigned()) == 2, "two partitions each")
    send(scenario.settings, events)
    wait_for(lambda: scenario.stored_total() >= EVENTS // 3, "a third applied")
    assert first.kill() == -signal.SIGKILL
    wait_for(lambda: len(second.assigned()) == 4, "the survivor to take all four partitions")
    scenario.wait_drained()
    assert second.stop() == 0
    scenario.report(capsys)

    assert first.ran_on(client)
    assert second.ran_on(client)
    assert scenario.counts() == expected
    assert second.summary()["rejected"] == 0


@pytest.mark.parametrize(
    ("client", "database"), [("kafka-python", "postgresql"), ("confluent", "sqlite")]
)
def test_a_shop_table_without_updated_at_ends_at_the_newest_counts_through_rebalances(
    client: str,
    database: str,
    make_scenario: object,
    workers: Workers,
    capsys: pytest.CaptureFixture[str],
) -> None:
    events, newest = count_burst(EVENTS, seed=23)
    scenario: Scenario = make_scenario("shop_table_rebalance", client, database, 4, newest)  # type: ignore[operator]
    with engine_on(scenario.settings.database_url, migrated=False) as engine:
        shop = sa.Table(
            "shop_stock",
            sa.MetaData(),
            sa.Column("sku", sa.String(64), primary_key=True),
            sa.Column("qty", sa.Integer, nullable=False),
        )
        shop.create(engine)
        with engine.begin() as connection:
            connection.execute(sa.insert(shop), [{"sku": c, "qty": 0} for c in PRODUCTS])
        assert upgrade(engine, products=False) == ["0002"]
    scenario.env.update(
        INVENTORY_SYNC_PRODUCTS_TABLE="shop_stock",
        INVENTORY_SYNC_CODE_COLUMN="sku",
        INVENTORY_SYNC_COUNT_COLUMN="qty",
        INVENTORY_SYNC_UPDATED_AT_COLUMN="",
    )
    # The first worker holds one batch for 6 s, longer than its max poll interval: the group
    # evicts it and gives its partitions to the second, which applies past the held batch;
    # then the first writes it anyway (an older count landing last, without the guard).
    evicted = {
        "kafka-python": {"max_poll_interval_ms": 3_000},
        "confluent": {"max.poll.interval.ms": 3_000},
    }[client]
    first = scenario.run(
        workers,
        TEST_CONSUMER_OVERRIDES=json.dumps({**GROUP_TIMINGS[client], **evicted}),
        TEST_HOLD_ONE_BATCH_S="6",
        TEST_HOLD_AFTER=str(EVENTS // 4),
    )
    wait_for(lambda: len(first.assigned()) == 4, "the first worker to own every partition")
    send(scenario.settings, events)
    wait_for(lambda: "holding a batch" in first.log(), "the first worker to hold a batch")
    second = scenario.run(workers)
    wait_for(lambda: len(second.assigned()) == 4, "the second worker to own every partition")
    scenario.wait_drained()
    # Its rejoin comes from the poll after the held one, so the held batch is in the writer's
    # hands by then, and stop() lets it finish (gathered records not yet written are dropped).
    wait_for(
        lambda: first.log().count("inventory_sync.kafka: assigned") >= 2,
        "the first worker to rejoin",
    )
    assert first.stop() == 0
    assert second.stop() == 0
    scenario.report(capsys)

    held = first.summary()["duplicate"]
    print(f"records of the held batch recognised as duplicates: {held}")
    assert held > 0, "the held batch came after the second worker had applied it"
    assert scenario.counts(SHOP) == newest
