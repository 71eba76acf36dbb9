"""The console's browser session: the API's JWT in an HttpOnly cookie, and CSRF tokens.

The session cookie carries the same token ``POST /api/v1/auth/token`` hands out, so the console
and the API share one notion of user, role and expiry. It is ``HttpOnly`` (no script reads it)
and ``SameSite=Lax`` (no cross-site POST carries it). Form posts additionally carry a CSRF token:
the HMAC of a random per-browser nonce (kept in its own cookie) under the app secret. An attacker
can neither read the nonce nor compute the HMAC, and the ``Origin`` header, when a browser sends
one, must name this host.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request, Response
from sqlalchemy.orm import Session

from maintenance.people.users import AuthError, check_claims, read_token
from maintenance.shared.vocabulary import Role

__all__ = [
    "CSRF_COOKIE",
    "LANG_COOKIE",
    "SESSION_COOKIE",
    "ConsoleUser",
    "CsrfError",
    "check_csrf",
    "clear_session",
    "csrf_nonce",
    "csrf_token",
    "current_user",
    "set_session",
]

SESSION_COOKIE = "facility_session"
CSRF_COOKIE = "facility_csrf"
LANG_COOKIE = "facility_lang"
_MAX_TOKEN_CHARS = 4096


class CsrfError(Exception):
    """A form post without a valid CSRF token, or from another origin; answered with 403."""


@dataclass(frozen=True, slots=True)
class ConsoleUser:
    username: str
    role: Role

    @property
    def can_manage(self) -> bool:
        return self.role in (Role.ADMIN, Role.MANAGER)

    @property
    def can_work(self) -> bool:
        return self.role in (Role.ADMIN, Role.MANAGER, Role.TECH)


def current_user(
    request: Request, secret: str, sessions: Callable[[], Session]
) -> ConsoleUser | None:
    """The user of a valid, unexpired, not withdrawn session cookie (with today's role)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token or len(token) > _MAX_TOKEN_CHARS:
        return None
    try:
        claims = read_token(token, secret=secret)
        with sessions() as session:
            role = check_claims(session, claims)
    except AuthError:
        return None
    return ConsoleUser(claims.username, role)


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def set_session(response: Response, request: Request, token: str, ttl_s: int) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=ttl_s,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        path="/",
    )


def clear_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")


def csrf_nonce(request: Request, response: Response | None = None) -> str:
    """The browser's CSRF nonce; a new one is set on ``response`` when it has none yet."""
    nonce = request.cookies.get(CSRF_COOKIE, "")
    if len(nonce) == 43 and nonce.replace("-", "").replace("_", "").isalnum():
        return nonce
    nonce = secrets.token_urlsafe(32)
    request.state.new_csrf_nonce = nonce
    if response is not None:
        attach_csrf_cookie(response, request)
    return nonce


def attach_csrf_cookie(response: Response, request: Request) -> None:
    """Send the nonce minted during this request, if one was."""
    nonce = getattr(request.state, "new_csrf_nonce", None)
    if nonce:
        response.set_cookie(
            CSRF_COOKIE,
            nonce,
            httponly=True,
            samesite="strict",
            secure=_secure(request),
            path="/",
        )


def csrf_token(nonce: str, secret: str) -> str:
    digest = hmac.new(secret.encode(), f"csrf:{nonce}".encode(), hashlib.sha256).hexdigest()
    return digest[:40]


def check_csrf(request: Request, submitted: str | None, secret: str) -> None:
    """Raise :class:`CsrfError` unless the form's token matches this browser's nonce."""
    origin = request.headers.get("origin")
    if origin and origin != "null":
        expected = f"{request.url.scheme}://{request.headers.get('host', '')}"
        if origin.rstrip("/") != expected:
            raise CsrfError(f"form posted from another origin ({origin[:80]})")
    nonce = request.cookies.get(CSRF_COOKIE)
    if not nonce or not submitted or len(submitted) != 40:
        raise CsrfError("the form has no valid security token; reload the page and try again")
    if not hmac.compare_digest(csrf_token(nonce, secret), submitted):
        raise CsrfError("the form's security token does not match; reload the page and try again")
