"""InventorySync: the library API a shop backend embeds (run, stop, stock_status)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING

from dependency_injector import providers

from inventory_sync.domain.model import StockStatus
from inventory_sync.domain.services import BatchReport, Summary
from inventory_sync.entrypoints.container import Container, require_client
from inventory_sync.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from inventory_sync.entrypoints.worker import Worker


class InventorySync:
    """Runs the worker and answers stock questions, over the adapters the settings choose.

    Pass `engine=` to share the shop's own SQLAlchemy engine (and its pool).
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
        self._stopped = threading.Event()
        self._lock = threading.Lock()

    def run(
        self,
        *,
        max_records: int | None = None,
        idle_timeout_s: float | None = None,
        on_batch: Callable[[BatchReport], None] | None = None,
    ) -> Summary:
        """Consume until stop(), SIGINT/SIGTERM (in the main thread), max_records or idleness.

        The batch in hand is finished and committed before it returns.
        """
        require_client(self.settings)
        with self._lock:
            if self._stopped.is_set():
                return Summary()
            worker: Worker = self.container.worker(on_batch=on_batch)
            self._worker = worker
        restore = _stop_on_signals(worker.stop)
        try:
            return worker.run(max_records=max_records, idle_timeout_s=idle_timeout_s)
        finally:
            restore()
            _close(worker.source, worker.dead_letters)
            with self._lock:
                self._worker = None

    def stop(self) -> None:
        """Ask run() to finish its batch, commit and return; safe from any thread."""
        with self._lock:
            self._stopped.set()
            if self._worker is not None:
                self._worker.stop()

    def stock_status(self, product_code: str) -> StockStatus:
        """The status a product page shows; raises inventory_sync.UnknownProduct."""
        return self.container.service().stock_status(product_code)

    def upgrade_database(self) -> list[str]:
        """Create or upgrade the owned schema; returns the revisions applied."""
        from inventory_sync.adapters.sql.migrate import upgrade

        return upgrade(self.container.engine())

    def close(self) -> None:
        """Dispose of the engine this instance created (a shared engine is left alone)."""
        if not self.container.engine.overridden:
            self.container.engine().dispose()


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


def _close(*resources: object) -> None:
    for resource in resources:
        close = getattr(resource, "close", None)
        if callable(close):
            close()
