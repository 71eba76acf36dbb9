"""The alert life cycle: de-duplication per (rule, asset), flapping, maintenance windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from facility.core.types import Alert, AlertState, Reading
from rules import MaintenanceWindow, RuleEngine, parse_rules

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)  # Monday 08:00 UTC


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def hot(device: str, value: float, seconds: float) -> Reading:
    return Reading(device, "temperature", value, "degC", at(seconds))


def run(engine: RuleEngine, events: list[Reading]) -> list[Alert]:
    """Feed readings one by one and tick at each, as live operation and replay do."""
    alerts: list[Alert] = []
    for reading in events:
        alerts += engine.process([reading])
        alerts += engine.tick(reading.ts)
    return alerts


def test_two_devices_of_one_asset_raise_one_alert_resolved_when_both_clear() -> None:
    engine = RuleEngine(
        parse_rules(
            "rules:\n  - {name: hot, kind: threshold, select: {metric: temperature}, above: 30}\n"
        ),
        asset_of={"t-a": "ROOM-1", "t-b": "ROOM-1"}.get,
    )
    alerts = run(
        engine,
        [hot("t-a", 35, 0), hot("t-b", 36, 10), hot("t-a", 20, 20), hot("t-b", 20, 30)],
    )
    assert [(a.state.value, a.device, a.ts) for a in alerts] == [
        ("firing", "t-a", at(0)),
        ("resolved", "t-b", at(30)),
    ]


FLAPPY = parse_rules(
    """
rules:
  - name: hot
    kind: threshold
    select: {metric: temperature}
    above: 30
    min_refire: 10m
"""
)


def test_re_fires_inside_min_refire_are_recorded_as_suppressed_and_counted() -> None:
    engine = RuleEngine(FLAPPY)
    events = []
    for i in range(6):  # flaps every minute: hot, cool, hot, cool ...
        events.append(hot("r", 35 if i % 2 == 0 else 20, i * 60))
    alerts = run(engine, events)
    assert [a.state.value for a in alerts] == [
        "firing",
        "resolved",
        "suppressed",
        "suppressed",
    ]
    assert all(a.reason == "flapping" for a in alerts[2:])
    assert list(engine.suppressed) == alerts[2:]


def test_a_held_re_fire_still_true_after_min_refire_fires_with_the_count() -> None:
    engine = RuleEngine(FLAPPY)
    events = [hot("r", 35, 0), hot("r", 20, 60), hot("r", 35, 120), hot("r", 20, 180)]
    events += [hot("r", 35, 240 + i * 60) for i in range(10)]  # stays hot from 4 min
    alerts = run(engine, events)
    published = [a for a in alerts if a.state is not AlertState.SUPPRESSED]
    assert [(a.state.value, a.ts) for a in published] == [
        ("firing", at(0)),
        ("resolved", at(60)),
        ("firing", at(660)),  # 10 min after the resolve at 1 min
    ]
    assert published[-1].suppressed_count == 2
    assert "2 re-fires held back" in published[-1].message


MAINTENANCE = """
rules:
  - {name: hot, kind: threshold, select: {metric: temperature}, above: 30}
  - {name: leak, kind: threshold, select: {metric: water_leak}, above: 0.5}
maintenance:
  - name: b2-chiller-swap
    scope: {building: B2}
    rules: ["hot"]
    start: 2026-01-05T08:00:00Z
    end: 2026-01-05T09:00:00Z
"""

ASSETS = {
    "t-1": {"asset": "ROOM-1", "site": "hq", "building": "B2", "floor": "1", "zone": "east"},
    "t-2": {"asset": "ROOM-9", "site": "hq", "building": "B1", "floor": "1", "zone": "east"},
}


def test_window_on_a_building_suppresses_its_assets_and_fires_after_it_ends() -> None:
    engine = RuleEngine(parse_rules(MAINTENANCE), asset_of=ASSETS.get)
    alerts = run(engine, [hot("t-1", 35, 0), hot("t-2", 35, 0), hot("t-1", 35, 1800)])
    assert [(a.asset, a.state.value, a.reason) for a in alerts] == [
        ("ROOM-1", "suppressed", "maintenance:b2-chiller-swap"),  # inherited from building B2
        ("ROOM-9", "firing", ""),  # building B1: not in the window
    ]
    later = engine.tick(at(3600))  # the window is over and ROOM-1 is still hot
    assert [(a.asset, a.state.value) for a in later] == [("ROOM-1", "firing")]


def test_condition_that_clears_inside_the_window_never_reaches_maintenance() -> None:
    engine = RuleEngine(parse_rules(MAINTENANCE), asset_of=ASSETS.get)
    alerts = run(engine, [hot("t-1", 35, 0), hot("t-1", 20, 600)])
    assert [a.state.value for a in alerts] == ["suppressed"]
    assert engine.tick(at(4000)) == []


def test_window_lists_only_the_rules_it_names() -> None:
    engine = RuleEngine(parse_rules(MAINTENANCE), asset_of=ASSETS.get)
    alerts = engine.process([Reading("t-1", "water_leak", 1, "bool", at(0))])
    assert [(a.rule, a.state.value) for a in alerts] == [("leak", "firing")]


def test_weekly_window_and_windows_passed_in_by_the_application() -> None:
    engine = RuleEngine(
        parse_rules(
            "rules:\n  - {name: hot, kind: threshold, select: {metric: temperature}, above: 30}\n"
        )
    )
    engine.set_maintenance_windows(
        [
            MaintenanceWindow.model_validate(
                {
                    "name": "monday-cleaning",
                    "scope": {"asset": "ROOM-*"},
                    "timezone": "Europe/Berlin",
                    "weekly": [{"days": ["mon"], "start": "09:00", "end": "10:00"}],
                }
            )
        ]
    )
    inside = engine.process([hot("ROOM-3", 35, 0)])  # 09:00 Berlin
    outside = engine.process([hot("OFFICE-3", 35, 0)])
    assert [a.state.value for a in inside] == ["suppressed"]
    assert [a.state.value for a in outside] == ["firing"]


def test_auto_resolve_is_carried_on_the_alert_for_maintenance() -> None:
    engine = RuleEngine(
        parse_rules(
            "rules:\n  - {name: hot, kind: threshold, select: {metric: temperature}, above: 30,"
            " auto_resolve: true}\n"
        )
    )
    alerts = run(engine, [hot("r", 35, 0), hot("r", 20, 60)])
    assert [(a.state.value, a.auto_resolve) for a in alerts] == [
        ("firing", True),
        ("resolved", True),
    ]


def test_reload_keeps_state_of_unchanged_rules_and_resets_changed_ones() -> None:
    first = parse_rules(
        """
rules:
  - {name: keep, kind: threshold, select: {metric: temperature}, above: 30, for: 10m}
  - {name: change, kind: threshold, select: {metric: temperature}, above: 30, for: 10m}
  - {name: drop, kind: threshold, select: {metric: temperature}, above: 30}
"""
    )
    engine = RuleEngine(first)
    run(engine, [hot("r", 35, 0), hot("r", 35, 300)])
    second = parse_rules(
        """
rules:
  - {name: keep, kind: threshold, select: {metric: temperature}, above: 30, for: 10m}
  - {name: change, kind: threshold, select: {metric: temperature}, above: 31, for: 10m}
  - {name: new, kind: threshold, select: {metric: temperature}, above: 30}
"""
    )
    report = engine.reload(second)
    assert (report.kept, report.changed, report.added, report.removed) == (
        ["keep"],
        ["change"],
        ["new"],
        ["drop"],
    )
    alerts = run(engine, [hot("r", 35, 600), hot("r", 35, 900)])
    assert [(a.rule, a.ts) for a in alerts] == [("keep", at(600)), ("new", at(600))]
