"""Scenarios: a site, its devices (with model and asset) and scripted faults, from YAML."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from facility.errors import ConfigError
from rules.model import parse_duration
from simulators.devices import MODELS

__all__ = ["SCENARIO_DIR", "DeviceSpec", "FaultSpec", "Scenario", "load_scenario"]

SCENARIO_DIR = Path(__file__).parent / "scenarios"


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DeviceSpec(_Spec):
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$")
    model: str
    asset: str
    asset_type: str = "unknown"
    location: str = ""

    @field_validator("model")
    @classmethod
    def _known_model(cls, value: str) -> str:
        if value not in MODELS:
            raise ValueError(f"unknown model {value!r}; models: {', '.join(sorted(MODELS))}")
        return value


class FaultSpec(_Spec):
    device: str
    kind: str
    at: timedelta

    @field_validator("at", mode="before")
    @classmethod
    def _duration(cls, value: object) -> timedelta:
        return parse_duration(value)


class Scenario(_Spec):
    name: str
    site: str = Field(default="hq", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    interval: timedelta = timedelta(seconds=2)
    devices: list[DeviceSpec]
    faults: list[FaultSpec] = []

    @field_validator("interval", mode="before")
    @classmethod
    def _interval(cls, value: object) -> timedelta:
        duration = parse_duration(value)
        if duration.total_seconds() < 0.01:
            raise ValueError("interval must be at least 10ms")
        return duration


def load_scenario(name_or_path: str) -> Scenario:
    """A shipped scenario by name (``office``) or a YAML file by path."""
    path = Path(name_or_path)
    if not path.is_file():
        path = SCENARIO_DIR / f"{name_or_path}.yaml"
    if not path.is_file():
        shipped = ", ".join(sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml")))
        raise ConfigError(f"no scenario {name_or_path!r}: not a file, nor one of: {shipped}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return Scenario.model_validate({"name": path.stem, **(data or {})})
    except (yaml.YAMLError, ValidationError, TypeError) as exc:
        raise ConfigError(f"scenario {path} is invalid: {exc}") from exc
