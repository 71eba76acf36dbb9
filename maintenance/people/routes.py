"""``POST /api/v1/auth/token``: the OAuth2 password flow."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordRequestForm

from maintenance.people.deps import ContextDep, SessionDep
from maintenance.people.schemas import Token
from maintenance.people.users import AuthError, authenticate, issue_token

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post(
    "/token",
    responses={
        401: {"description": "wrong user name or password"},
        429: {"description": "too many failed log-ins; wait Retry-After seconds"},
    },
)
def login(
    request: Request,
    session: SessionDep,
    context: ContextDep,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
) -> Token:
    """Exchange a user name and password for a bearer token.

    Failed attempts are throttled per account and client address: past the limit the answer is
    429 with ``Retry-After``, whatever the password (so guessing learns nothing more).
    """
    username = form.username[:64]
    client = request.client.host if request.client else "unknown"
    throttle = context.login_throttle
    wait_s = throttle.retry_after_s(username=username, client=client)
    if wait_s is not None:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"too many failed log-ins; try again in {wait_s} s",
            headers={"Retry-After": str(wait_s)},
        )
    try:
        user = authenticate(session, username=username, password=form.password)
    except AuthError as exc:
        throttle.failed(username=username, client=client)
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, str(exc), headers={"WWW-Authenticate": "Bearer"}
        ) from exc
    throttle.succeeded(username=username, client=client)
    token = issue_token(user, secret=context.secret, ttl_s=context.token_ttl_s)
    return Token(access_token=token, role=user.role.value)
