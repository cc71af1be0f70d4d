"""(c) inventory-sync's own run loop: the real source, service, repository and dead letters.

Runs in a process of its own (see bench_child.py), so its peak RSS is this measurement's alone
and the loop starts cold. Timed from the first record received to the last offset committed.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rss import current_rss_mb, peak_rss_mb

if TYPE_CHECKING:
    from inventory_sync.domain.model import Record
    from inventory_sync.domain.ports import RecordSource
    from inventory_sync.domain.services import BatchReport

IDLE_TIMEOUT_S = 60.0  # a safety net: the run stops at exactly `events` records
RSS_SAMPLES = 10


class TimedSource:
    """The real record source, noting when the first record arrived and the last commit ended."""

    def __init__(self, inner: RecordSource) -> None:
        self.inner = inner
        self.first_record_at: float | None = None
        self.last_commit_at: float | None = None

    def poll(self, max_records: int, timeout_s: float) -> list[Record]:
        records = self.inner.poll(max_records, timeout_s)
        if records and self.first_record_at is None:
            self.first_record_at = time.perf_counter()
        return records

    def commit(self, records: Sequence[Record]) -> None:
        self.inner.commit(records)
        self.last_commit_at = time.perf_counter()

    def pause(self) -> None:
        self.inner.pause()

    def resume(self) -> None:
        self.inner.resume()

    def lag(self) -> dict[int, int]:
        return self.inner.lag()

    def close(self) -> None:
        self.inner.close()


class RssSampler:
    """RSS and peak RSS after the first batch and about every tenth of the run: is memory flat,
    or growing with the records consumed?"""

    def __init__(self, events: int) -> None:
        self.step = max(events // RSS_SAMPLES, 1)
        self.records = 0
        self.next_at = 0
        self.samples: list[tuple[int, float, float]] = []

    def __call__(self, report: BatchReport) -> None:
        self.records += report.summary.records
        if self.records >= self.next_at:
            self.samples.append((self.records, round(current_rss_mb(), 1), round(peak_rss_mb(), 1)))
            self.next_at = (self.records // self.step + 1) * self.step


def measure_loop(
    *,
    client: str,
    bootstrap: str,
    topic: str,
    group: str,
    events: int,
    database_url: str,
    overrides: dict[str, Any],
    profile_to: str | None,
) -> dict[str, Any]:
    from dependency_injector import providers

    from inventory_sync import InventorySync, Settings

    settings = Settings(
        kafka_client=client,
        bootstrap_servers=bootstrap,
        topic=topic,
        dlq_topic=f"{topic}.dlq",
        group_id=group,
        database_url=database_url,
        **overrides,
    )
    sync = InventorySync(settings)
    source = TimedSource(sync.container.record_source())
    sync.container.record_source.override(providers.Object(source))
    sampler = RssSampler(events)
    profiler = _start_profiler() if profile_to else None
    started, cpu_started = time.perf_counter(), time.process_time()
    try:
        summary = sync.run(max_records=events, idle_timeout_s=IDLE_TIMEOUT_S, on_batch=sampler)
        ended, cpu_ended = time.perf_counter(), time.process_time()
    finally:
        sync.close()
    peak = peak_rss_mb()
    first = source.first_record_at or started
    last = source.last_commit_at or ended
    result: dict[str, Any] = {
        "records_per_s": summary.records / max(last - first, 1e-9),
        "measured_s": round(last - first, 3),
        "wall_s": round(ended - started, 3),
        "startup_s": round(first - started, 3),
        "cpu_s": round(cpu_ended - cpu_started, 2),
        "peak_rss_mb": round(peak, 1),
        "rss_samples_mb": sampler.samples,
        "summary": summary.to_dict(),
        "settings": {name: getattr(settings, name) for name in ("batch_size", *overrides)},
    }
    if profiler is not None and profile_to is not None:
        result["profiled"] = True
        result["profile_top"] = _save_profile(profiler, Path(profile_to))
    return result


def _start_profiler() -> Any:
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.001)
    profiler.start()
    return profiler


def _save_profile(profiler: Any, stem: Path, top: int = 15) -> list[dict[str, Any]]:
    """HTML and text call trees, plus the functions with the most time of their own."""
    profiler.stop()
    stem.parent.mkdir(parents=True, exist_ok=True)
    stem.with_suffix(".html").write_text(profiler.output_html())
    text = profiler.output_text(unicode=False, color=False, show_all=False)
    session = profiler.last_session
    own: dict[str, float] = {}
    stack = [session.root_frame()]
    while stack:
        frame = stack.pop()
        if frame is None or frame.is_synthetic:  # [self] and [await] are counted by their parent
            continue
        where = f"{frame.function} ({frame.file_path_short}:{frame.line_no})"
        own[where] = own.get(where, 0.0) + frame.total_self_time
        stack.extend(frame.children)
    total = session.duration or 1.0
    ranked = sorted(own.items(), key=lambda item: item[1], reverse=True)[:top]
    rows = [
        {"function": where, "self_s": round(s, 3), "self_pct": round(100 * s / total, 1)}
        for where, s in ranked
    ]
    listing = "\n".join(
        f"{row['self_pct']:5.1f}%  {row['self_s']:7.3f}s  {row['function']}" for row in rows
    )
    stem.with_suffix(".txt").write_text(f"Top self time\n{listing}\n\n{text}")
    return rows
