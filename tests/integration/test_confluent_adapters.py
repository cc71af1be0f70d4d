"""The confluent-kafka record source and dead-letter sink against a real broker.

The tests get their adapters from the `make_source` / `make_sink` fixtures and talk to the
broker through plain clients of their own (`produce`, `read_dead_letters`, `committed`), so
the same tests can run over the kafka-python adapters by parametrizing those two fixtures.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from inventory_sync.adapters.kafka.confluent import ConfluentDeadLetterSink, ConfluentRecordSource
from inventory_sync.adapters.memory import InMemoryRepository, InMemoryUnitOfWork
from inventory_sync.domain.errors import TransientError
from inventory_sync.domain.model import Product, Record
from inventory_sync.domain.ports import DeadLetter
from inventory_sync.domain.rules import Rejection, RejectionReason
from inventory_sync.domain.services import BatchReport, InventoryService
from inventory_sync.entrypoints.worker import Backoff, Worker
from inventory_sync.settings import Settings

pytestmark = pytest.mark.kafka

# Short group timings, so joins, rebalances and a crashed member's expiry take seconds (the
# broker's minimum session is 6 s; librdkafka wants max.poll.interval.ms >= the session).
FAST_GROUP: dict[str, Any] = {
    "session.timeout.ms": 6000,
    "heartbeat.interval.ms": 500,
    "max.poll.interval.ms": 6000,
    "fetch.wait.max.ms": 100,
}
DEADLINE_S = 20.0
T0 = datetime(2026, 11, 26, 12, 0, 0, 123000, tzinfo=UTC)

MakeSource = Callable[..., ConfluentRecordSource]
MakeSink = Callable[..., ConfluentDeadLetterSink]


@pytest.fixture
def settings(kafka_bootstrap: str, topic_name: str) -> Settings:
    """The test's topic, dead-letter topic and group; tests create the topics they need."""
    return Settings(
        bootstrap_servers=kafka_bootstrap,
        topic=topic_name,
        dlq_topic=f"{topic_name}.dlq",
        group_id=f"{topic_name}-group",
    )


@pytest.fixture
def make_source(settings: Settings) -> Iterator[MakeSource]:
    """New sources (in the test's group unless told otherwise), all closed after the test."""
    made: list[ConfluentRecordSource] = []

    def make(**kwargs: Any) -> ConfluentRecordSource:
        source = ConfluentRecordSource(settings, overrides=FAST_GROUP, **kwargs)
        made.append(source)
        return source

    yield make
    for source in made:
        source.close()


@pytest.fixture
def make_sink(settings: Settings) -> Iterator[MakeSink]:
    """make_sink(settings=None, timeout_s=None): dead-letter sinks, closed after the test."""
    made: list[ConfluentDeadLetterSink] = []

    def make(
        settings: Settings = settings, timeout_s: float | None = None
    ) -> ConfluentDeadLetterSink:
        overrides = {} if timeout_s is None else {"message.timeout.ms": int(timeout_s * 1000)}
        sink = ConfluentDeadLetterSink(settings, overrides=overrides)
        made.append(sink)
        return sink

    yield make
    for sink in made:
        sink.close()


def create_topics(settings: Settings, partitions: int = 1) -> None:
    admin = AdminClient({"bootstrap.servers": settings.bootstrap_servers})
    topics = [NewTopic(name, partitions, 1) for name in (settings.topic, settings.dlq_topic)]
    for future in admin.create_topics(topics, operation_timeout=10).values():
        future.result(timeout=15)


def produce(
    settings: Settings,
    *values: bytes | None,
    keys: Sequence[bytes | None] | None = None,
    **extra: Any,
) -> None:
    """Send values (keyed by `keys`, else k0, k1, ...) and wait for the broker's acks;
    `extra` goes to every produce() (partition, headers, timestamp in ms)."""
    producer = Producer({"bootstrap.servers": settings.bootstrap_servers, "acks": "all"})
    keys = keys or [b"k%d" % i for i in range(len(values))]
    for key, value in zip(keys, values, strict=True):
        producer.produce(settings.topic, key=key, value=value, **extra)
    assert producer.flush(DEADLINE_S) == 0


def poll_until(source: ConfluentRecordSource, count: int) -> list[Record]:
    """Poll until `count` records came, failing after a deadline; asks for no more than that."""
    records: list[Record] = []
    deadline = time.monotonic() + DEADLINE_S
    while len(records) < count:
        assert time.monotonic() < deadline, f"got {len(records)} of {count} records"
        records.extend(source.poll(count - len(records), 0.2))
    return records


def poll_for(source: ConfluentRecordSource, seconds: float) -> list[Record]:
    records: list[Record] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        records.extend(source.poll(100, 0.2))
    return records


def settle(*expected: tuple[ConfluentRecordSource, int]) -> list[list[Record]]:
    """Poll every source in turn (a rebalance needs all members to poll) until each holds the
    expected number of partitions; returns what each polled meanwhile."""
    polled: list[list[Record]] = [[] for _ in expected]
    deadline = time.monotonic() + DEADLINE_S
    while any(len(source.assignment()) != count for source, count in expected):
        assert time.monotonic() < deadline, [len(s.assignment()) for s, _ in expected]
        for (source, _), records in zip(expected, polled, strict=True):
            records.extend(source.poll(100, 0.1))
    return polled


def positions(records: list[Record]) -> list[tuple[int, int]]:
    return sorted((record.partition, record.offset) for record in records)


def group_members(settings: Settings) -> tuple[str, list[str]]:
    """The group's state and member ids, as the broker sees them."""
    admin = AdminClient({"bootstrap.servers": settings.bootstrap_servers})
    futures = admin.describe_consumer_groups([settings.group_id])
    group = futures[settings.group_id].result(timeout=10)
    return group.state.name, sorted(member.member_id for member in group.members)


def committed(settings: Settings, partitions: int) -> dict[int, int | None]:
    """The group's committed offset per partition (None where it has none)."""
    consumer = Consumer(
        {"bootstrap.servers": settings.bootstrap_servers, "group.id": settings.group_id}
    )
    try:
        wanted = [TopicPartition(settings.topic, p) for p in range(partitions)]
        found = consumer.committed(wanted, timeout=10)
    finally:
        consumer.close()
    return {tp.partition: tp.offset if tp.offset >= 0 else None for tp in found}


def read_dead_letters(settings: Settings, count: int) -> list[Any]:
    consumer = Consumer(
        {
            "bootstrap.servers": settings.bootstrap_servers,
            "group.id": f"reader-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
        }
    )
    consumer.assign([TopicPartition(settings.dlq_topic, 0, 0)])
    messages: list[Any] = []
    deadline = time.monotonic() + DEADLINE_S
    try:
        while len(messages) < count and time.monotonic() < deadline:
            messages.extend(m for m in consumer.consume(count, 0.2) if m.error() is None)
    finally:
        consumer.close()
    return messages


def dead_letter(record: Record, reason: RejectionReason, error: str) -> DeadLetter:
    return DeadLetter(record, Rejection(reason, error))


# -- the record source ------------------------------------------------------------------


def test_the_source_hands_out_keys_values_headers_offsets_and_timestamps_as_produced(
    settings: Settings, make_source: MakeSource
) -> None:
    create_topics(settings)
    stamp_ms = int(T0.timestamp() * 1000)
    headers = [("trace", b"abc"), ("empty", None)]
    produce(settings, b'{"n": 0}', keys=[b"SKU-1"], headers=headers, timestamp=stamp_ms)
    produce(settings, None, keys=[b"SKU-2"], timestamp=stamp_ms + 1)
    produce(settings, b"not json", keys=[None], timestamp=stamp_ms + 2)

    first, tombstone, keyless = poll_until(make_source(), 3)

    assert first == Record(
        key=b"SKU-1",
        value=b'{"n": 0}',
        topic=settings.topic,
        partition=0,
        offset=0,
        timestamp=T0,
        headers=(("trace", b"abc"), ("empty", b"")),
    )
    assert (tombstone.key, tombstone.value, tombstone.offset) == (b"SKU-2", None, 1)
    assert (keyless.key, keyless.value, keyless.offset, keyless.headers) == (
        None,
        b"not json",
        2,
        (),
    )
    assert keyless.timestamp == datetime(2026, 11, 26, 12, 0, 0, 125000, tzinfo=UTC)


def test_a_new_consumer_in_the_group_starts_after_the_committed_offset(
    settings: Settings, make_source: MakeSource
) -> None:
    create_topics(settings)
    produce(settings, b"a", b"b", b"c", b"d")
    first = make_source()
    first.commit(poll_until(first, 3))
    first.close()

    assert [record.value for record in poll_until(make_source(), 1)] == [b"d"]


def test_uncommitted_records_are_redelivered_to_a_new_consumer_in_the_group(
    settings: Settings, make_source: MakeSource
) -> None:
    create_topics(settings)
    produce(settings, b"a", b"b", b"c")
    first = make_source()
    done, uncommitted = poll_until(first, 1), poll_until(first, 2)
    first.commit(done)
    first.close()

    redelivered = poll_until(make_source(), 2)

    assert [(r.offset, r.value) for r in redelivered] == [(r.offset, r.value) for r in uncommitted]


def test_records_a_crashed_consumer_polled_but_never_committed_are_redelivered(
    settings: Settings, make_source: MakeSource
) -> None:
    """SIGKILL: no commit, no leaving the group; the group expires it after its session."""
    create_topics(settings)
    produce(settings, b"a", b"b", b"c")
    crashing = subprocess.Popen(
        [sys.executable, "-c", _CRASHING_CONSUMER, settings.model_dump_json(), repr(FAST_GROUP)],
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


_CRASHING_CONSUMER = textwrap.dedent(
    """
    import ast, sys, time
    from inventory_sync.adapters.kafka.confluent import ConfluentRecordSource
    from inventory_sync.settings import Settings

    settings = Settings.model_validate_json(sys.argv[1])
    source = ConfluentRecordSource(settings, overrides=ast.literal_eval(sys.argv[2]))
    polled = []
    while len(polled) < 3:
        polled += source.poll(3 - len(polled), 0.2)
    print("polled", len(polled), flush=True)
    time.sleep(60)
    """
)


def test_a_commit_covers_the_highest_offset_of_each_partition(
    settings: Settings, make_source: MakeSource
) -> None:
    create_topics(settings, partitions=2)
    produce(settings, b"p0-a", b"p0-b", partition=0)
    produce(settings, b"p1-a", b"p1-b", b"p1-c", partition=1)
    source = make_source()

    source.commit(list(reversed(poll_until(source, 5))))  # order in the batch must not matter
    source.close()  # makes the asynchronous commit durable

    assert committed(settings, 2) == {0: 2, 1: 3}


def test_a_paused_source_hands_out_nothing_stays_in_the_group_and_loses_nothing(
    settings: Settings, make_source: MakeSource
) -> None:
    create_topics(settings)
    produce(settings, *[b"v%d" % i for i in range(10)])
    source = make_source()
    head = poll_until(source, 2)  # the client has fetched (and queued) more than these
    members = group_members(settings)

    source.pause()
    held = poll_for(source, 7)  # longer than max.poll.interval.ms: polling keeps us in
    produce(settings, b"v10")
    held += poll_for(source, 0.5)
    members_while_paused = group_members(settings)
    source.resume()
    rest = poll_until(source, 9)

    assert held == []
    assert members_while_paused == members
    assert (members[0], len(members[1])) == ("STABLE", 1)
    assert [r.offset for r in head + rest] == list(range(11))


def test_partitions_assigned_while_paused_are_paused_too(
    settings: Settings, make_source: MakeSource
) -> None:
    create_topics(settings, partitions=2)
    paused, other = make_source(), make_source()
    settle((paused, 1), (other, 1))
    paused.pause()
    produce(settings, b"x", partition=0)
    produce(settings, b"y", partition=1)
    assert len(poll_until(other, 1)) == 1  # polled by the other member, never committed
    other.close()
    settle((paused, 2))  # a rebalance: `paused` is assigned a partition it never had paused

    held = poll_for(paused, 1.0)
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

    produce(settings, b"x", partition=0)
    produce(settings, b"y", partition=1)

    assert positions(poll_until(source, 2)) == [(0, 0), (1, 0)]


def test_committing_a_partition_that_moved_to_another_member_is_skipped_with_a_warning(
    settings: Settings, make_source: MakeSource, caplog: pytest.LogCaptureFixture
) -> None:
    create_topics(settings, partitions=2)
    produce(settings, b"x", partition=0)
    produce(settings, b"y", partition=1)
    first, second = make_source(), make_source()
    records = poll_until(first, 2)
    settle((first, 1), (second, 1))

    with caplog.at_level(logging.WARNING, logger="inventory_sync.kafka"):
        first.commit(records)
    first.close()  # makes its asynchronous commit durable

    assert sorted(committed(settings, 2).values(), key=lambda offset: offset is None) == [1, None]
    assert "reassigned" in caplog.text


def test_lag_counts_the_records_not_handed_out_yet(
    settings: Settings, make_source: MakeSource
) -> None:
    create_topics(settings)
    produce(settings, *[b"v%d" % i for i in range(5)])
    source = make_source()
    poll_until(source, 2)

    assert source.lag() == {0: 3}


# -- the dead-letter sink ----------------------------------------------------------------


def test_dead_letters_carry_the_original_record_and_every_inventory_sync_header(
    settings: Settings, make_sink: MakeSink
) -> None:
    create_topics(settings)
    original = Record(
        key=b"SKU-1",
        value=b'{"product_code": "SKU-1", "inventory_count": -1}',
        topic=settings.topic,
        partition=0,
        offset=41,
        timestamp=T0,
        headers=(("trace", b"abc"),),
    )
    tombstone = Record(None, None, settings.topic, 0, 42, T0)

    make_sink().publish(
        [
            dead_letter(original, RejectionReason.INVALID_PAYLOAD, "inventory_count: >= 0"),
            dead_letter(tombstone, RejectionReason.MALFORMED_JSON, "value is null"),
        ]
    )

    letter, null_letter = read_dead_letters(settings, 2)
    assert (letter.key(), letter.value()) == (original.key, original.value)
    assert letter.headers() == [
        ("trace", b"abc"),
        ("inventory_sync.reason", b"invalid_payload"),
        ("inventory_sync.error", b"inventory_count: >= 0"),
        ("inventory_sync.original_topic", settings.topic.encode()),
        ("inventory_sync.original_partition", b"0"),
        ("inventory_sync.original_offset", b"41"),
        ("inventory_sync.original_timestamp", b"2026-11-26T12:00:00.123+00:00"),
    ]
    assert (null_letter.key(), null_letter.value()) == (
        None,
        None,
    )  # kept null, unlike kafka-python
    assert dict(null_letter.headers())["inventory_sync.original_offset"] == b"42"


def test_publishing_to_an_unreachable_broker_raises_transient_error(
    settings: Settings, make_sink: MakeSink
) -> None:
    away = settings.model_copy(update={"bootstrap_servers": "127.0.0.1:1"})
    record = Record(b"k", b"v", settings.topic, 0, 0, T0)
    started = time.monotonic()

    with pytest.raises(TransientError, match="dead letter"):
        make_sink(away, timeout_s=1).publish(
            [dead_letter(record, RejectionReason.MALFORMED_JSON, "bad")]
        )

    assert time.monotonic() - started < 10


# -- the run loop over both adapters, with the database in memory ------------------------


def events(count: int, products: int) -> tuple[list[bytes], list[bytes]]:
    """(keys, values): `count` events over SKU-0 ... SKU-{products - 1}, keyed by product."""
    codes = [b"SKU-%d" % (i % products) for i in range(count)]
    values = [
        b'{"product_code": "%s", "inventory_count": %d}' % (code, i) for i, code in enumerate(codes)
    ]
    return codes, values


def catalogue(products: int) -> InMemoryRepository:
    return InMemoryRepository([Product(f"SKU-{i}", f"SKU-{i}") for i in range(products)])


def worker_for(
    source: ConfluentRecordSource, sink: ConfluentDeadLetterSink, repository: InMemoryRepository
) -> Worker:
    return Worker(
        source,
        InventoryService(InMemoryUnitOfWork(repository)),
        sink,
        batch_size=50,
        poll_timeout_s=0.2,
        backoff=Backoff(initial_s=0.2, maximum_s=0.5),
    )


def test_a_database_outage_pauses_retries_and_loses_nothing(
    settings: Settings, make_source: MakeSource, make_sink: MakeSink
) -> None:
    create_topics(settings, partitions=2)
    keys, values = events(200, 10)
    produce(settings, *values, b"not json", keys=[*keys, b"SKU-0"])
    repository = catalogue(10)
    repository.transient_failures = 3
    worker = worker_for(make_source(), make_sink(), repository)

    summary = worker.run(max_records=201, idle_timeout_s=15)
    worker.source.close()

    assert (summary.records, summary.rejected) == (201, 1)
    assert {code: p.inventory_count for code, p in repository.products.items()} == {
        f"SKU-{i}": 190 + i for i in range(10)
    }
    assert sum(offset or 0 for offset in committed(settings, 2).values()) == 201
    assert len(read_dead_letters(settings, 1)) == 1


def test_stop_finishes_the_batch_in_hand_commits_and_leaves_the_group(
    settings: Settings, make_source: MakeSource, make_sink: MakeSink
) -> None:
    """What SIGINT and SIGTERM do: the signal handler calls stop()."""
    create_topics(settings)
    keys, values = events(500, 5)
    produce(settings, *values, keys=keys)
    source = make_source()
    worker = worker_for(source, make_sink(), catalogue(5))
    worker.on_batch = lambda report: worker.stop()  # a signal during the first batch

    done = worker.run().records
    source.close()

    assert 0 < done < 500
    assert committed(settings, 1) == {0: done}
    assert group_members(settings) == ("EMPTY", [])
    assert [r.offset for r in poll_until(make_source(), 1)] == [done]


def test_a_second_worker_takes_over_partitions_and_nothing_is_lost(
    settings: Settings, make_source: MakeSource, make_sink: MakeSink
) -> None:
    create_topics(settings, partitions=4)
    keys, values = events(2000, 40)
    produce(settings, *values, keys=keys)
    seen: list[set[tuple[int, int]]] = [set(), set()]
    first_batch = threading.Event()

    def observe(report: BatchReport, into: set[tuple[int, int]]) -> None:
        into.update((o.record.partition, o.record.offset) for o in report.outcomes)
        first_batch.set()
        time.sleep(0.05)  # slow enough that the second worker joins mid-stream

    threads, workers = [], []
    for into in seen:
        worker = worker_for(make_source(), make_sink(), catalogue(40))
        worker.on_batch = lambda report, into=into: observe(report, into)
        workers.append(worker)
        threads.append(threading.Thread(target=worker.run, kwargs={"idle_timeout_s": 8}))
    threads[0].start()
    assert first_batch.wait(DEADLINE_S)
    threads[1].start()
    for thread in threads:
        thread.join(timeout=90)
    for worker in workers:
        worker.source.close()

    assert all(seen), "each worker had a share"
    assert len(seen[0] | seen[1]) == 2000
    assert sum(offset or 0 for offset in committed(settings, 4).values()) == 2000
