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

Kinds: ``threshold``, ``rate``, ``flatline``, ``stale``, ``offline`` / ``disconnect`` /
``heartbeat``, ``fault``, ``composite`` and ``baseline``; docs/rules.md describes each. A file may
also declare ``maintenance`` windows (see :mod:`rules.schedule`).
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)
from pydantic.json_schema import WithJsonSchema

from facility.core.types import Severity
from rules.schedule import MaintenanceWindow, Schedule, zone

__all__ = [
    "BaselineRule",
    "CompositeRule",
    "Condition",
    "FaultRule",
    "FlatlineRule",
    "OfflineRule",
    "RateRule",
    "Rule",
    "RuleFile",
    "Selector",
    "StaleRule",
    "ThresholdRule",
    "fingerprint",
    "is_glob",
    "matcher",
    "parse_duration",
]

_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0, None: 1.0}
_NAME_RE = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$"
_GLOB_CHARS = frozenset("*?[")


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


def is_glob(pattern: str) -> bool:
    """Whether a selector value is a shell glob (scanned) rather than an exact name (indexed)."""
    return any(ch in _GLOB_CHARS for ch in pattern)


Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": 0, "description": "seconds"},
                {"type": "string", "pattern": _DURATION_RE.pattern},
            ],
            "examples": ["30s", "5m", "1h", "2d"],
        }
    ),
]


class _Strict(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, allow_inf_nan=False
    )


def matcher(pattern: str | None) -> Callable[[str], bool] | None:
    """A compiled test for one selector value; None when it matches everything."""
    if pattern is None or pattern == "*":
        return None
    if not is_glob(pattern):
        return pattern.__eq__
    compiled = re.compile(fnmatch.translate(pattern))
    return lambda value: compiled.match(value) is not None


def _match(pattern: str | None, value: str) -> bool:
    if pattern is None:
        return True
    if not is_glob(pattern):
        return pattern == value
    return fnmatch.fnmatchcase(value, pattern)


class Selector(_Strict):
    """Which readings a rule looks at. Globs as in shell (``ahu-*``); all given must match.

    ``device`` and ``metric`` come with the reading; ``asset``, ``asset_type``, ``site``,
    ``building``, ``floor`` and ``zone`` come from the asset resolver the application passes in
    (without one, a device is its own asset and has no type or location).
    """

    device: str = "*"
    metric: str | None = None
    asset: str | None = None
    asset_type: str | None = None
    site: str | None = None
    building: str | None = None
    floor: str | None = None
    zone: str | None = None

    def matches_device(self, device: str) -> bool:
        return self.device == "*" or _match(self.device, device)

    def matches_asset(self, asset: str) -> bool:
        return _match(self.asset, asset)

    @property
    def needs_attributes(self) -> bool:
        """Whether matching needs the resolver's attributes beyond the asset code."""
        return any(
            value is not None
            for value in (self.asset_type, self.site, self.building, self.floor, self.zone)
        )

    def matches_attributes(self, attributes: dict[str, str]) -> bool:
        return (
            _match(self.asset_type, attributes.get("asset_type", ""))
            and _match(self.site, attributes.get("site", ""))
            and _match(self.building, attributes.get("building", ""))
            and _match(self.floor, attributes.get("floor", ""))
            and _match(self.zone, attributes.get("zone", ""))
        )


class _RuleBase(_Strict):
    name: str = Field(pattern=_NAME_RE)
    description: str = Field(default="", max_length=2000)
    severity: Severity = Severity.MAJOR
    select: Selector = Field(default_factory=Selector)
    message: str = Field(default="", max_length=500)
    enabled: bool = True
    schedule: Schedule | None = Field(
        default=None, description="active only inside these weekly windows"
    )
    min_refire: Duration = Field(
        default=timedelta(0),
        description="flapping guard: a re-fire sooner than this after a resolve is held back "
        "(recorded as suppressed and counted) until the condition has lasted this long",
    )
    auto_resolve: bool = Field(
        default=False,
        description="ask maintenance to close the work order when the condition clears "
        "(default: add an event and leave closing to people)",
    )

    def metrics(self) -> list[str]:
        """The metrics whose readings this rule must see (the engine indexes on them)."""
        return [self.select.metric] if self.select.metric else []


class _Debounced(_RuleBase):
    for_: Duration = Field(default=timedelta(0), alias="for")
    clear_for: Duration = Field(default=timedelta(0))


class ThresholdRule(_Debounced):
    """Fire when a metric stays above/below a threshold (or outside a range) for a duration.

    Give ``above`` and ``below`` together to watch a range: the rule fires outside it.
    ``clear_below`` / ``clear_above`` set the hysteresis band.
    """

    kind: Literal["threshold"]
    above: float | None = None
    below: float | None = None
    clear_below: float | None = None
    clear_above: float | None = None

    @model_validator(mode="after")
    def _check(self) -> ThresholdRule:
        if self.select.metric is None:
            raise ValueError("select.metric is required for a threshold rule")
        if self.above is None and self.below is None:
            raise ValueError("give 'above', 'below' or both (a range)")
        if self.above is not None and self.below is not None and self.below >= self.above:
            raise ValueError(
                f"for a range give below {self.below} lower than above {self.above} "
                "(the rule fires outside [below, above])"
            )
        if self.clear_below is not None:
            if self.above is None:
                raise ValueError("use clear_above with 'below' (clear_below goes with 'above')")
            if self.clear_below > self.above:
                raise ValueError(
                    f"clear_below {self.clear_below} must not exceed above {self.above}"
                )
        if self.clear_above is not None:
            if self.below is None:
                raise ValueError("use clear_below with 'above' (clear_above goes with 'below')")
            if self.clear_above < self.below:
                raise ValueError(
                    f"clear_above {self.clear_above} must not be under below {self.below}"
                )
        return self

    @property
    def threshold(self) -> float:
        return self.above if self.above is not None else self.below  # type: ignore[return-value]

    def breached(self, value: float) -> bool:
        return (self.above is not None and value > self.above) or (
            self.below is not None and value < self.below
        )

    def cleared(self, value: float) -> bool:
        ok = True
        if self.above is not None:
            ok = value <= (self.clear_below if self.clear_below is not None else self.above)
        if self.below is not None:
            ok = ok and value >= (self.clear_above if self.clear_above is not None else self.below)
        return ok


class RateRule(_Debounced):
    """Fire when a metric rises (or falls) by more than ``rise`` (``fall``) within ``window``."""

    kind: Literal["rate"]
    rise: float | None = Field(default=None, gt=0)
    fall: float | None = Field(default=None, gt=0)
    window: Duration = Field(default=timedelta(minutes=10))

    @model_validator(mode="after")
    def _check(self) -> RateRule:
        if self.select.metric is None:
            raise ValueError("select.metric is required for a rate rule")
        if (self.rise is None) == (self.fall is None):
            raise ValueError("give exactly one of 'rise' or 'fall'")
        if self.window.total_seconds() < 1:
            raise ValueError("'window' must be at least 1 second")
        return self

    @property
    def amount(self) -> float:
        return self.rise if self.rise is not None else self.fall  # type: ignore[return-value]


class FlatlineRule(_RuleBase):
    """Fire when a metric stays within ``tolerance`` of one value for ``for`` (a stuck sensor)."""

    kind: Literal["flatline"]
    tolerance: float = Field(default=0.0, ge=0)
    for_: Duration = Field(default=timedelta(hours=1), alias="for")

    @model_validator(mode="after")
    def _check(self) -> FlatlineRule:
        if self.select.metric is None:
            raise ValueError("select.metric is required for a flatline rule")
        if self.for_.total_seconds() < 1:
            raise ValueError("'for' must be at least 1 second")
        return self


class StaleRule(_RuleBase):
    """Fire when one metric stops updating for ``after`` while its device still sends others."""

    kind: Literal["stale"]
    after: Duration = Field(default=timedelta(minutes=15))

    @model_validator(mode="after")
    def _check(self) -> StaleRule:
        if self.select.metric is None:
            raise ValueError("select.metric is required for a stale rule")
        if self.after.total_seconds() < 1:
            raise ValueError("'after' must be at least 1 second")
        return self


class OfflineRule(_RuleBase):
    """A device is gone; resolve when it is heard again.

    ``disconnect``: the broker reported it gone (last will / availability ``offline``).
    ``heartbeat``: it sent nothing for ``after``. ``offline``: either of the two.
    """

    kind: Literal["offline", "disconnect", "heartbeat"]
    after: Duration = Field(default=timedelta(minutes=5))

    @field_validator("after")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value.total_seconds() < 1:
            raise ValueError("'after' must be at least 1 second")
        return value

    @property
    def on_disconnect(self) -> bool:
        return self.kind in ("offline", "disconnect")

    @property
    def on_heartbeat(self) -> bool:
        return self.kind in ("offline", "heartbeat")


class FaultRule(_Debounced):
    """Fire while equipment reports a fault code (any non-zero by default)."""

    kind: Literal["fault"]
    codes: list[float] | None = Field(default=None, description="only these codes (default any)")
    ignore: list[float] = Field(default_factory=lambda: [0.0], description="codes meaning OK")

    def metrics(self) -> list[str]:
        return [self.select.metric or "fault_code"]

    def breached(self, value: float) -> bool:
        if value in self.ignore:
            return False
        return self.codes is None or value in self.codes


class Condition(_Strict):
    """One test in a composite rule on the asset's latest value of ``metric``."""

    metric: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")
    above: float | None = None
    below: float | None = None
    equals: float | None = None
    max_age: Duration = Field(
        default=timedelta(minutes=15), description="older values count as unknown (false)"
    )

    @model_validator(mode="after")
    def _check(self) -> Condition:
        if self.above is None and self.below is None and self.equals is None:
            raise ValueError("a condition needs 'above', 'below' or 'equals'")
        if self.equals is not None and (self.above is not None or self.below is not None):
            raise ValueError("'equals' cannot be combined with 'above'/'below'")
        return self

    def holds(self, value: float) -> bool:
        if self.equals is not None:
            return value == self.equals
        return (self.above is None or value > self.above) and (
            self.below is None or value < self.below
        )


class CompositeRule(_Debounced):
    """Fire when all (or any) conditions hold on the same asset, e.g. fan on AND supply warm."""

    kind: Literal["composite"]
    mode: Literal["all", "any"] = "all"
    conditions: list[Condition] = Field(min_length=1, max_length=20)

    @model_validator(mode="after")
    def _check(self) -> CompositeRule:
        if self.select.metric is not None:
            raise ValueError("a composite rule takes its metrics from 'conditions', not select")
        return self

    def metrics(self) -> list[str]:
        return sorted({condition.metric for condition in self.conditions})


class BaselineRule(_RuleBase):
    """Fire when an hour's consumption departs from what this hour of the week usually is.

    Each hour is aggregated (``mean`` for power, ``increase`` for a cumulative energy counter)
    and compared with the median of the same hour of the week in past weeks; the band is
    ``sensitivity`` robust standard deviations (1.4826 * MAD), at least ``min_deviation``.
    Quiet until ``learning`` has passed and the hour has ``min_samples`` past values.
    """

    kind: Literal["baseline"]
    aggregate: Literal["mean", "increase"] = "mean"
    direction: Literal["above", "below"] = "above"
    sensitivity: float = Field(default=3.0, gt=0, le=100)
    min_deviation: float = Field(default=0.0, ge=0)
    learning: Duration = Field(default=timedelta(days=14))
    min_samples: int = Field(default=2, ge=1, le=52)
    history_weeks: int = Field(default=8, ge=1, le=52)
    timezone: str = "UTC"

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:

        zone(value)
        return value

    @model_validator(mode="after")
    def _check(self) -> BaselineRule:
        if self.select.metric is None:
            raise ValueError("select.metric is required for a baseline rule")
        if self.min_samples > self.history_weeks:
            raise ValueError("min_samples must not exceed history_weeks")
        return self


Rule = Annotated[
    ThresholdRule
    | RateRule
    | FlatlineRule
    | StaleRule
    | OfflineRule
    | FaultRule
    | CompositeRule
    | BaselineRule,
    Field(discriminator="kind"),
]

KINDS = (
    "threshold",
    "rate",
    "flatline",
    "stale",
    "offline",
    "disconnect",
    "heartbeat",
    "fault",
    "composite",
    "baseline",
)


def fingerprint(rule: BaseModel) -> str:
    """A short hash of a rule's definition: equal fingerprints mean "unchanged" on reload."""
    return hashlib.sha256(rule.model_dump_json(by_alias=True).encode()).hexdigest()[:16]


class RuleFile(_Strict):
    """A rules file: rules with unique names, and optional maintenance windows."""

    rules: list[Rule] = Field(default_factory=list)
    maintenance: list[MaintenanceWindow] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_names(self) -> RuleFile:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.name in seen:
                raise ValueError(f"rule name {rule.name!r} is used twice")
            seen.add(rule.name)
        return self

    @classmethod
    def json_schema(cls) -> dict[str, Any]:
        """The JSON Schema of the file format (``facility rules schema`` prints it)."""
        return cls.model_json_schema(by_alias=True)
