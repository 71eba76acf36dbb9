"""Security headers on every response of the app the console is mounted on.

One ASGI middleware, one job. Pages drawn by :func:`console._render.render` already set their
own Content-Security-Policy and frame options; this adds what every response needs whatever
drew it (the API's JSON, static files, error pages of the framework):

* ``X-Content-Type-Options: nosniff`` so a browser never runs an upload or a JSON answer as
  HTML or script because it "looks like" one;
* ``Strict-Transport-Security`` when the request came over https, which behind a proxy is
  known only when the proxy is trusted (``FACILITY_TRUSTED_PROXIES`` and its
  ``X-Forwarded-Proto``); sent over plain http it would be meaningless, and a forged header
  from an untrusted peer never gets here as https;
* a restrictive CSP and ``frame-ancestors 'none'`` on HTML that did not set its own.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["DEFAULT_CSP", "HSTS", "SecurityHeaders"]

#: One year, subdomains included: what the HSTS preload list asks for, without opting into it.
HSTS = "max-age=31536000; includeSubDomains"
DEFAULT_CSP = "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"


class SecurityHeaders:
    """Add ``nosniff``, HSTS over https, and a default CSP on HTML, to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                if https:
                    headers.setdefault("Strict-Transport-Security", HSTS)
                if headers.get("content-type", "").startswith("text/html"):
                    headers.setdefault("Content-Security-Policy", DEFAULT_CSP)
                    headers.setdefault("X-Frame-Options", "DENY")
            await send(message)

        await self.app(scope, receive, send_with_headers)
