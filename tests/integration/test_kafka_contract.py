"""The Kafka adapters' contract, against a real broker, once per client (`kafka_client`).

Every test gets its adapters from `make_source` / `make_sink`, which build the record source
and the dead-letter sink of the client under test (KafkaRecordSource / KafkaDeadLetterSink
or ConfluentRecordSource / ConfluentDeadLetterSink) with short group timings, and talks to
the broker through plain clients of its own (kafka_support), so that both adapters must keep
the same promises. A fresh topic (and .dlq) and consumer group per test.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from inventory_sync.adapters.kafka.kafka_python.admin import create_topics, missing_topics, produce
from inventory_sync.adapters.kafka.kafka_python.dead_letter_reader import (
    read_dead_letters,
    replay_dead_letters,
)
from inventory_sync.adapters.memory import InMemoryRepository, InMemoryUnitOfWork
from inventory_sync.application.worker import Backoff, Worker
from inventory_sync.domain.errors import TransientError
from inventory_sync.domain.model import Product, Record, StockChange
from inventory_sync.domain.ports import ApplyResult, DeadLetter
from inventory_sync.domain.rejections import Rejection, RejectionReason
from inventory_sync.domain.services import BatchReport, InventoryService
from inventory_sync.settings import Settings
from tests.integration.kafka_support import (
    CLIENTS,
    DEADLINE_S,
    MAX_POLL_INTERVAL_MS,
    assigned_partitions,
    committed_offsets,
    committed_total,
    dead_letter_sink,
    fast_overrides,
    group_members,
    poll_for,
    poll_until,
    produce_values,
    read_topic,
    record_source,
    settle,
    wait_for,
)

pytestmark = pytest.mark.kafka

REPO = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 11, 26, 12, 0, 0, 123000, tzinfo=UTC)

MakeSource = Callable[..., Any]
MakeSink = Callable[..., Any]


@pytest.fixture(params=CLIENTS)
def kafka_client(request: pytest.FixtureRequest) -> str:
    """The Kafka client under test: every test that uses an adapter runs once per client."""
    client: str = request.param
    return client


@pytest.fixture
def settings(kafka_bootstrap: str, topic_name: str, kafka_client: str) -> Settings:
    """The test's topic, dead-letter topic and group; tests create the topics they need."""
    return Settings(
        kafka_client=kafka_client,
        bootstrap_servers=kafka_bootstrap,
        topic=topic_name,
        dlq_topic=f"{topic_name}.dlq",
        group_id=f"{topic_name}-group",
    )


@pytest.fixture
def make_source(settings: Settings, kafka_client: str) -> Iterator[MakeSource]:
    """make_source(**kw): new sources of the client under test (in the test's group unless
    told otherwise, with short group timings), all closed after the test."""
    made: list[Any] = []

    def make(**kwargs: Any) -> Any:
        source = record_source(settings, kafka_client, **kwargs)
        made.append(source)
        return source

    yield make
    for source in made:
        source.close()


@pytest.fixture
def make_sink(settings: Settings, kafka_client: str) -> Iterator[MakeSink]:
    """make_sink(settings=None, timeout_s=None): dead-letter sinks of the client under test,
    closed after the test; `timeout_s` bounds how long a send may take to fail."""
    made: list[Any] = []

    def make(settings: Settings = settings, timeout_s: float | None = None) -> Any:
        sink = dead_letter_sink(settings, kafka_client, timeout_s)
        made.append(sink)
        return sink

    yield make
    for sink in made:
        sink.close()


def positions(records: Sequence[Record]) -> list[tuple[int, int]]:
    return sorted((record.partition, record.offset) for record in records)


def dead_letter(record: Record, reason: RejectionReason, error: str) -> DeadLetter:
    return DeadLetter(record, Rejection(reason, error))


# -- the record source ------------------------------------------------------------------


def test_the_source_hands_out_keys_values_headers_offsets_and_timestamps_as_produced(
    settings: Settings, make_source: MakeSource
) -> None:
    create_topics(settings)
    stamp_ms = int(T0.timestamp() * 1000)
    headers = [("trace", b"abc"), ("empty", b""), ("null", None)]
    produce_values(settings, b'{"n": 0}', keys=[b"SKU-1"], headers=headers, timestamp=stamp_ms)
    produce_values(settings, None, keys=[b"SKU-2"], timestamp=stamp_ms + 1)
    produce_values(settings, b"not json", keys=[None], timestamp=stamp_ms + 2)

    first, tombstone, keyless = poll_until(make_source(), 3)

    assert first == Record(
        key=b"SKU-1",
        value=b'{"n": 0}',
        topic=settings.topic,
        partition=0,
        offset=0,
        timestamp=T0,
        headers=(("trace", b"abc"), ("empty", b""), ("null", b"")),
    )
    assert (tombstone.key, tombstone.value, tombstone.offset) == (b"SKU-2", None, 1)
    assert (keyless.key, keyless.value, keyless.offset, keyless.headers) == (
        None,
        b"not json",
        2,
        (),
    )
    assert keyless.timestamp == datetime(2026, 11, 26, 12, 0, 0, 125000, tzinfo=UTC)
    for record in (first, tombstone, keyless):  # aware, in UTC
        assert record.timestamp.tzinfo is not None
        assert record.timestamp.utcoffset() == timedelta(0)


def test_a_new_member_of_the_group_starts_after_the_committed_offset(
    settings: Settings, make_source: MakeSource
) -> None:
    create_topics(settings)
    produce_values(settings, b"a", b"b", b"c", b"d")
    first = make_source()
    first.commit(poll_until(first, 3))
    first.close()  # makes the asynchronous commit durable

    assert [record.value for record in poll_until(make_source(), 1)] == [b"d"]


def test_uncommitted_records_are_redelivered_to_a_new_member_of_the_group(
    settings: Settings, make_source: MakeSource
) -> None:
    create_topics(settings)
    produce_values(settings, b"a", b"b", b"c")
    first = make_source()
    done, uncommitted = poll_until(first, 1), poll_until(first, 2)
    first.commit(done)
    first.close()

    redelivered = poll_until(make_source(), 2)

    assert [(r.offset, r.value) for r in redelivered] == [(r.offset, r.value) for r in uncommitted]


_CRASHING_MEMBER = textwrap.dedent(
    """
    import json, sys, time
    from inventory_sync.settings import Settings
    from tests.integration.kafka_support import poll_until, record_source

    settings = Settings.model_validate_json(sys.argv[1])
    source = record_source(settings, settings.kafka_client, json.loads(sys.argv[2]))
    print("polled", len(poll_until(source, 3)), flush=True)
    time.sleep(60)
    """
)


def test_records_a_crashed_member_polled_but_never_committed_are_redelivered(
    settings: Settings, make_source: MakeSource, kafka_client: str
) -> None:
    """SIGKILL: no commit, no leaving the group; the group expires it after its session."""
    create_topics(settings)
    produce_values(settings, b"a", b"b", b"c")
    overrides = fast_overrides(kafka_client, short_poll_interval=False)  # it never leaves
    crashing = subprocess.Popen(
        [sys.executable, "-c", _CRASHING_MEMBER, settings.model_dump_json(), json.dumps(overrides)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert crashing.stdout is not None
        assert crashing.stdout.readline().strip() == "polled 3"
    finally:
        crashing.kill()
        crashing.wait()

    assert [r.value for r in poll_until(make_source(), 3)] == [b"a", b"b", b"c"]


def test_a_commit_covers_the_highest_offset_of_each_partition(
    settings: Settings, make_source: MakeSource
) -> None:
    create_topics(settings, partitions=2)
    produce_values(settings, b"p0-a", b"p0-b", partition=0)
    produce_values(settings, b"p1-a", b"p1-b", b"p1-c", partition=1)
    source = make_source()

    source.commit(list(reversed(poll_until(source, 5))))  # order in the batch must not matter
    # Asynchronous: it reaches the broker while the member keeps polling ...
    wait_for(
        lambda: not source.poll(1, 0.1) and committed_offsets(settings, 2) == {0: 2, 1: 3},
        "the asynchronous commit to reach the broker",
    )
    source.close()  # ... and close() leaves it as it is

    assert committed_offsets(settings, 2) == {0: 2, 1: 3}


def test_close_makes_the_last_commit_durable(settings: Settings, make_source: MakeSource) -> None:
    create_topics(settings, partitions=2)
    produce_values(settings, b"p0-a", b"p0-b", partition=0)
    produce_values(settings, b"p1-a", partition=1)
    source = make_source()
    records = poll_until(source, 3)

    source.commit(records[:1])
    source.commit(records)  # superseding the first while it may still be in flight
    source.close()

    assert committed_offsets(settings, 2) == {0: 2, 1: 1}


def test_a_paused_source_hands_out_nothing_stays_in_the_group_and_loses_nothing(
    settings: Settings, make_source: MakeSource, kafka_client: str
) -> None:
    create_topics(settings)
    produce_values(settings, *[b"v%d" % i for i in range(10)])
    source = make_source()
    head = poll_until(source, 2)  # the client has fetched (and buffered) more than these
    members = group_members(settings)

    source.pause()
    # Longer than max.poll.interval: polling while paused keeps the member in the group.
    held = poll_for(source, MAX_POLL_INTERVAL_MS[kafka_client] / 1000 + 1)
    produce_values(settings, b"v10")
    held += poll_for(source, 0.5)
    members_while_paused = group_members(settings)
    source.resume()
    rest = poll_until(source, 9)

    assert held == []
    assert members_while_paused == members
    assert (members[0], len(members[1])) == ("STABLE", 1)
    assert [r.offset for r in head + rest] == list(range(11))


def test_partitions_assigned_while_paused_stay_paused_until_resumed(
    settings: Settings, make_source: MakeSource
) -> None:
    create_topics(settings, partitions=2)
    paused, other = make_source(), make_source()
    held = settle((paused, 2))[0]
    paused.pause()
    # A rebalance: `paused` gives up both partitions and is assigned one of them anew.
    held += settle((paused, 1), (other, 1))[0]
    produce_values(settings, b"x", partition=0)
    produce_values(settings, b"y", partition=1)
    assert len(poll_until(other, 1)) == 1  # polled by the other member, never committed
    held += poll_for(paused, 0.5)
    other.close()
    # Another: `paused` is assigned both, one of which it never had while paused.
    held += settle((paused, 2))[0]
    held += poll_for(paused, 1.0)
    paused.resume()
    after = poll_until(paused, 2)

    assert held == []
    assert positions(after) == [(0, 0), (1, 0)]


def test_a_partition_revoked_while_paused_flows_again_once_reassigned(
    settings: Settings, make_source: MakeSource
) -> None:
    create_topics(settings, partitions=2)
    source, other = make_source(), make_source()
    settle((source, 2))
    source.pause()
    settle((source, 1), (other, 1))  # one of its paused partitions moves away
    source.resume()
    other.close()
    settle((source, 2))  # and comes back, after the source resumed

    produce_values(settings, b"x", partition=0)
    produce_values(settings, b"y", partition=1)

    assert positions(poll_until(source, 2)) == [(0, 0), (1, 0)]


def test_committing_a_partition_that_moved_to_another_member_is_skipped_with_a_warning(
    settings: Settings, make_source: MakeSource, caplog: pytest.LogCaptureFixture
) -> None:
    create_topics(settings, partitions=2)
    produce_values(settings, b"x", partition=0)
    produce_values(settings, b"y", partition=1)
    first, second = make_source(), make_source()
    records = poll_until(first, 2)
    settle((first, 1), (second, 1))
    (kept,) = assigned_partitions(first)
    (moved,) = assigned_partitions(second)
    assert (first.assignment(), second.assignment()) == ({kept}, {moved})  # what /readyz asks

    with caplog.at_level(logging.WARNING, logger="inventory_sync.kafka"):
        first.commit(records)
    first.close()  # makes its asynchronous commit durable

    assert committed_offsets(settings, 2) == {kept: 1, moved: None}
    assert f"not committing {settings.topic}[{moved}]@1" in caplog.text


def test_lag_counts_the_records_not_handed_out_yet(
    settings: Settings, make_source: MakeSource
) -> None:
    create_topics(settings)
    produce_values(settings, *[b"v%d" % i for i in range(5)])
    source = make_source()
    poll_until(source, 2)

    assert source.lag() == {0: 3}


# -- the dead-letter sink ----------------------------------------------------------------


def test_dead_letters_carry_the_original_record_and_every_inventory_sync_header(
    settings: Settings, make_sink: MakeSink, kafka_client: str
) -> None:
    """The same bytes from either client, but for a keyless tombstone's key: kafka-python
    cannot send a record with neither key nor value, so its dead letter gets an empty key."""
    create_topics(settings)
    original = Record(
        key=b"SKU-1",
        value=b'{"product_code": "SKU-1", "inventory_count": -1}',
        topic=settings.topic,
        partition=0,
        offset=41,
        timestamp=T0,
        headers=(("trace", b"abc"), ("empty", b"")),
    )
    tombstone = Record(None, None, settings.topic, 0, 42, T0 + timedelta(milliseconds=1))

    make_sink().send(
        [
            dead_letter(original, RejectionReason.INVALID_PAYLOAD, "inventory_count: >= 0"),
            dead_letter(tombstone, RejectionReason.MALFORMED_JSON, "value is null"),
        ]
    ).wait()

    letter, null_letter = read_topic(settings, settings.dlq_topic, 2)
    assert (letter.key, letter.value) == (original.key, original.value)
    assert letter.headers == [
        ("trace", b"abc"),
        ("empty", b""),
        ("inventory_sync.reason", b"invalid_payload"),
        ("inventory_sync.error", b"inventory_count: >= 0"),
        ("inventory_sync.original_topic", settings.topic.encode()),
        ("inventory_sync.original_partition", b"0"),
        ("inventory_sync.original_offset", b"41"),
        ("inventory_sync.original_timestamp", b"2026-11-26T12:00:00.123+00:00"),
    ]
    assert (null_letter.key, null_letter.value) == (
        b"" if kafka_client == "kafka-python" else None,
        None,
    )
    assert null_letter.headers == [
        ("inventory_sync.reason", b"malformed_json"),
        ("inventory_sync.error", b"value is null"),
        ("inventory_sync.original_topic", settings.topic.encode()),
        ("inventory_sync.original_partition", b"0"),
        ("inventory_sync.original_offset", b"42"),
        ("inventory_sync.original_timestamp", b"2026-11-26T12:00:00.124+00:00"),
    ]


def test_sending_to_an_unreachable_broker_raises_transient_error_within_seconds(
    settings: Settings, make_sink: MakeSink
) -> None:
    away = settings.model_copy(update={"bootstrap_servers": "127.0.0.1:1"})
    letters = [
        dead_letter(
            Record(b"k", b"v", settings.topic, 0, 0, T0), RejectionReason.MALFORMED_JSON, "bad"
        )
    ]
    sink = make_sink(away, timeout_s=1)

    waited = _failure_of(lambda: sink.send(letters).wait())
    again = _failure_of(lambda: sink.send(letters).wait())  # with the producer replaced

    assert isinstance(waited, TransientError), waited
    assert "dead letter" in str(waited)
    assert isinstance(again, TransientError), again


def _failure_of(call: Callable[[], object]) -> BaseException | None:
    """What `call` raises, waiting for it with a deadline (a sink must not hang for minutes)."""
    failures: list[BaseException | None] = []

    def run() -> None:
        try:
            call()
        except BaseException as exc:
            failures.append(exc)
        else:
            failures.append(None)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(DEADLINE_S)
    assert failures, f"still sending after {DEADLINE_S} s"
    return failures[0]


def publish_dead_letters(sink: Any, settings: Settings, count: int) -> None:
    at = datetime(2024, 5, 1, tzinfo=UTC)
    sink.send(
        [
            dead_letter(
                Record(f"SKU-{i}".encode(), f"bad {i}".encode(), settings.topic, 0, i, at),
                RejectionReason.UNKNOWN_PRODUCT,
                f"no product with code 'SKU-{i}'",
            )
            for i in range(count)
        ]
    ).wait()


def test_reading_the_dead_letters_shows_them_and_commits_nothing(
    settings: Settings, make_sink: MakeSink
) -> None:
    create_topics(settings)
    publish_dead_letters(make_sink(), settings, 3)

    first = read_dead_letters(settings, limit=10)
    again = read_dead_letters(settings, limit=10)

    assert first == again
    assert {k: v for k, v in first[0].items() if k != "rejected_at"} == {
        "reason": "unknown_product",
        "error": "no product with code 'SKU-0'",
        "original_topic": settings.topic,
        "original_partition": 0,
        "original_offset": 0,
        "key": "SKU-0",
        "value": "bad 0",
        "status": "pending",
    }
    assert datetime.fromisoformat(first[0]["rejected_at"]) > datetime.now(UTC) - timedelta(hours=1)
    assert [letter["original_offset"] for letter in first] == [0, 1, 2]
    assert len(read_dead_letters(settings, limit=2)) == 2


def test_replay_sends_each_dead_letter_back_to_the_topic_once(
    settings: Settings, make_sink: MakeSink
) -> None:
    create_topics(settings)
    sink = make_sink()
    publish_dead_letters(sink, settings, 2)

    sent_first = replay_dead_letters(settings).sent
    sent_again = replay_dead_letters(settings).sent
    publish_dead_letters(sink, settings, 1)
    sent_after_a_new_one = replay_dead_letters(settings).sent

    assert (sent_first, sent_again, sent_after_a_new_one) == (2, 0, 1)
    replayed = read_topic(settings, settings.topic, 3)
    assert [(r.key, r.value, r.headers) for r in replayed] == [
        (b"SKU-0", b"bad 0", []),
        (b"SKU-1", b"bad 1", []),
        (b"SKU-0", b"bad 0", []),
    ]


# -- topic administration and the plain producer (kafka-python whatever the client) --------


def test_creating_topics_is_idempotent(kafka_bootstrap: str) -> None:
    name = f"inventory-test-{uuid.uuid4().hex[:10]}"
    settings = Settings(bootstrap_servers=kafka_bootstrap, topic=name, dlq_topic=f"{name}.dlq")

    missing_before = missing_topics(settings)
    created = create_topics(settings, partitions=3)
    created_again = create_topics(settings, partitions=3)

    assert missing_before == [name, f"{name}.dlq"]
    assert created == [name, f"{name}.dlq"]
    assert created_again == []
    assert missing_topics(settings) == []


def test_produce_sends_keys_and_values_as_they_are(kafka_bootstrap: str, topic_name: str) -> None:
    settings = Settings(
        bootstrap_servers=kafka_bootstrap, topic=topic_name, dlq_topic=f"{topic_name}.dlq"
    )
    create_topics(settings)

    sent = produce(settings, [(b"SKU-1", b'{"x": 1}'), (None, b"not json")])

    records = read_topic(settings, settings.topic, 2)
    assert sent == 2
    assert [(r.key, r.value) for r in records] == [(b"SKU-1", b'{"x": 1}'), (None, b"not json")]


# -- the run loop over both adapters, with the database in memory ------------------------


def events(count: int, products: int) -> tuple[list[bytes], list[bytes]]:
    """(keys, values): `count` events over SKU-0 ... SKU-{products - 1}, keyed by product."""
    codes = [b"SKU-%d" % (i % products) for i in range(count)]
    values = [
        b'{"product_code": "%s", "inventory_count": %d}' % (code, i) for i, code in enumerate(codes)
    ]
    return codes, values


def products(count: int) -> list[Product]:
    return [Product(f"SKU-{i}", f"SKU-{i}") for i in range(count)]


def catalogue(count: int) -> InMemoryRepository:
    return InMemoryRepository(products(count))


def worker_for(source: Any, sink: Any, repository: InMemoryRepository) -> Worker:
    return Worker(
        source,
        InventoryService(InMemoryUnitOfWork(repository)),
        sink,
        batch_size=50,
        poll_timeout_s=0.2,
        backoff=Backoff(initial_s=0.2, maximum_s=0.5),
    )


class _OutageRepository(InMemoryRepository):
    """Notes what the consumer group had committed at each injected failure."""

    def __init__(self, products: Sequence[Product], settings: Settings, partitions: int) -> None:
        super().__init__(products)
        self.settings = settings
        self.partitions = partitions
        self.committed_during_outage: list[dict[int, int | None]] = []

    def apply(self, changes: Sequence[StockChange]) -> ApplyResult:
        if self.transient_failures > 0:
            self.committed_during_outage.append(committed_offsets(self.settings, self.partitions))
        return super().apply(changes)


def test_a_database_outage_pauses_retries_and_commits_only_after_the_writes(
    settings: Settings,
    make_source: MakeSource,
    make_sink: MakeSink,
    caplog: pytest.LogCaptureFixture,
) -> None:
    create_topics(settings, partitions=2)
    keys, values = events(200, 10)
    produce_values(settings, *values, b"not json", keys=[*keys, b"SKU-0"])
    repository = _OutageRepository(products(10), settings, 2)
    repository.transient_failures = 3  # the first batch fails three times
    source = make_source()
    worker = worker_for(source, make_sink(), repository)

    with caplog.at_level(logging.WARNING, logger="inventory_sync"):
        summary = worker.run(max_records=201, idle_timeout_s=15)
    source.close()

    assert (summary.records, summary.rejected) == (201, 1)
    assert {code: p.inventory_count for code, p in repository.products.items()} == {
        f"SKU-{i}": 190 + i for i in range(10)
    }
    assert repository.committed_during_outage == [{0: None, 1: None}] * 3
    assert caplog.text.count("transient fault") == 3
    assert "recovered" in caplog.text
    assert committed_total(settings, 2) == 201
    assert len(read_dead_letters(settings)) == 1


def test_stop_finishes_the_batch_in_hand_commits_and_leaves_the_group(
    settings: Settings, make_source: MakeSource, make_sink: MakeSink
) -> None:
    """What SIGINT and SIGTERM do: the signal handler calls stop()."""
    create_topics(settings)
    keys, values = events(500, 5)
    produce_values(settings, *values, keys=keys)
    source = make_source()
    worker = worker_for(source, make_sink(), catalogue(5))
    worker.on_batch = lambda report: worker.stop()  # a signal during the first batches

    done = worker.run().records
    source.close()

    assert 0 < done < 500
    assert committed_offsets(settings, 1) == {0: done}
    assert group_members(settings) == ("EMPTY", [])
    assert [r.offset for r in poll_until(make_source(), 1)] == [done]


def test_a_second_worker_takes_over_partitions_and_nothing_is_lost(
    settings: Settings, make_source: MakeSource, make_sink: MakeSink
) -> None:
    create_topics(settings, partitions=4)
    keys, values = events(2000, 40)
    produce_values(settings, *values, keys=keys)
    seen: list[set[tuple[int, int]]] = [set(), set()]
    lock = threading.Lock()
    first_batch = threading.Event()

    def observe(report: BatchReport, index: int) -> None:
        with lock:
            seen[index].update((o.record.partition, o.record.offset) for o in report.outcomes)
            shared = bool(seen[1])
        first_batch.set()
        if not shared:
            time.sleep(0.2)  # slow, until the second worker has joined and had a batch

    threads, workers = [], []
    for index in (0, 1):
        worker = worker_for(make_source(), make_sink(), catalogue(40))
        worker.on_batch = lambda report, index=index: observe(report, index)
        workers.append(worker)
        threads.append(threading.Thread(target=worker.run, daemon=True))
    threads[0].start()
    assert first_batch.wait(DEADLINE_S)
    threads[1].start()
    try:
        wait_for(lambda: committed_total(settings, 4) == 2000, "every offset committed", 90)
    finally:
        for worker in workers:
            worker.stop()
        for thread in threads:
            thread.join(DEADLINE_S)
        for worker in workers:
            worker.source.close()

    assert not any(thread.is_alive() for thread in threads)
    assert all(seen), "each worker had a share"
    assert len(seen[0] | seen[1]) == 2000
    assert committed_total(settings, 4) == 2000
