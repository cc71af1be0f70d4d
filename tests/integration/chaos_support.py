"""What the worker-process and chaos tests share: worker processes, a broker and a PostgreSQL
server of a test's own (to stop and start), and a watch on the products table.

`inventory-sync run` is launched as users launch it (CLI), settings in INVENTORY_SYNC_*
variables. Where a test kills workers outright, it runs the library's facade through
`python -c` instead (DRIVER), with the client's record source built with short group timings
(TEST_CONSUMER_OVERRIDES, JSON) so that a dead member leaves the group in seconds rather than
the default 45 s.
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
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from inventory_sync.adapters.sql.repository import SqlUnitOfWork
from inventory_sync.domain.model import Product
from inventory_sync.settings import Settings
from tests.integration.kafka_support import fast_overrides
from tests.integration.kafka_support import wait_for as wait_with_deadline
from tests.integration.sql_support import engine_on

REPO = Path(__file__).resolve().parents[2]
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
CLI = [sys.executable, "-c", "from inventory_sync.entrypoints.cli import main; main()"]
DRIVER = [
    sys.executable,
    "-c",
    """
import json, logging, os, signal, sys, time
from dependency_injector import providers
from inventory_sync.facade import InventorySync
from inventory_sync.settings import Settings

logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                    format="%(asctime)s %(levelname)s %(name)s: %(message)s")
settings = Settings()
if settings.kafka_client == "confluent":
    from inventory_sync.adapters.kafka.confluent.source import ConfluentRecordSource as Source
else:
    from inventory_sync.adapters.kafka.kafka_python.source import KafkaRecordSource as Source
positions = {}
if settings.offset_storage == "database":  # as the container wires it
    from inventory_sync.adapters.sql.engine import create_engine_from_url
    from inventory_sync.container import positions_reader

    engine = create_engine_from_url(settings.database_url)
    positions["stored_positions"] = positions_reader(engine, settings.group_id)
source = Source(
    settings, overrides=json.loads(os.environ["TEST_CONSUMER_OVERRIDES"]), **positions
)
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
crash_in_write = int(os.environ.get("TEST_CRASH_DURING_WRITE_OF_BATCH", "0"))
if crash_in_write:  # killed inside a write: its UPDATE has run, its transaction is open
    import threading
    from inventory_sync.adapters.sql.repository import SqlProductRepository

    apply, writes = SqlProductRepository.apply, []

    def apply_or_crash(self, changes):
        result = apply(self, changes)
        writes.append(len(changes))
        if len(writes) == crash_in_write:
            logging.getLogger("test.driver").info(
                "killed in the middle of a write, in thread %s", threading.current_thread().name
            )
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    SqlProductRepository.apply = apply_or_crash
hold_s = float(os.environ.get("TEST_HOLD_ONE_BATCH_S", "0"))
if hold_s:  # a zombie: holds one batch until the group has moved its partitions on
    poll, handed = source.poll, []

    def poll_and_hold(max_records, timeout_s):
        records = poll(max_records, timeout_s)
        handed.append(len(records))
        if records and sum(handed) > int(os.environ.get("TEST_HOLD_AFTER", "0")) and hold_s:
            logging.getLogger("test.driver").info("holding a batch for %s s", hold_s)
            time.sleep(hold_s)
            handed.append(-10**9)  # once
        return records

    source.poll = poll_and_hold
sync = InventorySync(settings)
sync.container.record_source.override(providers.Object(source))
print(json.dumps(sync.run(idle_timeout_s=float(sys.argv[1])).to_dict()), flush=True)
""",
]
PRODUCTS = [f"SKU-{n:03d}" for n in range(200)]
DEADLINE_S = 90.0


# -- worker processes -----------------------------------------------------------------------


@dataclass
class Worker:
    """A worker process, its output in files (read while it runs, no pipe to fill up)."""

    process: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path
    started_at: float = field(default_factory=time.monotonic)

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

    def kill(self) -> int:
        self.process.kill()
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


def worker_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The worker's environment: the settings as INVENTORY_SYNC_* variables; for DRIVER, the
    consumer overrides in TEST_CONSUMER_OVERRIDES (short group timings, the default
    max.poll.interval, as a batch may take long during an outage) unless `extra` has them."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("INVENTORY_SYNC_")}
    names = ("kafka_client", "bootstrap_servers", "topic", "dlq_topic", "group_id", "database_url")
    for name in names:
        env[f"INVENTORY_SYNC_{name.upper()}"] = str(getattr(settings, name))
    overrides = fast_overrides(settings.kafka_client, short_poll_interval=False)
    env["TEST_CONSUMER_OVERRIDES"] = json.dumps(overrides)
    env["INVENTORY_SYNC_BATCH_SIZE"] = str(settings.batch_size)
    env["INVENTORY_SYNC_WRITE_MAX_RECORDS"] = str(settings.write_max_records)
    env["INVENTORY_SYNC_POLL_TIMEOUT_MS"] = "200"
    env["INVENTORY_SYNC_LOG_LEVEL"] = "INFO"
    return {**env, **extra}


def wait_for(condition: Callable[[], bool], what: str, timeout: float = DEADLINE_S) -> None:
    wait_with_deadline(condition, what, timeout)


# -- the products table ---------------------------------------------------------------------


def catalogue(url: str) -> None:
    with engine_on(url) as engine, SqlUnitOfWork(engine) as uow:
        uow.products.add([Product(code, code) for code in PRODUCTS])
        uow.commit()


def stock(url: str) -> dict[str, int]:
    with engine_on(url, migrated=False) as engine, SqlUnitOfWork(engine) as uow:
        return {p.code: p.inventory_count for p in uow.products.list()}


class watching_for_counts_moving_back:  # noqa: N801 - a context manager, read as a phrase
    """Samples the products table while workers run; collects every product whose time or
    count ever moved back (a count may change only when its time moves forward), and when the
    table changed (changed_after: when the next batch was applied after a fault cleared).

    A database that is down (PostgreSQL outage) is sampled again once it is back."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.went_back: list[str] = []
        self.changes: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> watching_for_counts_moving_back:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def changed_after(self, at: float) -> float | None:
        """When the table first changed after `at` (time.monotonic), if it has."""
        return next((t for t in self.changes if t > at), None)

    def _watch(self) -> None:
        seen: dict[str, tuple[datetime, int]] = {}
        with engine_on(self.url, migrated=False) as engine:
            uow = SqlUnitOfWork(engine)
            while not self._stop.wait(0.05):
                try:
                    with uow as opened:
                        products = opened.products.list()
                except Exception:  # the database is away (an outage test): sample again
                    continue
                sampled_at, changed = time.monotonic(), False
                for p in products:
                    if p.inventory_updated_at is None:
                        continue
                    now = (p.inventory_updated_at, p.inventory_count)
                    before = seen.get(p.code)
                    if before is not None and (
                        now[0] < before[0] or (now[0] == before[0] and now[1] != before[1])
                    ):
                        self.went_back.append(f"{p.code}: {before} -> {now}")
                    changed = changed or now != before
                    seen[p.code] = now
                if changed:
                    self.changes.append(sampled_at)


# -- servers of a test's own ----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def missing(what: str) -> None:
    """A service a test needs cannot be had: fail in CI, skip elsewhere (as tests/conftest.py)."""
    message = f"{what}; scripts/test sets it up"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


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
    # Under /tmp, not tmp_path: the server's OS user must be able to reach it.
    home = Path(f"/tmp/inventory-sync-pg-outage-{uuid.uuid4().hex[:8]}")
    server = ThrowawayPostgres(home, free_port())
    server.start()
    try:
        yield server
    finally:
        try:
            server.stop()
        finally:
            shutil.rmtree(server.home, ignore_errors=True)


PRIVATE_BROKER_PROPERTIES = "group.min.session.timeout.ms=1000"
"""So that the chaos tests' killed members leave the group within 3 s (the default minimum is
6 s)."""


@dataclass
class PrivateBroker:
    """A Kafka broker of the tests' own, to stop and start: scripts/kafka-local with a state
    folder and ports of its own, on the jars already in the main cache."""

    state: Path
    port: int
    controller_port: int

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _script(self, command: str) -> None:
        env = {
            **os.environ,
            "INVENTORY_SYNC_KAFKA_STATE": str(self.state),
            "INVENTORY_SYNC_KAFKA_PORT": str(self.port),
            "INVENTORY_SYNC_KAFKA_CONTROLLER_PORT": str(self.controller_port),
            "INVENTORY_SYNC_KAFKA_PROPERTIES": PRIVATE_BROKER_PROPERTIES,
        }
        done = subprocess.run(
            [str(REPO / "scripts" / "kafka-local"), command],
            env=env,
            capture_output=True,
            text=True,
            timeout=900,  # the first start may fetch the jars
            check=False,
        )
        assert done.returncode == 0, f"kafka-local {command}:\n{done.stdout}\n{done.stderr}"

    def start(self) -> float:
        """Start it and wait until it serves; returns when (time.monotonic) it did."""
        self._script("start")
        return time.monotonic()

    def stop(self) -> None:
        self._script("stop")

    def restart_after(self, down_s: float) -> float:
        """Stop it, keep it down `down_s` seconds, start it; returns when it served again."""
        self.stop()
        time.sleep(down_s)
        return self.start()


@pytest.fixture(scope="module")
def private_broker() -> Iterator[PrivateBroker]:
    """A broker of this module's own, started once (a few seconds) and deleted afterwards."""
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        missing("Java (for a Kafka broker of the tests' own) is not installed")
    state = Path(f"/tmp/inventory-sync-kafka-chaos-{uuid.uuid4().hex[:8]}")
    broker = PrivateBroker(state, free_port(), free_port())
    try:
        broker.start()
    except AssertionError as exc:
        shutil.rmtree(state, ignore_errors=True)
        missing(f"a Kafka broker of the tests' own did not start: {exc}")
    try:
        yield broker
    finally:
        try:
            broker.stop()
        finally:
            shutil.rmtree(state, ignore_errors=True)
