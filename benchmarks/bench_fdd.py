"""Fault detection quality and speed of the G36 AHU library (rules/library/ahu-g36.yaml).

Quality, day by day: one simulated AHU (``simulators.devices.ScheduledAirHandler``, fan in office
hours, one-minute data) runs whole days of three climates (cold, mild, hot outdoor air) healthy
and with each injectable fault present all day. A day is *flagged* when any library rule fires
during it. Per fault type: recall = flagged faulty days / faulty days; precision = flagged
faulty days / (flagged faulty days + flagged healthy days, the false alarms, shared by all fault
types); F1 their harmonic mean. The rules that fired are listed, so one sees which condition
catches what.

Speed: the library replayed over a simulated week of one-minute data for one AHU (all canonical
points), in readings per second through :class:`rules.RuleEngine`.

Prints a table, then one JSON object as the last line.

Run: .venv/bin/python benchmarks/bench_fdd.py [--seeds N]
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from facility.core.types import Reading
from rules import RuleEngine, load_rules
from rules.points import AHU_POINTS
from simulators.devices import AHU_FAULTS, ScheduledAirHandler
from simulators.traces import trace

LIBRARY = Path(__file__).resolve().parents[1] / "rules" / "library" / "ahu-g36.yaml"
START = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)  # a Monday
CLIMATES = {"cold": -15.0, "mild": 0.0, "hot": 10.0}
FAULTS = sorted(AHU_FAULTS - {"cooling_failure", "filter_clog"})  # the older, non-G36 faults
POINTS = frozenset(AHU_POINTS)


def day(shift: float, fault: str | None, seed: int, weekday: int) -> list[Reading]:
    faults = () if fault is None else ((fault, 0.0, None),)
    model = ScheduledAirHandler(outdoor_shift=shift)
    start = START + timedelta(days=weekday)
    return list(
        trace(
            model, device="ahu-1", start=start, hours=24, seed=seed, faults=faults, metrics=POINTS
        )
    )


def fired(readings: list[Reading]) -> set[str]:
    engine = RuleEngine(load_rules(LIBRARY))
    found: set[str] = set()
    for reading in readings:
        for alert in engine.process([reading]):
            if alert.state.value == "firing":
                name = alert.rule.removeprefix("ahu-g36-")
                found.add(
                    name.split("-")[0] if name.startswith("fc") else name.removeprefix("ahu-")
                )
    return found


def quality(seeds: int) -> tuple[list[dict[str, object]], int, int]:
    days = [(climate, seed) for climate in CLIMATES for seed in range(seeds)]
    false_alarms = 0
    for climate, seed in days:
        if fired(day(CLIMATES[climate], None, seed, seed % 5)):
            false_alarms += 1
    rows = []
    for fault in FAULTS:
        flagged = 0
        by: Counter[str] = Counter()
        per_climate: Counter[str] = Counter()
        for climate, seed in days:
            found = fired(day(CLIMATES[climate], fault, seed, seed % 5))
            if found:
                flagged += 1
                per_climate[climate] += 1
            by.update(found)
        recall = flagged / len(days)
        precision = flagged / (flagged + false_alarms) if flagged + false_alarms else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        rows.append(
            {
                "fault": fault,
                "days": len(days),
                "flagged": flagged,
                "by_climate": {c: per_climate[c] for c in CLIMATES},
                "precision": round(precision, 3),
                "recall": round(recall, 3),
                "f1": round(f1, 3),
                "rules": dict(by.most_common()),
            }
        )
    return rows, false_alarms, len(days)


def speed() -> dict[str, float]:
    model = ScheduledAirHandler()
    week = list(trace(model, device="ahu-1", start=START, hours=24 * 7, seed=7, metrics=POINTS))
    engine = RuleEngine(load_rules(LIBRARY))
    began = time.perf_counter()
    for reading in week:
        engine.process([reading])
    elapsed = time.perf_counter() - began
    return {"readings": len(week), "seconds": round(elapsed, 3), "per_s": len(week) / elapsed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=2, help="days per climate and fault")
    args = parser.parse_args()
    rows, false_alarms, healthy_days = quality(args.seeds)
    print(f"healthy days: {healthy_days}, flagged (false alarms): {false_alarms}")
    header = (
        f"{'fault':30} {'days':>4} {'found':>5} {'cold/mild/hot':>13} "
        f"{'P':>5} {'R':>5} {'F1':>5}  rules"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        climates = "/".join(str(v) for v in row["by_climate"].values())  # type: ignore[attr-defined]
        rules = ", ".join(f"{k}x{v}" for k, v in row["rules"].items()) or "-"  # type: ignore[attr-defined]
        print(
            f"{row['fault']:30} {row['days']:>4} {row['flagged']:>5} {climates:>13} "
            f"{row['precision']:>5.2f} {row['recall']:>5.2f} {row['f1']:>5.2f}  {rules}"
        )
    fast = speed()
    print(
        f"\nreplay: {fast['readings']:,} readings (one AHU, one week, 1-min data) in "
        f"{fast['seconds']:.2f} s = {fast['per_s']:,.0f} readings/s"
    )
    print(
        json.dumps(
            {
                "healthy_days": healthy_days,
                "false_alarm_days": false_alarms,
                "faults": rows,
                "replay_readings_per_s": round(fast["per_s"]),
            }
        )
    )


if __name__ == "__main__":
    main()
