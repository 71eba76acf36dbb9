"""Rule evaluation: thresholds, durations, hysteresis, offline detection, messages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from facility.core.types import Alert, AlertState, Presence, Reading
from rules import RuleEngine, parse_rules, render_message

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)

RULES = parse_rules(
    """
rules:
  - name: supply-warm
    kind: threshold
    select: {device: "ahu-*", metric: supply_temperature}
    above: 16
    clear_below: 14
    for: 60s
    severity: major
    message: "{asset}: {value:.1f} above {threshold}"
  - name: too-cold
    kind: threshold
    select: {metric: temperature}
    below: 10
    severity: minor
  - name: offline
    kind: offline
    after: 5m
"""
)


def feed(
    engine: RuleEngine, device: str, metric: str, values: list[float], step_s: int = 10
) -> list[Alert]:
    alerts: list[Alert] = []
    for i, value in enumerate(values):
        ts = T0 + timedelta(seconds=i * step_s)
        alerts += engine.process([Reading(device, metric, value, "degC", ts)])
    return alerts


def test_threshold_fires_only_after_the_for_duration() -> None:
    engine = RuleEngine(RULES, asset_of={"ahu-1": "AHU-1"}.get)
    alerts = feed(engine, "ahu-1", "supply_temperature", [17.0] * 7)  # 0..60 s
    assert [(a.state, a.ts) for a in alerts] == [(AlertState.FIRING, T0 + timedelta(seconds=60))]
    assert alerts[0].asset == "AHU-1"
    assert alerts[0].message == "AHU-1: 17.0 above 16.0"


def test_a_dip_below_the_threshold_restarts_the_for_timer() -> None:
    engine = RuleEngine(RULES)
    values = [17.0] * 5 + [15.9] + [17.0] * 6
    assert feed(engine, "ahu-1", "supply_temperature", values) == []


def test_value_oscillating_inside_the_hysteresis_band_raises_exactly_one_alert() -> None:
    engine = RuleEngine(RULES)
    values = [17.0] * 7 + [15.0, 16.5, 14.5, 16.2, 15.1] * 20
    alerts = feed(engine, "ahu-1", "supply_temperature", values)
    assert [a.state for a in alerts] == [AlertState.FIRING]


def test_falling_below_the_clear_threshold_resolves() -> None:
    engine = RuleEngine(RULES)
    alerts = feed(engine, "ahu-1", "supply_temperature", [17.0] * 7 + [13.9])
    assert [a.state for a in alerts] == [AlertState.FIRING, AlertState.RESOLVED]
    assert alerts[1].message.startswith("resolved:")


def test_below_rule_without_duration_fires_on_the_first_low_value() -> None:
    engine = RuleEngine(RULES)
    alerts = feed(engine, "room-1", "temperature", [12.0, 9.5, 9.0])
    assert [(a.rule, a.value) for a in alerts] == [("too-cold", 9.5)]


def test_rules_only_see_devices_their_selector_matches() -> None:
    engine = RuleEngine(RULES)
    assert feed(engine, "chiller-1", "supply_temperature", [30.0] * 10) == []


def test_out_of_order_reading_does_not_rewind_a_rule() -> None:
    engine = RuleEngine(RULES)
    feed(engine, "ahu-1", "supply_temperature", [17.0] * 7)
    late = Reading("ahu-1", "supply_temperature", 10.0, "degC", T0)
    assert engine.process([late]) == []


def test_silent_device_fires_offline_on_tick_and_resolves_when_heard() -> None:
    engine = RuleEngine(RULES)
    feed(engine, "room-1", "temperature", [21.0])
    assert engine.tick(T0 + timedelta(minutes=4)) == []
    (fired,) = engine.tick(T0 + timedelta(minutes=6))
    assert (fired.rule, fired.state) == ("offline", AlertState.FIRING)
    assert engine.tick(T0 + timedelta(minutes=7)) == []  # no storm of duplicates
    later = Reading("room-1", "temperature", 21.0, "degC", T0 + timedelta(minutes=8))
    (resolved,) = engine.process([later])
    assert (resolved.rule, resolved.state) == ("offline", AlertState.RESOLVED)


def test_explicit_offline_presence_fires_at_once() -> None:
    engine = RuleEngine(RULES)
    (alert,) = engine.process_presence([Presence("room-9", online=False, ts=T0)])
    assert (alert.rule, alert.device, alert.state) == ("offline", "room-9", AlertState.FIRING)
    (back,) = engine.process_presence([Presence("room-9", online=True, ts=T0)])
    assert back.state is AlertState.RESOLVED


def test_message_templates_cannot_reach_object_attributes() -> None:
    assert render_message("{value.__class__}", {"value": 1.0}) == "{value.__class__}"
    assert render_message("{missing}", {}) == "{missing}"
    assert render_message("{value:.1f}", {"value": 2.25}) == "2.2"
