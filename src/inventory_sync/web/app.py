"""The status page as a Starlette app: server-rendered (Jinja2), no JavaScript framework.

    GET  /                     overview: health, partitions, records/s, outcomes, problems
                               (refreshes itself every 5 s)
    GET  /dead-letters         the dead letters, filtered by ?reason= and ?product=
    POST /dead-letters/replay  replay the selection, as `dlq replay` does (CSRF-checked)
    GET  /products?code=CODE   the stock status a customer sees

Mounted by the worker, it also answers /metrics, /livez, /readyz and /status.json.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from inventory_sync.web import views
from inventory_sync.web.guard import (
    CSRF_FIELD,
    TokenGate,
    cross_site_refusal,
    csrf_token,
    keep_csrf_token,
)

if TYPE_CHECKING:
    from inventory_sync.adapters.kafka.kafka_python.group_offsets import GroupOffsets
    from inventory_sync.adapters.metrics import Metrics
    from inventory_sync.container import Container
    from inventory_sync.settings import Settings

TEMPLATES = Path(__file__).parent / "templates"
ContainerOf = Callable[[], "Container"]
RunStatusOf = Callable[[], tuple[dict[str, Any] | None, str]]
"""() -> (the worker's RunStatus snapshot, or None, and where it came from or why not)."""


@dataclass
class PageServices:
    """What the page reads: the settings, the container (products; made on first use, as
    the composition root is slow to import), the group's offsets, the worker's status, and,
    when the worker mounts the page, its metrics."""

    settings: Settings
    container: ContainerOf
    offsets: GroupOffsets
    run_status: RunStatusOf
    metrics: Metrics | None = None
    dead_letters: Any = None
    """The module that reads and replays dead letters (dlq show's and dlq replay's own:
    kafka_python.dead_letter_reader); tests give a fake with the same two functions."""

    def __post_init__(self) -> None:
        if self.dead_letters is None:
            from inventory_sync.adapters.kafka.kafka_python import dead_letter_reader

            self.dead_letters = dead_letter_reader


def status_app(services: PageServices) -> Starlette:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"])
    )
    environment.filters.update(duration=views.duration, number=views.number)

    def page(request: Request, name: str, context: dict[str, Any]) -> Response:
        token = csrf_token(request)
        html = environment.get_template(name).render(
            settings=services.settings, csrf_field=CSRF_FIELD, csrf=token, **context
        )
        return keep_csrf_token(HTMLResponse(html), token)

    def overview(request: Request) -> Response:
        return page(request, "overview.html", views.overview(services))

    def dead_letters(request: Request) -> Response:
        choice = views.Choice.of(
            request.query_params.getlist("reason"), request.query_params.getlist("product")
        )
        return page(request, "dead_letters.html", views.dead_letters(services, choice))

    async def replay(request: Request) -> Response:
        form = _form(await request.body())
        refusal = cross_site_refusal(request, {k: v[0] for k, v in form.items()})
        if refusal is not None:
            return Response(f"refused: {refusal}\n", 403, media_type="text/plain")
        choice = views.Choice.of(form.get("reason", []), form.get("product", []))
        dry_run = form.get("dry_run", [""])[0] == "on"
        context = await run_in_threadpool(views.replay, services, choice, dry_run)
        return page(request, "dead_letters.html", context)

    def products(request: Request) -> Response:
        code = request.query_params.get("code", "").strip()
        return page(request, "products.html", views.product(services, code))

    routes = [
        Route("/", overview),
        Route("/dead-letters", dead_letters),
        Route("/dead-letters/replay", replay, methods=["POST"]),
        Route("/products", products),
    ]
    if services.metrics is not None:
        routes += _endpoints_of(services.metrics)
    app = Starlette(routes=routes)
    token = services.settings.web_token
    app.add_middleware(TokenGate, token=token.get_secret_value() if token else None)
    return app


def _endpoints_of(metrics: Metrics) -> list[Route]:
    """/metrics, /livez, /readyz and /status.json, answered as the plain server does."""
    from inventory_sync.adapters.metrics import ROUTES, answer

    def endpoint(request: Request) -> Response:
        status, body, kind = answer(metrics, request.url.path)
        return Response(body, status, media_type=kind)

    return [Route(path, endpoint) for path in ROUTES]


def _form(body: bytes) -> dict[str, list[str]]:
    """An application/x-www-form-urlencoded body (no multipart on this page)."""
    return parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
