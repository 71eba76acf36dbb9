"""Weekly time windows in a time zone: when a rule is active, when maintenance silences alerts.

A window is ``{days: [mon, tue], start: "18:00", end: "07:00"}`` in the schedule's ``timezone``
(IANA name, read with :mod:`zoneinfo`, so daylight-saving shifts are the zone's, not ours). A
window whose end is not after its start runs past midnight into the next day; ``start == end``
is the whole day. ``days`` name the day the window *starts* on.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from datetime import UTC, datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = ["DAYS", "MaintenanceScope", "MaintenanceWindow", "Schedule", "WeeklyWindow", "zone"]

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME_RE = re.compile(r"^([01]?\d|2[0-4]):([0-5]\d)$")


def zone(name: str) -> ZoneInfo:
    """The :class:`ZoneInfo` for an IANA name; ValueError naming the zone otherwise."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise ValueError(
            f"unknown time zone {name!r}; use an IANA name such as 'Europe/Berlin' or 'UTC'"
        ) from exc


class _Strict(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, allow_inf_nan=False
    )


def _parse_time(value: object) -> time:
    if isinstance(value, time):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        # YAML 1.1 reads an unquoted 18:00 as the sexagesimal number 1080 (minutes)
        value = f"{value // 60}:{value % 60:02d}"
    if not isinstance(value, str) or not (match := _TIME_RE.match(value.strip())):
        raise ValueError(f"{value!r} is not a time of day like '07:30' (24-hour clock)")
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour == 24:
        if minute:
            raise ValueError(f"{value!r} is past midnight; use '24:00' or earlier")
        return time.max
    return time(hour, minute)


class WeeklyWindow(_Strict):
    """One weekly window: the days it starts on and its local start and end times."""

    days: list[str] = Field(default_factory=lambda: list(DAYS))
    start: time = time(0, 0)
    end: time = time(0, 0)

    @field_validator("days", mode="before")
    @classmethod
    def _days(cls, value: object) -> list[str]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value:
            raise ValueError(f"days must be a list of {', '.join(DAYS)}")
        days: list[str] = []
        for item in value:
            day = str(item).strip().lower()[:3]
            if day not in DAYS:
                raise ValueError(f"{item!r} is not a day; use {', '.join(DAYS)}")
            days.append(day)
        return days

    @field_validator("start", "end", mode="before")
    @classmethod
    def _time(cls, value: object) -> time:
        return _parse_time(value)

    def span_on(self, day: datetime) -> tuple[datetime, datetime] | None:
        """The window that starts on ``day`` (a local, zone-aware midnight), or None.

        Local wall times are attached to the zone as ``contains`` reads them, so a window
        across a daylight-saving change lasts one hour more or less in real time.
        """
        if DAYS[day.weekday()] not in self.days:
            return None
        begin = datetime.combine(day.date(), self.start, day.tzinfo)
        if self.start == self.end:
            return begin, datetime.combine(day.date() + timedelta(days=1), time(0), day.tzinfo)
        if self.start < self.end:
            return begin, datetime.combine(day.date(), self.end, day.tzinfo)
        return begin, datetime.combine(day.date() + timedelta(days=1), self.end, day.tzinfo)

    def contains(self, local: datetime) -> bool:
        """Whether the local (zone-aware) instant falls inside this window."""
        now = local.time().replace(tzinfo=None)
        today = DAYS[local.weekday()]
        yesterday = DAYS[(local.weekday() - 1) % 7]
        if self.start == self.end:
            return today in self.days
        if self.start < self.end:
            return today in self.days and self.start <= now < self.end
        return (today in self.days and now >= self.start) or (
            yesterday in self.days and now < self.end
        )


class Schedule(_Strict):
    """When a rule is active: any of its weekly windows, in one time zone."""

    timezone: str = "UTC"
    windows: list[WeeklyWindow] = Field(min_length=1)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        zone(value)
        return value

    def active(self, ts: datetime) -> bool:
        local = ts.astimezone(zone(self.timezone))
        return any(window.contains(local) for window in self.windows)


class MaintenanceScope(_Strict):
    """Where a maintenance window applies; every given key must match (globs allowed).

    A window on a building covers every floor, zone and asset in it, because the asset resolver
    reports each asset's whole path (site, building, floor, zone).
    """

    site: str | None = None
    building: str | None = None
    floor: str | None = None
    zone: str | None = None
    asset: str | None = None
    asset_type: str | None = None
    device: str | None = None


Stamp = Annotated[datetime, Field(json_schema_extra={"examples": ["2026-03-01T06:00:00+01:00"]})]


class MaintenanceWindow(_Strict):
    """A planned outage: alerts of matching assets are recorded as suppressed, never lost.

    Either one-off (``start``/``end``, ISO 8601; a time without offset is in ``timezone``) or
    weekly (``weekly`` windows in ``timezone``).
    """

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$")
    scope: MaintenanceScope = Field(default_factory=MaintenanceScope)
    rules: list[str] = Field(default_factory=lambda: ["*"])
    timezone: str = "UTC"
    start: Stamp | None = None
    end: Stamp | None = None
    weekly: list[WeeklyWindow] | None = None

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        zone(value)
        return value

    @model_validator(mode="after")
    def _check(self) -> MaintenanceWindow:
        one_off = self.start is not None or self.end is not None
        if one_off == (self.weekly is not None):
            raise ValueError("give either start and end (one-off) or weekly windows, not both")
        if one_off:
            if self.start is None or self.end is None:
                raise ValueError("a one-off window needs both start and end")
            tz = zone(self.timezone)
            start = self.start if self.start.tzinfo else self.start.replace(tzinfo=tz)
            end = self.end if self.end.tzinfo else self.end.replace(tzinfo=tz)
            if end <= start:
                raise ValueError(f"end {self.end} must be after start {self.start}")
            object.__setattr__(self, "start", start)
            object.__setattr__(self, "end", end)
        return self

    def active(self, ts: datetime) -> bool:
        if self.weekly is not None:
            local = ts.astimezone(zone(self.timezone))
            return any(window.contains(local) for window in self.weekly)
        if self.start is None or self.end is None:
            return False
        return self.start <= ts < self.end

    def covers(
        self, *, rule: str | None, device: str | None, attributes: Mapping[str, str]
    ) -> bool:
        """Whether the window applies to this rule and place (``attributes``: asset, asset_type,
        site, building, floor, zone). Work raised by hand (``rule`` None) is covered only by
        windows for every rule; a device scope needs the device."""
        patterns = self.rules
        if rule is None:
            if "*" not in patterns:
                return False
        elif not any(fnmatch.fnmatchcase(rule, pattern) for pattern in patterns):
            return False
        scope = self.scope
        if scope.device is not None and (
            device is None or not fnmatch.fnmatchcase(device, scope.device)
        ):
            return False
        wanted = {
            "site": scope.site,
            "building": scope.building,
            "floor": scope.floor,
            "zone": scope.zone,
            "asset": scope.asset,
            "asset_type": scope.asset_type,
        }
        return all(
            pattern is None or fnmatch.fnmatchcase(attributes.get(name, ""), pattern)
            for name, pattern in wanted.items()
        )

    def intervals(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """The UTC spans in which the window is active between ``start`` and ``end``,
        clipped to them, sorted and merged (a weekly window running into the next one is one
        span)."""
        if end <= start:
            return []
        if self.weekly is None:
            if self.start is None or self.end is None:
                return []
            first, last = max(start, self.start), min(end, self.end)
            return [(first.astimezone(UTC), last.astimezone(UTC))] if first < last else []
        tz = zone(self.timezone)
        day = datetime.combine(start.astimezone(tz).date() - timedelta(days=1), time(0), tz)
        stop = end.astimezone(tz).date()
        spans: list[tuple[datetime, datetime]] = []
        while day.date() <= stop:
            for weekly in self.weekly:
                span = weekly.span_on(day)
                if span is None:
                    continue
                first = max(start, span[0].astimezone(UTC))
                last = min(end, span[1].astimezone(UTC))
                if first < last:
                    spans.append((first, last))
            day = datetime.combine(day.date() + timedelta(days=1), time(0), tz)
        spans.sort()
        merged: list[tuple[datetime, datetime]] = []
        for first, last in spans:
            if merged and first <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], last))
            else:
                merged.append((first, last))
        return merged
