"""Each rule kind on synthetic series, with time taken from the readings (never the clock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from facility.core.types import Alert, AlertState, Presence, Reading
from rules import RuleEngine, check_rules, parse_rules

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)  # a Monday


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def engine_for(yaml_rules: str, **kwargs: object) -> RuleEngine:
    return RuleEngine(parse_rules("rules:\n" + yaml_rules), **kwargs)  # type: ignore[arg-type]


def series(
    engine: RuleEngine,
    device: str,
    metric: str,
    values: list[float],
    *,
    step_s: float = 60,
    start_s: float = 0,
    unit: str = "degC",
) -> list[Alert]:
    alerts: list[Alert] = []
    for i, value in enumerate(values):
        alerts += engine.process([Reading(device, metric, value, unit, at(start_s + i * step_s))])
    return alerts


def states(alerts: list[Alert]) -> list[tuple[str, str]]:
    return [(a.rule, a.state.value) for a in alerts]


# -- threshold ----------------------------------------------------------------------------------
def test_range_threshold_fires_outside_the_range_on_either_side() -> None:
    engine = engine_for(
        "  - {name: band, kind: threshold, select: {metric: humidity}, below: 30, above: 60}\n"
    )
    alerts = series(engine, "room-1", "humidity", [45, 65, 50, 20, 45])
    assert [(a.state.value, a.value) for a in alerts] == [
        ("firing", 65.0),
        ("resolved", 50.0),
        ("firing", 20.0),
        ("resolved", 45.0),
    ]
    assert "outside 30..60" in alerts[0].message


def test_clear_for_keeps_the_alert_until_the_value_has_stayed_clear_long_enough() -> None:
    engine = engine_for(
        "  - {name: hot, kind: threshold, select: {metric: temperature}, above: 30,"
        " clear_below: 28, clear_for: 5m}\n"
    )
    alerts = series(engine, "r", "temperature", [31, 27, 27, 27, 27, 27, 27, 27])
    assert [(a.state.value, a.ts) for a in alerts] == [
        ("firing", at(0)),
        ("resolved", at(360)),
    ]


def test_scheduled_rule_is_quiet_outside_its_window_and_resolves_when_it_ends() -> None:
    engine = engine_for(
        "  - name: after-hours-hot\n"
        "    kind: threshold\n"
        "    select: {metric: temperature}\n"
        "    above: 25\n"
        "    schedule: {timezone: Europe/Berlin, windows: [{days: [mon], start: '10:00',"
        " end: '12:00'}]}\n"
    )
    # 08:00 UTC = 09:00 Berlin (winter): outside; 09:00 UTC = 10:00 Berlin: inside
    before = series(engine, "r", "temperature", [30], start_s=0)
    inside = series(engine, "r", "temperature", [30], start_s=3600)
    after = series(engine, "r", "temperature", [30], start_s=3 * 3600)  # 12:00 Berlin
    assert before == []
    assert states(inside) == [("after-hours-hot", "firing")]
    assert states(after) == [("after-hours-hot", "resolved")]


# -- rate of change -----------------------------------------------------------------------------
def test_rate_rule_fires_when_the_rise_within_the_window_exceeds_the_limit() -> None:
    engine = engine_for(
        "  - {name: heating-fast, kind: rate, select: {metric: temperature}, rise: 2,"
        " window: 10m}\n"
    )
    slow = series(engine, "r", "temperature", [20 + 0.1 * i for i in range(30)])  # 1 degC / 10 m
    assert slow == []
    fast = series(engine, "r", "temperature", [23, 24, 25.5], start_s=30 * 60)
    assert states(fast) == [("heating-fast", "firing")]
    # at 31 min the window's minimum is 22.1 (21 min): 24 - 22.1 = 1.9; at 32 min 25.5 - 22.2
    assert fast[0].ts == at(32 * 60)
    steady = series(engine, "r", "temperature", [25.5] * 12, start_s=33 * 60)
    assert states(steady) == [("heating-fast", "resolved")]


def test_fall_rule_watches_drops() -> None:
    engine = engine_for(
        "  - {name: pressure-drop, kind: rate, select: {metric: pressure}, fall: 500, window: 5m}\n"
    )
    alerts = series(engine, "p", "pressure", [3000, 2900, 2400, 2300], unit="Pa")
    assert [(a.state.value, a.value) for a in alerts] == [("firing", 2400.0)]


# -- flatline -----------------------------------------------------------------------------------
def test_stuck_sensor_fires_after_the_duration_and_resolves_when_it_moves() -> None:
    engine = engine_for(
        "  - {name: stuck, kind: flatline, select: {metric: temperature}, tolerance: 0.05,"
        " for: 30m}\n"
    )
    alerts = series(engine, "t", "temperature", [21.0, 21.02, 20.98] + [21.0] * 30 + [21.4])
    assert [(a.state.value, a.ts) for a in alerts] == [
        ("firing", at(30 * 60)),
        ("resolved", at(33 * 60)),
    ]
    assert "stuck at 21" in alerts[0].message


def test_slow_drift_in_small_steps_is_not_a_flatline() -> None:
    engine = engine_for(
        "  - {name: stuck, kind: flatline, select: {metric: temperature}, tolerance: 0.05,"
        " for: 10m}\n"
    )
    assert series(engine, "t", "temperature", [21 + 0.04 * i for i in range(60)]) == []


# -- stale, heartbeat, disconnect ---------------------------------------------------------------
SENSOR_HEALTH = """\
  - {name: temp-stale, kind: stale, select: {metric: temperature}, after: 10m}
  - {name: missed-heartbeat, kind: heartbeat, after: 15m}
  - {name: lwt, kind: disconnect}
"""


def test_stale_point_fires_when_one_metric_stops_while_the_device_still_talks() -> None:
    engine = engine_for(SENSOR_HEALTH)
    engine.process([Reading("s1", "temperature", 21, "degC", at(0))])
    for minute in range(1, 13):
        engine.process([Reading("s1", "humidity", 40, "%", at(minute * 60))])
    assert engine.tick(at(9 * 60)) == []
    (alert,) = engine.tick(at(12 * 60))
    assert (alert.rule, alert.state, alert.device) == ("temp-stale", AlertState.FIRING, "s1")
    assert "stale point" in alert.message
    assert engine.tick(at(12 * 60 + 30)) == []  # once
    (back,) = engine.process([Reading("s1", "temperature", 21, "degC", at(13 * 60))])
    assert (back.rule, back.state) == ("temp-stale", AlertState.RESOLVED)


def test_silent_device_is_a_missed_heartbeat_not_a_stale_point() -> None:
    engine = engine_for(SENSOR_HEALTH)
    engine.process([Reading("s1", "temperature", 21, "degC", at(0))])
    alerts = engine.tick(at(16 * 60))
    assert states(alerts) == [("missed-heartbeat", "firing")]
    assert "missed its heartbeat" in alerts[0].message


def test_last_will_is_a_disconnect_with_its_own_rule_and_message() -> None:
    engine = engine_for(SENSOR_HEALTH)
    engine.process([Reading("s1", "temperature", 21, "degC", at(0))])
    alerts = engine.process_presence([Presence("s1", online=False, ts=at(60))])
    assert states(alerts) == [("lwt", "firing")]
    assert "disconnected" in alerts[0].message
    back = engine.process_presence([Presence("s1", online=True, ts=at(120))])
    assert states(back) == [("lwt", "resolved")]


# -- fault codes and composite ------------------------------------------------------------------
def test_any_non_zero_fault_code_fires_and_zero_resolves() -> None:
    engine = engine_for("  - {name: fault, kind: fault, severity: critical}\n")
    alerts = series(engine, "chiller-1", "fault_code", [0, 0, 17, 17, 23, 0], unit="code")
    assert [(a.state.value, a.value) for a in alerts] == [("firing", 17.0), ("resolved", 0.0)]
    assert alerts[0].message == "chiller-1: chiller-1 reports fault code 17"


def test_fault_rule_can_watch_selected_codes_only() -> None:
    engine = engine_for("  - {name: hp-trip, kind: fault, codes: [4, 5]}\n")
    alerts = series(engine, "c", "fault_code", [0, 9, 0, 5], unit="code")
    assert [(a.state.value, a.value) for a in alerts] == [("firing", 5.0)]


COMPRESSOR = """\
  - name: cooling-failure
    kind: composite
    select: {asset: "AHU-*"}
    mode: all
    conditions:
      - {metric: state, equals: 1}
      - {metric: supply_temperature, above: 16}
    for: 10m
"""


def two_devices_one_asset(device: str) -> str:
    return {"ahu-1-comp": "AHU-1", "ahu-1-supply": "AHU-1"}.get(device, device)


def test_compressor_running_while_supply_stays_warm_fires_on_the_asset() -> None:
    engine = engine_for(COMPRESSOR, asset_of=two_devices_one_asset)
    alerts: list[Alert] = []
    for minute in range(0, 15):
        alerts += engine.process(
            [
                Reading("ahu-1-comp", "state", 1, "bool", at(minute * 60)),
                Reading("ahu-1-supply", "supply_temperature", 18, "degC", at(minute * 60 + 1)),
            ]
        )
    assert [(a.rule, a.asset, a.state.value) for a in alerts] == [
        ("cooling-failure", "AHU-1", "firing")
    ]
    assert alerts[0].ts == at(10 * 60 + 1)
    (resolved,) = engine.process([Reading("ahu-1-comp", "state", 0, "bool", at(16 * 60))])
    assert resolved.state is AlertState.RESOLVED


def test_composite_ignores_values_older_than_max_age() -> None:
    engine = engine_for(COMPRESSOR, asset_of=two_devices_one_asset)
    engine.process([Reading("ahu-1-supply", "supply_temperature", 18, "degC", at(0))])
    alerts = []
    for minute in range(20, 40):  # the supply value is 20+ minutes old: unknown, not warm
        alerts += engine.process([Reading("ahu-1-comp", "state", 1, "bool", at(minute * 60))])
    assert alerts == []


# -- selectors ----------------------------------------------------------------------------------
def test_selector_by_asset_type_and_zone_uses_the_resolver_attributes() -> None:
    directory = {
        "t-1": {"asset": "COLD-1", "asset_type": "cold_room", "zone": "kitchen"},
        "t-2": {"asset": "OFFICE-1", "asset_type": "room", "zone": "kitchen"},
    }
    engine = engine_for(
        "  - {name: cold-warm, kind: threshold, select: {metric: temperature,"
        " asset_type: cold_room, zone: kitch*}, above: 5}\n",
        asset_of=directory.get,
    )
    alerts = series(engine, "t-1", "temperature", [8]) + series(engine, "t-2", "temperature", [8])
    assert [(a.asset, a.device) for a in alerts] == [("COLD-1", "t-1")]


def test_exact_asset_selector_is_indexed_and_matches_through_the_resolver() -> None:
    engine = engine_for(
        "  - {name: a, kind: threshold, select: {asset: AHU-1, metric: temperature}, above: 5}\n",
        asset_of={"dev-9": "AHU-1"}.get,
    )
    assert states(series(engine, "dev-9", "temperature", [9])) == [("a", "firing")]
    assert series(engine, "dev-8", "temperature", [9]) == []


# -- messages -----------------------------------------------------------------------------------
def test_message_templates_see_the_kind_specific_fields() -> None:
    engine = engine_for(
        "  - name: r\n    kind: rate\n    select: {metric: temperature}\n    rise: 1\n"
        "    window: 10m\n"
        '    message: "{asset}: +{change:.1f} {unit} in {window} (limit {threshold})"\n'
    )
    (alert,) = series(engine, "x", "temperature", [20, 22])
    assert alert.message == "x: +2.0 degC in 10m (limit 1.0)"


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ("{name: a, kind: rate, select: {metric: t}, rise: 1, fall: 1}", "-"),
        ("{name: a, kind: rate, select: {metric: t}, rise: -1}", "rise"),
        ("{name: a, kind: flatline, select: {metric: t}, for: 0s}", "-"),
        ("{name: a, kind: stale, after: 5m}", "-"),
        ("{name: a, kind: composite, conditions: []}", "conditions"),
        ("{name: a, kind: composite, conditions: [{metric: t}]}", "conditions.0"),
        ("{name: a, kind: baseline, select: {metric: power}, sensitivity: 0}", "sensitivity"),
        ("{name: a, kind: baseline, select: {metric: power}, timezone: Mars/Olympus}", "timezone"),
        (
            "{name: a, kind: threshold, select: {metric: t}, above: 5,"
            " schedule: {windows: [{days: [funday]}]}}",
            "schedule.windows.0.days",
        ),
        (
            "{name: a, kind: threshold, select: {metric: t}, above: 5,"
            " schedule: {windows: [{start: '25:00'}]}}",
            "schedule.windows.0.start",
        ),
        ("{name: a, kind: threshold, select: {metric: t}, above: 5, below: 9}", "-"),
        ("{name: a, kind: heartbeat, after: 0}", "after"),
    ],
)
def test_each_kind_refuses_malformed_definitions_naming_the_field(rule: str, field: str) -> None:
    parsed, errors = check_rules(f"rules:\n  - {rule}\n")
    assert parsed is None
    assert errors and all(e.rule == "a" for e in errors)
    assert any(e.field == field for e in errors), [str(e) for e in errors]


def test_an_online_announcement_counts_as_hearing_the_device() -> None:
    engine = engine_for("  - {name: missed-heartbeat, kind: heartbeat, after: 15m}\n")
    engine.process([Reading("s1", "temperature", 21, "degC", at(0))])
    engine.process_presence([Presence("s1", online=True, ts=at(600))])
    assert engine.last_seen("s1") == at(600)
    assert engine.tick(at(16 * 60)) == []  # 10 min after the announcement: not yet silent
    assert states(engine.tick(at(26 * 60))) == [("missed-heartbeat", "firing")]
    assert engine.last_seen("never-heard") is None
