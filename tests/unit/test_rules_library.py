"""Every rule in rules/library/ replayed over a synthetic recording of the fault it targets.

Each recording also contains healthy devices and near misses, so a test proves the rule raises
exactly the expected alerts: the fault, once, at the right time, and nothing else.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from facility.core.types import Alert, Presence, Reading
from rules import RuleEngine, load_rules
from rules.replay import replay

LIBRARY = Path(__file__).resolve().parents[2] / "rules" / "library"
T0 = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)  # a Monday

Event = Reading | Presence


def minutes(m: float) -> datetime:
    return T0 + timedelta(minutes=m)


def sampled(
    device: str,
    metric: str,
    unit: str,
    value_at: Callable[[float], float | None],
    *,
    until_min: float,
    every_s: float = 60,
    start_min: float = 0,
) -> list[Reading]:
    """One reading every ``every_s`` from ``start_min`` to ``until_min``; None = no reading."""
    out = []
    steps = int((until_min - start_min) * 60 / every_s)
    for i in range(steps + 1):
        t_min = start_min + i * every_s / 60
        value = value_at(t_min)
        if value is not None:
            out.append(Reading(device, metric, value, unit, minutes(t_min)))
    return out


def run(file: str, events: Iterable[Event], asset_of: dict[str, str] | None = None) -> list[Alert]:
    engine = RuleEngine(load_rules(LIBRARY / file), asset_of=(asset_of or {}).get)
    return list(replay(engine, sorted(events, key=lambda e: e.ts)))


def summary(alerts: list[Alert]) -> list[tuple[str, str, str]]:
    return [(a.rule, a.asset, a.state.value) for a in alerts]


def test_every_library_file_is_valid_and_has_a_test_below() -> None:
    files = sorted(p.name for p in LIBRARY.glob("*.yaml"))
    assert files == sorted(TESTED)
    for name in files:
        assert load_rules(LIBRARY / name).rules


TESTED = {
    "server-room-overtemp.yaml",
    "cooling-failure.yaml",
    "cold-room-door.yaml",
    "water-leak.yaml",
    "sensor-health.yaml",
    "stuck-sensor.yaml",
    "night-energy.yaml",
    "filter-clog.yaml",
    "pump-dry-running.yaml",
    "ahu-g36.yaml",  # tested in test_rules_g36.py
}


def test_server_room_over_temperature_and_fast_rise() -> None:
    def failing_room(t: float) -> float:
        if t < 30:
            return 22.0
        if t < 60:  # cooling lost: +0.4 degC per minute
            return min(34.0, 22.0 + 0.4 * (t - 30))
        return max(22.0, 34.0 - 1.0 * (t - 60))  # repaired

    events = sampled("srv-1", "temperature", "degC", failing_room, until_min=120)
    events += sampled("srv-2", "temperature", "degC", lambda t: 24 + math.sin(t), until_min=120)
    alerts = run("server-room-overtemp.yaml", events)
    assert summary(alerts) == [
        ("server-room-heating-fast", "srv-1", "firing"),
        ("server-room-over-temperature", "srv-1", "firing"),
        ("server-room-heating-fast", "srv-1", "resolved"),
        ("server-room-over-temperature", "srv-1", "resolved"),
    ]
    fast, over = alerts[0], alerts[1]
    assert fast.ts == minutes(38)  # 0.4 degC/min: 3.2 degC above the window's minimum
    assert over.ts == minutes(48)  # above 27 from 42.75 min, held for 5 minutes
    assert over.severity.value == "critical"


def test_ahu_and_chiller_cooling_failures() -> None:
    assets = {"ahu-1": "AHU-1", "ahu-2": "AHU-2", "chiller-1": "CH-1", "chiller-2": "CH-2"}
    events: list[Event] = []
    # AHU-1 loses cooling at 20 min: supply air drifts to 20 degC; AHU-2 is healthy
    events += sampled("ahu-1", "fan", "bool", lambda t: 1.0, until_min=60)
    events += sampled(
        "ahu-1",
        "supply_temperature",
        "degC",
        lambda t: 13.0 if t < 20 else min(20.0, 13 + 0.7 * (t - 20)),
        until_min=60,
    )
    events += sampled("ahu-2", "fan", "bool", lambda t: 1.0, until_min=60)
    events += sampled("ahu-2", "supply_temperature", "degC", lambda t: 13.2, until_min=60)
    # CH-1: compressor trips at 10 min, loop warms; CH-2: compressor runs but cannot cool
    events += sampled("chiller-1", "state", "bool", lambda t: 1.0 if t < 10 else 0.0, until_min=60)
    events += sampled(
        "chiller-1",
        "supply_temperature",
        "degC",
        lambda t: 6.7 if t < 10 else min(16.0, 6.7 + 0.5 * (t - 10)),
        until_min=60,
    )
    events += sampled("chiller-2", "state", "bool", lambda t: 1.0, until_min=60)
    events += sampled("chiller-2", "supply_temperature", "degC", lambda t: 12.0, until_min=60)
    alerts = run("cooling-failure.yaml", events, assets)
    assert sorted(summary(alerts)) == sorted(
        [
            ("ahu-cooling-failure", "AHU-1", "firing"),
            ("chiller-supply-too-warm", "CH-1", "firing"),
            ("chiller-supply-too-warm", "CH-2", "firing"),
            ("chiller-running-but-not-cooling", "CH-2", "firing"),
        ]
    )
    ahu = next(a for a in alerts if a.rule == "ahu-cooling-failure")
    assert ahu.ts == minutes(35)  # above 16 degC from 25 min (13 + 0.7 * 5), for 10 min
    assert "fan running but supply air" in ahu.message


def test_cold_room_door_left_open() -> None:
    def door(t: float) -> float:
        if 10 <= t < 15:  # a delivery: open five minutes, fine
            return 0.0
        if 30 <= t < 50:  # left open for twenty minutes
            return 0.0
        return 1.0

    events = sampled("door-cold-1", "contact", "bool", door, until_min=70)
    alerts = run("cold-room-door.yaml", events, {"door-cold-1": "COLD-1"})
    assert [(a.state.value, a.ts) for a in alerts] == [
        ("firing", minutes(40)),
        ("resolved", minutes(50)),
    ]
    assert alerts[0].asset == "COLD-1"


def test_water_leak_is_critical_at_once() -> None:
    events = sampled(
        "leak-1", "water_leak", "bool", lambda t: 1.0 if 5 <= t < 8 else 0.0, until_min=20
    )
    events += sampled("leak-2", "water_leak", "bool", lambda t: 0.0, until_min=20)
    alerts = run("water-leak.yaml", events)
    assert [(a.device, a.state.value, a.ts, a.severity.value) for a in alerts] == [
        ("leak-1", "firing", minutes(5), "critical"),
        ("leak-1", "resolved", minutes(8), "critical"),
    ]


def test_sensor_health_tells_disconnect_heartbeat_and_stale_apart() -> None:
    events: list[Event] = []
    # room-a: last will at 20 min; room-b: silent from 20 min; room-c: temperature stops at 20
    for device in ("room-a", "room-b", "room-c", "room-d"):
        events += sampled(
            device,
            "humidity",
            "%",
            lambda t: 40.0,
            until_min=20 if device in ("room-a", "room-b") else 90,
        )
        events += sampled(
            device,
            "temperature",
            "degC",
            lambda t: 21.0,
            until_min=20 if device != "room-d" else 90,
        )
    events.append(Presence("room-a", online=False, ts=minutes(20.5)))
    alerts = run("sensor-health.yaml", events)
    assert sorted((a.rule, a.device, a.state.value) for a in alerts) == [
        ("sensor-disconnected", "room-a", "firing"),
        ("sensor-offline", "room-a", "firing"),  # silence is its own condition
        ("sensor-offline", "room-b", "firing"),
        ("temperature-point-stale", "room-c", "firing"),
    ]
    stale = next(a for a in alerts if a.rule == "temperature-point-stale")
    # replay ticks every 10 s of simulated time: due 30 (15) minutes after the last value
    assert stale.ts == minutes(50) + timedelta(seconds=10)
    assert "stale for 30m10s" in stale.message
    offline_b = next(a for a in alerts if a.device == "room-b")
    assert offline_b.ts == minutes(35) + timedelta(seconds=10)


def test_stuck_temperature_sensor() -> None:
    rng = random.Random(7)
    events = sampled(
        "room-1",
        "temperature",
        "degC",
        lambda t: round(21 + rng.gauss(0, 0.05), 2),
        until_min=240,
        every_s=300,
    )
    events += sampled(
        "room-2",
        "temperature",
        "degC",
        lambda t: 21.3 if t >= 30 else 21 + t / 100,
        until_min=240,
        every_s=300,
    )
    alerts = run("stuck-sensor.yaml", events)
    assert [(a.device, a.state.value, a.ts) for a in alerts] == [
        ("room-2", "firing", minutes(150)),
    ]


def test_night_energy_above_baseline_only_out_of_hours_after_learning() -> None:
    rng = random.Random(3)
    berlin_offset = 1  # CET in March before the switch

    def power(t: float, extra: Callable[[datetime], float]) -> float:
        ts = minutes(t)
        local_hour = (ts.hour + berlin_offset) % 24
        working = ts.weekday() < 5 and 7 <= local_hour < 19
        return (8000.0 if working else 1500.0) + rng.gauss(0, 60) + extra(ts)

    week = 7 * 24 * 60
    learn = sampled(
        "meter-main",
        "power",
        "W",
        lambda t: power(t, lambda ts: 0.0),
        until_min=3 * week,
        every_s=900,
    )
    day4 = 3 * week + 3 * 24 * 60  # Thursday of the fourth week, 00:00 UTC

    def faulty(ts: datetime) -> float:
        local_hour = (ts.hour + berlin_offset) % 24
        if ts.day == minutes(day4).day and local_hour in (1, 2, 3):
            return 2500.0  # something left running at night
        if ts.day == minutes(day4).day and local_hour in (10, 11):
            return 2500.0  # the same extra load by day is not judged
        return 0.0

    week4 = sampled(
        "meter-main",
        "power",
        "W",
        lambda t: power(t, faulty),
        start_min=3 * week + 15,
        until_min=3 * week + 4 * 24 * 60,
        every_s=900,
    )
    alerts = run("night-energy.yaml", learn + week4, {"meter-main": "MAIN"})
    assert [(a.state.value, a.ts) for a in alerts] == [
        ("firing", minutes(day4 + 60)),  # the 01:00 local hour closes at 01:00 UTC
        ("resolved", minutes(day4 + 240)),  # 03:00 UTC (04:00 local) is normal again
    ]
    assert alerts[0].value is not None and alerts[0].value > 3500


def test_filter_clog_after_an_hour_above_the_limit() -> None:
    def dp(t: float) -> float:
        if t < 600:
            return 120 + 0.3 * t  # loading: 250 Pa at about 433 min
        return 110.0  # replaced

    events = sampled("ahu-1", "filter_pressure_drop", "Pa", dp, until_min=700, every_s=600)
    alerts = run("filter-clog.yaml", events)
    assert [(a.state.value, a.ts) for a in alerts] == [
        ("firing", minutes(500)),  # first reading above 250 is at 440 min; +60 min
        ("resolved", minutes(600)),
    ]


def test_pump_running_dry_but_not_on_a_short_glitch() -> None:
    def dry(t: float) -> bool:
        return 10 <= t < 11 or 30 <= t < 40  # a one-minute glitch, then ten minutes dry

    every = 15.0
    events = sampled("pump-1", "state", "bool", lambda t: 1.0, until_min=60, every_s=every)
    events += sampled(
        "pump-1", "power", "W", lambda t: 600.0 if dry(t) else 1350.0, until_min=60, every_s=every
    )
    events += sampled(
        "pump-1",
        "pressure",
        "Pa",
        lambda t: 15000.0 if dry(t) else 150000.0,
        until_min=60,
        every_s=every,
    )
    alerts = run("pump-dry-running.yaml", events, {"pump-1": "P-1"})
    assert [(a.asset, a.state.value, a.ts) for a in alerts] == [
        ("P-1", "firing", minutes(32)),
        ("P-1", "resolved", minutes(40)),
    ]
    assert "running dry" in alerts[0].message


@pytest.mark.parametrize("name", sorted(TESTED))
def test_library_rules_stay_quiet_on_an_empty_recording(name: str) -> None:
    assert run(name, []) == []
