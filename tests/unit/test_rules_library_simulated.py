"""Library rules on recordings made by the simulators: faults injected into device physics.

The simulators publish real payloads; they are decoded by the gateway codecs and replayed
through the live engine on simulated time (``simulators.replay``), so these tests exercise the
same path as ``facility simulate | facility gateway decode | facility rules replay``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from rules import RuleFile, load_rules
from simulators.replay import replay
from simulators.runner import Simulator
from simulators.scenario import Scenario

LIBRARY = Path(__file__).resolve().parents[2] / "rules" / "library"
START = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)  # a Tuesday morning


def library(*names: str) -> RuleFile:
    files = [load_rules(LIBRARY / name) for name in names]
    return RuleFile(rules=[rule for f in files for rule in f.rules])


def scenario(
    devices: list[dict[str, str]], faults: list[dict[str, object]], interval: str
) -> Scenario:
    return Scenario.model_validate(
        {"name": "library", "interval": interval, "devices": devices, "faults": faults}
    )


def test_simulated_plant_faults_raise_exactly_the_library_alerts() -> None:
    plant = scenario(
        devices=[
            {"id": "ahu-1", "model": "air_handler", "asset": "AHU-1"},
            {"id": "ahu-2", "model": "air_handler", "asset": "AHU-2"},
            {"id": "pump-1", "model": "pump", "asset": "P-1"},
            {"id": "pump-2", "model": "pump", "asset": "P-2"},
            {"id": "leak-1", "model": "water_leak", "asset": "PLANT-ROOM"},
            {"id": "door-1", "model": "door_contact", "asset": "COLD-1"},
        ],
        faults=[
            {"device": "ahu-1", "kind": "cooling_failure", "at": "5m"},
            {"device": "pump-1", "kind": "dry_running", "at": "10m"},
            {"device": "leak-1", "kind": "leak", "at": "20m"},
            {"device": "door-1", "kind": "held_open", "at": "15m"},
        ],
        interval="30s",
    )
    rules = library(
        "cooling-failure.yaml", "pump-dry-running.yaml", "water-leak.yaml", "cold-room-door.yaml"
    )
    result = replay(Simulator(plant, seed=11, start=START), rules, steps=120)  # one hour
    assert result.readings > 0
    firing = result.firing()
    assert firing == {
        ("ahu-cooling-failure", "AHU-1"),
        ("pump-running-dry", "P-1"),
        ("water-leak", "PLANT-ROOM"),
        ("cold-room-door-left-open", "COLD-1"),
    }
    assert len([a for a in result.alerts if a.state.value == "firing"]) == len(firing)


def test_simulated_slow_faults_clogged_filter_and_frozen_sensor() -> None:
    site = scenario(
        devices=[
            {"id": "ahu-3", "model": "air_handler", "asset": "AHU-3"},
            {"id": "ahu-4", "model": "air_handler", "asset": "AHU-4"},
            {"id": "room-1", "model": "room_sensor", "asset": "R-1"},
            {"id": "room-2", "model": "room_sensor", "asset": "R-2"},
        ],
        faults=[
            {"device": "ahu-3", "kind": "filter_clog", "at": "30m"},
            {"device": "room-1", "kind": "stuck", "at": "1h"},
        ],
        interval="5m",
    )
    rules = library("filter-clog.yaml", "stuck-sensor.yaml")
    result = replay(Simulator(site, seed=3, start=START), rules, steps=12 * 8)  # eight hours
    assert result.firing() == {
        ("ahu-filter-clogged", "AHU-3"),
        ("stuck-temperature-sensor", "R-1"),
    }
    stuck = next(a for a in result.alerts if a.rule == "stuck-temperature-sensor")
    assert stuck.ts >= START.replace(hour=13)  # frozen at 11:00, for two hours
