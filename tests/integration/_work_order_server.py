"""A real maintenance API (uvicorn on a free port) over a real database, with a hand clock.

Shared by the work-order, API and notification tests. The clock is the API's notion of "now"
(``ApiContext.clock``), so SLA deadlines and breaches are driven by the test, not by sleeping.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import sqlalchemy as sa
from fastapi import FastAPI
from pwdlib import PasswordHash
from sqlalchemy.orm import Session, sessionmaker

from facility.app.http_server import start_http_server
from gateway.stores.sql import SqlReadingStore, SqlStateStore, make_engine
from maintenance.api.app import create_app
from maintenance.assets.register import ensure_asset
from maintenance.people.deps import ApiContext
from maintenance.people.models import Team, User
from maintenance.people.users import issue_token
from maintenance.shared.db import connect, upgrade
from maintenance.shared.vocabulary import Role

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
        for name, (role, team, skills) in USERS.items():
            user = User(username=name, role=role)
            # one argon2 hash for everybody, made once per process, keeps the fixture fast;
            # log-in still verifies it
            user.password_hash = _password_hash()
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
        """An HTTP client holding a real bearer token for ``username``.

        The token is issued as the token endpoint issues it, without the password check: an
        argon2 verification costs ~0.1 s, a few per test add minutes to the suite, and the
        log-in itself has tests of its own (``test_login_throttle.py``, ``test_api_loop.py``).
        """
        if username not in self.tokens:
            with self.sessions() as session:
                user = session.scalar(sa.select(User).where(User.username == username))
                if user is None:
                    raise LookupError(f"no user {username!r} in the test database")
                self.tokens[username] = issue_token(
                    user, secret=self.context.secret, ttl_s=self.context.token_ttl_s
                )
        token = self.tokens[username]
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )


@functools.cache
def _password_hash() -> str:
    return PasswordHash.recommended().hash(PASSWORD)


_SQLITE_TEMPLATE: list[Path] = []
_APP: list[FastAPI] = []


def _copy_migrated_template(database_url: str) -> None:
    """Start a new SQLite test database as a copy of one migrated once per test process.

    Running the migrations costs ~0.5 s; copying the file costs nothing, and the migrations
    themselves are tested on both databases in ``test_work_orders_migrations.py``.
    """
    url = sa.make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or Path(url.database).exists():
        return
    if not _SQLITE_TEMPLATE:
        template = Path(tempfile.mkdtemp(prefix="facility-template-")) / "migrated.db"
        engine, _ = connect(f"sqlite:///{template}")
        upgrade(engine)
        engine.dispose()
        atexit.register(shutil.rmtree, template.parent, True)
        _SQLITE_TEMPLATE.append(template)
    shutil.copyfile(_SQLITE_TEMPLATE[0], url.database)


def _app_for(context: ApiContext) -> FastAPI:
    """The API app, built once per test process and pointed at this test's context.

    Building it (pydantic models for every route) costs ~0.6 s; the app keeps no state of its
    own besides ``app.state.context``, and tests run one server at a time.
    """
    if not _APP:
        _APP.append(create_app(context))
    app = _APP[0]
    app.state.context = context
    return app


@contextmanager
def running_api(
    database_url: str, tmp_path: Path, *, auto_assign: bool = True
) -> Iterator[ApiServer]:
    """Migrate, seed, serve on a free port; stop the server and dispose engines afterwards."""
    _copy_migrated_template(database_url)
    engine, sessions = connect(database_url)
    upgrade(engine)  # at head already when the template was copied: a version check
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
    # the socket is bound before uvicorn starts: no port race with parallel test workers
    server = start_http_server(_app_for(context), "127.0.0.1", 0, name="test-api")
    try:
        yield ApiServer(server.url, sessions, clock, context)
    finally:
        server.stop()
        readings_engine.dispose()
        engine.dispose()
