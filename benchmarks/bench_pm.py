"""Cost of one PM scheduler pass for a runtime plan as its state history grows.

A runtime plan re-reads its device's ``state`` readings since ``starts_at`` on every pass (no
checkpoint yet), so a pass grows with the history. This measures that growth on the embedded
SQLite stores: one plan, one reading per minute, for 1 day, 30 days and 180 days of history,
plus the pure run-hours arithmetic alone. The ratio t(180 d) / t(1 d) says when a checkpoint
becomes worth it.

Run: .venv/bin/python -m benchmarks.bench_pm [--repeats N]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from facility.core.types import Reading
from gateway.stores.sql import SqlReadingStore, make_engine
from maintenance.assets.register import ensure_asset
from maintenance.pm import service as pm
from maintenance.pm.models import PmTriggerKind
from maintenance.shared.db import connect, upgrade

START = datetime(2026, 1, 1, tzinfo=UTC)


def _history(store: SqlReadingStore, days: int) -> None:
    batch: list[Reading] = []
    for minute in range(days * 1440):
        running = 1.0 if (minute // 60) % 3 else 0.0  # two hours on, one off
        batch.append(
            Reading("ahu-1/fan", "state", running, "bool", START + timedelta(minutes=minute))
        )
        if len(batch) == 10_000:
            store.write(batch)
            batch = []
    store.write(batch)


def measure(days: int, repeats: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        engine, sessions = connect(f"sqlite:///{Path(tmp) / 'facility.db'}")
        upgrade(engine)
        readings_engine = make_engine(f"sqlite:///{Path(tmp) / 'readings.db'}")
        store = SqlReadingStore(readings_engine)
        _history(store, days)
        now = START + timedelta(days=days)
        with sessions() as session:
            ensure_asset(session, code="AHU-1", asset_type="ahu")
            session.commit()
            plan = pm.create_plan(
                session,
                name="fan",
                trigger=PmTriggerKind.RUNTIME,
                interval=10_000,
                device="ahu-1/fan",
                asset_codes=["AHU-1"],
                max_gap_s=300,
                starts_at=START,
                actor="bench",
                now=START,
            )
            pm.approve_plan(session, plan_id=plan.id, actor="bench", now=START)
            samples = list(pm._samples(store, "ahu-1/fan", "state", START, now))
            best_pass = best_math = float("inf")
            for _ in range(repeats):
                t0 = time.perf_counter()
                pm.run_pm_scheduler(session, now=now, readings=store)
                best_pass = min(best_pass, time.perf_counter() - t0)
                t0 = time.perf_counter()
                hours = pm.runtime_progress(samples, start=START, end=now, max_gap_s=300).total
                best_math = min(best_math, time.perf_counter() - t0)
        readings_engine.dispose()
        engine.dispose()
    return {
        "days": days,
        "readings": days * 1440,
        "pass_s": best_pass,
        "math_s": best_math,
        "run_h": hours,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rows = [measure(days, args.repeats) for days in (1, 30, 180)]
    print(f"{'history':>8} {'readings':>9} {'pass (ms)':>10} {'run-hours math (ms)':>20}")
    for row in rows:
        print(
            f"{row['days']:>6} d {row['readings']:>9} {row['pass_s'] * 1000:>10.1f} "
            f"{row['math_s'] * 1000:>20.1f}"
        )
    ratio = rows[-1]["pass_s"] / rows[0]["pass_s"]
    per_reading_us = rows[-1]["pass_s"] / rows[-1]["readings"] * 1e6
    print(f"t(180 d) / t(1 d) = {ratio:.0f}; {per_reading_us:.1f} µs per stored reading per pass")
    print(
        json.dumps(
            {
                "pm_pass_ms_1d": round(rows[0]["pass_s"] * 1000, 2),
                "pm_pass_ms_30d": round(rows[1]["pass_s"] * 1000, 2),
                "pm_pass_ms_180d": round(rows[2]["pass_s"] * 1000, 2),
                "runtime_math_ms_180d": round(rows[2]["math_s"] * 1000, 2),
                "ratio_180d_to_1d": round(ratio, 1),
                "us_per_reading": round(per_reading_us, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
