"""``facility suppliers scorecards|expiring|list`` as a script runs them: JSON Lines on stdout,
the table and summaries on stderr, bad input as one ``error:`` line and exit 1."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import orjson
import pytest

from maintenance.insights import scorecards
from maintenance.shared.actors import Actor
from maintenance.shared.db import connect, upgrade
from maintenance.shared.vocabulary import Role
from maintenance.suppliers import service as directory
from maintenance.suppliers.models import QualificationStatus, SupplierKind

FACILITY = str(Path(sys.executable).with_name("facility"))
MANAGER = Actor("manager", Role.MANAGER)
T0 = datetime(2026, 10, 1, tzinfo=UTC)
REVIEWS = {"ACME": 82.0, "BOLT": 45.0, "CLEAN": 67.5}


def run(*args: str, data_dir: Path) -> subprocess.CompletedProcess[bytes]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("FACILITY_")}
    return subprocess.run(
        [FACILITY, *args],
        capture_output=True,
        timeout=120,
        env={**base, "FACILITY_DATA_DIR": str(data_dir)},
        check=False,
    )


def lines(output: bytes) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in output.splitlines() if line.strip()]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """Three qualified companies with a manager's review each, one certificate near expiry."""
    engine, sessions = connect(f"sqlite:///{tmp_path / 'facility.db'}")
    upgrade(engine)
    with sessions() as s:
        for code, review in REVIEWS.items():
            kind = SupplierKind.CONTRACTOR if code == "CLEAN" else SupplierKind.SUPPLIER
            directory.create_supplier(s, code=code, name=f"{code} Ltd", kind=kind, actor="a")
            directory.change_status(s, code=code, to=QualificationStatus.QUALIFIED, actor=MANAGER)
            scorecards.record_review(
                s, supplier_code=code, period="2026-10", score=review, reviewer="manager"
            )
        directory.add_certificate(s, code="CLEAN", name="Insurance", expires_on=date(2026, 11, 20))
    engine.dispose()
    return tmp_path


def test_scorecards_print_the_ranking_as_json_lines_and_a_table_on_stderr(data_dir: Path) -> None:
    result = run(
        "suppliers", "scorecards", "--period", "2026-10", "--threshold", "50", data_dir=data_dir
    )
    assert result.returncode == 0, result.stderr
    rows = lines(result.stdout)
    expected = sorted(REVIEWS, key=lambda code: -REVIEWS[code])
    assert [r["supplier"] for r in rows] == expected
    assert [r["rank"] for r in rows] == [1, 2, 3]
    assert [r["score"] for r in rows] == [REVIEWS[code] for code in expected]
    assert [r["flagged"] for r in rows] == [REVIEWS[code] < 50 for code in expected]
    assert b"Scorecards 2026-10" in result.stderr and b"1 flagged" in result.stderr

    listed = run("suppliers", "list", "--flagged", data_dir=data_dir)
    assert [r["code"] for r in lines(listed.stdout)] == ["BOLT"]
    everyone = run("suppliers", "list", "--kind", "supplier", data_dir=data_dir)
    assert [r["code"] for r in lines(everyone.stdout)] == ["ACME", "BOLT"]


def test_expiring_lists_and_warns_once(data_dir: Path) -> None:
    args = ("suppliers", "expiring", "--days", "30", "--now", "2026-11-01T09:00:00Z")
    early = run(
        "suppliers", "expiring", "--days", "10", "--now", "2026-11-01T09:00:00Z", data_dir=data_dir
    )
    assert early.returncode == 0 and lines(early.stdout) == []
    first = run(*args, "--notify", data_dir=data_dir)
    assert first.returncode == 0, first.stderr
    assert [(r["supplier"], r["days_left"], r["warned_now"]) for r in lines(first.stdout)] == [
        ("CLEAN", 19, True)
    ]
    second = run(*args, "--notify", data_dir=data_dir)
    assert [r["warned_now"] for r in lines(second.stdout)] == [False]
    assert b"0 new warning(s)" in second.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("suppliers", "scorecards", "--period", "2026-13"), b"YYYY-MM"),
        (("suppliers", "scorecards", "--period", "2026-10", "--weight", "sla"), b"NAME=NUMBER"),
        (("suppliers", "scorecards", "--period", "2026-10", "--weight", "speed=3"), b"speed"),
        (("suppliers", "scorecards", "--period", "2026-10", "--weight", "sla=nan"), b"NAME=NUMBER"),
        (("suppliers", "expiring", "--now", "yesterday"), b"ISO 8601"),
    ],
)
def test_bad_input_is_one_error_line_and_exit_1(
    data_dir: Path, args: tuple[str, ...], message: bytes
) -> None:
    result = run(*args, data_dir=data_dir)
    assert result.returncode == 1
    assert result.stderr.startswith(b"error: ") and message in result.stderr
    assert result.stdout == b""


@pytest.mark.parametrize(
    "args",
    [
        ("suppliers", "expiring", "--days", "-1"),
        ("suppliers", "expiring", "--days", "many"),
        ("suppliers", "scorecards", "--period", "2026-10", "--threshold", "500"),
        ("suppliers", "list", "--status", "royal"),
        ("suppliers", "scorecards"),
    ],
)
def test_malformed_options_are_refused_by_the_parser(data_dir: Path, args: tuple[str, ...]) -> None:
    result = run(*args, data_dir=data_dir)
    assert result.returncode == 2 and result.stdout == b""


@pytest.mark.parametrize("command", ["scorecards", "expiring", "list"])
def test_every_suppliers_command_has_help_with_an_example(command: str, tmp_path: Path) -> None:
    result = run("suppliers", command, "--help", data_dir=tmp_path)
    assert result.returncode == 0 and b"Example" in result.stdout
