"""The rule file format, as pydantic models (their JSON Schema documents the format).

A rule names what it watches (``select``), when it fires, when it clears, and how severe it is::

    rules:
      - name: ahu-supply-air-too-warm
        kind: threshold
        select: {device: "ahu-*", metric: supply_temperature}
        above: 16          # fire when the value stays above 16 ...
        for: 5m            # ... for five minutes
        clear_below: 14    # hysteresis: clear only below 14 (default: the threshold itself)
        severity: major
        message: "{asset}: supply air {value:.1f} degC above {threshold} degC"
"""

from __future__ import annotations

import fnmatch
import re
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from facility.types import Severity

__all__ = ["OfflineRule", "Rule", "RuleFile", "Selector", "ThresholdRule", "parse_duration"]

_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}
_NAME_RE = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$"


def parse_duration(value: object) -> timedelta:
    """``30`` / ``"30s"`` / ``"5m"`` / ``"1.5h"`` / ``"2d"`` → timedelta; ValueError otherwise."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or text like '30s', '5m', '1h'")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (match := _DURATION_RE.match(value)):
        seconds = float(match.group(1)) * _UNIT_S[match.group(2)]
    else:
        raise ValueError(f"{value!r} is not a duration like '30s', '5m', '1h' or seconds")
    if seconds < 0 or seconds > 366 * 86400:
        raise ValueError(f"duration {value!r} must be between 0 and one year")
    return timedelta(seconds=seconds)


Duration = Annotated[timedelta, Field(json_schema_extra={"examples": ["30s", "5m", "1h"]})]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Selector(_Strict):
    """Which readings a rule looks at. Globs as in shell (``ahu-*``); all given must match."""

    device: str = "*"
    metric: str | None = None
    asset: str | None = None

    def matches_device(self, device: str) -> bool:
        return self.device == "*" or fnmatch.fnmatchcase(device, self.device)

    def matches_asset(self, asset: str) -> bool:
        return self.asset is None or fnmatch.fnmatchcase(asset, self.asset)


class _RuleBase(_Strict):
    name: str = Field(pattern=_NAME_RE)
    description: str = ""
    severity: Severity = Severity.MAJOR
    select: Selector = Field(default_factory=Selector)
    message: str = Field(default="", max_length=500)
    enabled: bool = True


class ThresholdRule(_RuleBase):
    """Fire when a metric stays above/below a threshold for a duration; clear with hysteresis."""

    kind: Literal["threshold"]
    above: float | None = None
    below: float | None = None
    for_: Duration = Field(default=timedelta(0), alias="for")
    clear_below: float | None = None
    clear_above: float | None = None
    clear_for: Duration = Field(default=timedelta(0))

    @field_validator("for_", "clear_for", mode="before")
    @classmethod
    def _duration(cls, value: object) -> timedelta:
        return parse_duration(value)

    @model_validator(mode="after")
    def _check(self) -> ThresholdRule:
        if self.select.metric is None:
            raise ValueError("select.metric is required for a threshold rule")
        if (self.above is None) == (self.below is None):
            raise ValueError("give exactly one of 'above' or 'below'")
        if (
            self.above is not None
            and self.clear_below is not None
            and self.clear_below > self.above
        ):
            raise ValueError(f"clear_below {self.clear_below} must not exceed above {self.above}")
        if (
            self.below is not None
            and self.clear_above is not None
            and self.clear_above < self.below
        ):
            raise ValueError(f"clear_above {self.clear_above} must not be under below {self.below}")
        if self.above is not None and self.clear_above is not None:
            raise ValueError("use clear_below with 'above' (clear_above goes with 'below')")
        if self.below is not None and self.clear_below is not None:
            raise ValueError("use clear_above with 'below' (clear_below goes with 'above')")
        return self

    @property
    def threshold(self) -> float:
        return self.above if self.above is not None else self.below  # type: ignore[return-value]

    def breached(self, value: float) -> bool:
        return value > self.above if self.above is not None else value < self.threshold

    def cleared(self, value: float) -> bool:
        if self.above is not None:
            limit = self.clear_below if self.clear_below is not None else self.above
            return value <= limit
        limit = self.clear_above if self.clear_above is not None else self.threshold
        return value >= limit


class OfflineRule(_RuleBase):
    """Fire when a device has sent nothing for ``after``; resolve when it is heard again."""

    kind: Literal["offline"]
    after: Duration = Field(default=timedelta(minutes=5))

    @field_validator("after", mode="before")
    @classmethod
    def _duration(cls, value: object) -> timedelta:
        duration = parse_duration(value)
        if duration.total_seconds() < 1:
            raise ValueError("'after' must be at least 1 second")
        return duration


Rule = Annotated[ThresholdRule | OfflineRule, Field(discriminator="kind")]


class RuleFile(_Strict):
    """A rules file: a list of rules with unique names."""

    rules: list[Rule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_names(self) -> RuleFile:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.name in seen:
                raise ValueError(f"rule name {rule.name!r} is used twice")
            seen.add(rule.name)
        return self
