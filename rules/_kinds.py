"""One evaluator per rule kind: a reading (or a tick, or a presence) in, a condition change out.

An evaluator knows only its rule's condition; it says "the condition started" or "stopped"
(:class:`Transition`) for one key (a device, or an asset for asset-wide kinds). De-duplication,
flapping, maintenance windows and the Alert itself are the life cycle's job
(:mod:`rules.lifecycle`).

Time is epoch seconds taken from the events, never the wall clock. Each evaluator's state is a
plain dataclass of JSON-friendly values, so :mod:`rules.state` can persist it as it is.
Readings older than (or as old as) the last one a key has seen are ignored: the rule has already
moved past that instant, and a duplicate must not count twice.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, Generic, TypeVar

from facility.core.types import Reading
from rules._expression import STATE_CHANGES
from rules.model import (
    BaselineRule,
    CompositeRule,
    ExpressionRule,
    FaultRule,
    FlatlineRule,
    OfflineRule,
    RateRule,
    Rule,
    StaleRule,
    ThresholdRule,
    fingerprint,
    matcher,
)
from rules.points import state_classifier
from rules.schedule import zone

__all__ = ["Evaluator", "Transition", "human", "make_evaluator"]

MAD_TO_SIGMA = 1.4826  # scales the median absolute deviation to a normal standard deviation
MAX_RATE_SAMPLES = 4096


def human(seconds: float) -> str:
    """``600`` → ``10m``: durations in messages read as the rule file writes them."""
    whole = int(seconds)
    if whole and whole % 86400 == 0:
        return f"{whole // 86400}d"
    if whole and whole % 3600 == 0:
        return f"{whole // 3600}h"
    if whole >= 3600:
        return f"{whole // 3600}h{whole % 3600 // 60}m"
    if whole and whole % 60 == 0:
        return f"{whole // 60}m"
    if whole >= 60:
        return f"{whole // 60}m{whole % 60}s"
    return f"{whole}s"


@dataclass(slots=True)
class Transition:
    """The condition of ``rule`` started (``firing``) or stopped on ``device``/``asset``."""

    rule: Rule
    device: str
    asset: str
    firing: bool
    ts: float
    value: float | None
    unit: str
    default: str
    fields: dict[str, Any] = field(default_factory=dict)
    key: str = ""  # the evaluator's state key: the device, or the asset for asset-wide kinds

    @property
    def when(self) -> datetime:
        return datetime.fromtimestamp(self.ts, UTC)


@dataclass(slots=True)
class _Debounce:
    """Shared ``for`` / ``clear_for`` logic on event time."""

    pending_since: float | None = None
    clear_since: float | None = None
    firing: bool = False
    last_ts: float | None = None

    def step(
        self, breached: bool, cleared: bool, ts: float, for_s: float, clear_for_s: float
    ) -> bool | None:
        """True = fire now, False = resolve now, None = no change."""
        if not self.firing:
            self.clear_since = None
            if not breached:
                self.pending_since = None
                return None
            if self.pending_since is None:
                self.pending_since = ts
            if ts - self.pending_since < for_s:
                return None
            self.firing = True
            return True
        if not cleared:
            self.clear_since = None
            return None
        if self.clear_since is None:
            self.clear_since = ts
        if ts - self.clear_since < clear_for_s:
            return None
        self.firing, self.pending_since, self.clear_since = False, None, None
        return False

    def signature(self) -> tuple[float | None, float | None, bool]:
        """What a restart must keep: the open windows and whether the alert is firing."""
        return self.pending_since, self.clear_since, self.firing

    def off_schedule(self) -> bool:
        """Outside the rule's schedule: forget pending time; True if a firing must resolve."""
        was_firing = self.firing
        self.firing, self.pending_since, self.clear_since = False, None, None
        return was_firing


S = TypeVar("S")
R = TypeVar("R", bound=Rule)


class Evaluator(Generic[R, S]):
    """Base: holds the rule, its per-key state and which keys changed since the last flush."""

    state_type: ClassVar[type[Any]]
    asset_keyed: ClassVar[bool] = False  # state per asset (composite, baseline) vs per device

    def __init__(self, rule: R) -> None:
        self.rule = rule
        self.fingerprint = fingerprint(rule)
        self.states: dict[str, S] = {}
        # keys whose state changed in a way a restart must not lose (a window opened, an alert
        # fired) are written at the next flush; keys only touched (last timestamp, running
        # aggregates) are written at most every few seconds, so persistence stays cheap
        self.dirty: set[str] = set()
        self.touched: set[str] = set()
        # compiled once: the per-reading path must not re-inspect the selector
        self.match_device = matcher(rule.select.device)
        self.match_asset = matcher(rule.select.asset)
        self.needs_attributes = rule.select.needs_attributes

    def state(self, key: str) -> S:
        found = self.states.get(key)
        if found is None:
            found = self.states[key] = self.state_type()
        self.touched.add(key)
        return found

    def dump(self, key: str) -> dict[str, Any] | None:
        found = self.states.get(key)
        return None if found is None else asdict(found)  # type: ignore[call-overload]

    def load(self, key: str, data: dict[str, Any]) -> None:
        self.states[key] = self.state_type(**data)

    def active(self, ts: float) -> bool:
        schedule = self.rule.schedule
        return schedule is None or schedule.active(datetime.fromtimestamp(ts, UTC))

    def on_reading(self, reading: Reading, ts: float, asset: str) -> Transition | None:
        return None

    def transition(
        self,
        reading_device: str,
        asset: str,
        firing: bool,
        ts: float,
        value: float | None,
        unit: str,
        default: str,
        **fields: Any,
    ) -> Transition:
        key = asset if self.asset_keyed else reading_device
        self.dirty.add(key)
        return Transition(
            self.rule, reading_device, asset, firing, ts, value, unit, default, fields, key
        )


# -- threshold ------------------------------------------------------------------------------------
def _debounce(
    evaluator: Evaluator[ThresholdRule, _Debounce] | Evaluator[FaultRule, _Debounce],
    reading: Reading,
    ts: float,
    breached: bool,
    cleared: bool,
) -> bool | None:
    """One debounced step shared by threshold and fault-code rules.

    Returns True (fire), False (clear) or None (no change, out-of-order reading, or off
    schedule with nothing to clear); marks the device's state dirty when it moved.
    """
    rule = evaluator.rule
    st = evaluator.state(reading.device)
    if st.last_ts is not None and ts <= st.last_ts:
        return None
    st.last_ts = ts
    before = st.signature()
    if not evaluator.active(ts):
        change: bool | None = False if st.off_schedule() else None
    else:
        change = st.step(
            breached, cleared, ts, rule.for_.total_seconds(), rule.clear_for.total_seconds()
        )
    if st.signature() != before:
        evaluator.dirty.add(reading.device)
    return change


class ThresholdEvaluator(Evaluator[ThresholdRule, _Debounce]):
    state_type = _Debounce

    def on_reading(self, reading: Reading, ts: float, asset: str) -> Transition | None:
        rule = self.rule
        value = reading.value
        change = _debounce(self, reading, ts, rule.breached(value), rule.cleared(value))
        if change is None:
            return None
        if rule.above is not None and rule.below is not None:
            where = f"outside {rule.below:g}..{rule.above:g}"
        elif rule.above is not None:
            where = f"above {rule.above:g}"
        else:
            where = f"below {rule.threshold:g}"
        default = (
            f"{asset}: {rule.select.metric} {where} for {human(rule.for_.total_seconds())} "
            f"(now {value:g} {reading.unit})"
        )
        return self.transition(
            reading.device,
            asset,
            change,
            ts,
            value,
            reading.unit,
            default,
            metric=rule.select.metric,
            threshold=rule.threshold,
            above=rule.above,
            below=rule.below,
            **{"for": human(rule.for_.total_seconds())},
        )


# -- rate of change -------------------------------------------------------------------------------
@dataclass(slots=True)
class _RateState(_Debounce):
    # monotonic queue of [ts, value]: its front is the window's minimum (rise) or maximum (fall)
    window: list[list[float]] = field(default_factory=list)


class RateEvaluator(Evaluator[RateRule, _RateState]):
    state_type = _RateState

    def on_reading(self, reading: Reading, ts: float, asset: str) -> Transition | None:
        rule = self.rule
        st = self.state(reading.device)
        if st.last_ts is not None and ts <= st.last_ts:
            return None
        st.last_ts = ts
        value = reading.value
        rising = rule.rise is not None
        queue = st.window
        while queue and (queue[-1][1] >= value if rising else queue[-1][1] <= value):
            queue.pop()
        queue.append([ts, value])
        horizon = ts - rule.window.total_seconds()
        drop = 0
        while drop < len(queue) - 1 and queue[drop][0] < horizon:
            drop += 1
        if drop or len(queue) > MAX_RATE_SAMPLES:
            del queue[: max(drop, len(queue) - MAX_RATE_SAMPLES)]
        change = value - queue[0][1] if rising else queue[0][1] - value
        before = st.signature()
        if not self.active(ts):
            result: bool | None = False if st.off_schedule() else None
        else:
            breached = change > rule.amount
            result = st.step(
                breached,
                not breached,
                ts,
                rule.for_.total_seconds(),
                rule.clear_for.total_seconds(),
            )
        if st.signature() != before:
            self.dirty.add(reading.device)
        if result is None:
            return None
        window = human(rule.window.total_seconds())
        verb = "rose" if rising else "fell"
        default = (
            f"{asset}: {rule.select.metric} {verb} {change:.3g} {reading.unit} within {window} "
            f"(limit {rule.amount:g}; now {value:g})"
        )
        return self.transition(
            reading.device,
            asset,
            result,
            ts,
            value,
            reading.unit,
            default,
            metric=rule.select.metric,
            change=change,
            threshold=rule.amount,
            window=window,
            **{"for": human(rule.for_.total_seconds())},
        )


# -- flatline / stuck sensor ----------------------------------------------------------------------
@dataclass(slots=True)
class _FlatState:
    anchor: float | None = None
    anchor_ts: float | None = None
    last_ts: float | None = None
    firing: bool = False


class FlatlineEvaluator(Evaluator[FlatlineRule, _FlatState]):
    state_type = _FlatState

    def on_reading(self, reading: Reading, ts: float, asset: str) -> Transition | None:
        rule = self.rule
        st = self.state(reading.device)
        if st.last_ts is not None and ts <= st.last_ts:
            return None
        st.last_ts = ts
        value = reading.value
        inside = st.anchor is not None and abs(value - st.anchor) <= rule.tolerance
        if not inside:
            st.anchor, st.anchor_ts = value, ts
        assert st.anchor_ts is not None
        flat_s = ts - st.anchor_ts
        active = self.active(ts)
        result: bool | None = None
        if st.firing and (not inside or not active):
            st.firing, result = False, False
        elif not st.firing and active and inside and flat_s >= rule.for_.total_seconds():
            st.firing, result = True, True
        if result is None:
            return None
        default = (
            f"{asset}: {rule.select.metric} stuck at {st.anchor:g} {reading.unit} "
            f"for {human(flat_s)} (sensor may be frozen)"
        )
        return self.transition(
            reading.device,
            asset,
            result,
            ts,
            value,
            reading.unit,
            default,
            metric=rule.select.metric,
            flat_for=human(flat_s),
            tolerance=rule.tolerance,
            **{"for": human(rule.for_.total_seconds())},
        )


# -- stale point ----------------------------------------------------------------------------------
@dataclass(slots=True)
class _StaleState:
    metric_ts: float = 0.0
    firing: bool = False


class StaleEvaluator(Evaluator[StaleRule, _StaleState]):
    state_type = _StaleState

    def on_reading(self, reading: Reading, ts: float, asset: str) -> Transition | None:
        st = self.state(reading.device)
        st.metric_ts = max(st.metric_ts, ts)
        if not st.firing:
            return None
        st.firing = False
        return self.transition(
            reading.device,
            asset,
            False,
            ts,
            reading.value,
            reading.unit,
            f"{asset}: {self.rule.select.metric} of {reading.device} updates again",
            metric=self.rule.select.metric,
        )

    def due(self, now: float, last_seen: dict[str, float]) -> list[tuple[str, float]]:
        """(device, silent seconds) of points silent past ``after`` while the device talks."""
        after = self.rule.after.total_seconds()
        found = []
        for device, st in self.states.items():
            if st.firing or now - st.metric_ts <= after:
                continue
            heard = last_seen.get(device)
            if heard is not None and now - heard <= after and self.active(now):
                found.append((device, now - st.metric_ts))
        return found

    def fire(self, device: str, asset: str, now: float, silent_s: float) -> Transition:
        self.state(device).firing = True
        rule = self.rule
        default = (
            f"{asset}: {rule.select.metric} of {device} has not updated for {human(silent_s)} "
            "while the device still reports (stale point)"
        )
        return self.transition(
            device,
            asset,
            True,
            now,
            silent_s,
            "s",
            default,
            metric=rule.select.metric,
            silent_for=human(silent_s),
            after=human(rule.after.total_seconds()),
        )


# -- offline / disconnect / heartbeat -------------------------------------------------------------
@dataclass(slots=True)
class _DownState:
    cause: str = ""


class OfflineEvaluator(Evaluator[OfflineRule, _DownState]):
    """States exist only for devices that are down (so "is it down?" is a dict lookup)."""

    state_type = _DownState

    def down(
        self, device: str, asset: str, ts: float, cause: str, silent_s: float | None
    ) -> Transition | None:
        if device in self.states:
            return None
        self.state(device).cause = cause
        rule = self.rule
        after = human(rule.after.total_seconds())
        if cause == "disconnect":
            default = f"{device} disconnected (broker reported it gone: last will / offline)"
        else:
            default = f"{device} missed its heartbeat: nothing for {human(silent_s or 0)}"
        return self.transition(
            device,
            asset,
            True,
            ts,
            silent_s,
            "s" if silent_s is not None else "",
            default,
            cause=cause,
            after=after,
            silent_for=human(silent_s) if silent_s is not None else "",
        )

    def up(self, device: str, asset: str, ts: float, value: float | None) -> Transition | None:
        st = self.states.pop(device, None)
        if st is None:
            return None
        self.dirty.add(device)
        return self.transition(
            device, asset, False, ts, value, "", f"{device} is back online", cause=st.cause
        )


# -- fault code -----------------------------------------------------------------------------------
class FaultEvaluator(Evaluator[FaultRule, _Debounce]):
    state_type = _Debounce

    def on_reading(self, reading: Reading, ts: float, asset: str) -> Transition | None:
        rule = self.rule
        code = reading.value
        breached = rule.breached(code)
        change = _debounce(self, reading, ts, breached, not breached)
        if change is None:
            return None
        default = f"{asset}: {reading.device} reports fault code {code:g}"
        return self.transition(
            reading.device,
            asset,
            change,
            ts,
            code,
            reading.unit,
            default,
            metric=rule.metrics()[0],
            code=code,
        )


# -- composite ------------------------------------------------------------------------------------
@dataclass(slots=True)
class _CompositeState(_Debounce):
    values: dict[str, list[float]] = field(default_factory=dict)  # metric -> [value, ts]


class CompositeEvaluator(Evaluator[CompositeRule, _CompositeState]):
    state_type = _CompositeState
    asset_keyed = True

    def on_reading(self, reading: Reading, ts: float, asset: str) -> Transition | None:
        rule = self.rule
        st = self.state(asset)
        seen = st.values.get(reading.metric)
        if seen is not None and ts <= seen[1]:
            return None
        st.values[reading.metric] = [reading.value, ts]
        if st.last_ts is not None and ts < st.last_ts:
            return None  # a late value updates the picture but cannot move the timers back
        st.last_ts = ts
        results = []
        for condition in rule.conditions:
            entry = st.values.get(condition.metric)
            results.append(
                entry is not None
                and ts - entry[1] <= condition.max_age.total_seconds()
                and condition.holds(entry[0])
            )
        holds = all(results) if rule.mode == "all" else any(results)
        before = st.signature()
        if not self.active(ts):
            change: bool | None = False if st.off_schedule() else None
        else:
            change = st.step(
                holds, not holds, ts, rule.for_.total_seconds(), rule.clear_for.total_seconds()
            )
        if st.signature() != before:
            self.dirty.add(asset)
        if change is None:
            return None
        now_values = {metric: entry[0] for metric, entry in sorted(st.values.items())}
        shown = ", ".join(f"{metric}={value:g}" for metric, value in now_values.items())
        joiner = " and " if rule.mode == "all" else " or "
        wanted = joiner.join(_describe(c) for c in rule.conditions)
        default = f"{asset}: {wanted} for {human(rule.for_.total_seconds())} (now {shown})"
        return self.transition(
            reading.device,
            asset,
            change,
            ts,
            reading.value,
            reading.unit,
            default,
            **{"for": human(rule.for_.total_seconds())},
            **now_values,
        )


def _describe(condition: Any) -> str:
    if condition.equals is not None:
        return f"{condition.metric} = {condition.equals:g}"
    parts = []
    if condition.above is not None:
        parts.append(f"{condition.metric} > {condition.above:g}")
    if condition.below is not None:
        parts.append(f"{condition.metric} < {condition.below:g}")
    return " and ".join(parts)


# -- expression over several points (G36 fault conditions) ----------------------------------------
@dataclass(slots=True)
class _ExpressionState(_Debounce):
    values: dict[str, list[float]] = field(default_factory=dict)  # metric -> [value, ts]
    samples: dict[str, list[list[float]]] = field(default_factory=dict)  # metric -> [[ts, v]]
    os: str = ""  # the G36 operating state last derived ("" = not known yet)
    os_since: float | None = None
    fan_on_since: float | None = None
    # for changes(state, W): when the state was last seen change, and since when it has been
    # known without a gap (a count over a window we did not fully see would be a guess)
    os_changes: list[float] = field(default_factory=list)
    os_known_since: float | None = None
    os_before: str = ""  # the state before the last counted change

    def expression_signature(self) -> tuple[Any, ...]:
        """What a restart must keep (compared before and after each step: one tuple, no calls)."""
        return (
            self.pending_since,
            self.clear_since,
            self.firing,
            self.os,
            self.os_since,
            self.fan_on_since,
            self.os_known_since,
        )


class ExpressionEvaluator(Evaluator[ExpressionRule, _ExpressionState]):
    """Evaluates the compiled condition on an asset's latest values and rolling means.

    Per asset it keeps each point's latest value, the samples its ``mean`` windows need, the
    operating state and when it began, and when the fan last started. The condition is
    evaluated on every reading of a point it uses, at that reading's time.
    """

    state_type = _ExpressionState
    asset_keyed = True

    def __init__(self, rule: ExpressionRule) -> None:
        super().__init__(rule)
        condition = rule.compiled("condition")
        assert condition is not None
        self.condition = condition
        self.clear = rule.compiled("clear")
        self.value = rule.compiled("value")
        refs = set(condition.refs)
        for extra in (self.clear, self.value):
            if extra is not None:
                refs |= extra.refs
        self.refs = sorted(refs)
        self.windows: dict[str, float] = {}  # metric -> longest window, seconds
        self.changes_window_s = 0.0  # the longest changes(state, W) window, 0 = not used
        for metric, window_s in self.refs:
            if metric == STATE_CHANGES:
                self.changes_window_s = max(self.changes_window_s, window_s)
            elif window_s:
                self.windows[metric] = max(window_s, self.windows.get(metric, 0.0))
        self.max_age_s = rule.max_age.total_seconds()
        self.fan_startup_s = rule.fan_startup_delay.total_seconds()
        self.for_s = rule.for_.total_seconds()
        self.clear_for_s = rule.clear_for.total_seconds()
        self.scheduled = rule.schedule is not None
        limits = rule.operating_state
        self.classify = state_classifier(
            min_outdoor_air_damper=limits.min_outdoor_air_damper,
            damper_tolerance=limits.damper_tolerance,
            valve_deadband=limits.valve_deadband,
        )
        self.mode_delay_s = rule.mode_delay.total_seconds()
        # the refs split by how they are read, so evaluation does not branch per key
        self.latest_keys = [key for key in self.refs if not key[1] and key[0] != STATE_CHANGES]
        self.mean_keys = [key for key in self.refs if key[1] and key[0] != STATE_CHANGES]
        self.change_keys = [key for key in self.refs if key[0] == STATE_CHANGES]
        self.state_metrics = rule.state_metrics()
        self.fan_metric = rule.metric_of(rule.fan) if rule.fan else None
        self.names = {metric: metric for metric in self.state_metrics}
        if self.fan_metric is not None:
            self.names[rule.fan or self.fan_metric] = self.fan_metric
        self.names.update(condition.names)
        for extra in (self.clear, self.value):
            if extra is not None:
                self.names.update(extra.names)

    # -- the asset's picture --------------------------------------------------------------------
    def _record(self, st: _ExpressionState, metric: str, value: float, ts: float) -> bool:
        values = st.values
        seen = values.get(metric)
        if seen is None:
            values[metric] = [value, ts]
        elif ts <= seen[1]:
            return False
        else:  # updated in place: one list per point, not one per reading
            seen[0], seen[1] = value, ts
        window_s = self.windows.get(metric)
        if window_s is not None:
            samples = st.samples.get(metric)
            if samples is None:
                samples = st.samples[metric] = []
            samples.append([ts, value])
            horizon = ts - window_s
            drop = 0
            while drop < len(samples) and samples[drop][0] <= horizon:
                drop += 1
            if drop:
                del samples[:drop]
        return True

    def _fresh(self, st: _ExpressionState, metric: str, ts: float) -> float | None:
        entry = st.values.get(metric)
        if entry is None or ts - entry[1] > self.max_age_s:
            return None
        return entry[0]

    def _values(self, st: _ExpressionState, ts: float) -> dict[tuple[str, float], float] | None:
        """Every value the expressions need at ``ts``, or None if one is missing or stale."""
        values: dict[tuple[str, float], float] = {}
        latest = st.values
        max_age_s = self.max_age_s
        for key in self.latest_keys:
            entry = latest.get(key[0])
            if entry is None or ts - entry[1] > max_age_s:
                return None
            values[key] = entry[0]
        for key in self.mean_keys:
            metric, window_s = key
            horizon = ts - window_s
            total, count = 0.0, 0
            for sample_ts, sample in reversed(st.samples.get(metric, ())):
                if sample_ts <= horizon:
                    break
                total += sample
                count += 1
            if not count:
                return None
            values[key] = total / count
        for key in self.change_keys:
            window_s = key[1]
            known = st.os_known_since
            if known is None or ts - known < window_s:
                return None  # the window is not fully seen yet: a count would be a guess
            horizon = ts - window_s
            values[key] = float(sum(1 for at in st.os_changes if at > horizon))
        return values

    def _gate(self, st: _ExpressionState, ts: float) -> bool | None:
        """False: the rule does not apply now; None: suspended or unknown; True: evaluate."""
        rule = self.rule
        applies: bool | None = True
        latest = st.values
        max_age_s = self.max_age_s
        if self.fan_metric is not None:
            entry = latest.get(self.fan_metric)
            if entry is None or ts - entry[1] > max_age_s:
                applies = None
            elif entry[0] < 0.5:
                st.fan_on_since = None
                applies = False
            else:
                if st.fan_on_since is None:
                    st.fan_on_since = ts
                if ts - st.fan_on_since < self.fan_startup_s:
                    applies = None
        if self.state_metrics:
            heating_entry = latest.get(self.state_metrics[0])
            cooling_entry = latest.get(self.state_metrics[1])
            damper_entry = latest.get(self.state_metrics[2])
            if (
                heating_entry is None
                or cooling_entry is None
                or damper_entry is None
                or ts - heating_entry[1] > max_age_s
                or ts - cooling_entry[1] > max_age_s
                or ts - damper_entry[1] > max_age_s
            ):
                st.os_known_since = None
                if rule.states:
                    return False if applies is False else None
                return applies
            state = self.classify(heating_entry[0], cooling_entry[0], damper_entry[0])
            if st.os_known_since is None:
                st.os_known_since = ts
            if state != st.os:
                if st.os and self.changes_window_s:
                    self._count_change(st, state, ts)
                st.os, st.os_since = state, ts
            if rule.states:
                if applies is False or state not in rule.states:
                    return False
                assert st.os_since is not None
                if ts - st.os_since < self.mode_delay_s:
                    return None
        return applies

    def _count_change(self, st: _ExpressionState, state: str, ts: float) -> None:
        """Record a change of operating state at ``ts`` for ``changes(state, W)``.

        The commands of one instant arrive one reading at a time, so between them the state
        can pass through others (heating valve shut before the damper opens): at one instant,
        the state counts as changed once, and not at all if it ends where it started.
        """
        changes = st.os_changes
        if changes and changes[-1] == ts:
            if state == st.os_before:
                changes.pop()
            return
        st.os_before = st.os
        changes.append(ts)
        horizon = ts - self.changes_window_s
        drop = 0
        while drop < len(changes) and changes[drop] <= horizon:
            drop += 1
        if drop:
            del changes[:drop]

    def on_reading(self, reading: Reading, ts: float, asset: str) -> Transition | None:
        # the hot path of the FDD library: every reading of every point meets several rules,
        # so this avoids re-reading the rule's timedeltas and building signature tuples
        st = self.states.get(asset)
        if st is None:
            st = self.states[asset] = _ExpressionState()
        self.touched.add(asset)
        if not self._record(st, reading.metric, reading.value, ts):
            return None
        if st.last_ts is not None and ts < st.last_ts:
            return None  # a late value updates the picture but cannot move the timers back
        st.last_ts = ts
        before = st.expression_signature()
        change = self._step(st, ts)
        if st.expression_signature() != before:
            self.dirty.add(asset)
        if change is None:
            return None
        return self._transition(st, reading, ts, asset, change)

    def _step(self, st: _ExpressionState, ts: float) -> bool | None:
        if self.scheduled and not self.active(ts):
            return False if st.off_schedule() else None
        gate = self._gate(st, ts)
        holds: bool | None
        cleared: bool | None
        if gate is None:
            holds = cleared = None
        elif gate is False:
            holds, cleared = False, True
        else:
            values = self._values(st, ts)
            holds = cleared = None
            if values is not None:
                try:
                    holds = bool(self.condition(values))
                    cleared = not holds if self.clear is None else bool(self.clear(values))
                except ZeroDivisionError:
                    holds = cleared = None
        if holds is None or cleared is None:
            st.pending_since = st.clear_since = None  # unknown: no fire, no clear, no credit
            return None
        if not holds and not st.firing and st.pending_since is None:
            st.clear_since = None
            return None  # what _Debounce.step does here, without the call
        return st.step(holds, cleared, ts, self.for_s, self.clear_for_s)

    def _transition(
        self, st: _ExpressionState, reading: Reading, ts: float, asset: str, change: bool
    ) -> Transition:
        rule = self.rule
        now_values: dict[str, float] = {}
        for name, metric in sorted(self.names.items()):
            entry = st.values.get(metric)
            if entry is not None:
                now_values[name] = entry[0]
        value: float | None = None
        if self.value is not None:
            values = self._values(st, ts)
            if values is not None:
                try:
                    value = float(self.value(values))
                except ZeroDivisionError:
                    value = None
        shown = ", ".join(f"{name}={v:g}" for name, v in now_values.items())
        state = f" in {st.os}" if rule.states and st.os else ""
        default = (
            f"{asset}: {rule.description or rule.condition}{state} "
            f"for {human(rule.for_.total_seconds())} (now {shown})"
        )
        return self.transition(
            reading.device,
            asset,
            change,
            ts,
            value,
            "",
            default,
            **{
                **now_values,
                "state": st.os,
                "for": human(rule.for_.total_seconds()),
            },
        )


# -- energy baseline ------------------------------------------------------------------------------
@dataclass(slots=True)
class _BaselineState:
    first_ts: float | None = None
    bucket: float | None = None  # start of the current hour, epoch seconds
    last_ts: float | None = None
    total: float = 0.0  # sum of values (mean) or of counter increases (increase) this hour
    count: int = 0
    last_value: float = 0.0
    firing: bool = False
    slots: dict[str, list[float]] = field(default_factory=dict)  # hour of week -> past hours


class BaselineEvaluator(Evaluator[BaselineRule, _BaselineState]):
    state_type = _BaselineState
    asset_keyed = True

    def on_reading(self, reading: Reading, ts: float, asset: str) -> Transition | None:
        st = self.state(asset)
        value = reading.value
        increase = self.rule.aggregate == "increase"
        hour = ts - ts % 3600
        if st.bucket is None or st.first_ts is None:
            st.first_ts, st.bucket, st.last_ts = ts, hour, ts
            st.total, st.count, st.last_value = (0.0 if increase else value), 1, value
            return None
        if st.last_ts is not None and ts <= st.last_ts:
            return None
        st.last_ts = ts
        # a counter that went down was reset to zero and counted up to ``value`` since
        delta = value - st.last_value if value >= st.last_value else value
        st.last_value = value
        if hour == st.bucket:
            st.total += delta if increase else value
            st.count += 1
            return None
        closed = st.bucket
        self.dirty.add(asset)  # an hour closed: the baseline learned something
        aggregate = st.total if increase else st.total / st.count
        gap = hour - closed > 3600  # hours without readings: the delta spans them, drop it
        st.bucket, st.count = hour, 1
        st.total = (0.0 if gap else delta) if increase else value
        return self._judge(st, reading, asset, ts, closed, aggregate)

    def _judge(
        self,
        st: _BaselineState,
        reading: Reading,
        asset: str,
        ts: float,
        closed: float,
        aggregate: float,
    ) -> Transition | None:
        rule = self.rule
        local = datetime.fromtimestamp(closed, zone(rule.timezone))
        slot = str(local.weekday() * 24 + local.hour)
        history = st.slots.setdefault(slot, [])
        assert st.first_ts is not None
        learned = closed - st.first_ts >= rule.learning.total_seconds()
        anomalous = False
        expected = band = float("nan")
        if learned and len(history) >= rule.min_samples:
            expected = statistics.median(history)
            mad = statistics.median(abs(x - expected) for x in history)
            band = max(rule.sensitivity * MAD_TO_SIGMA * mad, rule.min_deviation)
            if rule.direction == "above":
                anomalous = aggregate > expected + band
            else:
                anomalous = aggregate < expected - band
        if not anomalous:  # anomalies are not learned, so a fault cannot become the norm
            history.append(aggregate)
            del history[: max(0, len(history) - rule.history_weeks)]
        active = self.active(closed)
        result: bool | None = None
        if st.firing and (not anomalous or not active):
            st.firing, result = False, False
        elif not st.firing and anomalous and active:
            st.firing, result = True, True
        if result is None:
            return None
        what = "average" if rule.aggregate == "mean" else "use"
        default = (
            f"{asset}: {rule.select.metric} {what} {aggregate:.3g} {reading.unit} in the hour "
            f"from {local:%a %H:%M} vs usual {expected:.3g} (band {band:.3g})"
        )
        return self.transition(
            reading.device,
            asset,
            result,
            ts,
            aggregate,
            reading.unit,
            default,
            metric=rule.select.metric,
            expected=expected,
            band=band,
            hour=f"{local:%a %H:%M}",
        )


_EVALUATORS: dict[type[Any], type[Evaluator[Any, Any]]] = {
    ThresholdRule: ThresholdEvaluator,
    RateRule: RateEvaluator,
    FlatlineRule: FlatlineEvaluator,
    StaleRule: StaleEvaluator,
    OfflineRule: OfflineEvaluator,
    FaultRule: FaultEvaluator,
    CompositeRule: CompositeEvaluator,
    ExpressionRule: ExpressionEvaluator,
    BaselineRule: BaselineEvaluator,
}


def make_evaluator(rule: Rule) -> Evaluator[Any, Any]:
    return _EVALUATORS[type(rule)](rule)
