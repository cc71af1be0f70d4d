"""Prometheus metrics and health of a run, served on metrics_host:metrics_port by the CLI and
the library alike; prometheus_client loads only then.

    GET /metrics      the Prometheus text format
    GET /livez        200 while the run loop keeps polling (a stuck loop fails it), else 503
    GET /readyz       200 while the database and Kafka answer, partitions are assigned and no
                      transient fault is being waited out, else 503 with what is wrong
    GET /status.json  the run's RunStatus snapshot (what the status page shows)
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable, Collection
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

from inventory_sync.adapters.run_status import HealthCheck, RunStatus
from inventory_sync.adapters.timed_source import TimedSource
from inventory_sync.domain.errors import InventorySyncError
from inventory_sync.domain.outcomes import BatchReport

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

__all__ = ["Metrics", "MetricsUnavailable", "TimedSource", "answer"]

ROUTES = ("/metrics", "/livez", "/readyz", "/status.json")


class MetricsUnavailable(InventorySyncError):
    """The metrics port cannot be listened on (taken, or not allowed)."""


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
        self.lag_seconds = Gauge(
            "inventory_sync_consumer_lag_seconds",
            "Age of the records waiting, by partition: 0 when none waits, else the age of the "
            "newest record consumed",
            ["partition"],
            registry=self.registry,
        )
        self.status = RunStatus()
        Gauge(
            "inventory_sync_records_per_second",
            "Records committed per second over the last 30 s",
            registry=self.registry,
        ).set_function(self.status.rate)
        Gauge(
            "inventory_sync_lag_clear_seconds",
            "Time to consume the records waiting at the current rate (+Inf while none is)",
            registry=self.registry,
        ).set_function(lambda: _or(self.status.clear_seconds(), math.inf))
        Gauge(
            "inventory_sync_database_freshness_seconds",
            "Seconds since the last batch that wrote to the database (NaN before the first)",
            registry=self.registry,
        ).set_function(lambda: _or(self.status.freshness_seconds(), math.nan))
        self.faulty: Callable[[], str | None] = lambda: None
        """The dependency whose fault the run loop waits out now, if any."""
        self.unreachable: Callable[[], Collection[str]] = lambda: ()
        """The dependencies that do not answer a probe now (even while the worker is idle)."""
        for dependency in ("database", "kafka"):
            self.up.labels(dependency).set_function(self._answers(dependency))
        for outcome in ("applied", "stale", "superseded", "rejected"):
            self.records.labels(outcome)
        self._server: ThreadingHTTPServer | None = None
        self._closers: list[Callable[[], None]] = []

    @property
    def health(self) -> HealthCheck:
        """(alive, ready, detail), asked by /livez (readiness False) and /readyz."""
        return self.status.health

    @health.setter
    def health(self, health: HealthCheck) -> None:
        self.status.health = health

    def observe(
        self,
        report: BatchReport,
        lag: dict[int, int],
        batch_s: float | None,
        committed_at: float | None,
        lag_seconds: dict[int, float] | None = None,
    ) -> None:
        self.status.observe(report, lag, lag_seconds or {})
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
        self.lag_seconds.clear()
        for partition, age in (lag_seconds or {}).items():
            self.lag_seconds.labels(str(partition)).set(age)

    def _answers(self, dependency: str) -> Callable[[], float]:
        return lambda: float(self.faulty() != dependency and dependency not in self.unreachable())

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

    def on_close(self, close: Callable[[], None]) -> None:
        """Call `close` on close(): a server of the status page serving these metrics."""
        self._closers.append(close)

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        closers, self._closers = self._closers, []
        for close in reversed(closers):
            close()


def answer(metrics: Metrics, path: str) -> tuple[int, bytes, str]:
    """(status, body, content type) of GET `path`, one of ROUTES: both the plain server here
    and the status page's app answer them so."""
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    if path == "/metrics":
        return 200, generate_latest(metrics.registry), CONTENT_TYPE_LATEST
    if path == "/status.json":
        body = json.dumps(metrics.status.snapshot(), allow_nan=False, default=str)
        return 200, body.encode(), "application/json"
    liveness = path == "/livez"  # never waits for a dependency's answer
    alive, ready, detail = metrics.health(not liveness)
    ok = alive if liveness else alive and ready
    return (200 if ok else 503), f"{'ok' if ok else 'failing'}: {detail}\n".encode(), "text/plain"


def _or(value: float | None, instead: float) -> float:
    return instead if value is None else value


def _handler_for(metrics: Metrics) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path in ROUTES:
                self._reply(*answer(metrics, path))
            else:
                self._reply(404, b"not found: " + ", ".join(ROUTES).encode() + b"\n")

        def _reply(self, status: int, data: bytes, kind: str = "text/plain") -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            return  # no access log on stderr

    return Handler
