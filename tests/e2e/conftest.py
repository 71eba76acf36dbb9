"""End-to-end fixtures for the console: a real HTTP server, and Chromium when it is installed.

``console_server`` runs the API app with the console mounted under uvicorn on a free port,
against a real SQLite database migrated by Alembic and the SQL reading store, seeded with one
user per role, a site, two assets and a few hours of readings. No broker is needed for pages
and forms; the browser test uses the whole stack with Mosquitto and the simulators instead.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy.orm import Session, sessionmaker

from console import ConsoleState, RateLimiter, Revocations, mount_console
from facility.app.demo import seed
from facility.app.stack import Stack, StackOptions
from facility.core.settings import Settings
from facility.core.types import Presence, Reading
from facility.core.wait import wait_until
from gateway.broker import MosquittoBroker, free_port
from gateway.stores.sql import SqlReadingStore, SqlStateStore, make_engine
from maintenance.api.app import create_app
from maintenance.assets.register import ensure_asset, ensure_site, link_device
from maintenance.people.deps import ApiContext
from maintenance.people.users import create_user
from maintenance.shared.db import connect, upgrade
from maintenance.shared.vocabulary import Role
from rules import DEMO_RULES
from simulators.runner import Simulator
from simulators.scenario import load_scenario
from tests.conftest import missing_service

CONSOLE_PASSWORD = "console-pass-1"
SECRET = "console-test-secret-0123456789abcdef"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


@dataclass
class ConsoleServer:
    url: str
    sessions: sessionmaker[Session]
    readings: SqlReadingStore
    states: SqlStateStore
    data_dir: Path
    state: ConsoleState
    asset_ids: dict[str, int]


def seed_console_data(sessions: sessionmaker[Session]) -> dict[str, int]:
    """One user per role, and site ``hq`` with an air handler and a room."""
    with sessions() as session:
        for role in Role:
            create_user(session, username=role.value, password=CONSOLE_PASSWORD, role=role)
        site = ensure_site(session, code="hq", name="Headquarters")
        ahu = ensure_asset(
            session,
            code="AHU-1",
            name="Air handler 1",
            asset_type="air_handler",
            site=site,
            location="Roof",
        )
        room = ensure_asset(
            session, code="Room-101", asset_type="room", site=site, location="Floor 1"
        )
        link_device(session, device="ahu-1", asset=ahu, kind="air_handler")
        link_device(session, device="room-101", asset=room, kind="room_sensor")
        session.commit()
        return {"AHU-1": ahu.id, "Room-101": room.id}


def seed_readings(readings: SqlReadingStore, states: SqlStateStore) -> None:
    """The last hour of the air handler's supply temperature, and the room's latest value."""
    now = datetime.now(UTC)
    batch = [
        Reading(
            "ahu-1",
            "supply_temperature",
            13.0 + (i % 7) * 0.4,
            "degC",
            now - timedelta(seconds=30 * (119 - i) + 1),
        )
        for i in range(120)
    ] + [Reading("room-101", "temperature", 22.5, "degC", now - timedelta(seconds=5))]
    readings.write(batch)
    states.record(batch, [Presence("ahu-1", True, now), Presence("room-101", True, now)])


@pytest.fixture(scope="session")
def console_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    """A migrated, seeded work-order database, built once and copied for each test.

    Migrating and hashing four passwords costs over a second; copying the file costs nothing,
    and every test still gets a database of its own.
    """
    path = tmp_path_factory.mktemp("console-template") / "facility.db"
    engine, sessions = connect(f"sqlite:///{path}")
    upgrade(engine)
    ids = seed_console_data(sessions)
    engine.dispose()
    return path, ids


@contextmanager
def _serve(
    tmp_path: Path, sessions: sessionmaker[Session], readings_url: str, asset_ids: dict[str, int]
) -> Iterator[ConsoleServer]:
    """Serve the API + console over ``sessions`` under uvicorn on a free port."""
    readings_engine = make_engine(readings_url)
    readings = SqlReadingStore(readings_engine)
    states = SqlStateStore(readings_engine)
    seed_readings(readings, states)
    app = create_app(
        ApiContext(
            sessions=sessions,
            readings=readings,
            states=states,
            secret=SECRET,
            auto_assign=False,
        )
    )
    state = ConsoleState(
        revocations=Revocations(tmp_path / "report-links.json"),
        per_client=RateLimiter(limit=3, window_s=600),
        stream_interval_s=0.2,
        stream_max_s=2.0,
    )
    mount_console(app, data_dir=tmp_path, state=state)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, name="console-test-server", daemon=True)
    thread.start()
    wait_until(lambda: server.started, timeout_s=15, what="console test server started")
    try:
        yield ConsoleServer(
            url=f"http://127.0.0.1:{port}",
            sessions=sessions,
            readings=readings,
            states=states,
            data_dir=tmp_path,
            state=state,
            asset_ids=asset_ids,
        )
    finally:
        from tests.e2e.console_client import close_browsers

        close_browsers()
        server.should_exit = True
        thread.join(timeout=10)
        readings.close()
    assert not thread.is_alive(), "the console test server did not stop"


@pytest.fixture
def console_server(
    tmp_path: Path, console_template: tuple[Path, dict[str, int]]
) -> Iterator[ConsoleServer]:
    """The API + console over a copy of the seeded SQLite template database."""
    template, asset_ids = console_template
    shutil.copyfile(template, tmp_path / "facility.db")
    engine, sessions = connect(f"sqlite:///{tmp_path / 'facility.db'}")
    with _serve(tmp_path, sessions, f"sqlite:///{tmp_path / 'readings.db'}", asset_ids) as served:
        yield served
    engine.dispose()


@pytest.fixture
def console_server_any_db(tmp_path: Path, database_url: str) -> Iterator[ConsoleServer]:
    """The API + console on each work-order database (SQLite, and PostgreSQL when configured),
    migrated and seeded from scratch; readings in the same database, as ``serve`` keeps them."""
    engine, sessions = connect(database_url)
    upgrade(engine)
    asset_ids = seed_console_data(sessions)
    with _serve(tmp_path, sessions, database_url, asset_ids) as served:
        yield served
    engine.dispose()


def chromium_path() -> str:
    """The Debian Chromium binary, or skip/fail with the install command."""
    path = shutil.which("chromium") or (CHROMIUM if Path(CHROMIUM).exists() else None)
    if path is None:
        missing_service("chromium", "apt-get install -y chromium")
    assert path is not None
    return path


@dataclass
class LiveStack:
    url: str
    stack: Stack


@pytest.fixture
def live_stack(settings: Settings, mosquitto: MosquittoBroker) -> Iterator[LiveStack]:
    """The whole stack (real Mosquitto, gateway, rules, API + console) with the office
    simulators publishing at five times real speed; users as ``facility demo`` seeds them."""
    scenario = load_scenario("office")
    stack = Stack(
        settings.model_copy(update={"database_url": None}),
        StackOptions(
            broker_url=mosquitto.url,
            api_port=free_port(),
            client_id="gw-console-e2e",
            rules_file=DEMO_RULES,
        ),
    )
    seed(stack, scenario, CONSOLE_PASSWORD)
    stack.start()
    stop = threading.Event()
    simulator = threading.Thread(
        target=Simulator(scenario, seed=7).run,
        kwargs={"broker_url": mosquitto.url, "speed": 5.0, "stop": stop},
        name="console-e2e-simulator",
        daemon=True,
    )
    simulator.start()
    try:
        yield LiveStack(url=stack.api_url, stack=stack)
    finally:
        stop.set()
        simulator.join(timeout=10)
        stack.stop()
