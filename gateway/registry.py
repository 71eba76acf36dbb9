"""The device registry: which asset each device watches, and how its readings are corrected.

A YAML file lists assets (the equipment) with their place in the site → building → floor → zone
hierarchy and the devices on them, by exact name or glob, and optionally names the sites and their
time zones (which SLA business hours, PM calendars and the monthly review are read in)::

    heartbeat_timeout_s: {default: 300, battery_sensor: 3600}
    sites:
      hq: {name: Head office, timezone: Europe/Berlin}
    assets:
      - code: AHU-3
        name: Air handler 3
        type: air_handler
        location: {site: hq, building: B1, floor: "3", zone: east}
        devices:
          - match: "ahu-3/*"
            class: hvac
            metrics:
              supply_temp: {rename: temperature, unit: degC, offset: -0.4}
              fan_power: {scale: 1000, unit: W}

An exact name beats a glob; among globs the first in the file wins, so order specific patterns
first. A device that matches nothing is *unassigned* (quarantined): its readings are stored and
listed, never dropped, but it raises no rule alert, work order or notification until it is
admitted, by a person (``POST /api/v1/devices/{id}/admit``) or by a glob of ``admit``::

    admit: ["zigbee2mqtt/*", "shelly-*"]

(or ``FACILITY_ADMIT_DEVICES``), for fleets whose ids are trusted as they come; such a device
becomes its own asset. Calibration is ``value * scale + offset`` and is applied once, in the
gateway, before storage and rules.
"""

from __future__ import annotations

import fnmatch
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

from facility.core.errors import ConfigError
from facility.core.types import Reading

__all__ = ["AssetEntry", "DeviceRegistry", "Placement", "SiteEntry", "load_registry"]

_METRIC_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_MAX_FILE_BYTES = 5 * 1024 * 1024
_MAX_CACHED = 100_000
#: Asset codes: the API's code pattern, plus ``/`` for a channel's own asset (``plug/switch:1``).
ASSET_CODE_RE = re.compile(r"^[\w][\w.:/-]{0,63}$")
_MAX_ADMIT = 1000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MetricOverride(_Strict):
    rename: str | None = None
    unit: str | None = Field(default=None, min_length=1, max_length=20)
    scale: float = 1.0
    offset: float = 0.0

    @field_validator("rename")
    @classmethod
    def _snake_case(cls, value: str | None) -> str | None:
        if value is not None and not _METRIC_RE.match(value):
            raise ValueError(f"{value!r} is not a snake_case metric name (a-z, 0-9, _)")
        return value


class DeviceRule(_Strict):
    match: str = Field(min_length=1, max_length=200)
    device_class: str = Field(default="default", alias="class", min_length=1, max_length=64)
    metrics: dict[str, MetricOverride] = Field(default_factory=dict)


class Location(_Strict):
    site: str | None = Field(default=None, max_length=100)
    building: str | None = Field(default=None, max_length=100)
    floor: str | None = Field(default=None, max_length=100)
    zone: str | None = Field(default=None, max_length=100)

    @field_validator("site", "building", "floor", "zone", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int | float) else value


class AssetEntry(_Strict):
    code: str = Field(min_length=1, max_length=64)
    name: str | None = Field(default=None, max_length=200)
    asset_type: str = Field(default="unknown", alias="type", max_length=64)
    location: Location = Field(default_factory=Location)
    devices: list[DeviceRule] = Field(default_factory=list)

    @field_validator("code")
    @classmethod
    def _code(cls, value: str) -> str:
        if not ASSET_CODE_RE.match(value):
            raise ValueError(
                f"{value[:80]!r} is not an asset code: a letter or digit, then letters, digits "
                "and . : / - (at most 64)"
            )
        return value

    def place(self) -> dict[str, str]:
        """The asset's whole path and type, as rule selectors and maintenance windows match it
        (so a window on a building covers every floor, zone and asset in it)."""
        location = self.location
        return {
            "asset": self.code,
            "asset_type": self.asset_type,
            "site": location.site or "",
            "building": location.building or "",
            "floor": location.floor or "",
            "zone": location.zone or "",
        }

    @property
    def path(self) -> str:
        """``site/building/floor/zone`` (the parts that are known)."""
        parts = [self.location.site, self.location.building, self.location.floor]
        parts.append(self.location.zone)
        return "/".join(p for p in parts if p)


class SiteEntry(_Strict):
    """A site's display name and IANA time zone; applied to the site on every start."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    timezone: str | None = Field(default=None, min_length=1, max_length=64)

    @field_validator("timezone")
    @classmethod
    def _iana(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(
                    f"{value!r} is not an IANA time zone such as Europe/Berlin"
                ) from None
        return value


class RegistryFile(_Strict):
    heartbeat_timeout_s: dict[str, float] = Field(default_factory=dict)
    sites: dict[Annotated[str, StringConstraints(pattern=r"^[\w][\w.:-]{0,63}$")], SiteEntry] = (
        Field(default_factory=dict)
    )
    assets: list[AssetEntry] = Field(default_factory=list)
    #: globs of device ids admitted without a person (each becomes its own asset)
    admit: list[Annotated[str, StringConstraints(min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=_MAX_ADMIT
    )

    @field_validator("heartbeat_timeout_s")
    @classmethod
    def _positive(cls, value: dict[str, float]) -> dict[str, float]:
        for key, seconds in value.items():
            if not seconds > 0:
                raise ValueError(f"timeout for {key!r} must be a positive number of seconds")
        return value


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a device sits: its asset (``None`` = unassigned) and its heartbeat class.

    ``admitted`` is true for a device on a registry asset or matching an ``admit`` glob: rules
    see it. Any other device is quarantined until a person links it to an asset.
    """

    device: str
    asset: AssetEntry | None
    device_class: str
    rule: DeviceRule | None
    admitted: bool = False

    @property
    def asset_code(self) -> str | None:
        return self.asset.code if self.asset else None

    def tags(self) -> dict[str, str]:
        """Tags for the time-series store (``asset``, ``site``) when known."""
        if self.asset is None:
            return {}
        tags = {"asset": self.asset.code}
        if self.asset.location.site:
            tags["site"] = self.asset.location.site
        return tags


class DeviceRegistry:
    """Resolves devices to placements (cached) and applies metric overrides; thread-safe."""

    def __init__(self, spec: RegistryFile | None = None, *, admit: Iterable[str] = ()) -> None:
        self.spec = spec or RegistryFile()
        own = getattr(self.spec, "admit", ())  # a registry passed as its own spec has none
        self.admit_patterns = tuple(dict.fromkeys([*own, *admit]))
        self._exact: dict[str, tuple[AssetEntry, DeviceRule]] = {}
        self._globs: list[tuple[AssetEntry, DeviceRule]] = []
        for asset in self.spec.assets:
            for rule in asset.devices:
                if any(ch in rule.match for ch in "*?["):
                    self._globs.append((asset, rule))
                else:
                    self._exact.setdefault(rule.match, (asset, rule))
        self._cache: dict[str, Placement] = {}
        self._lock = threading.Lock()

    @property
    def assets(self) -> list[AssetEntry]:
        return list(self.spec.assets)

    @property
    def sites(self) -> dict[str, SiteEntry]:
        return dict(self.spec.sites)

    def resolve(self, device: str) -> Placement:
        """The device's placement; an unknown device is remembered as unassigned."""
        with self._lock:
            placement = self._cache.get(device)
            if placement is None:
                placement = self._lookup(device)
                if len(self._cache) < _MAX_CACHED:  # a flood of bogus names cannot grow it
                    self._cache[device] = placement
            return placement

    def _lookup(self, device: str) -> Placement:
        found = self._exact.get(device)
        if found is None:
            found = next(
                (
                    (asset, rule)
                    for asset, rule in self._globs
                    if fnmatch.fnmatchcase(device, rule.match)
                ),
                None,
            )
        if found is None:
            admitted = any(fnmatch.fnmatchcase(device, p) for p in self.admit_patterns)
            return Placement(
                device=device, asset=None, device_class="default", rule=None, admitted=admitted
            )
        asset, rule = found
        return Placement(
            device=device, asset=asset, device_class=rule.device_class, rule=rule, admitted=True
        )

    def admitted(self, device: str) -> bool:
        """Whether the registry file or an ``admit`` glob admits ``device`` (see the module)."""
        return self.resolve(device).admitted

    def with_admit(self, patterns: Iterable[str]) -> DeviceRegistry:
        """This registry with more ``admit`` globs (``FACILITY_ADMIT_DEVICES``)."""
        extra = [p.strip() for p in patterns if p.strip()]
        if not extra:
            return self
        for pattern in extra:
            if len(pattern) > 200:
                raise ConfigError(
                    f"FACILITY_ADMIT_DEVICES: {pattern[:40]!r}... is longer than 200 characters"
                )
        return DeviceRegistry(self.spec, admit=extra)

    def asset_of(self, device: str) -> str | None:
        """The asset code for the rules engine (``None`` = unassigned)."""
        return self.resolve(device).asset_code

    def tags_of(self, device: str) -> dict[str, str]:
        return self.resolve(device).tags()

    def device_class(self, device: str) -> str:
        return self.resolve(device).device_class

    def unassigned(self) -> list[str]:
        """Devices heard but matched by no entry, sorted."""
        with self._lock:
            return sorted(d for d, p in self._cache.items() if p.asset is None)

    def known(self) -> list[Placement]:
        with self._lock:
            return sorted(self._cache.values(), key=lambda p: p.device)

    def apply(self, readings: Iterable[Reading]) -> tuple[list[Reading], list[tuple[Reading, str]]]:
        """Rename, re-unit and calibrate readings per their device's overrides.

        Returns the corrected readings and those refused, with the reason (a calibration that
        makes the value non-finite, or a rename the kernel refuses).
        """
        out: list[Reading] = []
        refused: list[tuple[Reading, str]] = []
        for reading in readings:
            rule = self.resolve(reading.device).rule
            override = rule.metrics.get(reading.metric) if rule is not None else None
            if override is None:
                out.append(reading)
                continue
            try:
                out.append(
                    replace(
                        reading,
                        metric=override.rename or reading.metric,
                        unit=override.unit or reading.unit,
                        value=reading.value * override.scale + override.offset,
                    )
                )
            except (ValueError, OverflowError) as exc:
                refused.append((reading, f"calibration of {reading.metric!r} failed: {exc}"))
        return out, refused

    def heartbeat_timeout_s(self, device_class: str, default_s: float) -> float:
        timeouts = self.spec.heartbeat_timeout_s
        return timeouts.get(device_class, timeouts.get("default", default_s))


def load_registry(path: Path) -> DeviceRegistry:
    """Read and validate a registry file.

    Raises:
        ConfigError: the file is missing, too large, not YAML, or an entry is invalid; the
            message names the file and the entry (``assets.0.devices.1.metrics.x.rename``).
    """
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ConfigError(
            f"device registry {path} cannot be read ({exc.strerror}); "
            "fix FACILITY_REGISTRY_FILE or unset it"
        ) from exc
    if size > _MAX_FILE_BYTES:
        raise ConfigError(f"device registry {path} is {size} bytes; the limit is 5 MiB")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"device registry {path} is not valid YAML: {exc}") from exc
    return parse_registry(data, source=str(path))


def parse_registry(data: object, *, source: str = "registry") -> DeviceRegistry:
    """Validate already-parsed YAML (``None`` = empty registry)."""
    if data is None:
        return DeviceRegistry()
    if not isinstance(data, dict):
        raise ConfigError(
            f"{source}: the top level must be a mapping with 'assets', got {type(data).__name__}"
        )
    try:
        spec = RegistryFile.model_validate(data)
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(p) for p in error['loc']) or '?'}: "
            f"{str(error['msg']).removeprefix('Value error, ')}"
            for error in exc.errors()[:5]
        ]
        raise ConfigError(f"{source}: " + "; ".join(problems)) from exc
    codes = [asset.code for asset in spec.assets]
    duplicates = sorted({code for code in codes if codes.count(code) > 1})
    if duplicates:
        raise ConfigError(f"{source}: asset codes must be unique; repeated: {duplicates}")
    return DeviceRegistry(spec)
