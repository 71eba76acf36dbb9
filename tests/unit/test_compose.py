"""docker-compose.yml: valid Compose, and every command and variable exists in the real code.

No Docker runs here; what can be checked without it is: the file against the Compose
specification's JSON schema, each ``facility`` command against the real CLI's parser, each
``FACILITY_*`` variable against the ``Settings`` fields (with its value validated), and the
wiring between services, volumes and the provisioning files.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest
import typer.main
import yaml

from facility.app.cli import app
from facility.core.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
COMPOSE = yaml.safe_load(COMPOSE_FILE.read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
#: Services that run the facility image (they are built from the Dockerfile).
FACILITY_SERVICES = {name: s for name, s in SERVICES.items() if "build" in s}
PROVISIONING = ROOT / "deploy" / "grafana" / "provisioning"

#: Values standing in for what an operator puts into .env.
SAMPLE_ENV = {
    "MQTT_USER": "facility",
    "MQTT_PASSWORD": "mqtt-pass-123",
    "POSTGRES_PASSWORD": "pg-pass-123",
    "GRAFANA_DB_PASSWORD": "reader-pass-123",
    "INFLUX_ADMIN_PASSWORD": "influx-pass-123",
    "INFLUX_TOKEN": "influx-token-0123456789",
    "FACILITY_SECRET_KEY": "k" * 40,
    "GRAFANA_ADMIN_PASSWORD": "grafana-pass-123",
}
_INTERPOLATION = re.compile(r"\$\{(\w+)(?:(:\?|:-)([^}]*))?\}")


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ``${VAR}``, ``${VAR:-default}`` and ``${VAR:?error}`` with ``env``."""

    def one(match: re.Match[str]) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3)
        if env.get(name):
            return env[name]
        if op == ":-":
            return arg
        raise AssertionError(f"${{{name}}} is not set and has no default")

    return _INTERPOLATION.sub(one, value.replace("$$", "\0")).replace("\0", "$")


def _compose_schema() -> dict[str, Any]:
    import check_jsonschema  # type: ignore[import-untyped]

    path = Path(check_jsonschema.__file__).parent / "builtin_schemas/vendor/compose-spec.json"
    schema: dict[str, Any] = json.loads(path.read_text())
    return schema


def test_compose_file_is_valid_against_the_compose_specification_schema() -> None:
    jsonschema.validate(COMPOSE, _compose_schema())


def test_check_jsonschema_accepts_the_compose_file_offline() -> None:
    """The exact command CI and the docs give, on the schema vendored in the package."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.compose-spec",
            str(COMPOSE_FILE),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _is_group(command: Any) -> bool:
    # typer >= 0.20 vendors click, so its groups are not ``click.Group``: duck-type instead.
    return callable(getattr(command, "list_commands", None))


def _resolve(args: list[str]) -> tuple[Any, list[str], str]:
    """Walk the real CLI's groups down to the command ``args`` names; parse its options."""
    command: Any = typer.main.get_command(app)
    assert args[0] == "facility", f"{args} does not run the facility CLI"
    rest, path = list(args[1:]), "facility"
    while _is_group(command) and rest and not rest[0].startswith("-"):
        name = rest.pop(0)
        sub = command.get_command(command.make_context(path, [], resilient_parsing=True), name)
        assert sub is not None, f"'{path} {name}' is not a command"
        command, path = sub, f"{path} {name}"
    assert not _is_group(command), f"'{path}' needs a sub-command"
    command.make_context(path, list(rest))  # raises a click UsageError on a bad option
    return command, rest, path


@pytest.mark.parametrize("service", sorted(FACILITY_SERVICES))
def test_every_facility_service_command_parses_with_the_real_cli(service: str) -> None:
    _resolve(FACILITY_SERVICES[service]["command"])


def test_the_dockerfile_default_command_parses_with_the_real_cli() -> None:
    cmd = next(
        line for line in (ROOT / "Dockerfile").read_text().splitlines() if line.startswith("CMD")
    )
    _resolve(json.loads(cmd.removeprefix("CMD").strip()))


def test_a_made_up_command_or_option_is_caught_by_the_resolver() -> None:
    with pytest.raises(AssertionError, match="is not a command"):
        _resolve(["facility", "dashboards", "deploy"])
    with pytest.raises(Exception, match="No such option"):
        _resolve(["facility", "serve", "--listen", "0.0.0.0"])
    with pytest.raises(Exception, match="Missing parameter: out"):
        _resolve(["facility", "dashboards", "build"])
    with pytest.raises(AssertionError, match="needs a sub-command"):
        _resolve(["facility", "db"])


def _facility_variables() -> dict[str, str]:
    env: dict[str, str] = {}
    for service in FACILITY_SERVICES.values():
        env.update(service.get("environment", {}))
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        env.update(dict(re.findall(r"(FACILITY_\w+)=(\S+)", line)))
    return env


def test_every_facility_variable_in_compose_and_the_dockerfile_is_a_setting() -> None:
    names = {
        n for s in SERVICES.values() for n in s.get("environment", {}) if n.startswith("FACILITY_")
    }
    names |= set(_facility_variables())
    unknown = sorted(
        n for n in names if n.removeprefix("FACILITY_").lower() not in Settings.model_fields
    )
    assert not unknown, f"not settings (facility/core/settings.py): {unknown}"


def test_the_facility_services_environment_is_accepted_by_settings() -> None:
    values = {
        name.removeprefix("FACILITY_").lower(): interpolate(str(value), SAMPLE_ENV)
        for name, value in _facility_variables().items()
    }
    settings = load_settings(**values)
    assert settings.mqtt_url == "mqtt://facility:mqtt-pass-123@mosquitto:1883"
    assert settings.effective_database_url().startswith("postgresql+psycopg://facility:")
    assert settings.influx_url == "http://influxdb:8086"


def test_every_required_secret_is_listed_in_the_env_example() -> None:
    required = set(re.findall(r"\$\{(\w+):\?", COMPOSE_FILE.read_text()))
    listed = set(re.findall(r"^(\w+)=", (ROOT / "deploy/env.example").read_text(), re.M))
    assert required, "compose should refuse to start without its secrets"
    assert required <= listed, f"missing from deploy/env.example: {sorted(required - listed)}"
    assert set(SAMPLE_ENV) >= required


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_long_running_services_have_health_checks_and_one_shots_do_not_restart(
    service: str,
) -> None:
    spec = SERVICES[service]
    if spec.get("restart") == "no":
        assert "healthcheck" not in spec
    else:
        assert spec["restart"] == "unless-stopped"
        assert spec["healthcheck"]["test"], f"{service} has no health check"


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_dependencies_wait_for_health_or_completion_of_existing_services(service: str) -> None:
    for name, condition in SERVICES[service].get("depends_on", {}).items():
        assert name in SERVICES, f"{service} depends on unknown {name}"
        dependency = SERVICES[name]
        if condition["condition"] == "service_healthy":
            assert "healthcheck" in dependency, f"{name} has no health check to wait for"
        else:
            assert condition["condition"] == "service_completed_successfully"
            assert dependency.get("restart") == "no", f"{name} is not a one-shot"


def test_volumes_are_named_and_declared_and_bind_mounts_exist_in_the_repository() -> None:
    declared = set(COMPOSE["volumes"])
    used = set()
    for name, spec in SERVICES.items():
        for volume in spec.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"
            else:
                assert source in declared, f"{name} uses undeclared volume {source}"
                used.add(source)
    assert used == declared, f"declared but unused volumes: {declared - used}"


def _mount_target(service: str, source: str) -> str:
    for volume in SERVICES[service]["volumes"]:
        parts = str(volume).split(":")
        if parts[0] == source:
            return parts[1]
    raise AssertionError(f"{service} does not mount {source}")


def test_grafana_loads_the_dashboards_the_build_service_writes() -> None:
    out = SERVICES["dashboards"]["command"]
    written_to = out[out.index("--out") + 1]
    assert _mount_target("dashboards", "grafana-dashboards") == written_to
    provider = yaml.safe_load((PROVISIONING / "dashboards" / "facility.yaml").read_text())
    (only,) = provider["providers"]
    assert _mount_target("grafana", "grafana-dashboards") == only["options"]["path"]
    assert _mount_target("grafana", "./deploy/grafana/provisioning") == "/etc/grafana/provisioning"
    home = SERVICES["grafana"]["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home == f"{only['options']['path']}/facility-overview.json"


def test_every_variable_the_datasource_provisioning_reads_is_set_for_grafana() -> None:
    text = (PROVISIONING / "datasources" / "facility.yaml").read_text()
    wanted = set(re.findall(r"\$\{(\w+)\}", text))
    grafana_env = SERVICES["grafana"]["environment"]
    assert wanted and wanted <= set(grafana_env), f"unset for grafana: {wanted - set(grafana_env)}"


def test_grafana_postgres_and_influxdb_agree_on_names_and_secrets() -> None:
    grafana = SERVICES["grafana"]["environment"]
    postgres = SERVICES["postgres"]["environment"]
    influx = SERVICES["influxdb"]["environment"]
    facility = FACILITY_SERVICES["facility"]["environment"]
    assert grafana["GRAFANA_DB_USER"] == postgres["GRAFANA_DB_USER"]
    assert grafana["GRAFANA_DB_PASSWORD"] == postgres["GRAFANA_DB_PASSWORD"]
    assert grafana["GRAFANA_DB_NAME"] == postgres["POSTGRES_DB"]
    assert facility["FACILITY_INFLUX_BUCKET"] == influx["DOCKER_INFLUXDB_INIT_BUCKET"]
    assert grafana["FACILITY_INFLUX_BUCKET"] == influx["DOCKER_INFLUXDB_INIT_BUCKET"]
    assert facility["FACILITY_INFLUX_ORG"] == influx["DOCKER_INFLUXDB_INIT_ORG"]
    assert facility["FACILITY_INFLUX_TOKEN"] == influx["DOCKER_INFLUXDB_INIT_ADMIN_TOKEN"]
    assert grafana["FACILITY_INFLUX_TOKEN"] == influx["DOCKER_INFLUXDB_INIT_ADMIN_TOKEN"]
    assert f"{postgres['POSTGRES_USER']}:" in facility["FACILITY_DATABASE_URL"]


def test_postgres_initialises_the_grafana_reader_with_the_mounted_script() -> None:
    script = (ROOT / "deploy/postgres/initdb/10-grafana-reader.sh").read_text()
    sql_path = re.search(r"-f (\S+)", script)
    assert sql_path is not None
    assert _mount_target("postgres", "./deploy/postgres/grafana-reader.sql") == sql_path.group(1)
    assert _mount_target("postgres", "./deploy/postgres/initdb") == "/docker-entrypoint-initdb.d"
    assert shlex.split(script.splitlines()[0]) == ["#!/bin/sh"]
