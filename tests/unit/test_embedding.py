"""Embedded in a shop's web app: a FastAPI lifespan that starts and stops the worker (entered
twice, as FastAPI's TestClient does in a test suite), with metrics and health served on
metrics_port by the library itself."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException
from fastapi.testclient import TestClient

from inventory_sync import InventorySync, Settings, UnknownProduct

from .cli_support import FakeServices, free_port

APPLIED_ONCE = 'inventory_sync_records_total{outcome="applied"} 1.0'


def fetch(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def eventually(condition: Callable[[], bool]) -> bool:
    pause = threading.Event()
    for _ in range(500):
        if condition():
            return True
        pause.wait(0.01)
    return False


def shop_app(sync: InventorySync) -> FastAPI:
    """The README's FastAPI example, with the worker run by the app's lifespan."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with sync:  # start() on the way in, stop() on the way out
            yield

    app = FastAPI(lifespan=lifespan)

    @app.get("/products/{code}/stock")
    def stock(code: str) -> dict[str, object]:
        try:
            return sync.stock_status(code).to_dict()
        except UnknownProduct:
            raise HTTPException(404, f"no product {code}") from None

    return app


def test_a_fastapi_lifespan_entered_twice_consumes_in_both_and_serves_metrics_and_health() -> None:
    services = FakeServices()
    services.add({"SKU-1": 10})
    port = free_port()
    settings = Settings(poll_timeout_ms=10, metrics_port=port)
    sync = InventorySync(settings, container=services.container(settings))
    app = shop_app(sync)

    for count in (3, 0):
        with TestClient(app) as client:
            services.send({"product_code": "SKU-1", "inventory_count": count})
            assert eventually(
                lambda c=count: client.get("/products/SKU-1/stock").json()["inventory_count"] == c
            )
            assert eventually(lambda: APPLIED_ONCE in fetch(port, "/metrics")[1])
            assert fetch(port, "/metrics")[0] == 200
            assert fetch(port, "/livez")[0] == 200
            assert fetch(port, "/readyz") == (200, "ok: consuming\n")
        assert not sync.running

    assert client.get("/products/SKU-1/stock").json()["message"] == "Out of stock"
    assert services.topic.committed == 2


def test_readiness_fails_while_a_fault_is_waited_out_and_liveness_does_not() -> None:
    services = FakeServices()
    services.add({"SKU-1": 10})
    services.repository.transient_failures = 1_000_000
    port = free_port()
    settings = Settings(poll_timeout_ms=10, metrics_port=port)
    sync = InventorySync(settings, container=services.container(settings))

    with sync:
        services.send({"product_code": "SKU-1", "inventory_count": 3})
        assert eventually(lambda: fetch(port, "/readyz")[0] == 503)
        _, body = fetch(port, "/readyz")
        assert body.startswith("failing: waiting out a fault: database unavailable")
        metrics = fetch(port, "/metrics")[1]
        assert 'inventory_sync_dependency_up{dependency="database"} 0.0' in metrics
        assert 'inventory_sync_dependency_up{dependency="kafka"} 1.0' in metrics
        assert fetch(port, "/livez")[0] == 200
        services.repository.transient_failures = 0
        assert eventually(lambda: fetch(port, "/readyz")[0] == 200)
        assert 'dependency_up{dependency="database"} 1.0' in fetch(port, "/metrics")[1]

    assert services.repository.products["SKU-1"].inventory_count == 3
