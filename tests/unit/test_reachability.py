"""Reachability: one WARNING when the broker goes, one INFO line when it is back."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import pytest

from inventory_sync.adapters.kafka.reachability import Reachability


class Broker:
    def __init__(self) -> None:
        self.up = True
        self.probes = 0

    def answers(self, servers: Sequence[str]) -> bool:
        self.probes += 1
        return self.up


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def lines(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str]]:
    return [(r.levelname, r.getMessage()) for r in caplog.records]


@pytest.fixture
def setup() -> tuple[Reachability, Broker, Clock]:
    broker, clock = Broker(), Clock()
    watch = Reachability(["127.0.0.1:9092"], every_s=2.0, probe=broker.answers, clock=clock)
    return watch, broker, clock


def test_no_trouble_means_no_probe_and_no_line(
    setup: tuple[Reachability, Broker, Clock], caplog: pytest.LogCaptureFixture
) -> None:
    watch, broker, _ = setup
    for _ in range(100):
        watch.observe(trouble=False)
    assert broker.probes == 0
    assert watch.reachable
    assert caplog.records == []


def test_trouble_with_a_broker_that_answers_says_nothing(
    setup: tuple[Reachability, Broker, Clock], caplog: pytest.LogCaptureFixture
) -> None:
    watch, broker, _ = setup
    watch.observe(trouble=True)
    assert broker.probes == 1
    assert watch.reachable
    assert caplog.records == []


def test_an_outage_is_one_warning_then_one_info_line(
    setup: tuple[Reachability, Broker, Clock], caplog: pytest.LogCaptureFixture
) -> None:
    watch, broker, clock = setup
    caplog.set_level(logging.DEBUG, logger="inventory_sync.kafka")
    broker.up = False
    for _ in range(30):  # a long outage: polls every half second
        watch.observe(trouble=True)
        clock.now += 0.5
    assert not watch.reachable
    broker.up = True
    for _ in range(10):  # the client may still say trouble for a while
        watch.observe(trouble=False)
        clock.now += 0.5
    assert watch.reachable
    assert [level for level, _ in lines(caplog)] == ["WARNING", "INFO"]
    assert "127.0.0.1:9092 cannot be reached" in lines(caplog)[0][1]
    assert "reachable again after 16 s" in lines(caplog)[1][1]


def test_probes_are_rate_limited_while_down(setup: tuple[Reachability, Broker, Clock]) -> None:
    watch, broker, clock = setup
    broker.up = False
    for _ in range(100):
        watch.observe(trouble=True)
        clock.now += 0.1  # 10 s in all
    assert broker.probes == 5
