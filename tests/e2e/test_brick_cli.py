"""``facility assets import-brick|export-brick`` as a script runs them (real subprocess)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa
import yaml

from maintenance.assets.models import Asset, AssetFeed, Device
from maintenance.shared.db import connect, upgrade

FACILITY = str(Path(sys.executable).with_name("facility"))
DATA = Path(__file__).parents[1] / "data" / "brick"


def run(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("FACILITY_")}
    return subprocess.run(
        [FACILITY, *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**base, "FACILITY_DATA_DIR": str(data_dir), "COLUMNS": "200"},
        check=False,
    )


def _counts(data_dir: Path) -> tuple[int, int, int]:
    engine, sessions = connect(f"sqlite:///{data_dir / 'facility.db'}")
    upgrade(engine)
    with sessions() as s:
        counts = tuple(
            s.scalar(sa.select(sa.func.count()).select_from(table)) or 0
            for table in (Asset, AssetFeed, Device)
        )
    engine.dispose()
    return counts  # type: ignore[return-value]


def test_import_reports_writes_the_connector_draft_and_export_reads_back(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    draft = tmp_path / "connectors.yaml"
    dry = run("assets", "import-brick", str(DATA / "hq-plant.ttl"), "--dry-run", data_dir=data_dir)
    assert dry.returncode == 0, dry.stderr
    assert "would be created" in dry.stderr
    assert _counts(data_dir) == (0, 0, 0)

    done = run(
        "assets",
        "import-brick",
        str(DATA / "hq-plant.ttl"),
        "--connectors-out",
        str(draft),
        data_dir=data_dir,
    )
    assert done.returncode == 0, done.stderr
    assert "site hq: 1 building, 2 floor, 4 zone, 7 equipment" in done.stderr
    assert "AHU-1.mystery (Flux_Capacitor_Sensor)" in done.stderr
    counts = _counts(data_dir)
    assert counts[0] == 14 and counts[1] == 4 and counts[2] == 5
    devices = yaml.safe_load(draft.read_text())["connectors"]["bacnet"]["devices"]
    assert [d["name"] for d in devices] == ["ahu-1-controller"]
    assert devices[0]["address"] == "192.168.1.100" and devices[0]["instance"] == 1001
    assert {p["metric"] for p in devices[0]["points"]} == {
        "supply_air_temperature",
        "mixed_air_temperature",
        "supply_fan_status",
    }

    again = run("assets", "import-brick", str(DATA / "hq-plant.ttl"), data_dir=data_dir)
    assert again.returncode == 0 and "0 asset(s) were created, 14 updated" in again.stderr
    assert _counts(data_dir) == counts

    out = tmp_path / "register.ttl"
    exported = run("assets", "export-brick", "-o", str(out), data_dir=data_dir)
    assert exported.returncode == 0, exported.stderr
    assert "brick:AHU" in out.read_text()
    to_stdout = run("assets", "export-brick", data_dir=data_dir)
    assert to_stdout.returncode == 0 and to_stdout.stdout == out.read_text()


def test_a_broken_model_exits_1_naming_the_line_and_writes_nothing(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    model = (DATA / "hq-plant.ttl").read_text()
    broken = tmp_path / "broken.ttl"
    lines = model.splitlines()
    index = next(i for i, line in enumerate(lines) if line.startswith("hq:VAV-302 a brick:VAV"))
    lines[index] = lines[index].replace("a brick:VAV", "a a")
    broken.write_text("\n".join(lines))
    result = run("assets", "import-brick", str(broken), data_dir=data_dir)
    assert result.returncode == 1
    assert f"broken.ttl line {index + 1}" in result.stderr
    assert "Traceback" not in result.stderr
    assert _counts(data_dir) == (0, 0, 0)

    nosite = tmp_path / "nosite.ttl"
    nosite.write_text(
        "@prefix brick: <https://brickschema.org/schema/Brick#> .\n<urn:x#b> a brick:Building .\n"
    )
    result = run("assets", "import-brick", str(nosite), data_dir=data_dir)
    assert result.returncode == 1 and "--site CODE" in result.stderr


def test_both_commands_have_help(tmp_path: Path) -> None:
    for command in ("import-brick", "export-brick"):
        result = run("assets", command, "--help", data_dir=tmp_path)
        assert result.returncode == 0 and "Example: facility assets" in result.stdout
