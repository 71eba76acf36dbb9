"""The G36 AHU library (rules/library/ahu-g36.yaml) replayed through the real RuleEngine.

Hand-made traces put each fault condition's equation just past its tolerance; simulated days
(simulators.devices.ScheduledAirHandler, one-minute data) show the faults the simulator can
inject being found and healthy days, with fan start-ups and operating-state changes, staying
quiet. An asset without a rule's points is skipped by that rule.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from facility.core.types import Alert, Reading
from rules import RuleEngine, RuleFile, load_rules
from rules.points import AHU_POINTS
from simulators.devices import ScheduledAirHandler
from simulators.traces import trace

LIBRARY = load_rules(Path(__file__).resolve().parents[2] / "rules" / "library" / "ahu-g36.yaml")
T0 = datetime(2026, 3, 3, 6, 0, tzinfo=UTC)  # a Tuesday
DAY = datetime(2026, 3, 3, 0, 0, tzinfo=UTC)

HEALTHY: dict[str, dict[str, float]] = {
    # consistent values per operating state that no fault condition objects to
    "OS1": {"outdoor_air_temperature": 0.0, "return_air_temperature": 21.0,
            "mixed_air_temperature": 16.8, "supply_air_temperature": 18.0,
            "supply_air_temperature_setpoint": 18.0, "heating_valve": 20.0,
            "cooling_valve": 0.0, "outdoor_air_damper": 20.0,
            "heating_coil_leaving_air_temperature": 18.0,
            "cooling_coil_leaving_air_temperature": 18.0},
    "OS2": {"outdoor_air_temperature": 12.0, "return_air_temperature": 22.0,
            "mixed_air_temperature": 12.2, "supply_air_temperature": 13.0,
            "supply_air_temperature_setpoint": 13.0, "heating_valve": 0.0,
            "cooling_valve": 0.0, "outdoor_air_damper": 90.0,
            "heating_coil_leaving_air_temperature": 13.0,
            "cooling_coil_leaving_air_temperature": 13.0},
    "OS3": {"outdoor_air_temperature": 18.0, "return_air_temperature": 22.0,
            "mixed_air_temperature": 18.1, "supply_air_temperature": 13.0,
            "supply_air_temperature_setpoint": 13.0, "heating_valve": 0.0,
            "cooling_valve": 40.0, "outdoor_air_damper": 100.0,
            "heating_coil_leaving_air_temperature": 18.9,
            "cooling_coil_leaving_air_temperature": 13.0},
    "OS4": {"outdoor_air_temperature": 30.0, "return_air_temperature": 23.0,
            "mixed_air_temperature": 24.4, "supply_air_temperature": 13.0,
            "supply_air_temperature_setpoint": 13.0, "heating_valve": 0.0,
            "cooling_valve": 70.0, "outdoor_air_damper": 20.0,
            "heating_coil_leaving_air_temperature": 25.2,
            "cooling_coil_leaving_air_temperature": 13.0},
}  # fmt: skip
FAN = {
    "supply_fan_status": 1.0,
    "supply_fan_speed": 80.0,
    "duct_static_pressure": 250.0,
    "duct_static_pressure_setpoint": 250.0,
    "supply_airflow": 8000.0,
    "minimum_outdoor_airflow_setpoint": 1600.0,  # 20 % of the airflow, as the damper's minimum
}

#: rule -> (operating state, values that break exactly that rule's equation)
FAULTS: dict[str, tuple[str, dict[str, float]]] = {
    "ahu-g36-fc1-duct-static-low": ("OS2", {"duct_static_pressure": 150.0,
                                            "supply_fan_speed": 100.0}),
    "ahu-g36-fc2-mixed-air-too-low": ("OS2", {"mixed_air_temperature": 5.0,
                                              "supply_air_temperature": 6.0,
                                              "heating_coil_leaving_air_temperature": 5.8,
                                              "cooling_coil_leaving_air_temperature": 6.0}),
    "ahu-g36-fc3-mixed-air-too-high": ("OS2", {"mixed_air_temperature": 28.0,
                                               "supply_air_temperature": 29.0}),
    # FC4's trace alternates between OS1 and OS2 every 4 min (see faulty_trace)
    "ahu-g36-fc4-too-many-state-changes": ("OS1", {}),
    "ahu-g36-fc5-supply-below-mixed-in-heating": ("OS1", {"supply_air_temperature": 13.0}),
    # 70 % outdoor air by the temperatures at minimum position, 20 % by the airflows
    "ahu-g36-fc6-outdoor-air-fraction-off-minimum": ("OS4", {"mixed_air_temperature": 27.9}),
    "ahu-g36-fc7-supply-low-full-heating": ("OS1", {"heating_valve": 100.0,
                                                    "supply_air_temperature": 16.5,
                                                    "mixed_air_temperature": 14.0}),
    "ahu-g36-fc8-supply-mixed-differ-free-cooling": ("OS2", {"supply_air_temperature": 17.5}),
    "ahu-g36-fc9-outdoor-too-warm-for-free-cooling": ("OS2", {"outdoor_air_temperature": 16.0,
                                                              "mixed_air_temperature": 14.0,
                                                              "supply_air_temperature": 15.0}),
    "ahu-g36-fc10-mixed-outdoor-differ-full-economizer": ("OS3", {"mixed_air_temperature": 22.0}),
    "ahu-g36-fc11-outdoor-too-cold-for-full-economizer": ("OS3", {"outdoor_air_temperature": 7.0,
                                                                  "mixed_air_temperature": 7.5,
                                                                  "supply_air_temperature": 8.5,
                                                                  # coil: mixed air + fan heat
                                                                  "heating_coil_leaving_"
                                                                  "air_temperature": 8.3}),
    "ahu-g36-fc12-supply-above-mixed-in-cooling": ("OS4", {"supply_air_temperature": 29.5}),
    "ahu-g36-fc13-supply-high-full-cooling": ("OS4", {"cooling_valve": 100.0,
                                                      "supply_air_temperature": 15.0}),
    "ahu-g36-fc14-cooling-coil-drop-when-inactive": (
        "OS1", {"cooling_coil_leaving_air_temperature": 14.0}),
    "ahu-g36-fc15-heating-coil-rise-when-inactive": (
        "OS4", {"heating_coil_leaving_air_temperature": 29.0}),
    "ahu-simultaneous-heating-cooling": ("OS4", {"heating_valve": 30.0}),
}  # fmt: skip


def minute_rows(minutes: range, values: dict[str, float], device: str = "ahu-1") -> list[Reading]:
    return [
        Reading(device, metric, value, AHU_POINTS[metric], T0 + timedelta(minutes=m))
        for m in minutes
        for metric, value in values.items()
    ]


def fan_off(values: dict[str, float]) -> dict[str, float]:
    return {**values, "supply_fan_status": 0.0, "supply_fan_speed": 0.0}


def replay(readings: list[Reading], rules: RuleFile = LIBRARY) -> list[Alert]:
    engine = RuleEngine(rules)
    alerts: list[Alert] = []
    for reading in readings:
        alerts += engine.process([reading])
    return alerts


def fired(alerts: list[Alert]) -> set[str]:
    return {a.rule for a in alerts if a.state.value == "firing"}


def faulty_trace(rule: str, drop: str | None = None) -> list[Reading]:
    """Fan off for 10 min, then on for 2 h with the fault's values (``drop``: a point less)."""
    state, broken = FAULTS[rule]
    values = {**HEALTHY[state], **FAN, **broken}
    if drop is not None:
        values.pop(drop)
    if rule == "ahu-g36-fc4-too-many-state-changes":  # a hunting loop: OS1 <-> OS2 every 4 min
        other = {**HEALTHY["OS2"], **FAN}
        if drop is not None:
            other.pop(drop)
        rows = minute_rows(range(10), fan_off(values))
        for start in range(10, 130, 4):
            rows += minute_rows(range(start, start + 4), values if start % 8 == 2 else other)
        return rows
    return minute_rows(range(10), fan_off(values)) + minute_rows(range(10, 130), values)


def test_every_shipped_rule_has_a_fault_trace_here() -> None:
    assert {rule.name for rule in LIBRARY.rules} == set(FAULTS)


@pytest.mark.parametrize("rule", sorted(FAULTS))
def test_each_fault_condition_fires_on_its_fault_and_only_it(rule: str) -> None:
    alerts = replay(faulty_trace(rule))
    assert fired(alerts) == {rule}
    (first,) = [a for a in alerts if a.state.value == "firing"]
    # fan on at 06:10: 15 min start-up delay (and 30 min mode delay where states are set),
    # then the condition must hold 15 min (30 min for the simultaneous heating/cooling rule)
    assert first.ts >= T0 + timedelta(minutes=40)
    assert "{" not in first.message  # every field of the message template was filled


def needed_points(rule: str) -> list[str]:
    found = next(r for r in LIBRARY.rules if r.name == rule)
    return sorted(set(found.metrics()) - {"supply_fan_status"})


@pytest.mark.parametrize(
    ("rule", "point"), [(rule, point) for rule in sorted(FAULTS) for point in needed_points(rule)]
)
def test_a_fault_condition_whose_points_the_asset_lacks_is_skipped(rule: str, point: str) -> None:
    assert replay(faulty_trace(rule, drop=point)) == []


def test_healthy_hand_made_trace_with_fan_start_and_mode_changes_stays_quiet() -> None:
    readings: list[Reading] = []
    # fan off, then a start-up with a warm plenum (mixed and supply air not settled) ...
    readings += minute_rows(range(10), fan_off({**HEALTHY["OS1"], **FAN}))
    start_up = {**HEALTHY["OS1"], **FAN, "mixed_air_temperature": 27.0,
                "supply_air_temperature": 12.0, "duct_static_pressure": 60.0,
                "supply_fan_speed": 100.0}  # fmt: skip
    readings += minute_rows(range(10, 22), start_up)
    readings += minute_rows(range(22, 60), {**HEALTHY["OS1"], **FAN})
    # ... a change to free cooling whose supply air lags behind for 20 min ...
    lagging = {**HEALTHY["OS2"], **FAN, "supply_air_temperature": 17.5}
    readings += minute_rows(range(60, 80), lagging)
    readings += minute_rows(range(80, 120), {**HEALTHY["OS2"], **FAN})
    # ... then mechanical cooling at 100 % OA, and at minimum OA, each with a settling lag
    lag = {**HEALTHY["OS3"], **FAN, "mixed_air_temperature": 21.5}  # damper still opening
    readings += minute_rows(range(120, 145), lag)
    readings += minute_rows(range(145, 180), {**HEALTHY["OS3"], **FAN})
    settling = {**HEALTHY["OS4"], **FAN, "supply_air_temperature": 19.0, "cooling_valve": 100.0}
    readings += minute_rows(range(180, 205), settling)
    readings += minute_rows(range(205, 260), {**HEALTHY["OS4"], **FAN})
    readings.sort(key=lambda r: r.ts)
    assert replay(readings) == []


def simulated_day(shift: float, faults: tuple[tuple[str, float, float | None], ...] = (),
                  seed: int = 1) -> list[Reading]:  # fmt: skip
    model = ScheduledAirHandler(outdoor_shift=shift)
    points = frozenset(AHU_POINTS)
    return list(trace(model, device="ahu-1", start=DAY, hours=24, seed=seed, faults=faults,
                      metrics=points))  # fmt: skip


@pytest.mark.parametrize("shift", [-15.0, 0.0, 10.0], ids=["cold", "mild", "hot"])
def test_simulated_healthy_days_with_start_ups_and_state_changes_raise_nothing(
    shift: float,
) -> None:
    assert replay(simulated_day(shift)) == []


@pytest.mark.parametrize(
    ("fault", "shift", "expected"),
    [
        ("fan_capacity_loss", 0.0, "ahu-g36-fc1-duct-static-low"),
        ("oa_damper_stuck", 0.0, "ahu-g36-fc10-mixed-outdoor-differ-full-economizer"),
        ("cooling_valve_stuck", 10.0, "ahu-g36-fc13-supply-high-full-cooling"),
        ("sat_sensor_bias", -15.0, "ahu-g36-fc8-supply-mixed-differ-free-cooling"),
        ("heating_valve_leak", -15.0, "ahu-g36-fc8-supply-mixed-differ-free-cooling"),
        ("mat_sensor_bias", 0.0, "ahu-g36-fc10-mixed-outdoor-differ-full-economizer"),
        ("simultaneous_heating_cooling", 10.0, "ahu-simultaneous-heating-cooling"),
        ("hunting", 0.0, "ahu-g36-fc4-too-many-state-changes"),
        ("oa_damper_slipped", -15.0, "ahu-g36-fc6-outdoor-air-fraction-off-minimum"),
        ("cooling_valve_leak", -15.0, "ahu-g36-fc14-cooling-coil-drop-when-inactive"),
        ("heating_valve_leak", 10.0, "ahu-g36-fc15-heating-coil-rise-when-inactive"),
    ],
)
def test_simulated_faults_are_found_by_the_condition_g36_expects(
    fault: str, shift: float, expected: str
) -> None:
    alerts = replay(simulated_day(shift, faults=((fault, 0.0, None),)))
    assert expected in fired(alerts)
    first = min(a.ts for a in alerts if a.rule == expected)
    assert first >= DAY.replace(hour=7, minute=30)  # fan on at 07:00, then delay and 'for'


def test_the_older_air_handler_scenarios_still_see_their_points() -> None:
    from simulators.devices import AirHandler

    values = list(trace(AirHandler(), device="ahu-1", start=T0, hours=0.1))
    names = {r.metric for r in values}
    assert {"supply_temperature", "return_temperature", "fan", "filter_pressure_drop"} <= names
    assert set(AHU_POINTS) <= names


def test_the_simulator_says_when_a_fault_acts_and_reports_the_coil_and_airflow_points() -> None:
    """``effective``: the benchmark's notion of a minute on which a fault could be seen."""

    def acting(fault: str | None, shift: float) -> int:
        model = ScheduledAirHandler(outdoor_shift=shift)
        faults = () if fault is None else ((fault, 0.0, None),)
        count, last = 0, None
        for reading in trace(model, device="ahu-1", start=DAY, hours=24, seed=2, faults=faults):
            if reading.ts != last:
                last = reading.ts
                count += model.effective
        return count

    assert acting(None, -15.0) == 0
    assert acting("cooling_valve_leak", -15.0) > 600  # the whole occupied day, fan on
    assert acting("cooling_valve_leak", 10.0) < acting("cooling_valve_leak", -15.0)
    assert acting("sat_sensor_bias", 0.0) == 12 * 60  # every minute the fan runs, 07:00-19:00
    values = {r.metric: r.value for r in trace(ScheduledAirHandler(), device="a", start=T0,
                                                hours=6, seed=1)}  # fmt: skip
    assert values["supply_airflow"] > 5000
    assert values["minimum_outdoor_airflow_setpoint"] == pytest.approx(1581, abs=1)
    assert (
        abs(values["cooling_coil_leaving_air_temperature"] - values["supply_air_temperature"]) < 2
    )
