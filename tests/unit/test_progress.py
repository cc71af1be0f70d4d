"""What `run` shows while it works: the progress line, its rate, and log lines off a terminal."""

from __future__ import annotations

import logging
from collections import Counter

import pytest

from inventory_sync.domain.services import Summary
from inventory_sync.entrypoints.progress import LogProgress, RateMeter, progress_line


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def totals(records: int) -> Summary:
    return Summary(
        records=records,
        applied=records - 345,
        stale=20,
        superseded=300,
        rejected=25,
        by_reason=Counter({"unknown_product": 25}),
    )


def test_the_progress_line_names_every_count_the_rate_and_the_lag() -> None:
    line = progress_line(totals(12_345), 8_123.4, {0: 1_000, 1: 234})
    assert line == (
        "records 12,345 · applied 12,000 · stale 20 · superseded 300 · rejected 25 · "
        "8,123 rec/s · lag 1,234"
    )


def test_an_unknown_lag_shows_as_a_dash() -> None:
    assert progress_line(Summary(), 0, {}).endswith("lag -")


def test_the_rate_is_over_the_recent_window() -> None:
    clock = FakeClock()
    meter = RateMeter(window_s=5, clock=clock)
    clock.now = 1
    assert meter.rate(1_000) == 1_000
    clock.now = 10
    meter.rate(1_000)
    clock.now = 12
    assert meter.rate(1_400) == 200


def test_off_a_terminal_progress_is_logged_every_interval(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    progress = LogProgress(interval_s=5, clock=clock)
    caplog.set_level(logging.INFO, logger="inventory_sync.progress")
    clock.now = 1
    progress.update(totals(1_000), {0: 7})
    assert caplog.messages == []
    clock.now = 6
    progress.update(totals(2_000), {0: 7})
    assert len(caplog.messages) == 1
    assert caplog.messages[0].startswith("progress: records 2,000 · applied 1,655")
    assert caplog.messages[0].endswith("lag 7")


def test_an_idle_run_still_logs_its_progress_line(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    progress = LogProgress(interval_s=5.0, clock=lambda: now[0])
    with caplog.at_level(logging.INFO, "inventory_sync.progress"):
        for second in range(1, 12):
            now[0] = float(second)
            progress.update(Summary(), {})
    assert [r.getMessage().split(" · ")[0] for r in caplog.records] == [
        "progress: records 0",
        "progress: records 0",
    ]
