"""Scenarios: a facility (site, buildings, floors, zones, assets, devices) and its faults.

A scenario lists its devices one by one (the small office) or generates them from a compact
``generate`` block (the 10,000-device campus), or both::

    site: campus
    interval: 60s
    format: native                 # or zigbee2mqtt | tasmota | shelly | esphome
    generate:
      buildings: 20
      floors: 10
      zones: 4
      per_building: {air_handler: 2, chiller: 1, pump: 4}
      per_floor: {energy_meter: 1}
      per_zone: {room_sensor: 6, co2_sensor: 2}
    faults:
      - {device: ahu-b01-1, kind: cooling_failure, at: 10m}
      - {device: "room-*", kind: stuck, rate: 0.01}      # per device per simulated day
    expect:
      - {rule: ahu-supply-air-too-warm, asset: AHU-B01-1}

Generated ids follow the shapes the rule globs expect: ``ahu-b01-1``, ``room-b01-f03-z2-4``;
assets are the equipment (``AHU-B01-1``) or, for room devices, the zone (``B01-F03-Z2``).
"""

from __future__ import annotations

import fnmatch
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from facility.core.errors import ConfigError
from rules.model import parse_duration
from simulators.devices import MODELS

__all__ = [
    "FORMATS",
    "SCENARIO_DIR",
    "DeviceSpec",
    "ExpectedAlert",
    "FaultSpec",
    "Generator",
    "Scenario",
    "load_scenario",
]

SCENARIO_DIR = Path(__file__).parent / "scenarios"
FORMATS = ("native", "zigbee2mqtt", "tasmota", "shelly", "esphome")
Format = Literal["native", "zigbee2mqtt", "tasmota", "shelly", "esphome"]
MAX_DEVICES = 100_000

#: Id prefix of generated devices, by model; chosen to match the rule globs (``ahu-*``).
ID_PREFIX = {
    "room_sensor": "room",
    "co2_sensor": "co2",
    "air_handler": "ahu",
    "air_handler_g36": "ahu",
    "chiller": "chiller",
    "boiler": "boiler",
    "pump": "pump",
    "energy_meter": "meter",
    "door_contact": "door",
    "water_leak": "leak",
}


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _duration(value: object) -> timedelta:
    return parse_duration(value)


class DeviceSpec(_Spec):
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$")
    model: str
    asset: str
    asset_type: str = "unknown"
    location: str = ""
    building: str | None = None
    floor: str | None = None
    zone: str | None = None
    format: Format | None = None

    @field_validator("model")
    @classmethod
    def _known_model(cls, value: str) -> str:
        if value not in MODELS:
            raise ValueError(f"unknown model {value!r}; models: {', '.join(sorted(MODELS))}")
        return value


class FaultSpec(_Spec):
    """A fault on one device or on every device matching a glob.

    ``at`` (and optionally ``until``) schedule it; ``rate`` instead draws it at random, as the
    expected number of occurrences per device per simulated day, from ``at`` on.
    """

    device: str = Field(min_length=1, max_length=100)
    kind: str
    at: timedelta = timedelta(0)
    until: timedelta | None = None
    rate: float | None = Field(default=None, gt=0, le=10_000)
    magnitude: float | None = None
    metric: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]{0,63}$")

    @field_validator("at", "until", mode="before")
    @classmethod
    def _duration(cls, value: object) -> timedelta | None:
        return None if value is None else parse_duration(value)

    @model_validator(mode="after")
    def _order(self) -> FaultSpec:
        if self.until is not None and self.until <= self.at:
            raise ValueError(f"fault {self.kind} on {self.device}: 'until' must be after 'at'")
        return self


class ExpectedAlert(_Spec):
    """An alert the scenario's faults should raise (for replay and scale-out tests)."""

    rule: str
    asset: str
    device: str | None = None


class Generator(_Spec):
    """The compact campus description: counts per building, per floor and per zone."""

    buildings: int = Field(ge=1, le=1000)
    floors: int = Field(default=1, ge=1, le=200)
    zones: int = Field(default=1, ge=1, le=100)
    per_building: dict[str, int] = {}
    per_floor: dict[str, int] = {}
    per_zone: dict[str, int] = {}

    @field_validator("per_building", "per_floor", "per_zone")
    @classmethod
    def _models(cls, value: dict[str, int]) -> dict[str, int]:
        for model, count in value.items():
            if model not in MODELS:
                raise ValueError(f"unknown model {model!r}; models: {', '.join(sorted(MODELS))}")
            if not 0 <= count <= 1000:
                raise ValueError(f"{model}: count {count} must be between 0 and 1000")
        return value

    @property
    def count(self) -> int:
        per_floor = sum(self.per_floor.values()) + self.zones * sum(self.per_zone.values())
        return self.buildings * (sum(self.per_building.values()) + self.floors * per_floor)

    def devices(self) -> list[DeviceSpec]:
        """Expand to device specs, in a fixed order (so a seed reproduces a run)."""
        specs: list[DeviceSpec] = []
        for b in range(1, self.buildings + 1):
            building = f"b{b:02d}"
            for model, count in self.per_building.items():
                for n in range(1, count + 1):
                    ident = f"{ID_PREFIX[model]}-{building}-{n}"
                    specs.append(
                        DeviceSpec(
                            id=ident,
                            model=model,
                            asset=ident.upper(),
                            asset_type=model,
                            location=f"Building {b} plant room",
                            building=building,
                        )
                    )
            for f in range(1, self.floors + 1):
                floor = f"f{f:02d}"
                for model, count in self.per_floor.items():
                    for n in range(1, count + 1):
                        ident = f"{ID_PREFIX[model]}-{building}-{floor}-{n}"
                        specs.append(
                            DeviceSpec(
                                id=ident,
                                model=model,
                                asset=ident.upper(),
                                asset_type=model,
                                location=f"Building {b} floor {f}",
                                building=building,
                                floor=floor,
                            )
                        )
                for z in range(1, self.zones + 1):
                    zone = f"{building}-{floor}-z{z}"
                    for model, count in self.per_zone.items():
                        for n in range(1, count + 1):
                            specs.append(
                                DeviceSpec(
                                    id=f"{ID_PREFIX[model]}-{zone}-{n}",
                                    model=model,
                                    asset=zone.upper(),
                                    asset_type="zone",
                                    location=f"Building {b} floor {f} zone {z}",
                                    building=building,
                                    floor=floor,
                                    zone=f"z{z}",
                                )
                            )
        return specs


class Scenario(_Spec):
    name: str
    site: str = Field(default="hq", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    description: str = ""
    start: datetime | None = None
    interval: timedelta = timedelta(seconds=2)
    format: Format = "native"
    generate: Generator | None = None
    devices: list[DeviceSpec] = []
    faults: list[FaultSpec] = []
    expect: list[ExpectedAlert] = []

    @field_validator("interval", mode="before")
    @classmethod
    def _interval(cls, value: object) -> timedelta:
        duration = parse_duration(value)
        if duration.total_seconds() < 0.01:
            raise ValueError("interval must be at least 10ms")
        return duration

    @field_validator("start")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("start needs a UTC offset, e.g. 2026-01-05T08:00:00Z")
        return value

    @model_validator(mode="before")
    @classmethod
    def _expand(cls, data: object) -> object:
        """Generated devices come first, then the listed ones (which may add to a campus)."""
        if not isinstance(data, dict) or data.get("generate") is None:
            return data
        generator = Generator.model_validate(data["generate"])
        if generator.count + len(data.get("devices") or []) > MAX_DEVICES:
            raise ValueError(f"generate makes {generator.count} devices; at most {MAX_DEVICES}")
        listed = data.get("devices") or []
        if not isinstance(listed, list):
            raise ValueError("devices must be a list")
        return {**data, "generate": generator, "devices": [*generator.devices(), *listed]}

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        if not self.devices:
            raise ValueError("a scenario needs devices (a 'devices' list or a 'generate' block)")
        if len(self.devices) > MAX_DEVICES:
            raise ValueError(f"{len(self.devices)} devices; at most {MAX_DEVICES}")
        models = {spec.id: spec.model for spec in self.devices}
        if len(models) != len(self.devices):
            seen: set[str] = set()
            for spec in self.devices:
                if spec.id in seen:
                    raise ValueError(f"device id {spec.id!r} appears twice")
                seen.add(spec.id)
        for fault in self.faults:
            matched = self.match(fault.device, models)
            if not matched:
                raise ValueError(f"fault {fault.kind}: no device matches {fault.device!r}")
            supported = [d for d in matched if MODELS[models[d]].supports(fault.kind)]
            if not supported:
                kinds = sorted({models[d] for d in matched})
                raise ValueError(
                    f"fault {fault.kind!r} on {fault.device!r}: not a fault of {', '.join(kinds)}"
                )
        assets = {spec.asset for spec in self.devices}
        for expected in self.expect:
            if expected.asset not in assets:
                raise ValueError(f"expected alert on unknown asset {expected.asset!r}")
        return self

    @staticmethod
    def match(pattern: str, devices: dict[str, str] | list[str]) -> list[str]:
        """Device ids matching an exact id or a shell glob, in scenario order."""
        if pattern in devices:
            return [pattern]
        if not any(ch in pattern for ch in "*?["):
            return []
        return [d for d in devices if fnmatch.fnmatchcase(d, pattern)]


def load_scenario(name_or_path: str) -> Scenario:
    """A shipped scenario by name (``office``) or a YAML file by path."""
    path = Path(name_or_path)
    if not path.is_file():
        path = SCENARIO_DIR / f"{name_or_path}.yaml"
    if not path.is_file():
        shipped = ", ".join(sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml")))
        raise ConfigError(f"no scenario {name_or_path!r}: not a file, nor one of: {shipped}")
    try:
        if path.stat().st_size > 1_000_000:
            raise ConfigError(f"scenario {path} is over 1 MB; describe a campus with 'generate'")
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if data is not None and not isinstance(data, dict):
            raise TypeError("the top level must be a mapping (site, devices, faults, ...)")
        return Scenario.model_validate({"name": path.stem, **(data or {})})
    except ValidationError as exc:
        raise ConfigError(f"scenario {path} is invalid: {describe(exc)}") from None
    except (yaml.YAMLError, TypeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"scenario {path} is invalid: {exc}") from exc


def describe(exc: ValidationError, *, limit: int = 5) -> str:
    """Pydantic's errors as ``where: what`` without echoing the input.

    The input is left out on purpose: a hostile file (YAML aliases nested ten deep) would make
    its repr billions of items long.
    """
    errors = exc.errors(include_input=False, include_url=False)
    parts = [
        f"{'.'.join(str(p) for p in error['loc']) or 'scenario'}: {error['msg']}"
        for error in errors[:limit]
    ]
    more = f" (and {len(errors) - limit} more)" if len(errors) > limit else ""
    return "; ".join(parts) + more
