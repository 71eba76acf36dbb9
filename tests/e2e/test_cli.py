"""The ``facility`` command as scripts and people use it: contracts, help, bad input."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from gateway.broker import free_port

FACILITY = str(Path(sys.executable).with_name("facility"))
ROOT = Path(__file__).resolve().parents[2]


def run(
    *args: str, stdin: bytes = b"", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("FACILITY_")}
    return subprocess.run(
        [FACILITY, *args],
        input=stdin,
        capture_output=True,
        timeout=120,
        env={**base, **(env or {})},
    )


def lines(output: bytes) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in output.splitlines() if line.strip()]


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["demo"],
        ["serve"],
        ["simulate"],
        ["gateway", "decode"],
        ["rules", "check"],
        ["rules", "replay"],
        ["db", "upgrade"],
        ["users", "add"],
        ["config", "show"],
    ],
)
def test_every_command_has_help_with_an_example(command: list[str]) -> None:
    result = run(*command, "--help")
    assert result.returncode == 0
    if command:
        assert b"Example" in result.stdout


def test_decode_writes_one_line_per_result_and_exits_zero_despite_rejections() -> None:
    stdin = b"\n".join(
        [
            orjson.dumps({"topic": "facility/hq/t1/temperature", "payload": "21.5"}),
            orjson.dumps({"topic": "facility/hq/t1", "payload": '{"humidity": 40, "co2": 600}'}),
            orjson.dumps({"topic": "facility/hq/t1/availability", "payload": "offline"}),
            orjson.dumps({"topic": "facility/hq/t1/temperature", "payload": "{bad"}),
            b"this is not json",
            orjson.dumps(["a", "list"]),
            orjson.dumps({"topic": 5, "payload": None}),
            orjson.dumps({"topic": "facility/hq/t1/temperature", "payload": "1" * 100_000}),
            b"",
        ]
    )
    result = run("gateway", "decode", stdin=stdin)
    assert result.returncode == 0, result.stderr
    out = lines(result.stdout)
    assert [o["kind"] for o in out] == [
        "reading",
        "reading",
        "reading",
        "presence",
        "rejected",
        "rejected",
        "rejected",
        "rejected",
        "rejected",
    ]
    assert out[0] == {
        **out[0],
        "device": "t1",
        "metric": "temperature",
        "value": 21.5,
        "unit": "degC",
    }
    assert out[4]["reason"] == "malformed_json"
    assert out[5]["reason"] == out[6]["reason"] == out[7]["reason"] == "bad_input_line"
    assert out[8]["reason"] == "oversized"


def test_decode_with_an_unknown_format_is_one_error_line() -> None:
    result = run("gateway", "decode", "--format", "telepathy", stdin=b"")
    assert result.returncode == 1
    assert result.stderr.decode().startswith("error:")
    assert b"Traceback" not in result.stderr


def test_rules_check_accepts_shipped_rules_and_names_rule_field_line_on_error(
    tmp_path: Path,
) -> None:
    assert run("rules", "check", str(ROOT / "rules" / "examples" / "office.yaml")).returncode == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "rules:\n  - name: warm\n    kind: threshold\n    select: {metric: t}\n    above: hot\n"
    )
    result = run("rules", "check", str(bad))
    assert result.returncode == 1
    assert b"'warm'" in result.stderr and b"'above'" in result.stderr and b"line 5" in result.stderr


@pytest.mark.parametrize("content", [b"\xff\xfe binary", b"{{{{", b"rules: 12"])
def test_rules_check_on_garbage_exits_one_without_traceback(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "garbage.yaml"
    path.write_bytes(content)
    result = run("rules", "check", str(path))
    assert result.returncode == 1
    assert b"Traceback" not in result.stderr


def test_rules_check_on_a_missing_file_is_one_error_line() -> None:
    result = run("rules", "check", "/nonexistent/rules.yaml")
    assert result.returncode == 1
    assert b"cannot read" in result.stderr


def test_decode_then_replay_raises_the_alerts_the_live_engine_would(tmp_path: Path) -> None:
    captured = [
        {
            "topic": "facility/hq/ahu-1",
            "payload": f'{{"supply_temperature": {v}, "ts": "2026-01-05T08:{m:02d}:00Z"}}',
        }
        for m, v in enumerate([13.0, 17.0, 17.5, 18.0, 18.2, 13.0, 12.9])
    ]
    decoded = run("gateway", "decode", stdin=b"\n".join(orjson.dumps(c) for c in captured))
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "rules:\n  - name: warm\n    kind: threshold\n    select: {metric: supply_temperature}\n"
        "    above: 16\n    clear_below: 14\n    for: 2m\n"
    )
    result = run("rules", "replay", "--rules", str(rules), stdin=decoded.stdout)
    assert result.returncode == 0, result.stderr
    alerts = lines(result.stdout)
    assert [(a["state"], a["ts"]) for a in alerts] == [
        ("firing", "2026-01-05T08:03:00+00:00"),
        ("resolved", "2026-01-05T08:05:00+00:00"),
    ]
    assert set(alerts[0]) >= {"rule", "device", "asset", "state", "severity", "ts", "value"}


def test_users_add_reads_the_password_from_stdin_and_refuses_bad_roles(tmp_path: Path) -> None:
    env = {"FACILITY_DATA_DIR": str(tmp_path)}
    ok = run("users", "add", "alice", "--role", "tech", stdin=b"a-long-password\n", env=env)
    assert ok.returncode == 0, ok.stderr
    again = run("users", "add", "alice", "--role", "tech", stdin=b"a-long-password\n", env=env)
    assert again.returncode == 1 and b"already exists" in again.stderr
    bad_role = run("users", "add", "bob", "--role", "overlord", stdin=b"a-long-password\n", env=env)
    assert bad_role.returncode == 1 and b"overlord" in bad_role.stderr
    short = run("users", "add", "carol", "--role", "tech", stdin=b"short\n", env=env)
    assert short.returncode == 1 and b"password must be" in short.stderr
    hostile = run(
        "users",
        "add",
        "x'; DROP TABLE users;--",
        "--role",
        "tech",
        stdin=b"a-long-password\n",
        env=env,
    )
    assert hostile.returncode == 1 and b"user name" in hostile.stderr


def test_db_upgrade_is_idempotent(tmp_path: Path) -> None:
    env = {"FACILITY_DATA_DIR": str(tmp_path)}
    for _ in range(2):
        result = run("db", "upgrade", env=env)
        assert result.returncode == 0, result.stderr
    assert b"at head" in result.stderr


def test_config_show_masks_secrets_and_explains_bad_values() -> None:
    env = {"FACILITY_MQTT_URL": "mqtt://user:hunter2@broker:1883", "FACILITY_SECRET_KEY": "x" * 32}
    result = run("config", "show", env=env)
    assert result.returncode == 0
    shown = orjson.loads(result.stdout)
    assert "hunter2" not in result.stdout.decode() and "x" * 32 not in result.stdout.decode()
    assert shown["mqtt_url"] == "mqtt://user:********@broker:1883"
    bad = run("config", "show", env={"FACILITY_API_PORT": "99999"})
    assert bad.returncode == 1 and b"FACILITY_API_PORT" in bad.stderr


def test_serve_exits_with_one_line_when_the_broker_is_unreachable(tmp_path: Path) -> None:
    env = {
        "FACILITY_DATA_DIR": str(tmp_path),
        "FACILITY_MQTT_URL": f"mqtt://127.0.0.1:{free_port()}",
    }
    result = run("serve", env=env)
    assert result.returncode == 1
    err = result.stderr.decode().strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: cannot reach MQTT broker")


def test_serve_exits_with_one_line_when_the_database_is_unreachable(tmp_path: Path) -> None:
    env = {
        "FACILITY_DATA_DIR": str(tmp_path),
        "FACILITY_DATABASE_URL": f"postgresql://nobody@127.0.0.1:{free_port()}/x",
    }
    result = run("serve", env=env)
    assert result.returncode == 1
    assert b"cannot reach database" in result.stderr and b"Traceback" not in result.stderr
