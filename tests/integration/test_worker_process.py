"""The worker as a process: signals, crashes, a database outage, two workers in one group;
each test once per Kafka client (INVENTORY_SYNC_KAFKA_CLIENT).

`inventory-sync run` is launched as users launch it, settings in INVENTORY_SYNC_* variables.
Where a test kills a worker outright, it runs the library's facade through `python -c`
instead (DRIVER below), with the client's record source built with short group timings
(TEST_CONSUMER_OVERRIDES, JSON) so that the dead member leaves the group in seconds rather
than the default 45 s.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from inventory_sync.adapters.kafka.kafka_python.dead_letter_reader import read_dead_letters
from inventory_sync.adapters.sql.repository import SqlUnitOfWork
from inventory_sync.domain.model import Product
from inventory_sync.settings import Settings
from tests.integration.kafka_support import (
    CLIENTS,
    burst,
    committed_offsets,
    committed_total,
    end_offsets,
    fast_overrides,
    group_members,
    rejections_in_burst,
    send,
    topic_settings,
)
from tests.integration.kafka_support import wait_for as wait_with_deadline
from tests.integration.sql_support import engine_on

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-c", "from inventory_sync.entrypoints.cli import main; main()"]
DRIVER = [
    sys.executable,
    "-c",
    """
import json, logging, os, signal, sys
from dependency_injector import providers
from inventory_sync.facade import InventorySync
from inventory_sync.settings import Settings

logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                    format="%(levelname)s %(name)s: %(message)s")
settings = Settings()
if settings.kafka_client == "confluent":
    from inventory_sync.adapters.kafka.confluent import ConfluentRecordSource as Source
else:
    from inventory_sync.adapters.kafka.kafka_python.source import KafkaRecordSource as Source
source = Source(settings, overrides=json.loads(os.environ["TEST_CONSUMER_OVERRIDES"]))
logging.getLogger("test.driver").info("%s client: %s", settings.kafka_client, Source.__name__)
crash_at = int(os.environ.get("TEST_CRASH_BEFORE_COMMIT_OF_BATCH", "0"))
if crash_at:
    commit, batches = source.commit, []

    def commit_or_crash(records):
        batches.append(len(records))
        if len(batches) == crash_at:  # after the database commit and the dead letters
            os.kill(os.getpid(), signal.SIGKILL)
        commit(records)

    source.commit = commit_or_crash
sync = InventorySync(settings)
sync.container.record_source.override(providers.Object(source))
print(json.dumps(sync.run(idle_timeout_s=float(sys.argv[1])).to_dict()), flush=True)
""",
]
PRODUCTS = [f"SKU-{n:03d}" for n in range(200)]
DEADLINE_S = 90.0


@dataclass
class Worker:
    """A worker process, its output in files (read while it runs, no pipe to fill up)."""

    process: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path

    def log(self) -> str:
        return self.stderr.read_text(errors="replace")

    def summary(self) -> dict[str, Any]:
        lines = self.stdout.read_text().strip().splitlines()
        assert lines, f"no summary; log:\n{self.log()[-3000:]}"
        summary: dict[str, Any] = json.loads(lines[-1])
        return summary

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.wait()

    def wait(self, timeout: float = DEADLINE_S) -> int:
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            pytest.fail(f"the worker did not exit within {timeout} s; log:\n{self.log()[-3000:]}")

    def ran_on(self, client: str) -> bool:
        """Whether its log says it consumed with that Kafka client (the CLI and DRIVER say so)."""
        driver = {"kafka-python": "KafkaRecordSource", "confluent": "ConfluentRecordSource"}
        log = self.log()
        return f", {client} client)" in log or f"{client} client: {driver[client]}" in log

    def assigned(self) -> set[int]:
        """The partitions its last rebalance gave it, from its log."""
        lines = re.findall(r"inventory_sync\.kafka: assigned (.*)", self.log())
        return {int(p) for p in re.findall(r"\[(\d+)\]", lines[-1])} if lines else set()


@dataclass
class Workers:
    tmp_path: Path
    started: list[Worker] = field(default_factory=list)

    def start(self, command: list[str], settings: Settings, **env: str) -> Worker:
        n = len(self.started)
        stdout, stderr = self.tmp_path / f"worker{n}.out", self.tmp_path / f"worker{n}.log"
        with stdout.open("wb") as out, stderr.open("wb") as err:
            process = subprocess.Popen(
                command, cwd=REPO, env=worker_env(settings, **env), stdout=out, stderr=err
            )
        worker = Worker(process, stdout, stderr)
        self.started.append(worker)
        return worker


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Workers]:
    started = Workers(tmp_path)
    yield started
    for worker in started.started:
        if worker.process.poll() is None:
            worker.process.kill()
            worker.process.wait()


def wait_for(condition: Callable[[], bool], what: str) -> None:
    wait_with_deadline(condition, what, DEADLINE_S)


@pytest.fixture(params=CLIENTS)
def kafka_client(request: pytest.FixtureRequest) -> str:
    """The Kafka client the worker processes use: every test runs once per client."""
    client: str = request.param
    return client


def worker_env(settings: Settings, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INVENTORY_SYNC_")}
    names = ("kafka_client", "bootstrap_servers", "topic", "dlq_topic", "group_id", "database_url")
    for name in names:
        env[f"INVENTORY_SYNC_{name.upper()}"] = str(getattr(settings, name))
    # For DRIVER: the default max.poll.interval, as a batch may take long during an outage.
    overrides = fast_overrides(settings.kafka_client, short_poll_interval=False)
    env["TEST_CONSUMER_OVERRIDES"] = json.dumps(overrides)
    env["INVENTORY_SYNC_BATCH_SIZE"] = str(settings.batch_size)
    env["INVENTORY_SYNC_POLL_TIMEOUT_MS"] = "200"
    env["INVENTORY_SYNC_LOG_LEVEL"] = "INFO"
    return {**env, **extra}


def catalogue(url: str) -> None:
    with engine_on(url) as engine, SqlUnitOfWork(engine) as uow:
        uow.products.add([Product(code, code) for code in PRODUCTS])
        uow.commit()


def stock(url: str) -> dict[str, int]:
    with engine_on(url, migrated=False) as engine, SqlUnitOfWork(engine) as uow:
        return {p.code: p.inventory_count for p in uow.products.list()}


def test_sigterm_mid_burst_exits_0_and_a_restart_ends_with_the_exact_counts(
    kafka_bootstrap: str, kafka_client: str, topic_name: str, sqlite_url: str, workers: Workers
) -> None:
    settings = topic_settings(
        kafka_bootstrap,
        topic_name,
        kafka_client=kafka_client,
        partitions=3,
        database_url=sqlite_url,
        batch_size=10,
    )
    catalogue(sqlite_url)
    events, expected = burst(PRODUCTS, 5_000)
    send(settings, events)

    first = workers.start([*CLI, "run", "--idle-timeout", "60", "--json"], settings)
    wait_for(lambda: committed_total(settings, 3) >= 200, "the first worker to get going")
    first_exit = first.stop()
    stopped_at = committed_total(settings, 3)
    second = workers.start([*CLI, "run", "--idle-timeout", "60", "--json"], settings)
    wait_for(lambda: committed_offsets(settings, 3) == end_offsets(settings, 3), "the rest")
    second_exit = second.stop()

    assert first.ran_on(kafka_client)
    assert second.ran_on(kafka_client)
    assert (first_exit, second_exit) == (0, 0)
    assert 0 < first.summary()["records"] == stopped_at < len(events)  # batch in hand committed
    assert second.summary()["records"] == len(events) - stopped_at  # and nothing replayed
    assert stock(sqlite_url) == expected
    assert committed_offsets(settings, 3) == end_offsets(settings, 3)
    assert len(read_dead_letters(settings)) == rejections_in_burst(len(events))


def test_a_crash_between_database_and_offset_commit_replays_the_batch_and_loses_nothing(
    kafka_bootstrap: str, kafka_client: str, topic_name: str, sqlite_url: str, workers: Workers
) -> None:
    settings = topic_settings(
        kafka_bootstrap,
        topic_name,
        kafka_client=kafka_client,
        partitions=3,
        database_url=sqlite_url,
        batch_size=10,
    )
    catalogue(sqlite_url)
    events, expected = burst(PRODUCTS, 3_000)
    send(settings, events)

    crashed = workers.start([*DRIVER, "60"], settings, TEST_CRASH_BEFORE_COMMIT_OF_BATCH="30")
    crash_exit = crashed.wait()
    # Once the group has expired the dead member, none of its commits can land any more.
    wait_for(lambda: group_members(settings)[0] == "EMPTY", "the group to expire the dead member")
    committed_at_crash = committed_total(settings, 3)
    with watching_for_counts_moving_back(sqlite_url) as went_back:
        restarted = workers.start([*DRIVER, "60"], settings)
        wait_for(lambda: committed_offsets(settings, 3) == end_offsets(settings, 3), "the rest")
        restart_exit = restarted.stop()

    assert crashed.ran_on(kafka_client)
    assert restarted.ran_on(kafka_client)
    assert crash_exit == -signal.SIGKILL
    assert 0 < committed_at_crash < len(events)
    assert restart_exit == 0
    assert restarted.summary()["records"] == len(events) - committed_at_crash
    assert went_back == []
    assert stock(sqlite_url) == expected
    assert committed_offsets(settings, 3) == end_offsets(settings, 3)
    letters = read_dead_letters(settings)
    assert len({(d["original_partition"], d["original_offset"]) for d in letters}) == (
        rejections_in_burst(len(events))
    )


class watching_for_counts_moving_back:  # noqa: N801 - a context manager, read as a phrase
    """Samples the products table while a worker runs; collects every product whose time or
    count ever moved back (a count may change only when its time moves forward)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.went_back: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> list[str]:
        self._thread.start()
        return self.went_back

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        seen: dict[str, tuple[datetime, int]] = {}
        with engine_on(self.url, migrated=False) as engine:
            uow = SqlUnitOfWork(engine)
            while not self._stop.wait(0.05):
                with uow as opened:
                    products = opened.products.list()
                for p in products:
                    if p.inventory_updated_at is None:
                        continue
                    now = (p.inventory_updated_at, p.inventory_count)
                    before = seen.get(p.code)
                    if before is not None and (
                        now[0] < before[0] or (now[0] == before[0] and now[1] != before[1])
                    ):
                        self.went_back.append(f"{p.code}: {before} -> {now}")
                    seen[p.code] = now


@dataclass
class ThrowawayPostgres:
    """A PostgreSQL server of this test's own (scripts/postgres-local on a free port)."""

    home: Path
    port: int

    def _script(self, command: str) -> str:
        env = {**os.environ, "INVENTORY_SYNC_PG_HOME": str(self.home)}
        env["INVENTORY_SYNC_PG_PORT"] = str(self.port)
        done = subprocess.run(
            [str(REPO / "scripts" / "postgres-local"), command],
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            check=True,
        )
        return done.stdout.strip()

    def start(self) -> None:
        self._script("start")

    def stop(self) -> None:
        self._script("stop")

    def url(self) -> str:
        return self._script("url")


@pytest.fixture
def throwaway_postgres(postgres_url: str) -> Iterator[ThrowawayPostgres]:
    """Asks for postgres_url so that it is skipped (or fails in CI) like every PostgreSQL test
    when the test server is not there; its own server runs the same programs."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Under /tmp, not tmp_path: the server's OS user must be able to reach it.
    server = ThrowawayPostgres(Path(f"/tmp/inventory-sync-pg-outage-{uuid.uuid4().hex[:8]}"), port)
    server.start()
    try:
        yield server
    finally:
        try:
            server.stop()
        finally:
            shutil.rmtree(server.home, ignore_errors=True)


def test_the_worker_rides_out_a_postgresql_outage_and_every_update_lands(
    kafka_bootstrap: str,
    kafka_client: str,
    topic_name: str,
    throwaway_postgres: ThrowawayPostgres,
    workers: Workers,
) -> None:
    url = throwaway_postgres.url()
    settings = topic_settings(
        kafka_bootstrap,
        topic_name,
        kafka_client=kafka_client,
        partitions=3,
        database_url=url,
        batch_size=10,
    )
    catalogue(url)
    events, expected = burst(PRODUCTS, 2_000)
    send(settings, events)

    worker = workers.start([*CLI, "run", "--idle-timeout", "60", "--json"], settings)
    wait_for(lambda: committed_total(settings, 3) >= 100, "the worker to get going")
    throwaway_postgres.stop()
    wait_for(lambda: worker.log().count("transient fault") >= 2, "two retries logged")
    committed_during_outage = committed_offsets(settings, 3)
    still_running = worker.process.poll() is None
    throwaway_postgres.start()
    wait_for(lambda: committed_offsets(settings, 3) == end_offsets(settings, 3), "the rest")
    exit_code = worker.stop()

    assert worker.ran_on(kafka_client)
    assert still_running
    assert exit_code == 0
    assert committed_offsets(settings, 3) != committed_during_outage
    assert re.search(r"WARNING inventory_sync\.worker: transient fault", worker.log())
    assert "recovered" in worker.log()
    assert stock(url) == expected
    assert worker.summary()["records"] == len(events)


def test_two_workers_share_the_partitions_and_one_takes_over_when_the_other_is_killed(
    kafka_bootstrap: str, kafka_client: str, topic_name: str, sqlite_url: str, workers: Workers
) -> None:
    settings = topic_settings(
        kafka_bootstrap,
        topic_name,
        kafka_client=kafka_client,
        partitions=6,
        database_url=sqlite_url,
        batch_size=20,
    )
    catalogue(sqlite_url)
    first = workers.start([*DRIVER, "120"], settings)
    second = workers.start([*DRIVER, "120"], settings)
    wait_for(
        lambda: len(first.assigned()) == len(second.assigned()) == 3,
        "three partitions each",
    )
    shared = (first.assigned(), second.assigned())
    events, expected = burst(PRODUCTS, 6_000)
    send(settings, events)
    wait_for(lambda: all(committed_offsets(settings, 6).values()), "progress on every partition")
    first.process.kill()
    wait_for(lambda: len(second.assigned()) == 6, "the survivor to take all six partitions")
    wait_for(lambda: committed_offsets(settings, 6) == end_offsets(settings, 6), "the rest")
    survivor_exit = second.stop()

    assert first.ran_on(kafka_client)
    assert second.ran_on(kafka_client)
    assert shared[0] | shared[1] == set(range(6))
    assert survivor_exit == 0
    assert stock(sqlite_url) == expected
    reasons = Counter(letter["reason"] for letter in read_dead_letters(settings))
    assert set(reasons) == {"malformed_json", "invalid_payload", "unknown_product"}
