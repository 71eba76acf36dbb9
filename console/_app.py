"""Mounting the console on the FastAPI app, and rendering its pages.

The console lives under ``/console`` (``/`` redirects there) and reads the same
:class:`~maintenance.people.deps.ApiContext` as the API, so it sees the same users, orders and
readings. What only the console needs (where link revocations are kept, the rate limits) is a
:class:`ConsoleState` on ``app.state.console``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape

from console._i18n import Localizer, localizer, negotiate
from console._links import RateLimiter, Revocations
from console._session import (
    LANG_COOKIE,
    ConsoleUser,
    attach_csrf_cookie,
    csrf_nonce,
    csrf_token,
    current_user,
)
from maintenance.people.deps import ApiContext

__all__ = ["PREFIX", "ConsoleState", "mount_console", "render"]

PREFIX = "/console"
_HERE = Path(__file__).resolve().parent
TEMPLATES = Environment(
    loader=FileSystemLoader(_HERE / "templates"),
    autoescape=select_autoescape(["html"]),
    extensions=["jinja2.ext.i18n"],
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(slots=True)
class ConsoleState:
    """The console's own state: link revocations and the public report rate limits."""

    revocations: Revocations
    per_client: RateLimiter = field(default_factory=lambda: RateLimiter(limit=5, window_s=600.0))
    per_asset: RateLimiter = field(default_factory=lambda: RateLimiter(limit=30, window_s=3600.0))
    stream_interval_s: float = 2.0
    stream_max_s: float = 55.0
    #: Set when the process shuts down: open live streams end at their next tick, because the
    #: HTTP server waits for every open response before it stops.
    stop: threading.Event = field(default_factory=threading.Event)


def mount_console(
    app: FastAPI,
    *,
    data_dir: Path,
    state: ConsoleState | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Serve the console on ``app`` (which must carry an ``ApiContext`` in ``app.state``).

    Pass the process's ``stop`` event so live streams end promptly at shutdown.
    """
    from console._routes import router
    from console._routes_service import router as service_router

    state = state or ConsoleState(revocations=Revocations(data_dir / "report-links.json"))
    if stop is not None:
        state.stop = stop
    app.state.console = state
    app.mount(f"{PREFIX}/static", StaticFiles(directory=_HERE / "static"), name="console-static")
    app.include_router(service_router)  # first: /assets/replacement before /assets/{asset_id}
    app.include_router(router)

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse(f"{PREFIX}/", status_code=307)


def context_of(request: Request) -> ApiContext:
    context: ApiContext = request.app.state.context
    return context


def state_of(request: Request) -> ConsoleState:
    state: ConsoleState = request.app.state.console
    return state


def language_of(request: Request) -> str:
    choice = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
    return negotiate(choice, request.headers.get("accept-language"))


def localizer_of(request: Request) -> Localizer:
    cached: Localizer | None = getattr(request.state, "localizer", None)
    if cached is None:
        cached = localizer(language_of(request))
        request.state.localizer = cached
    return cached


def user_of(request: Request) -> ConsoleUser | None:
    return current_user(request, context_of(request).secret)


def render(
    request: Request,
    template: str,
    *,
    user: ConsoleUser | None,
    status_code: int = 200,
    **values: Any,
) -> Response:
    """Render ``template`` in the request's language, with a CSRF token for its forms."""
    loc = localizer_of(request)
    secret = context_of(request).secret
    nonce = csrf_nonce(request)

    def translate(message: str, **params: Any) -> str:
        text = loc.gettext(message)
        return text % params if params else text

    html = TEMPLATES.get_template(template).render(
        request=request,
        user=user,
        loc=loc,
        lang=loc.language,
        _=translate,
        gettext=translate,
        csrf=csrf_token(nonce, secret),
        prefix=PREFIX,
        **values,
    )
    response = HTMLResponse(html, status_code=status_code)
    attach_csrf_cookie(response, request)
    response.headers["Content-Language"] = loc.language
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )
    return response
