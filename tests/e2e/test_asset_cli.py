"""``facility assets import|export|replacement`` as a script runs them (real subprocess)."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import orjson
import pytest
import sqlalchemy as sa

from maintenance.assets.models import Asset, AssetStatusChange
from maintenance.shared.db import connect, upgrade

FACILITY = str(Path(sys.executable).with_name("facility"))
FORMULA = "=cmd|' /C calc'!A0"
NOW = "2026-03-02T09:00:00Z"


def run(*args: str, data_dir: Path) -> subprocess.CompletedProcess[bytes]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("FACILITY_")}
    return subprocess.run(
        [FACILITY, *args],
        capture_output=True,
        timeout=120,
        env={**base, "FACILITY_DATA_DIR": str(data_dir), "COLUMNS": "200"},
        check=False,
    )


def _write(path: Path, *rows: list[str]) -> Path:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def _assets(data_dir: Path) -> dict[str, Asset]:
    engine, sessions = connect(f"sqlite:///{data_dir / 'facility.db'}")
    upgrade(engine)
    with sessions() as s:
        found = {a.code: a for a in s.scalars(sa.select(Asset))}
    engine.dispose()
    return found


HEADER = [
    "code",
    "name",
    "level",
    "parent",
    "site",
    "manufacturer",
    "commissioned_on",
    "expected_life_years",
    "replacement_cost",
    "criticality",
]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def test_import_then_export_round_trips_and_defuses_formulas(
    data_dir: Path, tmp_path: Path
) -> None:
    source = _write(
        tmp_path / "register.csv",
        HEADER,
        ["CH-1", "Chiller", "equipment", "Z1", "", FORMULA, "2008-01-01", "20", "90000", "A"],
        ["B1", "Building", "building", "", "HQ", "", "", "", "", ""],
        ["Z1", "Plant room", "zone", "B1", "", "", "", "", "", "B"],
    )
    done = run("assets", "import", str(source), data_dir=data_dir)
    assert done.returncode == 0, done.stderr.decode()
    assert b"3 created" in done.stderr and done.stdout == b""
    assets = _assets(data_dir)
    assert assets["CH-1"].manufacturer == FORMULA
    assert assets["CH-1"].parent_id == assets["Z1"].id
    out = tmp_path / "export.csv"
    exported = run("assets", "export", "--out", str(out), data_dir=data_dir)
    assert exported.returncode == 0, exported.stderr.decode()
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [r["code"] for r in rows] == sorted(assets)
    chiller = next(r for r in rows if r["code"] == "CH-1")
    assert chiller["manufacturer"] == "'" + FORMULA
    assert (chiller["site"], chiller["parent"]) == ("HQ", "Z1")
    assert Decimal(chiller["replacement_cost"]) == Decimal(90000)
    to_stdout = run("assets", "export", data_dir=data_dir)
    assert to_stdout.stdout == out.read_bytes()
    again = run("assets", "import", str(out), data_dir=data_dir)
    assert again.returncode == 0 and b"0 created, 3 updated" in again.stderr
    assert _assets(data_dir)["CH-1"].manufacturer == FORMULA


def test_a_file_with_hostile_rows_exits_1_prints_every_error_and_writes_nothing(
    data_dir: Path, tmp_path: Path
) -> None:
    good = _write(tmp_path / "good.csv", HEADER, ["B1", "Building", "building", *[""] * 7])
    assert run("assets", "import", str(good), data_dir=data_dir).returncode == 0
    bad = _write(
        tmp_path / "bad.csv",
        HEADER,
        ["P1", "Pump", "equipment", "B1", "", "", "31/12/2020", "", "", ""],
        ["P2", "Pump", "equipment", "NOWHERE", "", "", "", "", "", ""],
        ["L1", "Loop", "zone", "L2", "", "", "", "", "", ""],
        ["L2", "Loop", "zone", "L1", "", "", "", "", "", ""],
        ["P3", "x" * 10_000, "equipment", "", "", "", "", "", "", ""],
        ["P4", "Pump", "equipment", "", "", "", "", "-5", "1e999", "Q"],
        ["B1", "Building", "floor", "P1", "", "", "", "", "", ""],
    )
    done = run("assets", "import", str(bad), data_dir=data_dir)
    assert done.returncode == 1
    err = done.stderr.decode()
    assert err.count("error: nothing imported") == 1
    for line, column in (
        (2, "commissioned_on"),
        (3, "parent"),
        (4, "parent"),
        (6, "name"),
        (7, "expected_life_years"),
        (7, "replacement_cost"),
        (7, "criticality"),
    ):
        assert any(f"│ {line} " in row and column in row for row in err.splitlines()), (
            f"{line} {column}\n{err}"
        )
    assert "Traceback" not in err
    assert set(_assets(data_dir)) == {"B1"}


@pytest.mark.parametrize(
    "content",
    [b"", b"\x00\x00\x00", b"\xff\xfe\xfa", b"code;name\nA;b\n", b"name\nonly\n"],
)
def test_unreadable_files_exit_1_with_one_error_line(
    data_dir: Path, tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "broken.csv"
    path.write_bytes(content)
    done = run("assets", "import", str(path), data_dir=data_dir)
    assert done.returncode == 1
    assert done.stderr.decode().count("error: ") == 1
    assert "Traceback" not in done.stderr.decode()


def test_a_missing_file_is_a_usage_error(data_dir: Path, tmp_path: Path) -> None:
    done = run("assets", "import", str(tmp_path / "nope.csv"), data_dir=data_dir)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr.decode()


def test_replacement_lists_equipment_by_score_as_json_lines(data_dir: Path, tmp_path: Path) -> None:
    source = _write(
        tmp_path / "register.csv",
        HEADER,
        ["OLD", "Old chiller", "equipment", "", "HQ", "", "2000-01-01", "20", "1000", "A"],
        ["NEW", "New fan", "equipment", "", "HQ", "", "2025-01-01", "20", "1000", "C"],
        ["MID", "Pump", "equipment", "", "LAB", "", "2014-01-01", "20", "1000", "B"],
        ["B1", "Building", "building", "", "HQ", "", "1990-01-01", "80", "", "A"],
    )
    assert run("assets", "import", str(source), data_dir=data_dir).returncode == 0
    done = run("assets", "replacement", "--now", NOW, data_dir=data_dir)
    assert done.returncode == 0, done.stderr.decode()
    rows = [orjson.loads(line) for line in done.stdout.splitlines()]
    assert [r["code"] for r in rows] == ["OLD", "MID", "NEW"]
    assert [r["rank"] for r in rows] == [1, 2, 3]
    assert rows[0]["score"] > rows[1]["score"] > rows[2]["score"]
    today = datetime.fromisoformat(NOW).date()
    expected_age = (today - date(2000, 1, 1)).days / 365.25
    assert rows[0]["age_years"] == pytest.approx(expected_age, abs=1e-3)
    site = run("assets", "replacement", "--site", "LAB", "--limit", "5", data_dir=data_dir)
    assert [orjson.loads(line)["code"] for line in site.stdout.splitlines()] == ["MID"]
    bad = run("assets", "replacement", "--limit", "0", data_dir=data_dir)
    assert bad.returncode == 2
    bad_now = run("assets", "replacement", "--now", "tomorrow", data_dir=data_dir)
    assert bad_now.returncode == 1 and b"error: --now" in bad_now.stderr
    # criticality alone: the B-critical pump beats the newer C fan by a fixed 50 points
    weights = ["--weight", "age=0", "--weight", "repair=0", "--weight", "failures=0"]
    only = run("assets", "replacement", "--now", NOW, *weights, data_dir=data_dir)
    ranked = [orjson.loads(line) for line in only.stdout.splitlines()]
    assert [(r["code"], r["score"]) for r in ranked] == [("OLD", 100), ("MID", 50), ("NEW", 0)]
    for bad_weight in ("speed=1", "age=-1", "age", "age=lots"):
        refused = run("assets", "replacement", "--weight", bad_weight, data_dir=data_dir)
        assert refused.returncode == 1 and refused.stderr.startswith(b"error: ")


def test_status_changes_from_the_file_are_guarded_and_recorded(
    data_dir: Path, tmp_path: Path
) -> None:
    first = _write(tmp_path / "a.csv", ["code", "name", "status"], ["P1", "Pump", "planned"])
    earlier = "2026-03-01T00:00:00Z"
    assert run("assets", "import", str(first), "--now", earlier, data_dir=data_dir).returncode == 0
    skip = _write(tmp_path / "b.csv", ["code", "name", "status"], ["P1", "Pump", "under_repair"])
    refused = run("assets", "import", str(skip), data_dir=data_dir)
    assert refused.returncode == 1 and b"cannot move from 'planned'" in refused.stderr
    ok = _write(tmp_path / "c.csv", ["code", "name", "status"], ["P1", "Pump", "in_service"])
    assert run("assets", "import", str(ok), "--now", NOW, data_dir=data_dir).returncode == 0
    engine, sessions = connect(f"sqlite:///{data_dir / 'facility.db'}")
    with sessions() as s:
        moves = [
            (c.from_status, c.to_status, c.ts)
            for c in s.scalars(sa.select(AssetStatusChange).order_by(AssetStatusChange.id))
        ]
    engine.dispose()
    assert [(f, t) for f, t, _ in moves] == [(None, "planned"), ("planned", "in_service")]
    assert moves[-1][2] == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
