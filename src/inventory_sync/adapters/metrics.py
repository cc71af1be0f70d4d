"""Prometheus metrics and health of a run, served on metrics_host:metrics_port by the CLI and
the library alike; prometheus_client loads only then.

    GET /metrics   the Prometheus text format
    GET /livez     200 while the run loop keeps polling (a stuck loop fails it), else 503
    GET /readyz    200 while no transient fault is being waited out, else 503 with the fault
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

from inventory_sync.domain.errors import InventorySyncError
from inventory_sync.domain.model import Record
from inventory_sync.domain.outcomes import BatchReport
from inventory_sync.domain.ports import RecordSource

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

LIVENESS_TTL_S = 60.0
"""A run loop that has not polled for this long is stuck: /livez fails."""


class MetricsUnavailable(InventorySyncError):
    """The metrics port cannot be listened on (taken, or not allowed)."""


class TimedSource:
    """A record source that notes how long each batch took, from poll to commit, and when
    the last commit happened; otherwise it is the source it wraps."""

    def __init__(
        self,
        source: RecordSource,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.source = source
        self.clock = clock
        self.wall_clock = wall_clock
        self.last_batch_s: float | None = None
        self.last_commit_at: float | None = None
        self._polled_at = clock()
        self.last_poll_at = clock()
        """When the run loop last polled (monotonic): liveness."""

    def poll(self, max_records: int, timeout_s: float) -> list[Record]:
        batch = self.source.poll(max_records, timeout_s)
        self.last_poll_at = self.clock()
        if batch:
            self._polled_at = self.last_poll_at
        return batch

    def commit(self, records: Sequence[Record]) -> None:
        self.source.commit(records)
        self.last_batch_s = self.clock() - self._polled_at
        self.last_commit_at = self.wall_clock()

    def pause(self) -> None:
        self.source.pause()

    def resume(self) -> None:
        self.source.resume()

    def lag(self) -> dict[int, int]:
        return self.source.lag()

    def close(self) -> None:
        self.source.close()


class Metrics:
    """The counters, histogram and gauges of the worker, in a registry of their own."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = registry if registry is not None else CollectorRegistry()
        self.records = Counter(
            "inventory_sync_records",
            "Records consumed, by outcome",
            ["outcome"],
            registry=self.registry,
        )
        self.rejections = Counter(
            "inventory_sync_rejections",
            "Records sent to the dead-letter topic, by reason",
            ["reason"],
            registry=self.registry,
        )
        self.batch_duration = Histogram(
            "inventory_sync_batch_duration_seconds",
            "Time from polling a batch to committing its offsets",
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
        )
        self.lag = Gauge(
            "inventory_sync_consumer_lag",
            "Records not yet consumed, by partition",
            ["partition"],
            registry=self.registry,
        )
        self.last_commit = Gauge(
            "inventory_sync_last_commit_timestamp_seconds",
            "Unix time of the last offset commit",
            registry=self.registry,
        )
        self.fatal_errors = Counter(
            "inventory_sync_fatal_errors",
            "Faults that stopped the worker because retrying could not clear them",
            registry=self.registry,
        )
        self.up = Gauge(
            "inventory_sync_dependency_up",
            "1 while the dependency answers the run loop, 0 while a fault in it is waited out",
            ["dependency"],
            registry=self.registry,
        )
        self.faulty: Callable[[], str | None] = lambda: None
        """The dependency whose fault the run loop waits out now, if any."""
        for dependency in ("database", "kafka"):
            self.up.labels(dependency).set_function(self._answers(dependency))
        for outcome in ("applied", "stale", "superseded", "rejected"):
            self.records.labels(outcome)
        self._server: ThreadingHTTPServer | None = None
        self.health: Callable[[], tuple[bool, bool, str]] = lambda: (True, True, "not running")
        """(alive, ready, detail), asked by /livez and /readyz."""

    def observe(
        self,
        report: BatchReport,
        lag: dict[int, int],
        batch_s: float | None,
        committed_at: float | None,
    ) -> None:
        summary = report.summary
        for outcome, count in (
            ("applied", summary.applied),
            ("stale", summary.stale),
            ("superseded", summary.superseded),
            ("rejected", summary.rejected),
        ):
            self.records.labels(outcome).inc(count)
        for reason, count in summary.by_reason.items():
            self.rejections.labels(reason).inc(count)
        if batch_s is not None:
            self.batch_duration.observe(batch_s)
        if committed_at is not None:
            self.last_commit.set(committed_at)
        self.lag.clear()
        for partition, behind in lag.items():
            self.lag.labels(str(partition)).set(behind)

    def _answers(self, dependency: str) -> Callable[[], float]:
        return lambda: float(self.faulty() != dependency)

    def observe_fatal_error(self) -> None:
        self.fatal_errors.inc()

    def serve(self, port: int, host: str = "127.0.0.1") -> None:
        """Serve /metrics, /livez and /readyz on a background thread until close()."""
        try:
            self._server = ThreadingHTTPServer((host, port), _handler_for(self))
        except OSError as exc:
            message = f"cannot serve metrics on {host}:{port}: {exc.strerror}"
            raise MetricsUnavailable(message) from exc
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, name="inventory-sync-metrics", daemon=True
        ).start()

    @property
    def port(self) -> int | None:
        return None if self._server is None else int(self._server.server_address[1])

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def _handler_for(metrics: Metrics) -> type[BaseHTTPRequestHandler]:
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._reply(200, generate_latest(metrics.registry), CONTENT_TYPE_LATEST)
            elif path in ("/livez", "/readyz"):
                alive, ready, detail = metrics.health()
                ok = alive if path == "/livez" else alive and ready
                self._reply(200 if ok else 503, f"{'ok' if ok else 'failing'}: {detail}\n")
            else:
                self._reply(404, "not found: /metrics, /livez, /readyz\n")

        def _reply(self, status: int, body: bytes | str, kind: str = "text/plain") -> None:
            data = body.encode() if isinstance(body, str) else body
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            return  # no access log on stderr

    return Handler
