"""The alert life cycle: condition changes in, published ``Alert`` objects out.

Per (rule, asset) it

* de-duplicates: several devices of one asset breaching the same rule raise one alert, which
  resolves when the last of them clears;
* holds back flapping: a re-fire sooner than the rule's ``min_refire`` after its last resolve is
  recorded as ``suppressed`` (reason ``flapping``) and counted; if the condition is still true
  when ``min_refire`` has passed, the alert fires then, carrying ``suppressed_count``;
* honours maintenance windows: a firing inside an active window is recorded as ``suppressed``
  (reason ``maintenance:<window>``); if the condition still holds when the window ends, the alert
  fires then. Nothing is silently lost.

Held alerts are re-examined on :meth:`Lifecycle.tick` (the engine's tick, which replay drives
with event time).
"""

from __future__ import annotations

import fnmatch
import string
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from facility.core.types import Alert, AlertState
from rules._kinds import Transition
from rules.model import Rule
from rules.schedule import MaintenanceWindow

__all__ = ["GateState", "Lifecycle", "render_message"]


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
    except (KeyError, ValueError, IndexError, TypeError, AttributeError):
        return template


@dataclass(slots=True)
class GateState:
    """What the outside world has been told about one (rule, asset)."""

    devices: list[str] = field(default_factory=list)  # state keys (devices) whose condition is on
    published: bool = False  # a firing alert is out and not yet resolved
    held: str = ""  # why the current firing is held back ("" = not held)
    last_resolved: float | None = None
    suppressed_count: int = 0
    device: str = ""
    value: float | None = None
    message: str = ""


AttributesOf = Callable[[str, str], Mapping[str, str]]  # (device, asset) -> attributes


class Lifecycle:
    """See the module docstring. ``attributes_of`` gives the asset's site/building/... path."""

    def __init__(self, attributes_of: AttributesOf) -> None:
        self.states: dict[tuple[str, str], GateState] = {}
        self.dirty: set[tuple[str, str]] = set()
        self.held: set[tuple[str, str]] = set()  # keys whose firing is held back
        self.windows: list[MaintenanceWindow] = []
        self.rules: dict[str, Rule] = {}
        self._attributes_of = attributes_of

    # -- inputs ---------------------------------------------------------------------------------
    def apply(self, transitions: Iterable[Transition]) -> list[Alert]:
        alerts: list[Alert] = []
        for transition in transitions:
            alert = self._apply_one(transition)
            if alert is not None:
                alerts.append(alert)
        return alerts

    def _apply_one(self, t: Transition) -> Alert | None:
        rule = t.rule
        key = (rule.name, t.asset)
        st = self.states.get(key)
        if st is None:
            st = self.states[key] = GateState()
        self.dirty.add(key)
        fields = {
            "rule": rule.name,
            "device": t.device,
            "asset": t.asset,
            "value": t.value if t.value is not None else float("nan"),
            "unit": t.unit,
            "severity": rule.severity.value,
            **t.fields,
        }
        message = render_message(rule.message, fields) if rule.message else t.default
        if t.firing:
            was_on = bool(st.devices)
            if t.key not in st.devices:
                st.devices.append(t.key)
            if was_on:
                return None  # de-duplicated: the asset already has this alert (or it is held)
            st.device, st.value, st.message = t.device, t.value, message
            reason = self._suppression(rule, st, t.device, t.asset, t.ts)
            if reason:
                st.held = reason
                self.held.add(key)
                if reason == "flapping":
                    st.suppressed_count += 1
                return self._alert(rule, st, t.asset, AlertState.SUPPRESSED, t.ts, reason=reason)
            return self._publish(rule, st, t.asset, t.ts)
        if t.key in st.devices:
            st.devices.remove(t.key)
        if st.devices:
            return None
        st.held = ""
        self.held.discard(key)
        if not st.published:
            return None
        st.published = False
        st.last_resolved = t.ts
        st.device, st.value = t.device, t.value
        st.message = f"resolved: {message}"
        return self._alert(rule, st, t.asset, AlertState.RESOLVED, t.ts)

    def tick(self, now: float) -> list[Alert]:
        """Publish held alerts whose reason has passed while their condition still holds."""
        alerts = []
        for key in sorted(self.held):
            rule_name, asset = key
            st = self.states.get(key)
            rule = self.rules.get(rule_name)
            if st is None or rule is None or not st.held or not st.devices:
                self.held.discard(key)
                continue
            if self._suppression(rule, st, st.device, asset, now):
                continue
            self.dirty.add((rule_name, asset))
            alerts.append(self._publish(rule, st, asset, now))
        return alerts

    # -- decisions ------------------------------------------------------------------------------
    def _suppression(self, rule: Rule, st: GateState, device: str, asset: str, ts: float) -> str:
        window = self._window(rule, device, asset, ts)
        if window is not None:
            return f"maintenance:{window.name}"
        min_refire = rule.min_refire.total_seconds()
        if min_refire and st.last_resolved is not None and ts - st.last_resolved < min_refire:
            return "flapping"
        return ""

    def _window(self, rule: Rule, device: str, asset: str, ts: float) -> MaintenanceWindow | None:
        if not self.windows:
            return None
        when = datetime.fromtimestamp(ts, UTC)
        attributes: Mapping[str, str] | None = None
        for window in self.windows:
            if not any(fnmatch.fnmatchcase(rule.name, pattern) for pattern in window.rules):
                continue
            if not window.active(when):
                continue
            if attributes is None:
                attributes = {**self._attributes_of(device, asset), "asset": asset}
            if window.covers(rule=rule.name, device=device, attributes=attributes):
                return window
        return None

    # -- output ---------------------------------------------------------------------------------
    def _publish(self, rule: Rule, st: GateState, asset: str, ts: float) -> Alert:
        count = st.suppressed_count
        st.published, st.held, st.suppressed_count = True, "", 0
        self.held.discard((rule.name, asset))
        return self._alert(rule, st, asset, AlertState.FIRING, ts, suppressed=count)

    def _alert(
        self,
        rule: Rule,
        st: GateState,
        asset: str,
        state: AlertState,
        ts: float,
        *,
        reason: str = "",
        suppressed: int = 0,
    ) -> Alert:
        message = st.message
        if suppressed:
            message = f"{message} ({suppressed} re-fires held back as flapping)"
        return Alert(
            rule=rule.name,
            device=st.device,
            asset=asset,
            state=state,
            severity=rule.severity,
            ts=datetime.fromtimestamp(ts, UTC),
            value=st.value,
            message=message,
            reason=reason,
            suppressed_count=suppressed,
            auto_resolve=rule.auto_resolve,
        )

    # -- persistence ----------------------------------------------------------------------------
    def dump(self, key: tuple[str, str]) -> dict[str, Any] | None:
        st = self.states.get(key)
        return None if st is None else asdict(st)

    def load(self, key: tuple[str, str], data: dict[str, Any]) -> None:
        st = self.states[key] = GateState(**data)
        if st.held:
            self.held.add(key)

    def forget(self, rule_name: str) -> None:
        for key in [k for k in self.states if k[0] == rule_name]:
            del self.states[key]
            self.held.discard(key)
            self.dirty.add(key)
