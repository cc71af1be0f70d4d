"""Serving the status page with uvicorn on a background thread: on web_host:web_port for
`inventory-sync web`, or on metrics_host:metrics_port beside the worker's own endpoints."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from inventory_sync.adapters.metrics import MetricsUnavailable
from inventory_sync.web.binding import require_token_for

if TYPE_CHECKING:
    from inventory_sync.adapters.metrics import Metrics
    from inventory_sync.container import Container
    from inventory_sync.settings import Settings
    from inventory_sync.web.app import PageServices

START_TIMEOUT_S = 10.0


class BackgroundServer:
    """uvicorn serving one app on a daemon thread until close()."""

    def __init__(self, app: Any, host: str, port: int) -> None:
        import uvicorn

        self.host, self.port = host, port
        config = uvicorn.Config(
            app, host=host, port=port, log_level="warning", access_log=False, lifespan="off"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, name="inventory-sync-web", daemon=True
        )

    def start(self) -> BackgroundServer:
        """Return once it listens; MetricsUnavailable if it cannot (a port taken)."""
        self.thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                self.close()
                raise MetricsUnavailable(f"cannot serve the status page on {self.host}:{self.port}")
            time.sleep(0.005)
        return self

    def close(self) -> None:
        self.server.should_exit = True
        if self.thread.is_alive():
            self.thread.join(START_TIMEOUT_S)


def page_services(
    settings: Settings, container: Callable[[], Container], metrics: Metrics | None = None
) -> PageServices:
    """The page's sources: the worker's status in this process (metrics) or over HTTP."""
    from inventory_sync.adapters.kafka.kafka_python.group_offsets import GroupOffsets
    from inventory_sync.web.app import PageServices
    from inventory_sync.web.views import worker_status_over_http

    def run_status() -> tuple[dict[str, Any] | None, str]:
        if metrics is not None:
            return metrics.status.snapshot(), "this worker"
        return worker_status_over_http(settings)

    return PageServices(settings, container, GroupOffsets(settings), run_status, metrics)


def serve_status_page(
    settings: Settings, container: Container, metrics: Metrics
) -> Callable[[], None]:
    """Serve the page with the metrics' endpoints on metrics_host:metrics_port (status_page =
    true); returns what stops it."""
    from inventory_sync.web.app import status_app

    token = settings.web_token.get_secret_value() if settings.web_token else None
    require_token_for(settings.metrics_host, token, "metrics_host")
    assert settings.metrics_port is not None
    services = page_services(settings, lambda: container, metrics)
    server = BackgroundServer(status_app(services), settings.metrics_host, settings.metrics_port)
    server.start()

    def close() -> None:
        server.close()
        services.offsets.close()

    return close
