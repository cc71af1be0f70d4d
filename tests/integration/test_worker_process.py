"""The worker as a process: a graceful stop mid-burst and a crash between the database commit
and the offset commit; each test once per Kafka client (INVENTORY_SYNC_KAFKA_CLIENT).

The harder faults (broker restarts and flaps, a PostgreSQL outage, SIGKILLs at random points,
two workers with one killed) are in test_chaos.py; the helpers both use in chaos_support.py.
"""

from __future__ import annotations

import signal

import pytest

from inventory_sync.adapters.kafka.kafka_python.dead_letter_reader import read_dead_letters
from tests.integration.chaos_support import (
    CLI,
    DRIVER,
    PRODUCTS,
    Workers,
    catalogue,
    stock,
    wait_for,
    watching_for_counts_moving_back,
    workers,
)
from tests.integration.kafka_support import (
    CLIENTS,
    burst,
    committed_offsets,
    committed_total,
    end_offsets,
    group_members,
    rejections_in_burst,
    send,
    topic_settings,
)

pytestmark = [pytest.mark.kafka, pytest.mark.slow]
__all__ = ["workers"]  # the fixture


@pytest.fixture(params=CLIENTS)
def kafka_client(request: pytest.FixtureRequest) -> str:
    """The Kafka client the worker processes use: every test runs once per client."""
    client: str = request.param
    return client


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
        write_max_records=10,  # many small writes: the faults land mid-burst
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
        write_max_records=10,  # many small writes: the faults land mid-burst
    )
    catalogue(sqlite_url)
    events, expected = burst(PRODUCTS, 3_000)
    send(settings, events)

    crashed = workers.start([*DRIVER, "60"], settings, TEST_CRASH_BEFORE_COMMIT_OF_BATCH="30")
    crash_exit = crashed.wait()
    # Once the group has expired the dead member, none of its commits can land any more.
    wait_for(lambda: group_members(settings)[0] == "EMPTY", "the group to expire the dead member")
    committed_at_crash = committed_total(settings, 3)
    with watching_for_counts_moving_back(sqlite_url) as watch:
        restarted = workers.start([*DRIVER, "60"], settings)
        wait_for(lambda: committed_offsets(settings, 3) == end_offsets(settings, 3), "the rest")
        restart_exit = restarted.stop()

    assert crashed.ran_on(kafka_client)
    assert restarted.ran_on(kafka_client)
    assert crash_exit == -signal.SIGKILL
    assert 0 < committed_at_crash < len(events)
    assert restart_exit == 0
    assert restarted.summary()["records"] == len(events) - committed_at_crash
    assert watch.went_back == []
    assert stock(sqlite_url) == expected
    assert committed_offsets(settings, 3) == end_offsets(settings, 3)
    letters = read_dead_letters(settings)
    assert len({(d["original_partition"], d["original_offset"]) for d in letters}) == (
        rejections_in_burst(len(events))
    )
