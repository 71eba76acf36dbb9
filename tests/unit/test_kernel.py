"""Kernel types validate themselves; settings explain bad values."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from facility.core.errors import ConfigError, InvalidTransition
from facility.core.settings import load_settings
from facility.core.types import Alert, Reading

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"value": float("nan")}, ValueError),
        ({"value": float("inf")}, ValueError),
        ({"value": "21"}, TypeError),
        ({"value": True}, TypeError),
        ({"metric": "Temp"}, ValueError),
        ({"device": ""}, ValueError),
        ({"device": "a/#"}, ValueError),
        ({"device": "x" * 201}, ValueError),
    ],
)
def test_reading_refuses_invalid_fields(kwargs: dict[str, object], error: type[Exception]) -> None:
    fields: dict[str, object] = {
        "device": "d",
        "metric": "temperature",
        "value": 1.0,
        "unit": "degC",
        "ts": NOW,
    }
    with pytest.raises(error):
        Reading(**{**fields, **kwargs})  # type: ignore[arg-type]


def test_naive_timestamps_are_taken_as_utc() -> None:
    reading = Reading("d", "temperature", 1, "degC", datetime(2026, 1, 1))
    assert reading.ts == NOW and isinstance(reading.value, float)


def test_alert_coerces_its_state_and_severity() -> None:
    alert = Alert("r", "d", "a", "firing", "major", NOW, 1.0)  # type: ignore[arg-type]
    assert alert.state.value == "firing" and alert.severity.value == "major"
    with pytest.raises(ValueError):
        Alert("r", "d", "a", "exploding", "major", NOW, 1.0)  # type: ignore[arg-type]


def test_invalid_transition_names_the_allowed_moves() -> None:
    error = InvalidTransition("new", "closed", ["assign", "start"])
    assert "assign, start" in str(error)


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"FACILITY_API_PORT": "abc"}, "FACILITY_API_PORT='abc'"),
        ({"FACILITY_API_PORT": "70000"}, "port number"),
        ({"FACILITY_MQTT_URL": "http://x"}, "FACILITY_MQTT_URL"),
        ({"FACILITY_MQTT_URL": "mqtt://host:notaport"}, "port"),
        ({"FACILITY_SECRET_KEY": "changeme"}, "placeholder"),
        ({"FACILITY_DATABASE_URL": "nonsense"}, "SQLAlchemy URL"),
        ({"FACILITY_MQTT_PROTOCOL": "4"}, "FACILITY_MQTT_PROTOCOL"),
    ],
)
def test_bad_settings_raise_config_error_naming_the_variable(
    env: dict[str, str], needle: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError, match=needle.replace("(", r"\(")):
        load_settings()


def test_postgres_urls_are_normalised_to_psycopg(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FACILITY_DATABASE_URL", "postgres://u:pw@db/facility")
    settings = load_settings()
    assert settings.database_url == "postgresql+psycopg://u:pw@db/facility"
    assert "pw" not in str(settings.masked())


def test_config_file_is_read_and_environment_wins(
    tmp_path: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "facility.yaml"  # type: ignore[operator]
    config.write_text("api_port: 9100\nmqtt_protocol: '3.1.1'\n")
    monkeypatch.setenv("FACILITY_CONFIG_FILE", str(config))
    monkeypatch.setenv("FACILITY_API_PORT", "9200")
    settings = load_settings()
    assert (settings.api_port, settings.mqtt_protocol) == (9200, "3.1.1")


def test_missing_config_file_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FACILITY_CONFIG_FILE", "/nonexistent/facility.yaml")
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings()
