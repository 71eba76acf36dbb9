"""``facility rules check / replay / schema`` as a user runs them: contracts and bad input."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jsonschema
import orjson
import pytest
import yaml
from typer.testing import CliRunner

from facility.app.cli import app
from facility.core.settings import Settings
from facility.core.types import Reading
from gateway.stores.sql import SqlReadingStore, make_engine

LIBRARY = Path(__file__).resolve().parents[2] / "rules" / "library"
T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)

RULES = """rules:
  - {name: hot, kind: threshold, select: {metric: temperature}, above: 30, for: 2m}
  - {name: lwt, kind: disconnect}
  - {name: silent, kind: heartbeat, after: 10m}
maintenance:
  - {name: works, scope: {asset: "room-9"}, start: "2026-01-05T08:00:00Z",
     end: "2026-01-05T09:00:00Z"}
"""


def facility(
    *args: str, stdin: bytes = b"", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-c", "from facility.app.cli import main; main()", *args],
        input=stdin,
        capture_output=True,
        timeout=60,
        env={**os.environ, **(env or {})},
        check=False,
    )


@pytest.fixture
def rules_file(tmp_path: Path) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES, encoding="utf-8")
    return path


def at(minute: float) -> str:
    return (T0 + timedelta(minutes=minute)).isoformat()


def reading(device: str, minute: float, value: float) -> bytes:
    return orjson.dumps(
        {
            "kind": "reading",
            "device": device,
            "metric": "temperature",
            "value": value,
            "unit": "degC",
            "ts": at(minute),
        }
    )


def presence(device: str, minute: float, online: bool) -> bytes:
    return orjson.dumps({"kind": "presence", "device": device, "online": online, "ts": at(minute)})


def alerts_of(stdout: bytes) -> list[dict[str, object]]:
    return [orjson.loads(row) for row in stdout.splitlines() if row.strip()]


def test_replay_sorts_by_time_and_ticks_a_simulated_clock(rules_file: Path) -> None:
    lines = [
        reading("room-1", 3, 35),  # out of order on purpose
        reading("room-1", 0, 35),
        reading("room-1", 1, 35),
        presence("room-2", 4, online=False),
        reading("room-1", 25, 20),
    ]
    result = facility("rules", "replay", "--rules", str(rules_file), stdin=b"\n".join(lines))
    assert result.returncode == 0, result.stderr
    alerts = alerts_of(result.stdout)
    assert [(a["rule"], a["device"], a["state"], a["ts"]) for a in alerts] == [
        ("hot", "room-1", "firing", at(3)),  # 2 min after the first hot reading, on its clock
        ("lwt", "room-2", "firing", at(4)),
        ("silent", "room-1", "firing", (T0 + timedelta(minutes=13, seconds=10)).isoformat()),
        ("silent", "room-1", "resolved", at(25)),
        ("hot", "room-1", "resolved", at(25)),
    ]
    assert set(alerts[0]) >= {"rule", "device", "asset", "state", "severity", "ts", "value"}
    assert alerts[0]["value"] == 35.0


def test_suppressed_alerts_are_counted_and_listed_on_request(rules_file: Path) -> None:
    lines = [reading("room-9", 0, 35), reading("room-9", 5, 35)]
    quiet = facility("rules", "replay", "--rules", str(rules_file), stdin=b"\n".join(lines))
    assert quiet.returncode == 0
    assert alerts_of(quiet.stdout) == []
    assert b"1 alerts suppressed" in quiet.stderr
    listed = facility(
        "rules",
        "replay",
        "--rules",
        str(rules_file),
        "--include-suppressed",
        stdin=b"\n".join(lines),
    )
    (alert,) = alerts_of(listed.stdout)
    assert (alert["state"], alert["reason"]) == ("suppressed", "maintenance:works")


GARBAGE = [
    b"{not json",
    b'{"kind": "reading"}',
    b'{"kind": "reading", "device": "a", "metric": "Temp!", "value": 1, "ts": "2026-01-05"}',
    b'{"kind": "reading", "device": "a#", "metric": "t", "value": 1, "ts": "2026-01-05"}',
    b'{"kind": "reading", "device": "a", "metric": "t", "value": "hot", "ts": "2026-01-05"}',
    b'{"kind": "reading", "device": "a", "metric": "t", "value": 1, "ts": 12}',
    b"[1, 2, 3]",
    b'"just a string"',
    b"\xff\xfe\x00binary",
    b'{"kind": "reading", "device": "a", "metric": "t", "value": 1e999, "ts": "2026-01-05"}',
    b'{"kind": "presence", "device": "", "online": false, "ts": "2026-01-05"}',
    b"x" * 100_000,
]


def test_replay_skips_malformed_lines_and_keeps_going(rules_file: Path) -> None:
    lines = [reading("room-1", 0, 35), *GARBAGE, reading("room-1", 3, 35)]
    result = facility("rules", "replay", "--rules", str(rules_file), stdin=b"\n".join(lines))
    assert result.returncode == 0, result.stderr
    assert [a["rule"] for a in alerts_of(result.stdout)] == ["hot"]
    assert f"skipped {len(GARBAGE)} lines".encode() in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "yesterday"], b"--from 'yesterday' is not a time"),
        (["--from", "2026-01-05T10:00:00Z", "--to", "2026-01-05T09:00:00Z"], b"must be after"),
        (["--tick", "soon"], b"--tick 'soon'"),
        (["--readings", "/nonexistent/capture.jsonl"], b"cannot read"),
    ],
)
def test_replay_bad_options_give_one_clear_line(
    rules_file: Path, args: list[str], message: bytes
) -> None:
    result = facility("rules", "replay", "--rules", str(rules_file), *args)
    assert result.returncode == 1
    assert message in result.stderr
    assert b"Traceback" not in result.stderr


def test_replay_from_to_reads_the_configured_store(
    rules_file: Path, settings: Settings, tmp_path: Path
) -> None:
    settings.data_dir.mkdir(parents=True)
    store = SqlReadingStore(make_engine(settings.sqlite_url("readings.db")))
    readings = [
        Reading("room-1", "temperature", 35.0, "degC", T0 + timedelta(minutes=m)) for m in range(6)
    ]
    readings += [Reading("room-7", "temperature", 50.0, "degC", T0 + timedelta(hours=3))]
    store.write(readings)
    store.close()
    env = {"FACILITY_DATA_DIR": str(settings.data_dir)}
    result = facility(
        "rules",
        "replay",
        "--rules",
        str(rules_file),
        "--from",
        "2026-01-05T08:00:00Z",
        "--to",
        str(int((T0 + timedelta(hours=1)).timestamp())),
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert [(a["rule"], a["device"], a["ts"]) for a in alerts_of(result.stdout)] == [
        ("hot", "room-1", at(2))
    ]


@pytest.mark.parametrize("path", sorted(LIBRARY.glob("*.yaml")), ids=lambda p: p.name)
def test_check_accepts_every_library_file(path: Path) -> None:
    result = CliRunner().invoke(app, ["rules", "check", str(path)])
    assert result.exit_code == 0, result.output
    assert "rules OK" in result.output


def test_check_reports_every_error_with_rule_field_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "rules:\n"
        "  - {name: a, kind: rate, select: {metric: t}, rise: 2, window: forever}\n"
        "  - name: b\n"
        "    kind: composite\n"
        "    conditions: [{metric: t, above: warm}]\n",
        encoding="utf-8",
    )
    result = facility("rules", "check", str(bad))
    assert result.returncode == 1
    err = result.stderr.decode()
    assert "rule 'a', field 'window' (line 2)" in err
    assert "rule 'b', field 'conditions.0.above' (line 5)" in err


def test_schema_validates_the_library_and_rejects_nonsense() -> None:
    result = CliRunner().invoke(app, ["rules", "schema"])
    assert result.exit_code == 0
    schema = orjson.loads(result.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for path in LIBRARY.glob("*.yaml"):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert not list(validator.iter_errors(document)), path.name
    assert list(validator.iter_errors({"rules": [{"name": "x", "kind": "teleport"}]}))


def test_replay_with_a_registry_resolves_assets_types_and_inherited_windows(
    tmp_path: Path,
) -> None:
    registry = tmp_path / "registry.yaml"
    registry.write_text(
        """assets:
  - code: COLD-1
    name: Cold room 1
    type: cold_room
    location: {site: hq, building: B1, floor: "0", zone: kitchen}
    devices: [{match: "t-cold-1"}]
  - code: COLD-2
    name: Cold room 2
    type: cold_room
    location: {site: hq, building: B2, floor: "0", zone: store}
    devices: [{match: "t-cold-2"}]
""",
        encoding="utf-8",
    )
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        """rules:
  - {name: cold-room-warm, kind: threshold, select: {asset_type: cold_room, metric: temperature},
     above: 5}
maintenance:
  - {name: b2-defrost, scope: {building: B2}, start: "2026-01-05T07:00:00Z",
     end: "2026-01-05T10:00:00Z"}
""",
        encoding="utf-8",
    )
    lines = [reading("t-cold-1", 0, 8), reading("t-cold-2", 0, 8), reading("room-1", 0, 8)]
    result = facility(
        "rules",
        "replay",
        "--rules",
        str(rules),
        "--registry",
        str(registry),
        "--include-suppressed",
        stdin=b"\n".join(lines),
    )
    assert result.returncode == 0, result.stderr
    assert [(a["asset"], a["state"]) for a in alerts_of(result.stdout)] == [
        ("COLD-1", "firing"),
        ("COLD-2", "suppressed"),  # building B2 is in its defrost window
    ]
    broken = facility(
        "rules",
        "replay",
        "--rules",
        str(rules),
        "--registry",
        str(tmp_path / "nope.yaml"),
    )
    assert broken.returncode == 1
    assert b"Traceback" not in broken.stderr
