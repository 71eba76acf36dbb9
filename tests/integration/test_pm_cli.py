"""``facility pm forecast|run`` and ``facility stock low`` as a script runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import orjson
import pytest

from facility.core.types import Reading
from gateway.stores.sql import SqlReadingStore, make_engine
from maintenance.assets.register import ensure_asset
from maintenance.inventory import service as inventory
from maintenance.inventory.models import StockCategory
from maintenance.pm import service as pm
from maintenance.pm.models import PmTriggerKind, TimeUnit
from maintenance.shared.db import connect, upgrade

FACILITY = str(Path(sys.executable).with_name("facility"))
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def run(*args: str, data_dir: Path) -> subprocess.CompletedProcess[bytes]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("FACILITY_")}
    return subprocess.run(
        [FACILITY, *args],
        capture_output=True,
        timeout=120,
        env={**base, "FACILITY_DATA_DIR": str(data_dir)},
        check=False,
    )


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """The embedded default: work orders in facility.db, readings in readings.db."""
    engine, sessions = connect(f"sqlite:///{tmp_path / 'facility.db'}")
    upgrade(engine)
    with sessions() as s:
        ensure_asset(s, code="AHU-1", asset_type="ahu")
        s.commit()
        for name, trigger, extra in (
            (
                "Weekly round",
                PmTriggerKind.CALENDAR,
                {
                    "unit": TimeUnit.WEEK,
                    "anchor_local": "2026-01-05T08:00",
                    "asset_codes": ["AHU-1"],
                },
            ),
            ("Meter", PmTriggerKind.METER, {"device": "main-meter", "starts_at": T0}),
        ):
            plan = pm.create_plan(
                s,
                name=name,
                trigger=trigger,
                interval=1 if trigger is PmTriggerKind.CALENDAR else 50,
                actor="manager",
                now=T0,
                **extra,
            )
            pm.approve_plan(s, plan_id=plan.id, actor="manager", now=T0)
        inventory.create_item(
            s,
            sku="BELT-A42",
            name="V-belt A42",
            category=StockCategory.SPARE_PART,
            unit_cost=Decimal("12.30"),
            reorder_point=Decimal(2),
            reorder_qty=Decimal(5),
        )
        inventory.create_storeroom(s, code="MAIN", name="Main")
        inventory.receive(s, sku="BELT-A42", storeroom="MAIN", quantity=Decimal(1), actor="m")
    engine.dispose()
    readings_engine = make_engine(f"sqlite:///{tmp_path / 'readings.db'}")
    SqlReadingStore(readings_engine).write(
        [
            Reading(
                device="main-meter",
                metric="energy",
                value=v,
                unit="kWh",
                ts=datetime(2026, 1, 1, h, tzinfo=UTC),
            )
            for h, v in ((0, 100.0), (1, 130.0), (2, 160.0))
        ]
    )
    readings_engine.dispose()
    return tmp_path


def _lines(output: bytes) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in output.splitlines() if line.strip()]


def test_pm_run_orders_due_work_once_and_prints_json_lines(data_dir: Path) -> None:
    first = run("pm", "run", "--now", "2026-01-05T08:00:00Z", data_dir=data_dir)
    assert first.returncode == 0, first.stderr.decode()
    made = _lines(first.stdout)
    assert sorted(str(m["occurrence"]) for m in made) == ["a1@2026-01-05T08:00", "meter:1"]
    again = run("pm", "run", "--now", "2026-01-05T09:00:00Z", data_dir=data_dir)
    assert again.returncode == 0
    assert _lines(again.stdout) == []


def test_pm_forecast_lists_the_coming_weeks(data_dir: Path) -> None:
    result = run(
        "pm", "forecast", "--weeks", "2", "--now", "2026-01-01T03:00:00Z", data_dir=data_dir
    )
    assert result.returncode == 0, result.stderr.decode()
    items = _lines(result.stdout)
    weekly = [i["due_at"] for i in items if i["plan"] == "Weekly round"]
    assert weekly == ["2026-01-05T08:00:00+00:00", "2026-01-12T08:00:00+00:00"]
    assert any(i["plan"] == "Meter" and i["estimated"] for i in items)


def test_stock_low_prints_the_reorder_suggestion(data_dir: Path) -> None:
    result = run("stock", "low", data_dir=data_dir)
    assert result.returncode == 0, result.stderr.decode()
    assert _lines(result.stdout) == [
        {
            "sku": "BELT-A42",
            "name": "V-belt A42",
            "unit": "pcs",
            "on_hand": "1.000",
            "reorder_point": "2.000",
            "suggested_qty": "5.000",
            "estimated_cost": "61.50",
        }
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("pm", "forecast", "--weeks", "0"), b"--weeks"),
        (("pm", "forecast", "--weeks", "many"), b"--weeks"),
        (("pm", "run", "--now", "tomorrow-ish"), b"is not ISO 8601"),
        (("pm", "run", "--now", "x" * 10_000), b"is not ISO 8601"),
        (("stock", "low", "--surprise"), b"--surprise"),
    ],
)
def test_bad_arguments_exit_non_zero_with_a_clear_message(
    data_dir: Path, args: tuple[str, ...], message: bytes
) -> None:
    result = run(*args, data_dir=data_dir)
    assert result.returncode != 0
    assert message in result.stderr
    assert b"Traceback" not in result.stderr
