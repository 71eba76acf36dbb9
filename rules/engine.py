"""The rules engine: readings and presence in, :class:`Alert` firing/resolved out.

Time is the readings' own timestamps (event time), never the wall clock, except in
:meth:`RuleEngine.tick`, which the caller drives with "now". That is what lets
``facility rules replay`` run recorded history through exactly the code that runs live.

Rules are indexed by metric, so a reading only meets the rules that can match it.

State lives in memory, keyed by (rule, device). After a restart a ``for`` timer starts again from
the next reading, and an alert that was firing is re-raised when its condition is still true;
that is harmless because maintenance folds a re-fire into the open work order (one open order per
rule and asset, enforced by the database).
"""

from __future__ import annotations

import logging
import string
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from prometheus_client import Counter

from facility.types import Alert, AlertState, Presence, Reading
from rules.model import OfflineRule, RuleFile, ThresholdRule

__all__ = ["ALERTS", "RuleEngine", "render_message"]

log = logging.getLogger(__name__)

ALERTS = Counter("facility_rules_alerts", "Alerts raised by the rules engine", ["state"])

AssetResolver = Callable[[str], str | None]


class _SafeFormatter(string.Formatter):
    """``str.format`` without attribute or index access, so a template cannot reach objects."""

    def get_field(self, field_name: str, args: Any, kwargs: Any) -> Any:
        if "." in field_name or "[" in field_name:
            raise KeyError(field_name)
        return super().get_field(field_name, args, kwargs)


_FORMATTER = _SafeFormatter()


def render_message(template: str, fields: Mapping[str, Any]) -> str:
    """Fill a rule's message template; a broken template yields the template itself."""
    try:
        return _FORMATTER.vformat(template, (), dict(fields))
    except (KeyError, ValueError, IndexError, TypeError):
        return template


@dataclass(slots=True)
class _ThresholdState:
    pending_since: datetime | None = None
    clear_since: datetime | None = None
    firing: bool = False
    last_ts: datetime | None = None


class RuleEngine:
    """Evaluates a :class:`RuleFile`; see the module docstring."""

    def __init__(self, rule_file: RuleFile, *, asset_of: AssetResolver | None = None) -> None:
        self.rule_file = rule_file
        self._asset_of = asset_of or (lambda device: None)
        self._by_metric: dict[str, list[ThresholdRule]] = {}
        self._offline: list[OfflineRule] = []
        for rule in rule_file.rules:
            if not rule.enabled:
                continue
            if isinstance(rule, ThresholdRule):
                assert rule.select.metric is not None
                self._by_metric.setdefault(rule.select.metric, []).append(rule)
            else:
                self._offline.append(rule)
        self._threshold_state: dict[tuple[str, str], _ThresholdState] = {}
        self._last_seen: dict[str, datetime] = {}
        self._offline_firing: set[tuple[str, str]] = set()

    def asset_of(self, device: str) -> str:
        """The asset a device belongs to; an unmapped device is its own asset."""
        return self._asset_of(device) or device

    # -- readings ---------------------------------------------------------------------------
    def process(self, readings: Iterable[Reading]) -> list[Alert]:
        alerts: list[Alert] = []
        for reading in readings:
            alerts.extend(self._process_one(reading))
        return alerts

    def _process_one(self, reading: Reading) -> list[Alert]:
        alerts: list[Alert] = []
        previous = self._last_seen.get(reading.device)
        if previous is None or reading.ts > previous:
            self._last_seen[reading.device] = reading.ts
        alerts.extend(self._back_online(reading.device, reading.ts, reading.value))
        rules = self._by_metric.get(reading.metric)
        if not rules:
            return alerts
        asset: str | None = None
        for rule in rules:
            if not rule.select.matches_device(reading.device):
                continue
            asset = asset or self.asset_of(reading.device)
            if not rule.select.matches_asset(asset):
                continue
            alert = self._threshold(rule, reading, asset)
            if alert is not None:
                alerts.append(alert)
        return alerts

    def _threshold(self, rule: ThresholdRule, reading: Reading, asset: str) -> Alert | None:
        key = (rule.name, reading.device)
        state = self._threshold_state.get(key)
        if state is None:
            state = self._threshold_state[key] = _ThresholdState()
        if state.last_ts is not None and reading.ts < state.last_ts:
            return None  # out of order: the rule has already moved past this instant
        state.last_ts = reading.ts
        value, ts = reading.value, reading.ts
        if not state.firing:
            if not rule.breached(value):
                state.pending_since = None
                return None
            state.pending_since = state.pending_since or ts
            if ts - state.pending_since < rule.for_:
                return None
            state.firing, state.clear_since = True, None
            return self._alert(
                rule, reading.device, asset, AlertState.FIRING, ts, value, reading.unit
            )
        if not rule.cleared(value):
            state.clear_since = None
            return None
        state.clear_since = state.clear_since or ts
        if ts - state.clear_since < rule.clear_for:
            return None
        state.firing, state.pending_since, state.clear_since = False, None, None
        return self._alert(
            rule, reading.device, asset, AlertState.RESOLVED, ts, value, reading.unit
        )

    # -- presence and silence ---------------------------------------------------------------
    def process_presence(self, presences: Iterable[Presence]) -> list[Alert]:
        """An explicit offline (last will, availability topic) fires offline rules at once."""
        alerts: list[Alert] = []
        for presence in presences:
            if presence.online:
                alerts.extend(self._back_online(presence.device, presence.ts, None))
                continue
            for rule in self._offline:
                alert = self._fire_offline(rule, presence.device, presence.ts)
                if alert is not None:
                    alerts.append(alert)
        return alerts

    def tick(self, now: datetime) -> list[Alert]:
        """Fire offline rules for devices silent longer than their ``after``."""
        alerts: list[Alert] = []
        for rule in self._offline:
            for device, last_seen in list(self._last_seen.items()):
                if now - last_seen > rule.after:
                    alert = self._fire_offline(rule, device, now, silent_for=now - last_seen)
                    if alert is not None:
                        alerts.append(alert)
        return alerts

    def _fire_offline(
        self, rule: OfflineRule, device: str, ts: datetime, silent_for: timedelta | None = None
    ) -> Alert | None:
        key = (rule.name, device)
        if key in self._offline_firing or not rule.select.matches_device(device):
            return None
        asset = self.asset_of(device)
        if not rule.select.matches_asset(asset):
            return None
        self._offline_firing.add(key)
        seconds = silent_for.total_seconds() if silent_for is not None else None
        return self._alert(rule, device, asset, AlertState.FIRING, ts, seconds, "s")

    def _back_online(self, device: str, ts: datetime, value: float | None) -> list[Alert]:
        alerts = []
        for rule in self._offline:
            key = (rule.name, device)
            if key in self._offline_firing:
                self._offline_firing.discard(key)
                asset = self.asset_of(device)
                alerts.append(self._alert(rule, device, asset, AlertState.RESOLVED, ts, value, ""))
        return alerts

    # -- output -----------------------------------------------------------------------------
    def _alert(
        self,
        rule: ThresholdRule | OfflineRule,
        device: str,
        asset: str,
        state: AlertState,
        ts: datetime,
        value: float | None,
        unit: str,
    ) -> Alert:
        fields: dict[str, Any] = {
            "rule": rule.name,
            "device": device,
            "asset": asset,
            "state": state.value,
            "value": value if value is not None else float("nan"),
            "unit": unit,
            "severity": rule.severity.value,
        }
        if isinstance(rule, ThresholdRule):
            fields.update(
                metric=rule.select.metric,
                threshold=rule.threshold,
                **{"for": _human(rule.for_)},
            )
            default = (
                f"{asset}: {rule.select.metric} {'above' if rule.above is not None else 'below'} "
                f"{rule.threshold:g} for {_human(rule.for_)} (now {value:g} {unit})"
            )
        else:
            fields.update(after=_human(rule.after))
            default = f"{device} sent nothing for {_human(rule.after)}"
        message = render_message(rule.message, fields) if rule.message else default
        if state is AlertState.RESOLVED:
            message = f"resolved: {message}"
        ALERTS.labels(state=state.value).inc()
        return Alert(
            rule=rule.name,
            device=device,
            asset=asset,
            state=state,
            severity=rule.severity,
            ts=ts,
            value=value,
            message=message,
        )


def _human(duration: timedelta) -> str:
    seconds = int(duration.total_seconds())
    if seconds % 3600 == 0 and seconds:
        return f"{seconds // 3600}h"
    if seconds % 60 == 0 and seconds:
        return f"{seconds // 60}m"
    return f"{seconds}s"
