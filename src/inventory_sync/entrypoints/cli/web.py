"""`web`: the operator status page, in a process of its own (the `web` extra)."""

from __future__ import annotations

import signal
import threading
import time
from typing import Annotated

import typer

from inventory_sync.entrypoints.cli.errors import BadUsage
from inventory_sync.entrypoints.cli.state import state_of


def web(
    ctx: typer.Context,
    host: Annotated[
        str | None,
        typer.Option(metavar="HOST", help="Address to serve on [default: web_host, 127.0.0.1]."),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(min=1, max=65535, metavar="PORT", help="[default: web_port, 8321]"),
    ] = None,
) -> None:
    """Serve the operator status page until Ctrl-C or SIGTERM.

    Partitions (committed offset, end offset, lag), records/s, outcomes and rejections by
    reason, the last errors and transient faults, the dead letters with a replay action
    (the rules of `dlq replay`) and a product search. The worker's own figures come from its
    /status.json at metrics_host:metrics_port (set metrics_port for both). On an address other
    than loopback the page needs web_token: open it once with ?token=TOKEN, or send
    Authorization: Bearer TOKEN. Needs the web extra: pip install 'inventory-sync[web]'.

    \b
    Examples:
      inventory-sync web
      INVENTORY_SYNC_WEB_TOKEN=s3cret inventory-sync web --host 0.0.0.0 --port 8321
    """
    began = time.perf_counter()
    from inventory_sync.web import WebExtraMissing, require_extra
    from inventory_sync.web.binding import TokenRequired, require_token_for

    state = state_of(ctx)
    settings = state.settings()
    settings = settings.model_copy(
        update={"web_host": host or settings.web_host, "web_port": port or settings.web_port}
    )
    token = settings.web_token.get_secret_value() if settings.web_token else None
    try:
        require_token_for(settings.web_host, token, "web_host")
    except TokenRequired as exc:
        raise BadUsage(str(exc)) from None
    try:
        require_extra()
    except WebExtraMissing as exc:
        raise BadUsage(str(exc)) from None
    from inventory_sync.web.app import status_app
    from inventory_sync.web.server import BackgroundServer, page_services

    services = page_services(settings, state.container)
    server = BackgroundServer(status_app(services), settings.web_host, settings.web_port)
    server.start()
    shown = "127.0.0.1" if settings.web_host in ("0.0.0.0", "::") else settings.web_host
    typer.echo(
        f"status page on http://{shown}:{settings.web_port}/ "
        f"(started in {time.perf_counter() - began:.2f} s; Ctrl-C stops it)",
        err=True,
    )
    stop = threading.Event()
    previous = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stop.wait(0.5) and server.thread.is_alive():
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        server.close()
        services.offsets.close()
