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
``heartbeat``, ``fault``, ``composite``, ``expression`` and ``baseline``; docs/rules.md describes
each (docs/fdd.md the expression kind). A file may also declare ``maintenance`` windows (see
:mod:`rules.schedule`).
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
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.json_schema import WithJsonSchema

from facility.core.types import Severity
from rules._expression import STATE_CHANGES, Expression, ExpressionError, compile_expression
from rules.points import (
    AHU_POINTS,
    BOOLEAN_POINTS,
    STATE_POINTS,
    OperatingState,
)
from rules.schedule import MaintenanceWindow, Schedule, zone

__all__ = [
    "BaselineRule",
    "CompositeRule",
    "Condition",
    "ExpressionRule",
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


_POINT_NAME = r"^[a-z][a-z0-9_]{0,63}$"
_KNOWN_POINTS = frozenset(AHU_POINTS)


class OperatingStateLimits(_Strict):
    """How commands are read as G36 operating states (see :mod:`rules.points`)."""

    min_outdoor_air_damper: float = Field(
        default=20.0, ge=0, le=100, description="the damper position at minimum outdoor air, %"
    )
    damper_tolerance: float = Field(
        default=5.0, ge=0, le=50, description="within this of minimum (or 100 %) counts as there"
    )
    valve_deadband: float = Field(
        default=1.0, ge=0, le=50, description="a valve command at or below this counts as shut"
    )


class ExpressionRule(_Debounced):
    """Fire when a boolean ``condition`` over several points of one asset holds for ``for``.

    ``points`` maps the names the condition uses to metrics (canonical AHU point names need no
    mapping); ``params`` are named constants (tolerances). ``clear`` is an optional condition for
    clearing (hysteresis; default: the condition no longer holds). A point missing or older than
    ``max_age`` makes the condition unknown: no fire, no clear, and pending ``for`` time restarts.
    ``states`` limits the rule to G36 operating states, suspended for ``mode_delay`` after each
    change of state; ``fan`` names the fan status point: fan off, the condition is false, and it
    is not evaluated for ``fan_startup_delay`` after the fan starts.
    """

    kind: Literal["expression"]
    points: dict[str, str] = Field(default_factory=dict, description="name -> metric")
    params: dict[str, float] = Field(default_factory=dict, description="named constants")
    condition: str = Field(min_length=1, max_length=2000)
    clear: str | None = Field(default=None, max_length=2000)
    value: str | None = Field(
        default=None, max_length=2000, description="a number shown as the alert's value"
    )
    max_age: Duration = Field(default=timedelta(minutes=10))
    states: list[OperatingState] | None = Field(default=None, min_length=1)
    mode_delay: Duration = Field(default=timedelta(minutes=30))
    operating_state: OperatingStateLimits = Field(default_factory=OperatingStateLimits)
    fan: str | None = Field(default=None, description="fan status point (name or metric)")
    fan_startup_delay: Duration = Field(default=timedelta(0))

    @field_validator("points")
    @classmethod
    def _point_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name, metric in value.items():
            if not re.match(_POINT_NAME, name) or not re.match(_POINT_NAME, metric):
                raise ValueError(
                    f"point {name!r}: {metric!r}: names and metrics are snake_case (a-z, 0-9, _)"
                )
        return value

    @field_validator("params")
    @classmethod
    def _param_names(cls, value: dict[str, float], info: ValidationInfo) -> dict[str, float]:
        points = info.data.get("points") or {}
        for name in value:
            if not re.match(_POINT_NAME, name):
                raise ValueError(f"parameter {name!r}: names are snake_case (a-z, 0-9, _)")
            if name in points or name in _KNOWN_POINTS:
                raise ValueError(f"parameter {name!r} has the name of a point")
        return value

    @field_validator("condition", "clear", "value")
    @classmethod
    def _compiles(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        if "points" not in info.data or "params" not in info.data:
            return value  # reported on those fields
        try:
            compile_expression(
                value,
                want="num" if info.field_name == "value" else "bool",
                points=info.data["points"],
                params=info.data["params"],
                known=_KNOWN_POINTS,
                booleans=BOOLEAN_POINTS,
            )
        except ExpressionError as exc:
            raise ValueError(str(exc)) from None
        return value

    @model_validator(mode="after")
    def _check(self) -> ExpressionRule:
        if self.select.metric is not None:
            raise ValueError("an expression rule takes its metrics from 'condition', not select")
        if self.fan is not None and self.metric_of(self.fan) not in BOOLEAN_POINTS:
            raise ValueError(
                f"fan {self.fan!r} is not a boolean status point "
                "(e.g. supply_fan_status, or map a name to one under 'points')"
            )
        return self

    def metric_of(self, name: str) -> str:
        """The metric a point name stands for (canonical names stand for themselves)."""
        return self.points.get(name, name)

    def compiled(self, field: Literal["condition", "clear", "value"]) -> Expression | None:
        """The field's compiled expression (cached; None when the field is not set)."""
        text = getattr(self, field)
        if text is None:
            return None
        return compile_expression(
            text,
            want="num" if field == "value" else "bool",
            points=self.points,
            params=self.params,
            known=_KNOWN_POINTS,
            booleans=BOOLEAN_POINTS,
        )

    def state_metrics(self) -> list[str]:
        """The command metrics the operating state is derived from (``states`` or ``changes``)."""
        fields: tuple[Literal["condition", "clear", "value"], ...] = ("condition", "clear", "value")
        counts = any(
            metric == STATE_CHANGES
            for field in fields
            if (expression := self.compiled(field)) is not None
            for metric, _ in expression.refs
        )
        return [self.metric_of(name) for name in STATE_POINTS] if self.states or counts else []

    def metrics(self) -> list[str]:
        found: set[str] = set(self.state_metrics())
        for field in ("condition", "clear", "value"):
            expression = self.compiled(field)
            if expression is not None:
                found.update(metric for metric, _ in expression.refs if metric != STATE_CHANGES)
        if self.fan is not None:
            found.add(self.metric_of(self.fan))
        return sorted(found)


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
    | ExpressionRule
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
    "expression",
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
