"""Energy against a learned baseline: hour of week, median/MAD, quiet while learning."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from facility.core.types import Alert, Reading
from rules import RuleEngine, parse_rules

START = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)  # Monday 00:00

RULE = parse_rules(
    """
rules:
  - name: night-power
    kind: baseline
    select: {metric: power}
    aggregate: mean
    sensitivity: 4
    min_deviation: 200
    learning: 14d
"""
)


def usual_power(ts: datetime, rng: random.Random) -> float:
    """Office load: 3 kW on weekday working hours, 600 W otherwise, with noise."""
    working = ts.weekday() < 5 and 8 <= ts.hour < 18
    return (3000.0 if working else 600.0) + rng.gauss(0, 40)


def feed(
    engine: RuleEngine,
    hours: int,
    *,
    start_h: int = 0,
    extra: float = 0.0,
    extra_hours: range = range(0),
) -> list[Alert]:
    rng = random.Random(start_h)
    alerts: list[Alert] = []
    for hour in range(start_h, start_h + hours):
        for quarter in range(4):
            ts = START + timedelta(hours=hour, minutes=15 * quarter)
            value = usual_power(ts, rng) + (extra if hour in extra_hours else 0.0)
            alerts += engine.process([Reading("meter-1", "power", value, "W", ts)])
    return alerts


def test_baseline_is_quiet_during_learning_even_on_a_huge_spike() -> None:
    engine = RuleEngine(RULE)
    spike = range(7 * 24 + 2, 7 * 24 + 5)  # second Monday 02:00-05:00, inside learning
    assert feed(engine, 14 * 24, extra=50_000, extra_hours=spike) == []


def test_night_time_load_above_the_learned_baseline_fires_and_resolves() -> None:
    engine = RuleEngine(RULE)
    assert feed(engine, 21 * 24) == []  # three normal weeks: nothing
    week4 = 21 * 24
    night = range(week4 + 1, week4 + 4)  # Monday 01:00-04:00 of week four: +1.5 kW
    alerts = feed(engine, 12, start_h=week4, extra=1500, extra_hours=night)
    assert [(a.rule, a.state.value) for a in alerts] == [
        ("night-power", "firing"),
        ("night-power", "resolved"),
    ]
    firing, resolved = alerts
    assert firing.ts == START + timedelta(hours=week4 + 2)  # judged when the 01:00 hour closes
    assert firing.value is not None and firing.value > 1900
    assert "vs usual" in firing.message
    assert resolved.ts == START + timedelta(hours=week4 + 5)


def test_working_hours_load_is_not_an_anomaly_because_the_slot_learned_it() -> None:
    engine = RuleEngine(RULE)
    feed(engine, 15 * 24)
    assert feed(engine, 24, start_h=15 * 24) == []  # a normal Tuesday incl. 3 kW daytime


def test_cumulative_energy_counter_is_judged_by_its_hourly_increase() -> None:
    rule = parse_rules(
        """
rules:
  - name: energy
    kind: baseline
    select: {metric: energy}
    aggregate: increase
    min_deviation: 0.5
    learning: 7d
"""
    )
    engine = RuleEngine(rule)
    counter = 1000.0
    alerts: list[Alert] = []
    for hour in range(15 * 24):
        per_hour = 1.0 if hour != 14 * 24 + 3 else 4.0  # one hour uses 4 kWh
        for quarter in range(4):
            counter += per_hour / 4
            ts = START + timedelta(hours=hour, minutes=15 * quarter)
            alerts += engine.process([Reading("m", "energy", counter, "kWh", ts)])
    assert [a.state.value for a in alerts] == ["firing", "resolved"]
    assert alerts[0].value is not None and abs(alerts[0].value - 4.0) < 1e-6


def test_counter_reset_is_not_reported_as_a_drop_or_a_spike() -> None:
    rule = parse_rules(
        "rules:\n  - {name: e, kind: baseline, select: {metric: energy}, aggregate: increase,"
        " learning: 7d, min_deviation: 5, direction: above}\n"
        "  - {name: e-low, kind: baseline, select: {metric: energy}, aggregate: increase,"
        " learning: 7d, min_deviation: 5, direction: below}\n"
    )
    engine = RuleEngine(rule)
    counter = 5000.0
    alerts: list[Alert] = []
    for quarter in range(4 * 24 * 16):
        counter = 0.0 if quarter == 4 * 24 * 15 + 9 else counter + 2.5  # meter replaced
        ts = START + timedelta(minutes=15 * quarter)
        alerts += engine.process([Reading("m", "energy", counter, "kWh", ts)])
    assert alerts == []
