"""A scenario's faults produce the readings its rules detect, replayed through codecs and engine."""

from __future__ import annotations

from datetime import timedelta

import pytest

from facility.core.types import AlertState
from rules.loader import load_rules
from rules.model import RuleFile
from simulators.replay import replay
from simulators.runner import Simulator
from simulators.scenario import SCENARIO_DIR, Scenario, load_scenario

PLANT_RULES = SCENARIO_DIR / "rules" / "plant.yaml"
REPO = SCENARIO_DIR.parent.parent


def plant_rules() -> RuleFile:
    return load_rules(PLANT_RULES)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_plant_faults_fire_exactly_the_expected_alerts(seed: int) -> None:
    plant = load_scenario("plant")
    result = replay(Simulator(plant, seed=seed), plant_rules(), steps=240)
    assert result.firing() == {(e.rule, e.asset) for e in plant.expect}


def test_no_alert_fires_before_its_fault_starts() -> None:
    plant = load_scenario("plant")
    simulator = Simulator(plant, seed=1)
    result = replay(simulator, plant_rules(), steps=240)
    started = {f.device: simulator.start + f.at for f in plant.faults}
    for alert in result.alerts:
        if alert.state is AlertState.FIRING:
            assert alert.ts >= started[alert.device], alert


def test_threshold_alerts_wait_for_their_for_duration() -> None:
    plant = load_scenario("plant")
    simulator = Simulator(plant, seed=1)
    alerts = {a.rule: a for a in replay(simulator, plant_rules(), steps=240).alerts}
    ahu_fault = simulator.start + timedelta(minutes=30)
    assert alerts["ahu-supply-air-too-warm"].ts - ahu_fault >= timedelta(minutes=10)


def test_without_faults_the_plant_raises_nothing() -> None:
    plant = load_scenario("plant")
    healthy = plant.model_copy(update={"faults": []})
    assert replay(Simulator(healthy, seed=1), plant_rules(), steps=240).alerts == []


def test_zigbee2mqtt_output_raises_the_same_alerts_as_native() -> None:
    plant = load_scenario("plant")
    native = replay(Simulator(plant, seed=5), plant_rules(), steps=240)
    zigbee = replay(Simulator(plant, seed=5, fmt="zigbee2mqtt"), plant_rules(), steps=240)
    assert zigbee.firing() == native.firing()


def test_office_cooling_failure_is_caught_by_the_production_office_rule() -> None:
    office = load_scenario("office")
    rules = load_rules(REPO / "rules" / "examples" / "office.yaml")
    result = replay(Simulator(office, seed=1), rules, steps=60 * 30)  # an hour at 2 s
    assert ("ahu-supply-air-too-warm", "AHU-1") in result.firing()
    assert all(a.rule != "room-too-cold" for a in result.alerts)


def test_night_energy_leak_is_caught_by_the_library_baseline_rule_after_it_learns() -> None:
    meter = Scenario.model_validate(
        {
            "name": "meter",
            "start": "2026-02-02T00:00:00Z",  # a Monday
            "interval": "15m",
            "devices": [{"id": "meter-main", "model": "energy_meter", "asset": "MAIN-METER"}],
            "faults": [{"device": "meter-main", "kind": "energy_leak", "at": "15d"}],
        }
    )
    rules = load_rules(REPO / "rules" / "library" / "night-energy.yaml")
    three_weeks = 21 * 24 * 4
    simulator = Simulator(meter, seed=2)
    leaking = replay(simulator, rules, steps=three_weeks)
    assert leaking.firing() == {("night-energy-above-baseline", "MAIN-METER")}
    first = min(a.ts for a in leaking.alerts if a.state is AlertState.FIRING)
    assert first >= simulator.start + timedelta(days=15)
    healthy = meter.model_copy(update={"faults": []})
    assert replay(Simulator(healthy, seed=2), rules, steps=three_weeks).alerts == []
