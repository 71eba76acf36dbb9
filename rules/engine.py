"""The rules engine: readings and presence in, :class:`Alert` firing/resolved/suppressed out.

Time is the readings' own timestamps (event time), never the wall clock, except in
:meth:`RuleEngine.tick`, which the caller drives with "now". That is what lets
``facility rules replay`` run recorded history through exactly the code that runs live.

Indexed evaluation: rules are indexed by metric, then by exact device name, then by exact asset
code; only selectors that are real globs (``ahu-*``) are scanned. A reading therefore meets the
rules that can match it plus the glob rules of its metric, and its cost does not grow with the
number of unrelated rules (``benchmarks/bench_rules.py`` measures it).

State (pending ``for`` windows, firing alerts, baselines, last-seen times) lives in memory and,
when a :class:`rules.state.RuleStateStore` is given, is written by :meth:`flush` and read back by
:meth:`restore`, so a restart neither forgets a pending window nor raises an alert twice.
:meth:`reload` swaps the rule set; rules whose definition is unchanged keep their state.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from prometheus_client import Counter

from facility.core.types import Alert, AlertState, Presence, Reading
from rules._kinds import (
    Evaluator,
    OfflineEvaluator,
    StaleEvaluator,
    Transition,
    make_evaluator,
)
from rules.lifecycle import Lifecycle, render_message
from rules.model import RuleFile, fingerprint, is_glob
from rules.schedule import MaintenanceWindow
from rules.state import StateRow

if TYPE_CHECKING:
    from rules.state import RuleStateStore, StateRow

__all__ = ["ALERTS", "AssetResolver", "ReloadReport", "RuleEngine", "render_message"]

log = logging.getLogger(__name__)

ALERTS = Counter("facility_rules_alerts", "Alerts raised by the rules engine", ["state"])

AssetResolver = Callable[[str], "str | Mapping[str, str] | None"]
"""device → asset code, or a mapping with ``asset`` and its attributes (``asset_type``, ``site``,
``building``, ``floor``, ``zone``), or None when the device is not assigned (it is its own asset).
"""

_EMPTY: Mapping[str, str] = {}
MAX_SELECTED_CACHE = 100_000  # (metric, device, asset) keys; cleared when full


@dataclass(slots=True)
class _MetricIndex:
    by_device: dict[str, list[Evaluator[Any, Any]]] = field(default_factory=dict)
    by_asset: dict[str, list[Evaluator[Any, Any]]] = field(default_factory=dict)
    scan: list[Evaluator[Any, Any]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ReloadReport:
    """Which rules a reload kept (with their state), added, changed (state reset) and removed."""

    kept: list[str]
    added: list[str]
    changed: list[str]
    removed: list[str]


class RuleEngine:
    """Evaluates a :class:`RuleFile`; see the module docstring."""

    def __init__(
        self,
        rule_file: RuleFile,
        *,
        asset_of: AssetResolver | None = None,
        store: RuleStateStore | None = None,
        lazy_interval_s: float = 30.0,
    ) -> None:
        self._asset_of = asset_of
        self.store = store
        self.lazy_interval_s = lazy_interval_s
        self._lazy_at = -1e18  # the first flush writes everything
        self.lifecycle = Lifecycle(self._attributes)
        self._last_seen: dict[str, float] = {}
        self._seen_dirty: set[str] = set()
        self._forgotten: set[str] = set()
        self._pending_suppressed: list[Alert] = []
        self.suppressed: deque[Alert] = deque(maxlen=1000)
        self.extra_windows: list[MaintenanceWindow] = []
        self.evaluators: dict[str, Evaluator[Any, Any]] = {}
        self._install(rule_file)

    # -- rule set -------------------------------------------------------------------------------
    def _install(self, rule_file: RuleFile) -> ReloadReport:
        previous = self.evaluators
        kept: list[str] = []
        added: list[str] = []
        changed: list[str] = []
        evaluators: dict[str, Evaluator[Any, Any]] = {}
        for rule in rule_file.rules:
            if not rule.enabled:
                continue
            old = previous.get(rule.name)
            if old is not None and old.fingerprint == fingerprint(rule):
                evaluators[rule.name] = old
                kept.append(rule.name)
                continue
            evaluators[rule.name] = make_evaluator(rule)
            (changed if old is not None else added).append(rule.name)
        removed = [name for name in previous if name not in evaluators]
        for name in (*changed, *removed):
            self.lifecycle.forget(name)
            self._forgotten.add(name)
        self.rule_file = rule_file
        self.evaluators = evaluators
        self._index: dict[str, _MetricIndex] = {}
        self._selected_cache: dict[tuple[str, str, str], list[Evaluator[Any, Any]]] = {}
        self._offline: list[OfflineEvaluator] = []
        self._stale: list[StaleEvaluator] = []
        for evaluator in evaluators.values():
            if isinstance(evaluator, OfflineEvaluator):
                self._offline.append(evaluator)
                continue
            if isinstance(evaluator, StaleEvaluator):
                self._stale.append(evaluator)
            select = evaluator.rule.select
            for metric in evaluator.rule.metrics():
                index = self._index.setdefault(metric, _MetricIndex())
                if not is_glob(select.device):
                    index.by_device.setdefault(select.device, []).append(evaluator)
                elif select.device == "*" and select.asset and not is_glob(select.asset):
                    index.by_asset.setdefault(select.asset, []).append(evaluator)
                else:
                    index.scan.append(evaluator)
        self.lifecycle.rules = {name: ev.rule for name, ev in evaluators.items()}
        self.lifecycle.windows = [*rule_file.maintenance, *self.extra_windows]
        return ReloadReport(kept, added, changed, removed)

    def reload(self, rule_file: RuleFile) -> ReloadReport:
        """Swap in a new rule set; unchanged rules keep their state, changed ones start afresh.

        A changed or removed rule's open alert is not resolved here: its work order stays with
        people, and a re-fire of the changed rule folds into that order.
        """
        report = self._install(rule_file)
        log.info(
            "rules reloaded: %d kept, %d added, %d changed, %d removed",
            len(report.kept),
            len(report.added),
            len(report.changed),
            len(report.removed),
        )
        return report

    def set_maintenance_windows(self, windows: Iterable[MaintenanceWindow]) -> None:
        """Windows from outside the rules file (e.g. the maintenance planner), kept on reload."""
        self.extra_windows = list(windows)
        self.lifecycle.windows = [*self.rule_file.maintenance, *self.extra_windows]

    # -- assets ---------------------------------------------------------------------------------
    def _resolve(self, device: str) -> tuple[str, Mapping[str, str]]:
        if self._asset_of is None:
            return device, _EMPTY
        found = self._asset_of(device)
        if found is None:
            return device, _EMPTY
        if isinstance(found, str):
            return found or device, _EMPTY
        return found.get("asset") or device, found

    def _attributes(self, device: str, asset: str) -> Mapping[str, str]:
        return self._resolve(device)[1]

    def last_seen(self, device: str) -> datetime | None:
        """When the engine last heard ``device`` (event time), or None if never."""
        ts = self._last_seen.get(device)
        return None if ts is None else datetime.fromtimestamp(ts, UTC)

    def asset_of(self, device: str) -> str:
        """The asset a device belongs to; an unmapped device is its own asset."""
        return self._resolve(device)[0]

    def _selected(self, evaluator: Evaluator[Any, Any], device: str) -> str | None:
        """The device's asset if the rule's selector takes this device, else None."""
        select = evaluator.rule.select
        if not select.matches_device(device):
            return None
        asset, attributes = self._resolve(device)
        if not select.matches_asset(asset):
            return None
        if select.needs_attributes and not select.matches_attributes(dict(attributes)):
            return None
        return asset

    # -- readings -------------------------------------------------------------------------------
    def process(self, readings: Iterable[Reading]) -> list[Alert]:
        """Evaluate readings (in the order given); return the alerts they raise."""
        transitions: list[Transition] = []
        for reading in readings:
            self._process_one(reading, transitions)
        return self._emit(self.lifecycle.apply(transitions))

    def _process_one(self, reading: Reading, out: list[Transition]) -> None:
        ts = reading.ts.timestamp()
        device = reading.device
        previous = self._last_seen.get(device)
        if previous is None or ts > previous:
            self._last_seen[device] = ts
            self._seen_dirty.add(device)
        if self._offline:
            self._heard(device, ts, reading.value, out)
        index = self._index.get(reading.metric)
        if index is None:
            return
        exact = index.by_device.get(device)
        if not exact and not index.scan and not index.by_asset:
            return
        asset, attributes = self._resolve(device)
        key = (reading.metric, device, asset)
        selected = self._selected_cache.get(key)
        if selected is None:
            selected = self._select(index, exact, device, asset)
            if len(self._selected_cache) >= MAX_SELECTED_CACHE:
                self._selected_cache.clear()
            self._selected_cache[key] = selected
        for evaluator in selected:
            if evaluator.needs_attributes and not evaluator.rule.select.matches_attributes(
                dict(attributes)
            ):
                continue
            transition = evaluator.on_reading(reading, ts, asset)
            if transition is not None:
                out.append(transition)

    @staticmethod
    def _select(
        index: _MetricIndex,
        exact: list[Evaluator[Any, Any]] | None,
        device: str,
        asset: str,
    ) -> list[Evaluator[Any, Any]]:
        """The evaluators of one (metric, device, asset) whose device and asset globs match.

        Cached per key by :meth:`_process_one` (the globs depend on nothing else); attribute
        selectors are still checked per reading, since a registry can change attributes.
        """
        candidates: list[Evaluator[Any, Any]] = []
        if exact:
            candidates += exact
        if index.scan:
            candidates += index.scan
        if index.by_asset:
            candidates += index.by_asset.get(asset, ())
        return [
            evaluator
            for evaluator in candidates
            if (evaluator.match_device is None or evaluator.match_device(device))
            and (evaluator.match_asset is None or evaluator.match_asset(asset))
        ]

    def _heard(self, device: str, ts: float, value: float | None, out: list[Transition]) -> None:
        for evaluator in self._offline:
            if device in evaluator.states:
                transition = evaluator.up(device, self.asset_of(device), ts, value)
                if transition is not None:
                    out.append(transition)

    # -- presence and silence -------------------------------------------------------------------
    def process_presence(self, presences: Iterable[Presence]) -> list[Alert]:
        """An explicit offline (last will, availability topic) fires disconnect rules at once."""
        transitions: list[Transition] = []
        for presence in presences:
            ts = presence.ts.timestamp()
            if presence.online:  # an announcement counts as being heard
                previous = self._last_seen.get(presence.device)
                if previous is None or ts > previous:
                    self._last_seen[presence.device] = ts
                    self._seen_dirty.add(presence.device)
                self._heard(presence.device, ts, None, transitions)
                continue
            for evaluator in self._offline:
                if not evaluator.rule.on_disconnect:
                    continue
                asset = self._selected(evaluator, presence.device)
                if asset is None:
                    continue
                transition = evaluator.down(presence.device, asset, ts, "disconnect", None)
                if transition is not None:
                    transitions.append(transition)
        return self._emit(self.lifecycle.apply(transitions))

    def tick(self, now: datetime) -> list[Alert]:
        """Fire heartbeat and stale-point rules due at ``now``; publish held alerts now due."""
        now_ts = now.timestamp()
        transitions: list[Transition] = []
        for evaluator in self._offline:
            if not evaluator.rule.on_heartbeat:
                continue
            after = evaluator.rule.after.total_seconds()
            for device, last_seen in list(self._last_seen.items()):
                if now_ts - last_seen <= after or device in evaluator.states:
                    continue
                asset = self._selected(evaluator, device)
                if asset is None:
                    continue
                transition = evaluator.down(device, asset, now_ts, "heartbeat", now_ts - last_seen)
                if transition is not None:
                    transitions.append(transition)
        for stale in self._stale:
            for device, silent_s in stale.due(now_ts, self._last_seen):
                asset = self._selected(stale, device)
                if asset is not None:
                    transitions.append(stale.fire(device, asset, now_ts, silent_s))
        alerts = self.lifecycle.apply(transitions)
        alerts += self.lifecycle.tick(now_ts)
        return self._emit(alerts)

    # -- output ---------------------------------------------------------------------------------
    def _emit(self, alerts: list[Alert]) -> list[Alert]:
        for alert in alerts:
            ALERTS.labels(state=alert.state.value).inc()
            if alert.state is AlertState.SUPPRESSED:
                self.suppressed.append(alert)
                self._pending_suppressed.append(alert)
                log.info("alert %s on %s suppressed (%s)", alert.rule, alert.asset, alert.reason)
        if self.store is None:
            self._pending_suppressed.clear()  # nowhere to write them; ``suppressed`` keeps them
        return alerts

    # -- persistence ----------------------------------------------------------------------------
    def flush(self, *, force: bool = False) -> int:
        """Write changed state to the store (no-op without one); return how many rows changed.

        Call it after each batch, before the batch is acknowledged: changes a restart must not
        lose (a ``for`` window opened, an alert fired or resolved, an hour of baseline closed)
        are written every time. Changes that only refine the state (the last timestamp seen, a
        running aggregate, last-seen times) are written at most every ``lazy_interval_s``, or
        when ``force`` is set (at shutdown), which keeps a busy gateway's writes bounded. If the
        store fails (``ServiceUnavailable``), the changes stay pending for the next flush.
        """

        lazy = force or time.monotonic() - self._lazy_at >= self.lazy_interval_s
        if self.store is None:
            for evaluator in self.evaluators.values():
                evaluator.dirty.clear()
                evaluator.touched.clear()
            self.lifecycle.dirty.clear()
            self._seen_dirty.clear()
            self._forgotten.clear()
            self._pending_suppressed.clear()
            return 0
        rows: list[StateRow] = []
        deletes: list[tuple[str, str, str]] = []
        for name, evaluator in self.evaluators.items():
            for key in evaluator.dirty | evaluator.touched if lazy else evaluator.dirty:
                data = evaluator.dump(key)
                if data is None:
                    deletes.append((name, "eval", key))
                else:
                    rows.append(StateRow(name, "eval", key, evaluator.fingerprint, data))
        for rule_name, asset in self.lifecycle.dirty:
            gate = self.lifecycle.dump((rule_name, asset))
            found = self.evaluators.get(rule_name)
            if gate is None or found is None:
                deletes.append((rule_name, "gate", asset))
            else:
                rows.append(StateRow(rule_name, "gate", asset, found.fingerprint, gate))
        if lazy:
            for device in self._seen_dirty:
                rows.append(StateRow("", "seen", device, "", {"ts": self._last_seen[device]}))
        suppressed = list(self._pending_suppressed)
        if rows or deletes or self._forgotten or suppressed:
            self.store.save(
                rows, deletes, forgotten_rules=sorted(self._forgotten), suppressed=suppressed
            )
        for evaluator in self.evaluators.values():
            if lazy:
                evaluator.touched.clear()
            else:
                evaluator.touched -= evaluator.dirty
            evaluator.dirty.clear()
        self.lifecycle.dirty.clear()
        if lazy:
            self._seen_dirty.clear()
            self._lazy_at = time.monotonic()
        self._forgotten.clear()
        del self._pending_suppressed[: len(suppressed)]
        return len(rows) + len(deletes)

    def restore(self, now: datetime | None = None) -> int:
        """Read state back from the store; return how many rows were taken.

        Rows of rules that changed or vanished are dropped. Last-seen times are moved up to
        ``now`` (the start time) so a gateway that was down does not declare every device
        offline at once: a device gets its full heartbeat period after a restart.
        """
        if self.store is None:
            return 0
        floor = now.timestamp() if now is not None else None
        taken = 0
        for row in self.store.load():
            if row.scope == "seen":
                ts = float(row.data["ts"])
                self._last_seen[row.key] = max(ts, floor) if floor is not None else ts
                taken += 1
                continue
            evaluator = self.evaluators.get(row.rule)
            if evaluator is None or evaluator.fingerprint != row.fingerprint:
                self._forgotten.add(row.rule)
                continue
            try:
                if row.scope == "eval":
                    evaluator.load(row.key, row.data)
                elif row.scope == "gate":
                    self.lifecycle.load((row.rule, row.key), row.data)
                else:
                    continue
            except (TypeError, ValueError) as exc:
                log.warning("dropping unreadable state of rule %s/%s: %s", row.rule, row.key, exc)
                continue
            taken += 1
        log.info("restored %d rule state rows", taken)
        return taken
