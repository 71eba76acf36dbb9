"""Scenario files: from the small office to a generated 10,000-device campus; bad ones refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from facility.core.errors import ConfigError
from simulators.command import limit_devices
from simulators.runner import Simulator
from simulators.scenario import SCENARIO_DIR, Scenario, load_scenario


def write(tmp_path: Path, data: Any) -> str:
    path = tmp_path / "scenario.yaml"
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data), encoding="utf-8")
    return str(path)


ROOM = {"id": "room-1", "model": "room_sensor", "asset": "R1"}


def test_campus_is_ten_thousand_unique_devices_from_a_compact_file() -> None:
    campus = load_scenario("campus")
    assert len(campus.devices) == 10_000
    assert len({d.id for d in campus.devices}) == 10_000
    assert (SCENARIO_DIR / "campus.yaml").stat().st_size < 3000
    ahu = next(d for d in campus.devices if d.id == "ahu-b01-1")
    assert (ahu.asset, ahu.building, ahu.floor) == ("AHU-B01-1", "b01", None)
    room = next(d for d in campus.devices if d.id == "room-b20-f10-z4-6")
    assert (room.asset, room.floor, room.zone) == ("B20-F10-Z4", "f10", "z4")


def test_office_keeps_the_demo_fault_within_the_first_minute() -> None:
    office = load_scenario("office")
    (fault,) = office.faults
    assert (fault.device, fault.kind) == ("ahu-1", "cooling_failure")
    assert fault.at.total_seconds() <= 10


def test_glob_faults_with_a_rate_strike_some_devices_and_not_others() -> None:
    scenario = Scenario.model_validate(
        {
            "name": "rooms",
            "interval": "60s",
            "generate": {"buildings": 1, "zones": 50, "per_zone": {"room_sensor": 2}},
            "faults": [{"device": "room-*", "kind": "stuck", "rate": 24}],  # ~once an hour
        }
    )
    simulator = Simulator(scenario, seed=4)
    list(simulator.messages(60))
    stuck = [d for d, m in simulator.devices.items() if "stuck" in m.faults]
    assert 30 < len(stuck) < 100


def test_limiting_devices_keeps_only_their_faults_and_expectations() -> None:
    plant = limit_devices(load_scenario("plant"), 3)
    assert [d.id for d in plant.devices] == ["ahu-1", "ahu-2", "chiller-1"]
    assert {f.device for f in plant.faults} == {"ahu-1", "ahu-2", "chiller-1"}
    assert {e.asset for e in plant.expect} == {"AHU-1", "AHU-2", "CH-1"}
    with pytest.raises(ConfigError, match="at least 1"):
        limit_devices(plant, 0)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"devices": [{**ROOM, "model": "toaster"}]}, "unknown model 'toaster'"),
        (
            {"devices": [ROOM], "faults": [{"device": "room-1", "kind": "filter_clog"}]},
            "not a fault of room_sensor",
        ),
        (
            {"devices": [ROOM], "faults": [{"device": "ahu-*", "kind": "stuck"}]},
            "no device matches 'ahu-\\*'",
        ),
        ({"devices": [ROOM, ROOM]}, "device id 'room-1' appears twice"),
        (
            {
                "devices": [ROOM],
                "faults": [{"device": "room-1", "kind": "offline", "at": "1h", "until": "10m"}],
            },
            "'until' must be after 'at'",
        ),
        (
            {"devices": [ROOM], "faults": [{"device": "room-1", "kind": "stuck", "rate": -1}]},
            "greater than 0",
        ),
        ({"devices": [ROOM], "expect": [{"rule": "r", "asset": "NOPE"}]}, "unknown asset 'NOPE'"),
        ({"devices": []}, "needs devices"),
        ({"devices": [{**ROOM, "id": "room/1#"}]}, "should match pattern"),
        ({"devices": [ROOM], "interval": "1ms"}, "at least 10ms"),
        ({"devices": [ROOM], "interval": "often"}, "not a duration"),
        ({"devices": [ROOM], "start": "2026-01-05T08:00:00"}, "needs a UTC offset"),
        ({"devices": [ROOM], "format": "modbus"}, "format"),
        ({"devices": [ROOM], "site": "a/b"}, "site"),
        (
            {"generate": {"buildings": 1000, "floors": 200, "per_floor": {"room_sensor": 10}}},
            "at most 100000",
        ),
        ({"generate": {"buildings": 1, "per_zone": {"room_sensor": -2}}}, "between 0 and 1000"),
        ({"devices": [ROOM], "surprise": 1}, "Extra inputs are not permitted"),
        ("- just\n- a list\n", "top level must be a mapping"),
        ("devices: [unclosed\n", "invalid"),
        ({"devices": [{**ROOM, "asset": 5}]}, "valid string"),
    ],
)
def test_a_bad_scenario_is_refused_with_a_message_that_names_the_problem(
    tmp_path: Path, data: Any, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        load_scenario(write(tmp_path, data))


def test_an_oversized_scenario_file_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    path.write_text("# " + "x" * 1_100_000, encoding="utf-8")
    with pytest.raises(ConfigError, match="over 1 MB"):
        load_scenario(str(path))


def test_a_binary_scenario_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bin.yaml"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigError, match="invalid"):
        load_scenario(str(path))


def test_unknown_scenario_lists_the_shipped_ones() -> None:
    with pytest.raises(ConfigError, match="campus, office, plant"):
        load_scenario("mall")


def test_a_non_positive_rate_is_refused_before_connecting() -> None:
    simulator = Simulator(load_scenario("office"), seed=1)
    with pytest.raises(ValueError, match="rate must be positive"):
        simulator.run("mqtt://127.0.0.1:1", rate=0)
