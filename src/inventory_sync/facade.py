"""InventorySync: the library API a shop backend embeds (run or start, stop, stock_status)."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, Self

from dependency_injector import providers

from inventory_sync.container import Container, require_client
from inventory_sync.domain.errors import InventorySyncError, PermanentFault
from inventory_sync.domain.model import StockStatus
from inventory_sync.domain.outcomes import BatchReport, Summary
from inventory_sync.settings import Settings, mask_url_password

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from inventory_sync.adapters.metrics import Metrics, TimedSource
    from inventory_sync.application.worker import Worker
    from inventory_sync.domain.ports import RecordSource

log = logging.getLogger("inventory_sync")


class InventorySync:
    """Runs the worker and answers stock questions, over the adapters the settings choose.

    Pass `engine=` to share the shop's own SQLAlchemy engine (and its pool). It can run,
    stop and run again; `start()` runs it in a background thread, and as a context manager
    it is started on enter and stopped on exit (a web app's lifespan).
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        engine: Engine | None = None,
        container: Container | None = None,
    ) -> None:
        self.settings = settings if settings is not None else Settings.load()
        self.container = container or Container(settings=self.settings)
        if engine is not None:
            self.container.engine.override(providers.Object(engine))
        self._worker: Worker | None = None
        self._source: RecordSource | None = None
        self.metrics: Metrics | None = None
        """The Prometheus metrics of the run in progress, when metrics_port is set."""
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None
        self._lock = threading.Lock()

    def run(
        self,
        *,
        max_records: int | None = None,
        idle_timeout_s: float | None = None,
        on_batch: Callable[[BatchReport], None] | None = None,
        on_idle: Callable[[], None] | None = None,
    ) -> Summary:
        """Consume until stop(), SIGINT/SIGTERM (in the main thread), max_records or idleness.

        The batch in hand is finished and committed before it returns. Raises
        PermanentFault when a fault that retrying cannot clear stops the worker.
        """
        worker = self._new_worker(on_batch, on_idle)
        restore = _stop_on_signals(worker.stop)
        try:
            return self._run(worker, max_records, idle_timeout_s)
        finally:
            restore()

    def start(self, *, on_batch: Callable[[BatchReport], None] | None = None) -> None:
        """Run in a background thread and return at once; stop() ends it."""
        worker = self._new_worker(on_batch)
        thread = threading.Thread(
            target=self._run_in_background, args=(worker,), name="inventory-sync", daemon=True
        )
        self._thread = thread
        thread.start()

    def stop(self, timeout_s: float | None = None) -> None:
        """Finish the batch in hand, commit it and end the run; safe from any thread.

        Waits for a background run (start()) to end, and raises what stopped it, if anything
        did. A no-op when nothing runs.
        """
        with self._lock:
            if self._worker is not None:
                self._worker.stop()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout_s)
            if not thread.is_alive():
                self._thread = None
        failure, self._failure = self._failure, None
        if failure is not None:
            raise failure

    @property
    def running(self) -> bool:
        with self._lock:
            return self._worker is not None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def stock_status(self, product_code: str) -> StockStatus:
        """The status a product page shows; raises inventory_sync.UnknownProduct."""
        return self.container.service().stock_status(product_code)

    def upgrade_database(self) -> list[str]:
        """Create or upgrade the owned schema; returns the revisions applied."""
        from inventory_sync.adapters.sql.migrate import upgrade

        return upgrade(self.container.engine())

    def close(self) -> None:
        """Stop a run, and dispose of the engine this instance created (a shared engine is
        left alone)."""
        self.stop()
        if not self.container.engine.overridden:
            self.container.engine().dispose()

    def lag(self) -> dict[int, int]:
        """Records not yet consumed per partition, as far as the run in progress knows."""
        source = self._source
        return {} if source is None else source.lag()

    def _new_worker(
        self,
        on_batch: Callable[[BatchReport], None] | None,
        on_idle: Callable[[], None] | None = None,
    ) -> Worker:
        from inventory_sync.adapters.metrics import TimedSource

        require_client(self.settings)
        health = self.container.database_health()
        if not health.ok:  # a missing schema or mapped column, said once instead of per batch
            raise InventorySyncError(f"{self._database()}: {health.detail}")
        with self._lock:
            if self._worker is not None:
                raise RuntimeError("this InventorySync is already running; stop() it first")
            self.metrics = self._serve_metrics()
            source: RecordSource = self.container.record_source()
            if self.metrics is None:
                worker: Worker = self.container.worker(
                    source=source, on_batch=on_batch, on_idle=on_idle
                )
            else:  # watched, for health and metrics
                from inventory_sync.adapters.run_status import run_health

                source = timed = TimedSource(source)
                worker = self.container.worker(
                    source=timed, on_batch=self._observer(timed, on_batch), on_idle=on_idle
                )

                probe = self.container.dependency_probe()
                self.metrics.health = run_health(worker, timed, probe, self.settings)
                self.metrics.faulty = lambda: worker.fault_in
                self.metrics.unreachable = lambda: probe.faults().keys()
            self._worker, self._source = worker, source
        settings = self.settings
        log.info(
            "consuming %s from Kafka at %s (group %s, %s client) into %s",
            settings.topic,
            settings.bootstrap_servers,
            settings.group_id,
            settings.kafka_client,
            self._database(),
        )
        return worker

    def _database(self) -> str:
        """The database written to, password masked: the shared engine's when there is one."""
        if self.container.engine.overridden:
            url = self.container.engine().url.render_as_string(hide_password=True)
            return f"database {url}"
        return f"database {mask_url_password(self.settings.database_url)}"

    def _serve_metrics(self) -> Metrics | None:
        if self.settings.metrics_port is None:
            return None
        from inventory_sync.adapters.metrics import Metrics
        from inventory_sync.adapters.run_status import ProblemLog

        metrics = Metrics()
        host, port = self.settings.metrics_host, self.settings.metrics_port
        if self.settings.status_page:  # the page and the same endpoints, on the same port
            from inventory_sync.web import require_extra

            require_extra()
            from inventory_sync.web.server import serve_status_page

            metrics.on_close(serve_status_page(self.settings, self.container, metrics))
            log.info("serving the status page, /metrics, /livez and /readyz on %s:%d", host, port)
        else:
            metrics.serve(port, host)
            log.info("serving /metrics, /livez and /readyz on %s:%d", host, port)
        metrics.on_close(ProblemLog(metrics.status).attach().detach)
        return metrics

    def _observer(
        self, source: TimedSource, on_batch: Callable[[BatchReport], None] | None
    ) -> Callable[[BatchReport], None]:
        metrics = self.metrics
        assert metrics is not None

        def observe(report: BatchReport) -> None:
            lag = source.lag()
            metrics.observe(
                report, lag, source.last_batch_s, source.last_commit_at, source.lag_seconds(lag)
            )
            if on_batch is not None:
                on_batch(report)

        return observe

    def _run(
        self, worker: Worker, max_records: int | None, idle_timeout_s: float | None
    ) -> Summary:
        try:
            return worker.run(max_records=max_records, idle_timeout_s=idle_timeout_s)
        except PermanentFault:
            if self.metrics is not None:
                self.metrics.observe_fatal_error()
            raise
        finally:
            try:
                worker.source.close()
            finally:
                worker.dead_letters.close()
                with self._lock:
                    if self.metrics is not None:
                        self.metrics.close()
                    self._worker, self._source, self.metrics = None, None, None

    def _run_in_background(self, worker: Worker) -> None:
        try:
            self._run(worker, None, None)
        except BaseException as exc:
            log.exception("the background run stopped")
            self._failure = exc


def _stop_on_signals(stop: Callable[[], None]) -> Callable[[], None]:
    """SIGINT and SIGTERM call stop(); returns a function that puts the old handlers back."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def handler(signum: int, frame: FrameType | None) -> None:
        stop()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}

    def restore() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old)

    return restore
