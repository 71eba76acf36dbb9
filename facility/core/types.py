"""Kernel types exchanged between gateway, rules and maintenance.

They are frozen, slotted dataclasses that validate when built, so a value that crossed a module
boundary is known good. Nothing here does I/O.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from functools import lru_cache
from typing import Protocol

__all__ = [
    "Alert",
    "AlertState",
    "DeviceState",
    "Presence",
    "Reading",
    "ReadingPage",
    "ReadingStore",
    "Severity",
    "utc",
]

_METRIC_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
MAX_DEVICE_LEN = 200


def utc(ts: datetime) -> datetime:
    """Return ``ts`` as an aware UTC datetime; naive datetimes are taken to be UTC."""
    if ts.tzinfo is None:
        return ts.replace(tzinfo=UTC)
    return ts.astimezone(UTC)


@lru_cache(maxsize=65536)
def _check_device(device: str) -> None:
    """Raise ValueError for an unusable device id (valid ids are cached: they repeat)."""
    if not device or len(device) > MAX_DEVICE_LEN:
        raise ValueError(f"device id must be 1-{MAX_DEVICE_LEN} characters, got {device!r}")
    if any(ch in device for ch in "#+\x00") or device != device.strip():
        raise ValueError(f"device id {device!r} contains MQTT wildcards, NUL or edge spaces")


@lru_cache(maxsize=4096)
def _check_metric(metric: str) -> None:
    if not _METRIC_RE.match(metric):
        raise ValueError(f"metric {metric!r} is not snake_case (a-z, 0-9, _)")


@dataclass(frozen=True, slots=True)
class Reading:
    """One measured value of one metric of one device at one instant.

    ``value`` is a finite float; booleans are 0.0/1.0 with unit ``bool``. ``quality`` is
    ``good`` unless a codec or calibration marks it otherwise (``uncertain``, ``bad``).
    """

    device: str
    metric: str
    value: float
    unit: str
    ts: datetime
    quality: str = "good"

    def __post_init__(self) -> None:
        _check_device(self.device)
        _check_metric(self.metric)
        if isinstance(self.value, bool) or not isinstance(self.value, int | float):
            raise TypeError(f"reading value must be a number, got {type(self.value).__name__}")
        if not math.isfinite(self.value):
            raise ValueError(f"reading value must be finite, got {self.value!r}")
        if self.ts.tzinfo is None:
            object.__setattr__(self, "ts", utc(self.ts))
        object.__setattr__(self, "value", float(self.value))


@dataclass(frozen=True, slots=True)
class Presence:
    """A device went online or offline (from an availability/LWT topic or a heartbeat timeout)."""

    device: str
    online: bool
    ts: datetime

    def __post_init__(self) -> None:
        _check_device(self.device)
        if self.ts.tzinfo is None:
            object.__setattr__(self, "ts", utc(self.ts))


class AlertState(StrEnum):
    """``suppressed``: the rule fired inside a maintenance window or while flapping; it is
    recorded (never silently lost) but must not open a work order."""

    FIRING = "firing"
    RESOLVED = "resolved"
    SUPPRESSED = "suppressed"


class Severity(StrEnum):
    """Rule severity; maintenance maps it to a work-order priority (critical → P1 ... info → P4)."""

    CRITICAL = "critical"
    MAJOR = "major"
    MINOR = "minor"
    INFO = "info"


@dataclass(frozen=True, slots=True)
class Alert:
    """A rule started (``firing``) or stopped (``resolved``) matching on one asset."""

    rule: str
    device: str
    asset: str
    state: AlertState
    severity: Severity
    ts: datetime
    value: float | None
    message: str = ""
    reason: str = ""  # why an alert was suppressed: "maintenance:<window>" or "flapping"
    suppressed_count: int = 0  # re-fires held back (flapping) since the last published firing
    auto_resolve: bool = False  # the rule asks maintenance to close the order on resolve

    def __post_init__(self) -> None:
        if not self.rule:
            raise ValueError("alert needs a rule name")
        if not self.asset:
            raise ValueError("alert needs an asset")
        object.__setattr__(self, "state", AlertState(self.state))
        object.__setattr__(self, "severity", Severity(self.severity))
        if self.ts.tzinfo is None:
            object.__setattr__(self, "ts", utc(self.ts))


@dataclass(frozen=True, slots=True)
class DeviceState:
    """What the gateway knows of a device now: when it was last heard and its latest values."""

    device: str
    last_seen: datetime
    online: bool
    values: dict[str, tuple[float, str, datetime]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ReadingPage:
    """One page of reading history; ``total`` counts every point in the range."""

    items: list[Reading]
    total: int
    next_cursor: str | None


class ReadingStore(Protocol):
    """Where readings are kept: the SQL store (embedded default) or InfluxDB."""

    def write(self, readings: Sequence[Reading]) -> None:
        """Store a batch; raise ``ServiceUnavailable`` if the store cannot be reached."""

    def query(
        self,
        *,
        device: str | None,
        metric: str | None,
        start: datetime | None,
        end: datetime | None,
        limit: int,
        cursor: str | None,
    ) -> ReadingPage:
        """Return one page of readings in timestamp order."""

    def count(self) -> int:
        """Return how many readings the store holds (all devices)."""

    def close(self) -> None:
        """Release connections."""
