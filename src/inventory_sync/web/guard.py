"""The page's two guards: the token gate (when web_token is set, every page needs it, as a
bearer header or as the cookie a `?token=` visit sets) and the cross-site check of each POST
(a double-submit CSRF token, and an Origin or Referer of the page's own origin).

/livez, /readyz, /metrics and /status.json stay open, as they are without the page: probes and
scrapers carry no token.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

OPEN_PATHS = frozenset({"/livez", "/readyz", "/metrics", "/status.json"})
TOKEN_COOKIE = "inventory_sync_token"
CSRF_COOKIE = "inventory_sync_csrf"
CSRF_FIELD = "csrf"


def same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


class TokenGate:
    """ASGI middleware: lets a request through when no token is set, when its path is open,
    or when it carries the token; a `?token=` visit logs in (cookie) and drops it from the URL."""

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self.token = token or None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.token is None or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        response = self._login(request) or self._refusal(request)
        if response is None:
            await self.app(scope, receive, send)
        else:
            await response(scope, receive, send)

    def _login(self, request: Request) -> Response | None:
        assert self.token is not None
        given = request.query_params.get("token")
        if given is None or not same(given, self.token):
            return None
        rest = request.url.remove_query_params("token")
        response = RedirectResponse(rest.path + (f"?{rest.query}" if rest.query else ""), 303)
        response.set_cookie(TOKEN_COOKIE, self.token, httponly=True, samesite="strict")
        return response

    def _refusal(self, request: Request) -> Response | None:
        assert self.token is not None
        bearer = request.headers.get("authorization", "")
        if bearer.startswith("Bearer ") and same(bearer[len("Bearer ") :], self.token):
            return None
        cookie = request.cookies.get(TOKEN_COOKIE)
        if cookie and same(cookie, self.token):
            return None
        return PlainTextResponse(
            "the status page needs its token: open it once with ?token=TOKEN, or send "
            "Authorization: Bearer TOKEN\n",
            401,
            headers={"WWW-Authenticate": "Bearer"},
        )


def csrf_token(request: Request) -> str:
    """The session's CSRF token: the cookie's, or a new one (set it with keep_csrf_token)."""
    return request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)


def keep_csrf_token(response: Response, token: str) -> Response:
    response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="strict")
    return response


def cross_site_refusal(request: Request, form: Mapping[str, str]) -> str | None:
    """Why a POST is refused as possibly cross-site, or None when it comes from the page."""
    own = f"{request.url.scheme}://{request.headers.get('host', '')}"
    origin, referer = request.headers.get("origin"), request.headers.get("referer")
    if origin is not None:
        if origin != own:
            return f"the request comes from {origin}, not from {own}"
    elif referer is not None:
        if referer != own and not referer.startswith(own + "/"):
            return "the request comes from another page than this one"
    else:
        return "the request says neither its Origin nor its Referer"
    cookie, field = request.cookies.get(CSRF_COOKIE), form.get(CSRF_FIELD)
    if not cookie or not field or not same(field, cookie):
        return "the form's CSRF token is missing or not this session's"
    return None
