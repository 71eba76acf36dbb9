"""Fault detection quality and speed of the G36 AHU library, against open-fdd in the same run.

**Quality.** One simulated AHU (``simulators.devices.ScheduledAirHandler``: fan on weekdays
07:00-19:00, supply-air reset, economizer, one-minute data of every canonical point) runs
``--days`` weekdays healthy and the same weekdays with each injectable fault present all day.
The days differ in weather: the outdoor air is shifted by -15..+10 K, spread evenly (golden-ratio
sequence), so a month covers heating, economizer and cooling seasons; the climate column shows
cold (< -5 K), mild and hot (> +5 K) days. A day is *flagged* when any library rule fires in it.

* Day level, all days: recall = flagged faulty days / faulty days; precision = flagged faulty
  days / (flagged faulty days + flagged healthy days); F1 their harmonic mean.
* Day level, *detectable* days: a fault cannot be seen on a day on which it does nothing, or
  does it only in operating states where no G36 condition looks at the quantity it moves (a
  cooling valve stuck shut on a heating day; a supply-air sensor bias while the supply-air loop
  hides it from every equation but FC8's, which applies in free cooling only). A minute is
  *observable* when the simulator says the fault changes the unit's behaviour then
  (``AirHandler.effective``) and the unit is in one of the states listed for the fault in
  :data:`OBSERVABLE_IN` (for the outdoor-air faults FC6 sees, also with outdoor and return air
  at least G36's ΔTmin = 5.6 K apart: closer, no temperature tells the outdoor-air fraction). A
  day is detectable when it has an unbroken hour of observable minutes: G36's own ModeDelay
  (30 min) and a 15-min persistence need about that long in one state.
  Recall over detectable days is printed next to recall over all days; both count.
* Hour level: an hour of a faulty day with at least 30 observable minutes should be flagged
  (an alert firing at some minute of it); every flagged hour of a healthy day is a false
  alarm. Alerts need the fan start-up delay, the mode delay and ``for`` (up to an hour), so the
  first hour of a fault is rarely caught: hour-level recall is bounded below 1 by design.

**Speed.** The whole library replayed through :class:`rules.RuleEngine` over ``--replay-days``
of one-minute data for one AHU (every point), fed one minute's readings at a time as the gateway
delivers batches, in readings per second of wall time and of CPU time (the CPU figure does not
depend on what else the machine runs; both are printed). ``--replay-days 365`` is the year
(about 13 M readings).

**open-fdd.** ``pip install 'open-fdd[oracle]'`` into ``benchmarks/.envs/openfdd`` (created here
with ``python -m venv`` when missing), the same days exported as CSV in open-fdd's roles and
units, its FC1-FC15 run with its shipped defaults by ``benchmarks/openfdd_driver.py``; a day is
flagged when any confirmed fault mask is true in it. If the install or the run fails, the reason
is printed and our figures stand alone. ``--no-openfdd`` skips it.

Prints tables, then one JSON object as the last line.

Run: .venv/bin/python benchmarks/bench_fdd.py [--days 20] [--replay-days 28] [--no-openfdd]
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from facility.core.types import Reading
from rules import RuleEngine, load_rules
from rules.points import AHU_POINTS, operating_state
from simulators.devices import AHU_FAULTS, ScheduledAirHandler
from simulators.traces import trace

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = ROOT / "rules" / "library" / "ahu-g36.yaml"
OPENFDD_ENV = ROOT / "benchmarks" / ".envs" / "openfdd"
OPENFDD_REQUIREMENT = "open-fdd[oracle]>=4.4,<5"
DRIVER = ROOT / "benchmarks" / "openfdd_driver.py"
START = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)  # a Monday
FAULTS = sorted(AHU_FAULTS - {"cooling_failure", "filter_clog"})  # the older, non-G36 faults
POINTS = frozenset(AHU_POINTS)
ALL_STATES = frozenset({"OS1", "OS2", "OS3", "OS4", "OS5"})
GOLDEN = (math.sqrt(5) - 1) / 2

#: fault -> operating states in which some G36 condition looks at what the fault moves
OBSERVABLE_IN: dict[str, frozenset[str]] = {
    "cooling_valve_leak": frozenset({"OS1", "OS2"}),  # FC14, FC5, FC8: cooling should be off
    "cooling_valve_stuck": frozenset({"OS3", "OS4"}),  # FC13, FC12: cooling is commanded
    "heating_valve_leak": frozenset({"OS2", "OS3", "OS4"}),  # FC15, FC8, FC12
    "oa_damper_stuck": frozenset({"OS3"}),  # FC10; a shut damper at minimum is within FC6's εF
    "oa_damper_slipped": frozenset({"OS1", "OS4"}),  # FC6 at minimum outdoor air
    "sat_sensor_bias": frozenset({"OS2"}),  # FC8; elsewhere the loop hides the bias
    "mat_sensor_bias": ALL_STATES,
    "fan_capacity_loss": ALL_STATES,
    "hunting": ALL_STATES,
    "simultaneous_heating_cooling": ALL_STATES,
}
DETECTABLE_MINUTES = 60  # an unbroken run this long makes a day detectable
#: faults whose G36 condition (FC6) needs outdoor and return air this far apart (ΔTmin, K)
NEEDS_DELTA_T = {"oa_damper_slipped": 5.6}
OBSERVABLE_HOUR_MINUTES = 30


@dataclass(frozen=True, slots=True)
class DaySpec:
    index: int
    date: datetime
    shift: float
    seed: int

    @property
    def climate(self) -> str:
        return "cold" if self.shift < -5 else "hot" if self.shift > 5 else "mild"


@dataclass(slots=True)
class DayResult:
    """One simulated day through our engine: what fired, and when the fault was observable."""

    rules: set[str] = field(default_factory=set)
    flagged_hours: set[int] = field(default_factory=set)
    observable_minutes: int = 0  # the longest unbroken run of observable minutes
    observable_hours: set[int] = field(default_factory=set)

    @property
    def flagged(self) -> bool:
        return bool(self.rules)

    @property
    def detectable(self) -> bool:
        return self.observable_minutes >= DETECTABLE_MINUTES


def day_specs(count: int) -> list[DaySpec]:
    """``count`` weekdays from START, outdoor shifts spread evenly over -15..+10 K."""
    specs: list[DaySpec] = []
    date = START
    while len(specs) < count:
        if date.weekday() < 5:
            i = len(specs)
            shift = round(-15.0 + 25.0 * ((0.5 + i * GOLDEN) % 1.0), 1)
            specs.append(DaySpec(i, date, shift, seed=1000 + i))
        date += timedelta(days=1)
    return specs


def minutes(spec: DaySpec, fault: str | None) -> Iterator[tuple[datetime, list[Reading], bool]]:
    """One day as (time, that minute's readings, whether the fault acts that minute)."""
    faults = () if fault is None else ((fault, 0.0, None),)
    model = ScheduledAirHandler(outdoor_shift=spec.shift)
    batch: list[Reading] = []
    effective = False
    readings = trace(
        model, device="ahu-1", start=spec.date, hours=24, seed=spec.seed, faults=faults,
        metrics=POINTS,
    )  # fmt: skip
    for reading in readings:
        if batch and reading.ts != batch[0].ts:
            yield batch[0].ts, batch, effective
            batch = []
        if not batch:
            effective = model.effective  # the step that produced this minute
        batch.append(reading)
    if batch:
        yield batch[0].ts, batch, effective


def state_of(values: dict[str, float]) -> str:
    return operating_state(
        values["heating_valve"],
        values["cooling_valve"],
        values["outdoor_air_damper"],
        min_outdoor_air_damper=20.0,
        damper_tolerance=5.0,
        valve_deadband=1.0,
    )


def short(rule: str) -> str:
    name = rule.removeprefix("ahu-g36-")
    return name.split("-")[0] if name.startswith("fc") else name.removeprefix("ahu-")


def run_day(
    spec: DaySpec, fault: str | None, export: csv.DictWriter[str] | None = None
) -> DayResult:
    engine = RuleEngine(load_rules(LIBRARY))
    result = DayResult()
    firing: set[str] = set()
    per_hour: Counter[int] = Counter()
    states = OBSERVABLE_IN.get(fault or "", frozenset())
    delta_t = NEEDS_DELTA_T.get(fault or "", 0.0)
    run = 0
    for ts, batch, effective in minutes(spec, fault):
        for alert in engine.process(batch):
            if alert.state.value == "firing":
                firing.add(alert.rule)
                result.rules.add(short(alert.rule))
            elif alert.state.value == "resolved":
                firing.discard(alert.rule)
        if firing:
            result.flagged_hours.add(ts.hour)
        values = {r.metric: r.value for r in batch}
        apart = abs(values["outdoor_air_temperature"] - values["return_air_temperature"])
        if (
            effective
            and values["supply_fan_status"] >= 0.5
            and state_of(values) in states
            and apart >= delta_t
        ):
            run += 1
            result.observable_minutes = max(result.observable_minutes, run)
            per_hour[ts.hour] += 1
        else:
            run = 0
        if export is not None:
            export.writerow(openfdd_row(ts, values))
    result.observable_hours = {h for h, n in per_hour.items() if n >= OBSERVABLE_HOUR_MINUTES}
    return result


# -- open-fdd's roles and units -------------------------------------------------------------------
def _f(celsius: float) -> float:
    return round(celsius * 9 / 5 + 32, 3)


OPENFDD_COLUMNS = [
    "timestamp", "duct-static-pressure", "duct-static-pressure-sp", "fan-cmd", "mixed-air-temp",
    "outside-air-temp", "return-air-temp", "discharge-air-temp", "discharge-air-temp-sp",
    "heating-valve", "cooling-valve", "outside-air-damper", "vav-total-airflow",
    "heating-coil-entering-temp", "heating-coil-leaving-temp", "cooling-coil-entering-temp",
    "cooling-coil-leaving-temp",
]  # fmt: skip
PA_PER_INWC = 249.089
CFM_PER_M3H = 0.588578


def openfdd_row(ts: datetime, v: dict[str, float]) -> dict[str, object]:
    """A minute in open-fdd's roles: degF, in. w.c., cfm, commands as fractions 0-1.

    The fan is given by its speed command only (``fan-cmd``): open-fdd reads ``fan-status``
    first where present, and its FC1 then compares the status (1.0) with the speed threshold,
    which would flag every low-static minute; the speed is the fairer mapping.
    """
    return {
        "timestamp": ts.strftime("%Y-%m-%d %H:%M:%S"),
        "duct-static-pressure": round(v["duct_static_pressure"] / PA_PER_INWC, 4),
        "duct-static-pressure-sp": round(v["duct_static_pressure_setpoint"] / PA_PER_INWC, 4),
        "fan-cmd": round(v["supply_fan_speed"] / 100, 4),
        "mixed-air-temp": _f(v["mixed_air_temperature"]),
        "outside-air-temp": _f(v["outdoor_air_temperature"]),
        "return-air-temp": _f(v["return_air_temperature"]),
        "discharge-air-temp": _f(v["supply_air_temperature"]),
        "discharge-air-temp-sp": _f(v["supply_air_temperature_setpoint"]),
        "heating-valve": round(v["heating_valve"] / 100, 4),
        "cooling-valve": round(v["cooling_valve"] / 100, 4),
        "outside-air-damper": round(v["outdoor_air_damper"] / 100, 4),
        "vav-total-airflow": round(v["supply_airflow"] * CFM_PER_M3H, 1),
        "heating-coil-entering-temp": _f(v["mixed_air_temperature"]),
        "heating-coil-leaving-temp": _f(v["heating_coil_leaving_air_temperature"]),
        "cooling-coil-entering-temp": _f(v["heating_coil_leaving_air_temperature"]),
        "cooling-coil-leaving-temp": _f(v["cooling_coil_leaving_air_temperature"]),
    }


def open_csv(path: Path) -> tuple[Any, csv.DictWriter[str]]:
    handle = path.open("w", newline="", encoding="utf-8")
    writer = csv.DictWriter(handle, fieldnames=OPENFDD_COLUMNS)
    writer.writeheader()
    return handle, writer


# -- scores ---------------------------------------------------------------------------------------
def prf(tp: int, fp: int, positives: int) -> tuple[float, float, float]:
    precision = tp / (tp + fp) if tp + fp else (1.0 if positives == 0 else 0.0)
    recall = tp / positives if positives else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return round(precision, 3), round(recall, 3), round(f1, 3)


def score(
    faulty: list[DayResult], healthy: list[DayResult], specs: list[DaySpec]
) -> dict[str, Any]:
    false_days = sum(1 for d in healthy if d.flagged)
    found = sum(1 for d in faulty if d.flagged)
    detectable = [d for d in faulty if d.detectable]
    found_detectable = sum(1 for d in detectable if d.flagged)
    p, r, f1 = prf(found, false_days, len(faulty))
    dp, dr, df1 = prf(found_detectable, false_days, len(detectable))
    positives = sum(len(d.observable_hours) for d in faulty)
    tp = sum(len(d.observable_hours & d.flagged_hours) for d in faulty)
    fp = sum(len(d.flagged_hours) for d in healthy)
    hp, hr, hf1 = prf(tp, fp, positives)
    by_climate: Counter[str] = Counter()
    days_by_climate: Counter[str] = Counter()
    rules: Counter[str] = Counter()
    for spec, day in zip(specs, faulty, strict=True):
        days_by_climate[spec.climate] += 1
        by_climate[spec.climate] += day.flagged
        rules.update(day.rules)
    return {
        "days": len(faulty),
        "flagged": found,
        "detectable": len(detectable),
        "flagged_detectable": found_detectable,
        "by_climate": {c: f"{by_climate[c]}/{days_by_climate[c]}" for c in ("cold", "mild", "hot")},
        "day": {"precision": p, "recall": r, "f1": f1},
        "day_detectable": {"precision": dp, "recall": dr, "f1": df1},
        "hour": {"precision": hp, "recall": hr, "f1": hf1, "positives": positives},
        "rules": dict(rules.most_common()),
    }


# -- open-fdd -------------------------------------------------------------------------------------
def openfdd_python() -> tuple[Path | None, str]:
    """The open-fdd environment's interpreter (created and installed when missing), or why not."""
    python = OPENFDD_ENV / "bin" / "python"
    try:
        if not python.exists():
            subprocess.run(
                [sys.executable, "-m", "venv", str(OPENFDD_ENV)],
                check=True, capture_output=True, timeout=300,
            )  # fmt: skip
        probe = subprocess.run(
            [str(python), "-c", "import open_fdd.rules, pandas"],
            capture_output=True, timeout=120, check=False,
        )  # fmt: skip
        if probe.returncode != 0:
            subprocess.run(
                [str(python), "-m", "pip", "install", "-q", OPENFDD_REQUIREMENT],
                check=True, capture_output=True, timeout=900,
            )  # fmt: skip
        version = subprocess.run(
            [str(python), "-c", "import importlib.metadata as m; print(m.version('open-fdd'))"],
            check=True, capture_output=True, text=True, timeout=120,
        ).stdout.strip()  # fmt: skip
    except subprocess.CalledProcessError as exc:
        detail = (exc.stderr or b"").decode(errors="replace").strip().splitlines()[-1:] or [""]
        return None, f"installing {OPENFDD_REQUIREMENT} failed: {detail[0][:200]}"
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"cannot prepare {OPENFDD_ENV}: {exc}"
    return python, version


def run_openfdd(python: Path, folder: Path) -> tuple[dict[str, Any] | None, str]:
    try:
        done = subprocess.run(
            [str(python), str(DRIVER), str(folder)],
            capture_output=True, text=True, timeout=3600, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"open-fdd driver did not finish: {exc}"
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:] or [f"exit {done.returncode}"]
        return None, f"open-fdd driver failed: {tail[0][:300]}"
    try:
        return json.loads(done.stdout), ""
    except json.JSONDecodeError:
        return None, "open-fdd driver printed something that is not JSON"


def openfdd_day(found: dict[str, Any], observable_hours: set[int]) -> DayResult:
    hours: set[int] = set()
    for flagged in found.get("rules", {}).values():
        hours.update(flagged)
    return DayResult(
        rules=set(found.get("rules", {})),
        flagged_hours=hours,
        observable_minutes=DETECTABLE_MINUTES if observable_hours else 0,
        observable_hours=observable_hours,
    )


# -- speed ----------------------------------------------------------------------------------------
def speed(days: int, export: Path | None) -> dict[str, float]:
    """Replay ``days`` of one AHU through the library; time only the engine's calls.

    The readings are generated and fed one minute at a time (a year is 13 M readings, too many
    to hold), and the clocks run around ``engine.process`` alone, so the simulator's cost is
    not counted. ``export`` writes the same minutes as open-fdd's CSV.
    """
    model = ScheduledAirHandler()
    engine = RuleEngine(load_rules(LIBRARY))
    handle, writer = open_csv(export) if export is not None else (None, None)
    count = 0
    wall_s = cpu_s = 0.0
    batch: list[Reading] = []

    def feed(one: list[Reading]) -> None:
        nonlocal count, wall_s, cpu_s
        wall, cpu = time.perf_counter(), time.process_time()
        engine.process(one)
        wall_s += time.perf_counter() - wall
        cpu_s += time.process_time() - cpu
        count += len(one)
        if writer is not None:
            writer.writerow(openfdd_row(one[0].ts, {r.metric: r.value for r in one}))

    try:
        for reading in trace(model, device="ahu-1", start=START, hours=24 * days, seed=7,
                             metrics=POINTS):  # fmt: skip
            if batch and reading.ts != batch[0].ts:
                feed(batch)
                batch = []
            batch.append(reading)
        feed(batch)
    finally:
        if handle is not None:
            handle.close()
    return {"readings": count, "seconds": wall_s, "cpu_seconds": cpu_s, "per_s": count / wall_s,
            "per_cpu_s": count / cpu_s}  # fmt: skip


def row_text(name: str, s: dict[str, Any]) -> str:
    d, dd, h = s["day"], s["day_detectable"], s["hour"]
    rules = ", ".join(f"{k}x{v}" for k, v in s["rules"].items()) or "-"
    climate = " ".join(s["by_climate"].values())
    return (
        f"{name:29} {s['days']:>4} {s['flagged']:>5} {climate:>14} {d['precision']:>5.2f} "
        f"{d['recall']:>5.2f} {d['f1']:>5.2f} {s['flagged_detectable']:>4}/{s['detectable']:<4}"
        f"{dd['recall']:>5.2f} {dd['f1']:>5.2f} {h['precision']:>5.2f} {h['recall']:>5.2f} "
        f"{h['f1']:>5.2f}  {rules}"
    )


HEADER = (
    f"{'fault':29} {'days':>4} {'found':>5} {'cold mild hot':>14} {'P':>5} {'R':>5} {'F1':>5} "
    f"{'det.':>9}{'R':>5} {'F1':>5} {'hP':>5} {'hR':>5} {'hF1':>5}  rules"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=20, help="weekdays per fault type (20)")
    parser.add_argument("--replay-days", type=int, default=28, help="days of the speed run (28)")
    parser.add_argument("--no-openfdd", action="store_true", help="skip the open-fdd comparison")
    args = parser.parse_args()
    if not 1 <= args.days <= 400 or not 1 <= args.replay_days <= 400:
        parser.error("--days and --replay-days take 1..400")
    began = time.perf_counter()
    specs = day_specs(args.days)
    with tempfile.TemporaryDirectory(prefix="bench-fdd-") as tmp:
        folder = Path(tmp) if not args.no_openfdd else None
        kinds: list[str | None] = [None, *FAULTS]
        results: dict[str, list[DayResult]] = {}
        for kind in kinds:
            name = kind or "healthy"
            days = []
            for spec in specs:
                if folder is None:
                    days.append(run_day(spec, kind))
                    continue
                handle, writer = open_csv(folder / f"day-{name}-{spec.index:03d}.csv")
                with handle:
                    days.append(run_day(spec, kind, writer))
            results[name] = days
        healthy = results["healthy"]
        ours = {fault: score(results[fault], healthy, specs) for fault in FAULTS}
        fast = speed(args.replay_days, folder / "speed.csv" if folder else None)
        theirs: dict[str, Any] | None = None
        theirs_speed: dict[str, Any] = {}
        why = "skipped (--no-openfdd)"
        version = ""
        if folder is not None:
            # the one site parameter open-fdd needs and cannot read from the data: FC6's
            # design minimum outdoor airflow (the simulator's minimum set-point, in cfm)
            unit = ScheduledAirHandler()
            minimum = unit.design_airflow * math.sqrt(unit.duct_static_setpoint / 400.0)
            minimum *= unit.min_outdoor_air / 100.0 * CFM_PER_M3H
            meta = {"params": {"FC6": {"min_cfm_design": round(minimum)}}}
            (folder / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
            python, version = openfdd_python()
            if python is None:
                why, version = version, ""
            else:
                found, why = run_openfdd(python, folder)
                if found is not None:
                    theirs, theirs_speed = {}, found.get("speed", {})
                    days_found = found.get("days", {})
                    their_healthy = [
                        openfdd_day(days_found.get(f"day-healthy-{s.index:03d}", {}), set())
                        for s in specs
                    ]
                    for fault in FAULTS:
                        mine = results[fault]
                        their_days = [
                            openfdd_day(
                                days_found.get(f"day-{fault}-{s.index:03d}", {}),
                                mine[s.index].observable_hours,
                            )
                            for s in specs
                        ]
                        for theirs_day, my_day in zip(their_days, mine, strict=True):
                            theirs_day.observable_minutes = my_day.observable_minutes
                        theirs[fault] = score(their_days, their_healthy, specs)
                    theirs["_healthy_flagged"] = sum(1 for d in their_healthy if d.flagged)
                    theirs["_healthy_rules"] = dict(
                        Counter(r for d in their_healthy for r in d.rules).most_common()
                    )
    false_days = sum(1 for d in healthy if d.flagged)
    print(f"simulated weekdays per fault type: {args.days} (outdoor shift -15..+10 K)")
    print(f"healthy days: {len(healthy)}, flagged (false alarms): {false_days}, "
          f"flagged hours: {sum(len(d.flagged_hours) for d in healthy)}")  # fmt: skip
    print("\nours (rules/library/ahu-g36.yaml)")
    print(HEADER)
    print("-" * len(HEADER))
    for fault in FAULTS:
        print(row_text(fault, ours[fault]))
    if theirs is not None:
        print(f"\nopen-fdd {version} (FC1-FC15, shipped defaults)")
        print(f"healthy days flagged: {theirs['_healthy_flagged']} of {len(specs)}; rules on "
              f"healthy days: {theirs['_healthy_rules'] or '-'}")  # fmt: skip
        print(HEADER)
        print("-" * len(HEADER))
        for fault in FAULTS:
            print(row_text(fault, theirs[fault]))
    else:
        print(f"\nopen-fdd: not compared: {why}")
    print(
        f"\nreplay (ours): {fast['readings']:,} readings ({args.replay_days} days, one AHU, "
        f"1-min data, one minute per batch) in {fast['seconds']:.2f} s = "
        f"{fast['per_s']:,.0f} readings/s wall, {fast['per_cpu_s']:,.0f} readings/s CPU"
    )
    ratio: dict[str, float] = {}
    if theirs_speed.get("seconds"):
        cells = theirs_speed["cells"]
        their_wall = cells / theirs_speed["seconds"]
        their_cpu = cells / theirs_speed["cpu_seconds"]
        ratio = {"wall": fast["per_s"] / their_wall, "cpu": fast["per_cpu_s"] / their_cpu}
        print(
            f"replay (open-fdd): {cells:,} values, FC1-FC15 in {theirs_speed['seconds']:.2f} s "
            f"(+{theirs_speed['load_seconds']:.2f} s to read the CSV) = {their_wall:,.0f} "
            f"readings/s wall, {their_cpu:,.0f} CPU; ours / open-fdd = {ratio['wall']:.2f} "
            f"wall, {ratio['cpu']:.2f} CPU"
        )
    print(f"whole run: {time.perf_counter() - began:.0f} s")
    print(
        json.dumps(
            {
                "days": args.days,
                "healthy_days": len(healthy),
                "false_alarm_days": false_days,
                "faults": ours,
                "replay": fast,
                "openfdd": {
                    "version": version,
                    "faults": theirs,
                    "speed": theirs_speed,
                    "ratio": ratio,
                    "why_not": why if theirs is None else "",
                },
            }
        )
    )


if __name__ == "__main__":
    main()
