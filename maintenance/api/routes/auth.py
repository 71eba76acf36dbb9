"""``POST /api/v1/auth/token``: the OAuth2 password flow."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, status
from fastapi.security import OAuth2PasswordRequestForm

from maintenance.api.deps import ContextDep, SessionDep
from maintenance.schemas import Token
from maintenance.services.users import AuthError, authenticate, issue_token

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/token")
def login(
    session: SessionDep, context: ContextDep, form: Annotated[OAuth2PasswordRequestForm, Depends()]
) -> Token:
    """Exchange a user name and password for a bearer token."""
    try:
        user = authenticate(session, username=form.username[:64], password=form.password)
    except AuthError as exc:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, str(exc), headers={"WWW-Authenticate": "Bearer"}
        ) from exc
    token = issue_token(user, secret=context.secret, ttl_s=context.token_ttl_s)
    return Token(access_token=token, role=user.role.value)
