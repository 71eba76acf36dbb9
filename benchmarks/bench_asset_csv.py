"""Asset register CSV: import (new rows, then the same file again as updates) and export.

A register of ``N`` rows: one site, 10 buildings, 10 floors each, the rest equipment spread
over the floors, every life-cycle column filled. Measured on SQLite (the embedded default) and,
when ``FACILITY_TEST_DATABASE_URL`` points at a PostgreSQL server, on PostgreSQL in a throwaway
database. Rows per second are what an engineer waits for when loading a spreadsheet.

Run: .venv/bin/python -m benchmarks.bench_asset_csv [--rows 1000 5000] [--repeats 1]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from maintenance.assets import register_csv as asset_csv
from maintenance.shared.db import connect, upgrade

NOW = datetime(2026, 11, 1, tzinfo=UTC)
HEADER = [
    "code", "name", "level", "parent", "site", "asset_type", "category", "manufacturer",
    "model", "serial_number", "installed_on", "commissioned_on", "warranty_end",
    "expected_life_years", "purchase_cost", "replacement_cost", "criticality", "status",
]  # fmt: skip


def register(rows: int) -> bytes:
    """A CSV of ``rows`` assets (parents before children, as a spreadsheet usually has)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    written = 0
    floors: list[str] = []
    for b in range(10):
        writer.writerow([f"B{b}", f"Building {b}", "building", "", "HQ", *[""] * 13])
        written += 1
        for f in range(10):
            code = f"B{b}-F{f}"
            floors.append(code)
            writer.writerow([code, f"Floor {f}", "floor", f"B{b}", "", *[""] * 13])
            written += 1
    n = 0
    while written < rows:
        writer.writerow([
            f"EQ-{n:06d}", f"Fan coil {n}", "equipment", floors[n % len(floors)], "",
            "fan_coil", "hvac", "Acme", "FC-200", f"SN{n:08d}", "2015-04-01", "2015-05-01",
            "2020-05-01", "15", "1200.00", "1500.00", "ABC"[n % 3], "in_service",
        ])  # fmt: skip
        written += 1
        n += 1
    return out.getvalue().encode()


@contextmanager
def database(kind: str, tmp: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp / 'facility.db'}"
        return
    admin_url = os.environ["FACILITY_TEST_DATABASE_URL"].replace(
        "postgresql://", "postgresql+psycopg://", 1
    )
    name = f"facility_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def measure(kind: str, rows: int) -> dict[str, float]:
    data = register(rows)
    with tempfile.TemporaryDirectory() as tmp, database(kind, Path(tmp)) as url:
        engine, sessions = connect(url)
        upgrade(engine)
        figures: dict[str, float] = {}
        for phase in ("import_new", "import_update"):
            with sessions() as session:
                started = time.perf_counter()
                asset_csv.import_assets(
                    session, data=data, actor="bench", now=NOW, max_bytes=50 << 20
                )
                figures[phase + "_s"] = time.perf_counter() - started
        with sessions() as session:
            started = time.perf_counter()
            size = sum(len(chunk) for chunk in asset_csv.export_assets(session))
            figures["export_s"] = time.perf_counter() - started
        engine.dispose()
    figures["bytes_in"] = len(data)
    figures["bytes_out"] = size
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1000, 5000])
    args = parser.parse_args()
    kinds = ["sqlite"] + (["postgresql"] if os.environ.get("FACILITY_TEST_DATABASE_URL") else [])
    results: dict[str, dict[str, float]] = {}
    heads = ("import new", "rows/s", "re-import", "rows/s", "export")
    print(f"{'db':<11}{'rows':>7}" + "".join(f"{h:>12}" for h in heads))
    for kind in kinds:
        for rows in args.rows:
            f = measure(kind, rows)
            results[f"{kind}_{rows}"] = f
            cells = (
                f"{f['import_new_s']:.2f}s",
                f"{rows / f['import_new_s']:.0f}",
                f"{f['import_update_s']:.2f}s",
                f"{rows / f['import_update_s']:.0f}",
                f"{f['export_s']:.2f}s",
            )
            print(f"{kind:<11}{rows:>7}" + "".join(f"{c:>12}" for c in cells))
    print(json.dumps(results))


if __name__ == "__main__":
    main()
