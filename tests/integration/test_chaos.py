"""Chaos: the worker as a process through the faults an operator meets, once per Kafka client.

A broker restart mid-burst (down 30 s), three broker flaps, PostgreSQL down 30 s, SIGKILL at
five random points, two workers with one killed. Each ends checked against the exact
expected state: every product at the count of its newest event (0 lost), no count ever moved
back (0 regressed), every rejected record dead-lettered at least once, the group's offsets
committed at the end of every partition. Each prints one line with its figures, e.g.

    CHAOS scenario=broker_restart client=confluent events=3000 lost=0 regressed=0
          recovery_s=0.4 drain_s=4.2 wall_s=42.5

recovery_s runs from the fault clearing (the broker or database serving again, a killed
worker restarted) to the next batch applied, seen in the products table (or to the end of the
drain if that came first); the largest when there are several. drain_s runs from the fault
clearing to the last offset committed; wall_s is the whole scenario. Only a generous deadline
is asserted (RECOVERY_DEADLINE_S), never a speed.

The broker is one of this module's own (chaos_support.private_broker), so that it can be
stopped; so is the PostgreSQL of the outage. The products live in PostgreSQL, which the
watch on the table can read while the workers write.
"""

from __future__ import annotations

import json
import logging
import random
import re
import signal
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from inventory_sync.adapters.kafka.kafka_python.dead_letter_reader import read_dead_letters
from inventory_sync.settings import Settings
from tests.integration.chaos_support import (
    CLI,
    DRIVER,
    PRODUCTS,
    PrivateBroker,
    ThrowawayPostgres,
    Worker,
    Workers,
    catalogue,
    private_broker,
    stock,
    throwaway_postgres,
    wait_for,
    watching_for_counts_moving_back,
    workers,
)
from tests.integration.kafka_support import (
    CLIENTS,
    Event,
    burst,
    committed_offsets,
    committed_total,
    end_offsets,
    produce_values,
    rejections_in_burst,
    send,
    topic_settings,
)

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]
__all__ = ["private_broker", "throwaway_postgres", "workers"]  # the fixtures

EVENTS = 3_000
RECOVERY_DEADLINE_S = 120.0
"""How long a worker may take to drain once a fault has cleared: generous, so that a worker
that never recovers fails the test instead of hanging it."""
CHAOS_GROUP: dict[str, dict[str, int]] = {
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
"""Group timings of the DRIVER workers that are killed: the private broker lets a session be
that short, so that a dead member leaves the group in 3 s."""


@pytest.fixture(params=CLIENTS)
def kafka_client(request: pytest.FixtureRequest) -> str:
    client: str = request.param
    return client


@dataclass
class Chaos:
    """One scenario's run: its topic, burst and watch, and its figures at the end."""

    name: str
    settings: Settings
    partitions: int
    events: list[Event]
    expected: dict[str, int]
    watch: watching_for_counts_moving_back
    started_at: float = field(default_factory=time.monotonic)
    recoveries: list[float] = field(default_factory=list)
    drain_s: float | None = None

    def wait_drained(self, after: float | None = None) -> float:
        """Wait until the group has committed every partition's end; returns when. A fault
        that cleared at `after` is recorded as one recovery (to the next applied batch)."""
        wait_for(
            lambda: committed_offsets(self.settings, self.partitions) == self.end_offsets(),
            "the worker to drain the topic",
            RECOVERY_DEADLINE_S,
        )
        drained_at = time.monotonic()
        if after is not None:
            self.recovered_from(after, drained_at)
            self.drain_s = drained_at - after
        return drained_at

    def recovered_from(
        self, cleared: float, at_the_latest: float, applied_after: float | None = None
    ) -> None:
        """One recovery: from `cleared` to the first batch applied after `applied_after`
        (default: after `cleared`), or to `at_the_latest` (the drain) if that came first."""
        applied = self.watch.changed_after(cleared if applied_after is None else applied_after)
        self.recoveries.append(min(applied or at_the_latest, at_the_latest) - cleared)

    def end_offsets(self) -> dict[int, int]:
        return end_offsets(self.settings, self.partitions)

    def check_end_state(self, client: str, capsys: pytest.CaptureFixture[str]) -> None:
        """Print the scenario's figures, then assert the exact end state."""
        counts = stock(self.settings.database_url)
        lost = sorted(code for code, count in self.expected.items() if counts.get(code) != count)
        letters = read_dead_letters(self.settings)
        dead_lettered = {(d["original_partition"], d["original_offset"]) for d in letters}
        recovery = max(self.recoveries, default=0.0)
        drain = "" if self.drain_s is None else f" drain_s={self.drain_s:.1f}"
        with capsys.disabled():
            print(
                f"\nCHAOS scenario={self.name} client={client} events={len(self.events)} "
                f"lost={len(lost)} regressed={len(self.watch.went_back)} "
                f"recovery_s={recovery:.1f}{drain} "
                f"wall_s={time.monotonic() - self.started_at:.1f}"
            )
        assert lost == []
        assert self.watch.went_back == []
        assert len(dead_lettered) == rejections_in_burst(len(self.events))
        assert {d["reason"] for d in letters} == {
            "malformed_json",
            "invalid_payload",
            "unknown_product",
        }
        assert committed_offsets(self.settings, self.partitions) == self.end_offsets()


@pytest.fixture
def shape() -> tuple[int, int]:
    """Partitions and events of a scenario's topic; a test parametrizes `shape` for others."""
    return 3, EVENTS


@pytest.fixture
def chaos(
    *,
    request: pytest.FixtureRequest,
    shape: tuple[int, int],
    private_broker: PrivateBroker,
    kafka_client: str,
    topic_name: str,
    fresh_postgres_url: str,
) -> Iterator[Chaos]:
    """A scenario on the private broker and a fresh PostgreSQL database."""
    partitions, size = shape
    settings = topic_settings(
        private_broker.bootstrap,
        topic_name,
        kafka_client=kafka_client,
        partitions=partitions,
        database_url=fresh_postgres_url,
        batch_size=10,
        write_max_records=10,  # many small writes: the faults land mid-burst
    )
    catalogue(fresh_postgres_url)
    events, expected = burst(PRODUCTS, size)
    with watching_for_counts_moving_back(fresh_postgres_url) as watch:
        yield Chaos(request.node.name, settings, partitions, events, expected, watch)


def run_cli(workers: Workers, settings: Settings) -> Worker:
    return workers.start([*CLI, "run", "--idle-timeout", "180", "--json"], settings)


def run_driver(workers: Workers, settings: Settings) -> Worker:
    overrides = json.dumps(CHAOS_GROUP[settings.kafka_client])
    return workers.start([*DRIVER, "180"], settings, TEST_CONSUMER_OVERRIDES=overrides)


def send_again(settings: Settings, events: list[Event]) -> None:
    """Produce the rest of a burst once the broker is back (librdkafka retries through its
    first seconds), so that the worker has to fetch again to finish."""
    produce_values(settings, *[e.value for e in events], keys=[e.key for e in events])


def two_thirds(events: list[Event]) -> tuple[list[Event], list[Event]]:
    cut = 2 * len(events) // 3
    return events[:cut], events[cut:]


def test_a_broker_down_30_s_mid_burst_loses_nothing_and_the_worker_drains_by_itself(
    chaos: Chaos,
    private_broker: PrivateBroker,
    kafka_client: str,
    workers: Workers,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The broker stops for 30 s mid-burst and comes back: the worker reconnects, re-joins,
    fetches the rest of the burst (produced once the broker is back) and drains."""
    chaos.name = "broker_restart"
    before, after = two_thirds(chaos.events)
    send(chaos.settings, before)
    worker = run_cli(workers, chaos.settings)
    wait_for(lambda: committed_total(chaos.settings, 3) >= 200, "the worker to get going")
    cleared = private_broker.restart_after(30.0)
    still_running = worker.process.poll() is None
    send_again(chaos.settings, after)
    chaos.wait_drained(after=cleared)
    exit_code = worker.stop()

    assert worker.ran_on(kafka_client)
    assert still_running
    assert exit_code == 0
    chaos.check_end_state(kafka_client, capsys)


def test_three_broker_flaps_mid_burst_lose_nothing(
    chaos: Chaos,
    private_broker: PrivateBroker,
    kafka_client: str,
    workers: Workers,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The broker goes away three times for a few seconds during the burst."""
    chaos.name = "broker_flaps"
    before, after = two_thirds(chaos.events)
    send(chaos.settings, before)
    worker = run_cli(workers, chaos.settings)
    wait_for(lambda: committed_total(chaos.settings, 3) >= 200, "the worker to get going")
    for _ in range(3):
        cleared = private_broker.restart_after(3.0)
        time.sleep(1.0)
    still_running = worker.process.poll() is None
    send_again(chaos.settings, after)
    chaos.wait_drained(after=cleared)
    exit_code = worker.stop()

    assert worker.ran_on(kafka_client)
    assert still_running
    assert exit_code == 0
    chaos.check_end_state(kafka_client, capsys)


def test_postgresql_down_30_s_mid_burst_is_ridden_out_and_every_update_lands(
    *,
    private_broker: PrivateBroker,
    kafka_client: str,
    topic_name: str,
    throwaway_postgres: ThrowawayPostgres,
    workers: Workers,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """PostgreSQL is down 30 s mid-burst: the worker retries the same batch with backoff,
    stays in its group, and lands every update once the database is back."""
    url = throwaway_postgres.url()
    settings = topic_settings(
        private_broker.bootstrap,
        topic_name,
        kafka_client=kafka_client,
        partitions=3,
        database_url=url,
        batch_size=10,
        write_max_records=10,  # many small writes: the faults land mid-burst
    )
    catalogue(url)
    events, expected = burst(PRODUCTS, EVENTS)
    send(settings, events)
    with watching_for_counts_moving_back(url) as watch:
        chaos = Chaos("postgresql_down", settings, 3, events, expected, watch)
        worker = run_cli(workers, settings)
        wait_for(lambda: committed_total(settings, 3) >= 100, "the worker to get going")
        throwaway_postgres.stop()
        down_at = time.monotonic()
        wait_for(lambda: worker.log().count("transient fault") >= 2, "two retries logged")
        committed_during_outage = committed_offsets(settings, 3)
        time.sleep(max(0.0, 30.0 - (time.monotonic() - down_at)))
        still_running = worker.process.poll() is None
        throwaway_postgres.start()
        chaos.wait_drained(after=time.monotonic())
        exit_code = worker.stop()

    assert worker.ran_on(kafka_client)
    assert still_running
    assert exit_code == 0
    assert committed_offsets(settings, 3) != committed_during_outage
    assert re.search(r"WARNING inventory_sync\.worker: transient fault", worker.log())
    assert "recovered" in worker.log()
    assert worker.summary()["records"] == len(events)
    chaos.check_end_state(kafka_client, capsys)


def test_sigkill_at_five_random_points_of_a_burst_replays_and_skips_nothing(
    chaos: Chaos, kafka_client: str, workers: Workers, capsys: pytest.CaptureFixture[str]
) -> None:
    """Killed five times at random points of the burst (mid-batch, mid-commit, while
    joining), restarted each time, then left to finish: replays, never a gap."""
    chaos.name = "sigkill_x5"
    seed = random.randrange(1_000_000)
    rng = random.Random(seed)
    print(f"kill points from seed {seed}")
    send(chaos.settings, chaos.events)
    thresholds = sorted(rng.sample(range(len(chaos.events) // 20, len(chaos.events) * 4 // 5), 5))
    for kill, threshold in enumerate(thresholds):
        worker = run_driver(workers, chaos.settings)
        # Read what is committed only once this worker is up: a commit the killed worker had
        # in flight may land at the broker after the kill, and must not count for this one.
        wait_for(lambda w=worker: w.ran_on(kafka_client), "the worker started", RECOVERY_DEADLINE_S)
        # Past the threshold, and past what the killed worker committed: this one commits,
        # unless the killed worker had already committed the whole burst.
        at_least = min(len(chaos.events), max(threshold, committed_total(chaos.settings, 3) + 1))
        wait_for(
            lambda at_least=at_least: committed_total(chaos.settings, 3) >= at_least,
            f"{at_least} records committed",
            RECOVERY_DEADLINE_S,
        )
        if kill:  # a restart after a kill, not the first start
            chaos.recovered_from(worker.started_at, time.monotonic())
        time.sleep(rng.uniform(0.0, 0.3))
        assert worker.kill() == -signal.SIGKILL
    last = run_driver(workers, chaos.settings)
    chaos.wait_drained(after=last.started_at)
    exit_code = last.stop()

    assert all(w.ran_on(kafka_client) for w in workers.started)
    assert exit_code == 0
    chaos.check_end_state(kafka_client, capsys)


@pytest.mark.parametrize("shape", [(6, 4_000)], ids=["6x4000"])
def test_two_workers_share_the_partitions_and_one_takes_over_when_the_other_is_killed(
    chaos: Chaos, kafka_client: str, workers: Workers, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two workers share the partitions; one is killed mid-burst and the other takes over
    all six and finishes."""
    chaos.name = "two_workers_one_killed"
    first = run_driver(workers, chaos.settings)
    second = run_driver(workers, chaos.settings)
    wait_for(
        lambda: len(first.assigned()) == len(second.assigned()) == 3,
        "three partitions each",
    )
    shared = (first.assigned(), second.assigned())
    send(chaos.settings, chaos.events)
    wait_for(lambda: all(committed_offsets(chaos.settings, 6).values()), "every partition")
    assert first.kill() == -signal.SIGKILL
    killed_at = time.monotonic()
    wait_for(lambda: len(second.assigned()) == 6, "the survivor to take all six partitions")
    took_over_at = time.monotonic()
    drained_at = chaos.wait_drained()
    chaos.recovered_from(killed_at, drained_at, applied_after=took_over_at)
    chaos.drain_s = drained_at - killed_at
    survivor_exit = second.stop()

    assert first.ran_on(kafka_client)
    assert second.ran_on(kafka_client)
    assert shared[0] | shared[1] == set(range(6))
    assert survivor_exit == 0
    reasons = Counter(letter["reason"] for letter in read_dead_letters(chaos.settings))
    assert set(reasons) == {"malformed_json", "invalid_payload", "unknown_product"}
    chaos.check_end_state(kafka_client, capsys)


def consume_and_commit(source: Any, delivered: set[tuple[int, int]], count: int) -> None:
    """Poll and commit, noting (partition, offset) of each record, until `count` are in."""
    deadline = time.monotonic() + RECOVERY_DEADLINE_S
    while len(delivered) < count:
        assert time.monotonic() < deadline, f"{len(delivered)} of {count} records delivered"
        records = source.poll(10, 0.2)
        delivered.update((r.partition, r.offset) for r in records)
        source.commit(records)


def assert_every_record_delivered_and_committed(
    settings: Settings, delivered: set[tuple[int, int]]
) -> None:
    ends = end_offsets(settings, 3)
    assert delivered == {(p, offset) for p, end in ends.items() for offset in range(end)}
    assert committed_offsets(settings, 3) == ends


def test_a_kafka_python_consumer_stuck_after_a_broker_restart_is_replaced_and_resumes(
    private_broker: PrivateBroker, topic_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The wedge the source guards against, made certain: across a broker restart the
    consumer's group coordinator never comes back (its lookups are made to fail for good). The
    source replaces it once the broker answers again; the new consumer resumes from the
    committed offsets: every record is delivered, none skipped."""
    from kafka.errors import NodeNotReadyError
    from kafka.future import Future

    from inventory_sync.adapters.kafka.kafka_python.source import KafkaRecordSource

    settings = topic_settings(
        private_broker.bootstrap, topic_name, partitions=3, batch_size=10, write_max_records=10
    )
    produce_values(settings, *[b"before-%d" % i for i in range(300)])

    class QuickToReplace(KafkaRecordSource):
        stall_timeout_s = 5.0

    source = QuickToReplace(settings, overrides=CHAOS_GROUP["kafka-python"])
    delivered: set[tuple[int, int]] = set()

    caplog.set_level(logging.WARNING, logger="inventory_sync.kafka")
    try:
        consume_and_commit(source, delivered, 100)
        stuck = source._consumer
        private_broker.stop()
        stuck._coordinator.lookup_coordinator = lambda: Future().failure(
            NodeNotReadyError("the test keeps the coordinator away")
        )
        source.poll(10, 1.0)
        private_broker.start()
        produce_values(settings, *[b"after-%d" % i for i in range(300)])
        consume_and_commit(source, delivered, 600)
        replaced = source._consumer is not stuck
    finally:
        source.close()

    assert_every_record_delivered_and_committed(settings, delivered)
    assert replaced
    assert "replacing it" in caplog.text


def test_a_confluent_consumer_that_left_the_group_for_good_is_replaced_and_resumes(
    private_broker: PrivateBroker, topic_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    """librdkafka's wedge after a broker restart (its session timed out, it gave up its
    partitions and never joins again, while the broker answers), made certain: the consumer
    is unsubscribed behind the source's back, a real librdkafka consumer out of the group. The
    source replaces it; the new one joins and resumes from the committed offsets: every
    record is delivered, none skipped."""
    from inventory_sync.adapters.kafka.confluent.source import ConfluentRecordSource

    settings = topic_settings(
        private_broker.bootstrap, topic_name, partitions=3, kafka_client="confluent"
    )
    produce_values(settings, *[b"before-%d" % i for i in range(300)])

    class QuickToReplace(ConfluentRecordSource):
        stall_timeout_s = 3.0

    source = QuickToReplace(settings, overrides=CHAOS_GROUP["confluent"])
    delivered: set[tuple[int, int]] = set()

    caplog.set_level(logging.WARNING, logger="inventory_sync.kafka")
    try:
        consume_and_commit(source, delivered, 100)
        wedged = source._consumer
        wedged.unsubscribe()
        produce_values(settings, *[b"after-%d" % i for i in range(300)])
        consume_and_commit(source, delivered, 600)
        replaced = source._consumer is not wedged
    finally:
        source.close()

    assert_every_record_delivered_and_committed(settings, delivered)
    assert replaced
    assert "it left the group and has not joined again" in caplog.text


def test_a_broker_outage_while_idle_logs_one_warning_and_one_recovery_line(
    chaos: Chaos,
    private_broker: PrivateBroker,
    kafka_client: str,
    workers: Workers,
) -> None:
    """An idle worker (nothing left to consume) says when the broker goes and when it comes
    back: the clients reconnect quietly by themselves, so without this it would say nothing."""
    send(chaos.settings, chaos.events[:100])
    worker = run_cli(workers, chaos.settings)
    wait_for(lambda: committed_total(chaos.settings, 3) >= 100, "the worker to drain")
    time.sleep(2.0)  # idle: polls return nothing
    private_broker.stop()
    wait_for(lambda: "cannot be reached" in worker.log(), "the outage WARNING", 60.0)
    private_broker.start()
    wait_for(lambda: "is reachable again" in worker.log(), "the recovery line", 60.0)
    exit_code = worker.stop()

    log = worker.log()
    went = [line for line in log.splitlines() if "cannot be reached" in line]
    came_back = [line for line in log.splitlines() if "is reachable again" in line]
    assert worker.ran_on(kafka_client)
    assert exit_code == 0
    assert len(went) == 1, log[-3000:]
    assert " WARNING " in went[0]
    assert len(came_back) == 1, log[-3000:]
    assert log.index(went[0]) < log.index(came_back[0])
