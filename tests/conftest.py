"""Fixtures that start real services on free ports.

A missing server skips the test with the install command as the reason on a laptop, and fails it
in CI (``CI=true`` or ``FACILITY_REQUIRE_SERVICES=1``), so CI never passes by skipping.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from facility.core.settings import Settings, load_settings
from gateway.broker import MosquittoBroker, find_mosquitto

pytest_plugins = ["tests.fixtures_influx"]

STRICT = os.environ.get("CI", "").lower() in ("1", "true", "yes") or bool(
    os.environ.get("FACILITY_REQUIRE_SERVICES")
)


def missing_service(what: str, install: str) -> None:
    """Skip (laptop) or fail (CI) because ``what`` is not available."""
    message = f"{what} is not available; install it with: {install}"
    if STRICT:
        pytest.fail(f"CI requires every service: {message}")
    pytest.skip(message)


@pytest.fixture
def mosquitto() -> Iterator[MosquittoBroker]:
    """A real Mosquitto on a free port; its exit is checked at teardown."""
    if find_mosquitto() is None:
        missing_service("mosquitto", "apt-get install -y mosquitto")
    broker = MosquittoBroker().start()
    yield broker
    broker.stop()
    assert broker.returncode in (0, -15), f"mosquitto exited with {broker.returncode}"


# -- databases -----------------------------------------------------------------------------------
def _postgres_admin_url() -> str | None:
    return os.environ.get("FACILITY_TEST_DATABASE_URL") or None


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL database for this test session (dropped afterwards)."""
    admin_url = _postgres_admin_url()
    if admin_url is None:
        missing_service(
            "PostgreSQL (FACILITY_TEST_DATABASE_URL unset)",
            "apt-get install -y postgresql && "
            "export FACILITY_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres",
        )
    assert admin_url is not None
    admin_url = Settings._normalise_database_url(admin_url) or admin_url
    name = f"facility_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        missing_service(f"PostgreSQL at {admin_url} ({exc.orig})", "apt-get install -y postgresql")
    url = sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    yield url
    with admin.connect() as conn:
        conn.execute(
            sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"),
            {"name": name},
        )
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


def reset_postgres_schema(url: str) -> None:
    """Empty the test database's public schema.

    Connections a previous test leaked (an engine not disposed, a session left in a
    transaction) are terminated first: otherwise ``DROP SCHEMA`` waits on their locks forever.
    """
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each work-order test runs on SQLite and on PostgreSQL (a fresh schema each time)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'facility.db'}"
        return
    base_url: str = request.getfixturevalue("postgres_url")
    reset_postgres_schema(base_url)
    yield base_url


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings isolated from the developer's environment, with data under ``tmp_path``."""
    for key in list(os.environ):
        if key.startswith("FACILITY_") and key != "FACILITY_TEST_DATABASE_URL":
            os.environ.pop(key)
    return load_settings(data_dir=tmp_path / "data", secret_key="test-secret-key-0123456789abcdef")


# -- swallowed exceptions ------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def _fail_on_swallowed_exceptions(
    request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture
) -> Iterator[None]:
    """Fail a test if our code logged an exception with a traceback and went on (as HA does).

    Tests that provoke such a failure on purpose mark themselves ``allow_logged_errors``.
    """
    caplog.set_level(logging.INFO)
    yield
    if request.node.get_closest_marker("allow_logged_errors"):
        return
    swallowed = [
        record
        for record in caplog.get_records("call")
        if record.exc_info
        and record.name.split(".")[0] in {"gateway", "rules", "maintenance", "facility"}
    ]
    if swallowed:
        pytest.fail(f"handler swallowed an exception: {swallowed[0].getMessage()}")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark tests by folder so ``-m integration`` / ``-m e2e`` select them."""
    for item in items:
        parts = Path(str(item.fspath)).parts
        if "integration" in parts:
            item.add_marker(pytest.mark.integration)
        elif "e2e" in parts:
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """In CI every skip is a failure, whatever raised it: CI must never pass by skipping."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if STRICT and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped in CI (CI=true turns skips into failures): {report.longrepr}"
