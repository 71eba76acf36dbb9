"""Secrets are never echoed: not by config errors, ``config show``, SQL errors or a 422."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from facility.core.errors import ConfigError
from facility.core.settings import load_settings
from gateway.stores.sql import make_engine
from tests.integration._work_order_server import ApiServer, running_api

SECRET_VALUE = "Tr0ub4dor-and-3-more-words"
FACILITY = str(Path(sys.executable).with_name("facility"))


@pytest.fixture
def clean_env() -> Iterator[None]:
    saved = {k: v for k, v in os.environ.items() if k.startswith("FACILITY_")}
    for key in saved:
        if key != "FACILITY_TEST_DATABASE_URL":
            os.environ.pop(key)
    yield
    for key in [k for k in os.environ if k.startswith("FACILITY_")]:
        os.environ.pop(key)
    os.environ.update(saved)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("FACILITY_SECRET_KEY", "secret"),  # a placeholder: refused, not shown
        ("FACILITY_QR_SECRET", "short-" + SECRET_VALUE[:5]),
        ("FACILITY_WEBHOOK_SECRET", ["not", "a", "string"]),
        ("FACILITY_MQTT_URL", f"http://gateway:{SECRET_VALUE}@broker:1883"),
        ("FACILITY_MQTT_URL", f"mqtt://gateway:{SECRET_VALUE}@broker:port"),
        ("FACILITY_ROBOTS", [{"name": "r", "kind": "nope", "url": f"https://x/?k={SECRET_VALUE}"}]),
    ],
)
def test_a_config_error_names_the_variable_but_never_shows_the_secret(
    clean_env: None, variable: str, value: object
) -> None:
    field = variable.removeprefix("FACILITY_").lower()
    with pytest.raises(ConfigError) as caught:
        load_settings(**{field: value})
    message = str(caught.value)
    assert variable in message
    assert SECRET_VALUE not in message and SECRET_VALUE[:5] not in message.replace("********", "")
    if isinstance(value, str) and value == "secret":
        assert "'secret'" not in message


def test_config_show_masks_secrets_and_url_passwords(clean_env: None, tmp_path: Path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("FACILITY_")},
        "FACILITY_DATA_DIR": str(tmp_path),
        "FACILITY_SECRET_KEY": SECRET_VALUE + "-session",
        "FACILITY_QR_SECRET": SECRET_VALUE + "-qr",
        "FACILITY_DATABASE_URL": f"postgresql://facility:{SECRET_VALUE}@db:5432/facility",
        "FACILITY_MQTT_URL": f"mqtt://gateway:{SECRET_VALUE}@broker:1883",
    }
    shown = subprocess.run(
        [FACILITY, "config", "show"], capture_output=True, text=True, timeout=120, env=env
    )
    assert shown.returncode == 0, shown.stderr
    assert SECRET_VALUE not in shown.stdout + shown.stderr
    assert "facility:********@db" in shown.stdout
    assert "gateway:********@broker" in shown.stdout


def test_sql_errors_name_the_statement_but_not_its_parameters(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE keys (hash TEXT UNIQUE)"))
            conn.execute(sa.text("INSERT INTO keys VALUES (:h)"), {"h": SECRET_VALUE})
        with (
            caplog.at_level(logging.DEBUG, logger="sqlalchemy"),
            pytest.raises(sa.exc.IntegrityError) as caught,
            engine.begin() as conn,
        ):
            conn.execute(sa.text("INSERT INTO keys VALUES (:h)"), {"h": SECRET_VALUE})
    finally:
        engine.dispose()
    assert "INSERT INTO keys" in str(caught.value)
    assert SECRET_VALUE not in str(caught.value)
    assert SECRET_VALUE not in caplog.text


@pytest.fixture
def api(tmp_path: Path) -> Iterator[ApiServer]:
    with running_api(f"sqlite:///{tmp_path / 'facility.db'}", tmp_path) as server:
        yield server


def test_a_refused_body_is_never_echoed_back(api: ApiServer) -> None:
    with api.client("manager") as manager:
        refused = manager.post(
            "/api/v1/work-orders",
            json={"title": "x", "password": SECRET_VALUE, "asset": ["not", SECRET_VALUE]},
        )
    assert refused.status_code == 422
    assert SECRET_VALUE not in refused.text


def test_a_422_is_bounded_whatever_the_body(api: ApiServer) -> None:
    body = {"title": "x", **{f"unknown-{n}-{'k' * 200}": n for n in range(900)}}
    with api.client("manager") as manager:
        refused = manager.post("/api/v1/work-orders", json=body)
        crowded = manager.post(
            "/api/v1/work-orders", json={"title": "x", **{f"k{n}": n for n in range(5000)}}
        )
    assert refused.status_code == 422
    problem = refused.json()
    assert len(problem["errors"]) == 20
    assert "900 problems" in problem["detail"] and "the first 20 are listed" in problem["detail"]
    assert all(len(e["field"]) <= 120 for e in problem["errors"])
    assert len(refused.content) < 8_000
    assert crowded.status_code == 422
    assert "body has 5001 members" in crowded.json()["detail"]
    assert len(crowded.content) < 1_000
