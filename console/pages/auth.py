"""Log-in, log-out and the choice of language.

Logging in checks the password as ``POST /api/v1/auth/token`` does (with the same throttle on
failed attempts) and keeps the API's token in the session cookie (see :mod:`console._session`);
where to go afterwards is only ever a console path, never an open redirect.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from console._forms import CSRF_MESSAGE, FormError, form_text, read_form, safe_next
from console._i18n import LANGUAGES, N_
from console._render import PREFIX, context_of, forbidden, render, user_of
from console._session import LANG_COOKIE, CsrfError, clear_session, set_session
from maintenance.people.users import AuthError, authenticate, issue_token, withdraw_tokens

__all__ = ["router"]

router = APIRouter(prefix=PREFIX, include_in_schema=False)


@router.get("/login")
def login_page(request: Request) -> Response:
    return render(
        request,
        "login.html",
        user=user_of(request),
        next=safe_next(request.query_params.get("next")),
        error=None,
    )


@router.post("/login")
async def login(request: Request) -> Response:
    try:
        form = await read_form(request)
        username = form_text(form, "username", max_len=64, required=True)
        password = form_text(form, "password", max_len=256, required=True)
    except CsrfError:
        return forbidden(request, None, CSRF_MESSAGE)
    except FormError:
        return render(
            request,
            "login.html",
            user=None,
            status_code=400,
            next=f"{PREFIX}/",
            error=N_("Enter your user name and password."),
        )
    raw_next = form.get("next")
    next_url = safe_next(raw_next if isinstance(raw_next, str) else None)
    context = context_of(request)
    throttle = context.login_throttle
    client = request.client.host if request.client else "unknown"
    wait_s = throttle.retry_after_s(username=username, client=client)
    if wait_s is not None:
        response = render(
            request,
            "login.html",
            user=None,
            status_code=429,
            next=next_url,
            error=N_("Too many failed attempts. Wait a few minutes, then try again."),
        )
        response.headers["Retry-After"] = str(wait_s)
        return response

    def check() -> str:
        with context.sessions() as session:
            user = authenticate(session, username=username, password=password)
            return issue_token(user, secret=context.secret, ttl_s=context.token_ttl_s)

    try:
        token = await run_in_threadpool(check)
    except AuthError:
        throttle.failed(username=username, client=client)
        return render(
            request,
            "login.html",
            user=None,
            status_code=401,
            next=next_url,
            error=N_("Wrong user name or password."),
        )
    throttle.succeeded(username=username, client=client)
    response = RedirectResponse(next_url, status_code=303)
    set_session(response, request, token, context.token_ttl_s)
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    try:
        await read_form(request)
    except (CsrfError, FormError):
        return forbidden(request, user_of(request), CSRF_MESSAGE)
    user = user_of(request)
    if user is not None:  # sign out everywhere: the cookie's token (and any copy) stops working

        def withdraw() -> None:
            with context_of(request).sessions() as session:
                withdraw_tokens(session, username=user.username)
                session.commit()

        await run_in_threadpool(withdraw)
    response = RedirectResponse(f"{PREFIX}/login", status_code=303)
    clear_session(response)
    return response


@router.post("/language")
async def choose_language(request: Request) -> Response:
    """Remember the chosen language in a cookie (a year), then go back where the user was."""
    try:
        form = await read_form(request)
        language = form_text(form, "language", max_len=20, required=True)
    except (CsrfError, FormError):
        return forbidden(request, user_of(request), CSRF_MESSAGE)
    if language not in LANGUAGES:
        return render(
            request,
            "error.html",
            user=user_of(request),
            status_code=400,
            title=N_("Unknown language"),
            message=N_("Choose English or Simplified Chinese."),
        )
    back = form.get("back")
    response = RedirectResponse(safe_next(back if isinstance(back, str) else None), status_code=303)
    response.set_cookie(
        LANG_COOKIE, language, max_age=365 * 86400, samesite="lax", httponly=True, path="/"
    )
    return response
