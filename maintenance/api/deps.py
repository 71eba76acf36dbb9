"""Typed FastAPI dependencies: the request's session, the caller, and time parameters."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Protocol

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session, sessionmaker

from facility.types import DeviceState, ReadingStore
from maintenance.models import Role
from maintenance.services.users import AuthError, read_token

__all__ = [
    "ApiContext",
    "CurrentUser",
    "SessionDep",
    "parse_time",
    "require_roles",
]


class DeviceStates(Protocol):
    def list_states(self) -> list[DeviceState]: ...


@dataclass(slots=True)
class ApiContext:
    """What the API needs from the composition root."""

    sessions: sessionmaker[Session]
    readings: ReadingStore
    states: DeviceStates
    secret: str
    token_ttl_s: int = 8 * 3600


oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def get_context(request: Request) -> ApiContext:
    context: ApiContext = request.app.state.context
    return context


ContextDep = Annotated[ApiContext, Depends(get_context)]


def get_session(context: ContextDep) -> Iterator[Session]:
    with context.sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


@dataclass(frozen=True, slots=True)
class Caller:
    username: str
    role: Role


def get_caller(context: ContextDep, token: Annotated[str | None, Depends(oauth2)]) -> Caller:
    if not token:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "authentication required: POST /api/v1/auth/token for a bearer token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    try:
        username, role = read_token(token, secret=context.secret)
    except AuthError as exc:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, str(exc), headers={"WWW-Authenticate": "Bearer"}
        ) from exc
    return Caller(username, role)


CurrentUser = Annotated[Caller, Depends(get_caller)]


def require_roles(*roles: Role) -> object:
    """A dependency that lets only ``roles`` through (403 otherwise)."""

    def check(caller: CurrentUser) -> Caller:
        if caller.role not in roles:
            allowed = ", ".join(r.value for r in roles)
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, f"this needs one of the roles: {allowed}"
            )
        return caller

    return Depends(check)


def parse_time(value: str | None, name: str) -> datetime | None:
    """ISO 8601 (naive = UTC) or epoch seconds, as every time parameter of the API takes."""
    if value is None or value == "":
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        if not -1e11 < seconds < 1e11:
            raise HTTPException(422, f"{name}={value!r} is out of range for epoch seconds")
        return datetime.fromtimestamp(seconds, tz=UTC)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise HTTPException(
            422, f"{name}={value[:40]!r} is neither ISO 8601 nor epoch seconds"
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
