"""The device registry: placement by exact name or glob, overrides, unassigned devices, errors."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from facility.core.errors import ConfigError
from facility.core.types import Reading
from gateway.registry import DeviceRegistry, load_registry, parse_registry

TS = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)

REGISTRY = """
heartbeat_timeout_s: {default: 300, battery_sensor: 3600}
assets:
  - code: AHU-3
    name: Air handler 3
    type: air_handler
    location: {site: hq, building: B1, floor: 3, zone: east}
    devices:
      - match: ahu-3-supply
        class: hvac
        metrics:
          supply_temp: {rename: temperature, unit: degC, offset: -0.5}
      - match: "ahu-3/*"
        class: hvac
  - code: ROOMS
    devices:
      - match: "room-*"
        class: battery_sensor
        metrics:
          energy: {scale: 0.001, unit: kWh}
  - code: SPECIFIC
    devices:
      - match: "room-7"
"""


@pytest.fixture
def registry() -> DeviceRegistry:
    return parse_registry(yaml.safe_load(REGISTRY))


def test_an_exact_name_beats_a_glob_listed_before_it(registry: DeviceRegistry) -> None:
    assert registry.asset_of("room-7") == "SPECIFIC"
    assert registry.asset_of("room-8") == "ROOMS"


def test_a_glob_places_a_device_on_its_asset_with_the_location_path(
    registry: DeviceRegistry,
) -> None:
    placement = registry.resolve("ahu-3/fan")
    assert placement.asset_code == "AHU-3"
    assert placement.asset is not None and placement.asset.path == "hq/B1/3/east"
    assert placement.device_class == "hvac"
    assert placement.tags() == {"asset": "AHU-3", "site": "hq"}


def test_an_unknown_device_is_unassigned_remembered_and_never_dropped(
    registry: DeviceRegistry,
) -> None:
    reading = Reading("mystery-1", "temperature", 20.0, "degC", TS)
    kept, refused = registry.apply([reading])
    assert kept == [reading] and refused == []
    assert registry.asset_of("mystery-1") is None
    assert registry.unassigned() == ["mystery-1"]
    assert registry.tags_of("mystery-1") == {}


def test_overrides_rename_re_unit_and_calibrate_with_scale_and_offset(
    registry: DeviceRegistry,
) -> None:
    (supply,), _ = registry.apply([Reading("ahu-3-supply", "supply_temp", 18.0, "degC", TS)])
    assert (supply.metric, supply.unit, supply.value) == ("temperature", "degC", 17.5)
    (energy,), _ = registry.apply([Reading("room-2", "energy", 1500.0, "Wh", TS)])
    assert (energy.metric, energy.unit, energy.value) == ("energy", "kWh", 1.5)
    untouched = Reading("room-2", "humidity", 40.0, "%", TS)
    assert registry.apply([untouched]) == ([untouched], [])


def test_a_calibration_that_overflows_is_refused_with_a_reason_and_others_flow() -> None:
    registry = parse_registry(
        {"assets": [{"code": "X", "devices": [{"match": "d", "metrics": {"p": {"scale": 1e308}}}]}]}
    )
    good = Reading("d", "q", 1.0, "W", TS)
    kept, refused = registry.apply([Reading("d", "p", 1e10, "W", TS), good])
    assert kept == [good]
    assert len(refused) == 1 and "calibration of 'p' failed" in refused[0][1]


def test_heartbeat_timeouts_come_from_the_device_class_or_the_default(
    registry: DeviceRegistry,
) -> None:
    assert registry.heartbeat_timeout_s(registry.device_class("room-3"), 60) == 3600
    assert registry.heartbeat_timeout_s(registry.device_class("ahu-3/x"), 60) == 300
    assert DeviceRegistry().heartbeat_timeout_s("default", 60) == 60


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (["not", "a", "mapping"], "top level must be a mapping"),
        ({"assets": [{"code": "A", "colour": "red"}]}, "assets.0.colour"),
        ({"assets": [{"code": ""}]}, "assets.0.code"),
        (
            {
                "assets": [
                    {
                        "code": "A",
                        "devices": [{"match": "x", "metrics": {"t": {"rename": "Bad Name"}}}],
                    }
                ]
            },
            "assets.0.devices.0.metrics.t.rename: 'Bad Name' is not a snake_case",
        ),
        (
            {
                "assets": [
                    {"code": "A", "devices": [{"match": "x", "metrics": {"t": {"scale": "big"}}}]}
                ]
            },
            "scale",
        ),
        ({"assets": [{"code": "A"}, {"code": "A"}]}, "repeated: ['A']"),
        ({"heartbeat_timeout_s": {"default": -5}}, "must be a positive number"),
        ({"assets": "AHU-1"}, "assets"),
        ({"assets": [{"code": "A" * 65}]}, "assets.0.code"),
        ({"sites": {"hq": {"timezone": "Mars/Olympus"}}}, "'Mars/Olympus' is not an IANA"),
        ({"sites": {"hq": {"timezone": "../../etc/passwd"}}}, "not an IANA"),
        ({"sites": {"hq": {"colour": "red"}}}, "sites.hq.colour"),
        ({"sites": {"h q": {"name": "x"}}}, "sites.h q"),
        ({"sites": ["hq"]}, "sites"),
    ],
)
def test_invalid_registries_are_refused_naming_the_entry(data: object, expected: str) -> None:
    with pytest.raises(ConfigError, match="registry") as failure:
        parse_registry(data)
    assert expected in str(failure.value)


def test_sites_name_their_time_zone() -> None:
    registry = DeviceRegistry(parse_registry({"sites": {"hq": {"timezone": "Asia/Shanghai"}}}))
    assert registry.sites["hq"].timezone == "Asia/Shanghai" and registry.sites["hq"].name is None


def test_an_empty_file_is_an_empty_registry() -> None:
    assert parse_registry(None).assets == []


def test_registry_files_that_are_missing_or_not_yaml_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot be read"):
        load_registry(tmp_path / "absent.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("assets: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_registry(broken)
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_registry(binary)
    good = tmp_path / "good.yaml"
    good.write_text(REGISTRY)
    assert load_registry(good).asset_of("room-1") == "ROOMS"


def test_a_flood_of_device_names_does_not_grow_the_cache_without_bound() -> None:
    registry = DeviceRegistry()
    for i in range(100_050):
        registry.resolve(f"d{i}")
    assert len(registry.known()) == 100_000
    assert registry.asset_of("d100049") is None
