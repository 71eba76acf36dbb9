"""What every console page reads from its request, and how a page is drawn.

The console lives under ``/console`` and reads the same
:class:`~maintenance.people.deps.ApiContext` as the API, so it sees the same users, orders and
readings. What only the console needs (where link revocations are kept, the rate limits) is a
:class:`ConsoleState` on ``app.state.console``. Every page is drawn by :func:`render`, in the
request's language, with a CSRF token for its forms and the console's security headers; the
error pages (not allowed, not found, the log-in redirect) are drawn here too, so the page
modules above share one way of saying no. This module sits below the pages and the mounting
(:mod:`console._app`) and imports neither.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from console._i18n import N_, Localizer, localizer, negotiate
from console._links import RateLimiter, Revocations
from console._session import (
    LANG_COOKIE,
    ConsoleUser,
    attach_csrf_cookie,
    csrf_nonce,
    csrf_token,
    current_user,
)
from console._thresholds import BandsOf, no_bands
from maintenance.people.deps import ApiContext
from maintenance.shared.actors import Actor

__all__ = [
    "HERE",
    "PREFIX",
    "TEMPLATES",
    "ConsoleState",
    "actor_of",
    "context_of",
    "error_page",
    "forbidden",
    "gate",
    "language_of",
    "localizer_of",
    "login_redirect",
    "not_found",
    "render",
    "state_of",
    "user_of",
]

PREFIX = "/console"
#: The console package's folder: its templates and static files.
HERE = Path(__file__).resolve().parent
TEMPLATES = Environment(
    loader=FileSystemLoader(HERE / "templates"),
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
    #: Per printed link (asset and issue time): a sticker cannot feed more than this.
    per_link: RateLimiter = field(default_factory=lambda: RateLimiter(limit=20, window_s=3600.0))
    #: The key report links are signed with (console._links); None = the session secret.
    link_secret: str | None = None
    #: The alarm bands charts shade: the composition root passes the running rules' (below).
    bands_of: BandsOf = no_bands
    #: How often an open board fetches itself again (console.js; it skips while you type).
    board_refresh_s: float = 20.0
    stream_interval_s: float = 2.0
    stream_max_s: float = 55.0
    #: Set when the process shuts down: open live streams end at their next tick, because the
    #: HTTP server waits for every open response before it stops.
    stop: threading.Event = field(default_factory=threading.Event)


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
    """The signed-in user, read once per request (the check costs a database read)."""
    if "console_user" not in request.scope:
        context = context_of(request)
        request.scope["console_user"] = current_user(request, context.secret, context.sessions)
    user: ConsoleUser | None = request.scope["console_user"]
    return user


def actor_of(user: ConsoleUser) -> Actor:
    return Actor(user.username, user.role)


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

    def translate_in(context: str, message: str, **params: Any) -> str:
        text = loc.pgettext(context, message)
        return text % params if params else text

    html = TEMPLATES.get_template(template).render(
        request=request,
        user=user,
        loc=loc,
        lang=loc.language,
        _=translate,
        gettext=translate,
        pgettext=translate_in,
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


# -- saying no ------------------------------------------------------------------------------------
def login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"{PREFIX}/login?next={quote(target)}", status_code=303)


def forbidden(request: Request, user: ConsoleUser | None, message: str) -> Response:
    return render(
        request, "error.html", user=user, status_code=403, title=N_("Not allowed"), message=message
    )


def not_found(request: Request, user: ConsoleUser | None, message: str) -> Response:
    return render(
        request, "error.html", user=user, status_code=404, title=N_("Not found"), message=message
    )


def error_page(
    request: Request,
    user: ConsoleUser | None,
    status_code: int,
    title: str,
    message: str,
    detail: str | None = None,
) -> Response:
    return render(
        request,
        "error.html",
        user=user,
        status_code=status_code,
        title=title,
        message=message,
        detail=detail,
    )


def gate(request: Request, *, managers_only: bool) -> ConsoleUser | Response:
    """The signed-in user when their role may see the page; else the log-in or a 403 page."""
    user = user_of(request)
    if user is None:
        return login_redirect(request)
    allowed = user.can_manage if managers_only else user.can_work
    if not allowed:
        message = (
            N_("This page is for facility managers.")
            if managers_only
            else N_("This page is for the maintenance team.")
        )
        return error_page(request, user, 403, N_("Not allowed"), message)
    return user
