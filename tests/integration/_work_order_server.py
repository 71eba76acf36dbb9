"""A real maintenance API (uvicorn on a free port) over a real database, with a hand clock.

Shared by the work-order, API and notification tests. The clock is the API's notion of "now"
(``ApiContext.clock``), so SLA deadlines and breaches are driven by the test, not by sleeping.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import uvicorn
from sqlalchemy.orm import Session, sessionmaker

from facility._wait import wait_until
from gateway.broker import free_port
from gateway.stores.sql import SqlReadingStore, SqlStateStore, make_engine
from maintenance.api.app import create_app
from maintenance.api.deps import ApiContext
from maintenance.db import connect, upgrade
from maintenance.models import Role, Team, User
from maintenance.services.assets import ensure_asset
from maintenance.services.users import create_user

PASSWORD = "work-order-pass-1"
SECRET = "work-order-test-secret-0123456789abcdef"

#: name → (role, team, skills); ``tech`` knows air handlers, ``tech2`` chillers.
USERS: dict[str, tuple[Role, str | None, list[str]]] = {
    "admin": (Role.ADMIN, None, []),
    "manager": (Role.MANAGER, None, []),
    "tech": (Role.TECH, "hvac", ["ahu"]),
    "tech2": (Role.TECH, "hvac", ["chiller"]),
    "outsider": (Role.TECH, "electrical", []),
    "requester": (Role.REQUESTER, None, []),
    "requester2": (Role.REQUESTER, None, []),
}


@dataclass
class HandClock:
    """A clock that moves only when the test says so."""

    now: datetime = field(default_factory=lambda: datetime(2026, 3, 2, 9, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def seed(sessions: sessionmaker[Session]) -> None:
    """Users of every role, a team with a lead, and two assets of different types."""
    with sessions() as session:
        first = create_user(session, username="admin", password=PASSWORD, role=Role.ADMIN)
        for name, (role, team, skills) in USERS.items():
            user = first if name == "admin" else User(username=name, role=role)
            # one argon2 hash for everybody keeps the fixture fast; login still verifies it
            user.password_hash = first.password_hash
            user.team, user.skills, user.email = team, skills, f"{name}@example.test"
            session.add(user)
        session.add(Team(name="hvac", lead="manager"))
        ensure_asset(session, code="AHU-1", asset_type="ahu", location="Roof")
        ensure_asset(session, code="CH-1", asset_type="chiller", location="Basement")
        session.commit()


@dataclass
class ApiServer:
    url: str
    sessions: sessionmaker[Session]
    clock: HandClock
    context: ApiContext
    tokens: dict[str, str] = field(default_factory=dict)

    def client(self, username: str = "admin") -> httpx.Client:
        """An HTTP client holding a real bearer token for ``username`` (one login per user)."""
        if username not in self.tokens:
            response = httpx.post(
                f"{self.url}/api/v1/auth/token",
                data={"username": username, "password": PASSWORD},
                timeout=30,
            )
            response.raise_for_status()
            self.tokens[username] = response.json()["access_token"]
        token = self.tokens[username]
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )


@contextmanager
def running_api(
    database_url: str, tmp_path: Path, *, auto_assign: bool = True
) -> Iterator[ApiServer]:
    """Migrate, seed, serve on a free port; stop the server and dispose engines afterwards."""
    engine, sessions = connect(database_url)
    upgrade(engine)
    seed(sessions)
    readings_engine = make_engine(f"sqlite:///{tmp_path / 'readings.db'}")
    clock = HandClock()
    context = ApiContext(
        sessions=sessions,
        readings=SqlReadingStore(readings_engine),
        states=SqlStateStore(readings_engine),
        secret=SECRET,
        attachments_dir=tmp_path / "attachments",
        auto_assign=auto_assign,
        clock=clock,
    )
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(context), host="127.0.0.1", port=port, log_level="warning", access_log=False
        )
    )
    thread = threading.Thread(target=server.run, name="test-api", daemon=True)
    thread.start()
    wait_until(
        lambda: server.started or not thread.is_alive(), timeout_s=15, what=f"API on port {port}"
    )
    if not server.started:
        raise RuntimeError(f"the test API did not start on port {port}")
    try:
        yield ApiServer(f"http://127.0.0.1:{port}", sessions, clock, context)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        readings_engine.dispose()
        engine.dispose()
