"""Typed FastAPI dependencies: the request's session, the caller, and time parameters."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Protocol

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer
from sqlalchemy.orm import Session, sessionmaker

from facility.core.types import DeviceState, ReadingStore
from maintenance.people.api_keys import authenticate_key
from maintenance.people.login_throttle import LoginThrottle
from maintenance.people.users import AuthError, check_claims, read_token
from maintenance.shared.actors import Actor
from maintenance.shared.sla import DEFAULT_POLICY, SlaPolicy
from maintenance.shared.vocabulary import Role

__all__ = [
    "ApiContext",
    "Caller",
    "ContextDep",
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
    #: Where photo attachments are kept; None turns uploads off (503 with the reason).
    attachments_dir: Path | None = None
    #: Bytes of attachments one order / one user may keep (FACILITY_ATTACHMENT_QUOTA_*).
    attachment_quota_per_order_bytes: int = 100 * 1024 * 1024
    attachment_quota_per_user_bytes: int = 500 * 1024 * 1024
    policy: SlaPolicy = DEFAULT_POLICY
    #: Auto-dispatch new orders (rules, requests) to the least-loaded qualified technician.
    auto_assign: bool = True
    #: The API's notion of "now"; tests pass a controllable clock to drive the SLA clocks.
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    #: Failed log-ins per account and client (API token endpoint and console share it).
    login_throttle: LoginThrottle = field(default_factory=LoginThrottle)


oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)
api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="machine key")


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

    @property
    def actor(self) -> Actor:
        return Actor(self.username, self.role)


def get_caller(
    context: ContextDep,
    token: Annotated[str | None, Depends(oauth2)],
    api_key: Annotated[str | None, Depends(api_key_header)],
) -> Caller:
    """The user behind a bearer token, or the machine behind an ``X-API-Key``; else 401."""
    if not token and api_key:
        with context.sessions() as session:
            found = authenticate_key(session, key=api_key)
        if found is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "the API key is unknown or revoked; ask an admin for a new one",
                headers={"WWW-Authenticate": "Bearer"},
            )
        return Caller(*found)
    if not token:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "authentication required: POST /api/v1/auth/token for a bearer token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    try:
        claims = read_token(token, secret=context.secret)
        with context.sessions() as session:  # withdrawn? and the role as it is now
            role = check_claims(session, claims)
    except AuthError as exc:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, str(exc), headers={"WWW-Authenticate": "Bearer"}
        ) from exc
    return Caller(claims.username, role)


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
        try:
            return datetime.fromtimestamp(seconds, tz=UTC)
        except (OverflowError, OSError, ValueError):  # NaN, before year 1, after 9999
            raise HTTPException(
                422, f"{name}={value[:40]!r} is out of range for epoch seconds"
            ) from None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except ValueError:
        raise HTTPException(
            422, f"{name}={value[:40]!r} is neither ISO 8601 nor epoch seconds"
        ) from None
    except OverflowError:  # 0001-01-01T00:00:00+14:00 is before year 1 in UTC
        raise HTTPException(
            422, f"{name}={value[:40]!r} is outside the years 1-9999 in UTC"
        ) from None
