"""Rule state in a real database (SQLite and PostgreSQL): a restart forgets nothing, fires once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from facility.core.types import Alert, AlertState, Reading
from rules import RuleEngine, RuleStateStore, parse_rules

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)

RULES = parse_rules(
    """
rules:
  - {name: hot, kind: threshold, select: {metric: temperature}, above: 30, for: 10m}
  - {name: silent, kind: heartbeat, after: 15m}
  - {name: night, kind: baseline, select: {metric: power}, learning: 1d, min_samples: 1,
     min_deviation: 100}
maintenance:
  - {name: swap, scope: {asset: "ROOM-9"}, start: "2026-01-05T08:00:00Z",
     end: "2026-01-05T12:00:00Z"}
"""
)


@pytest.fixture
def store(database_url: str) -> RuleStateStore:
    return RuleStateStore(sa.create_engine(database_url))


def hot(seconds: float, value: float = 35.0, device: str = "room-1") -> Reading:
    return Reading(device, "temperature", value, "degC", T0 + timedelta(seconds=seconds))


def restarted(store: RuleStateStore, now: datetime | None = None) -> RuleEngine:
    engine = RuleEngine(RULES, store=store)
    engine.restore(now)
    return engine


def test_pending_for_window_survives_a_restart_and_fires_once_at_the_right_time(
    store: RuleStateStore,
) -> None:
    first = RuleEngine(RULES, store=store)
    assert first.process([hot(0), hot(240)]) == []
    first.flush()

    second = restarted(store)
    assert second.process([hot(540)]) == []  # 9 min into the 10 min window: not yet
    (fired,) = second.process([hot(600)])
    assert (fired.rule, fired.state, fired.ts) == (
        "hot",
        AlertState.FIRING,
        T0 + timedelta(minutes=10),
    )
    second.flush()

    third = restarted(store)
    assert third.process([hot(660), hot(720)]) == []  # still firing: no second alert
    (resolved,) = third.process([hot(780, value=20)])
    assert resolved.state is AlertState.RESOLVED


def test_without_flush_a_restart_starts_the_window_again(store: RuleStateStore) -> None:
    first = RuleEngine(RULES, store=store)
    first.process([hot(0)])
    second = restarted(store)  # nothing was flushed
    assert second.process([hot(600)]) == []


def test_baseline_learned_before_a_restart_is_kept(store: RuleStateStore) -> None:
    engine = RuleEngine(RULES, store=store)
    for hour in range(26):
        engine.process([Reading("meter", "power", 1000.0, "W", T0 + timedelta(hours=hour))])
    engine.flush()
    again = restarted(store)
    alerts: list[Alert] = []
    for hour in range(26, 24 * 8):  # same hours a week later: a 5 kW night
        value = 6000.0 if hour == 24 * 7 + 3 else 1000.0
        alerts += again.process([Reading("meter", "power", value, "W", T0 + timedelta(hours=hour))])
    assert [(a.rule, a.state.value) for a in alerts] == [("night", "firing"), ("night", "resolved")]


def test_state_of_a_changed_rule_is_dropped_on_restore(store: RuleStateStore) -> None:
    first = RuleEngine(RULES, store=store)
    first.process([hot(0)])
    first.flush()
    changed = parse_rules(
        "rules:\n  - {name: hot, kind: threshold, select: {metric: temperature}, above: 31,"
        " for: 10m}\n"
    )
    engine = RuleEngine(changed, store=store)
    engine.restore()
    assert engine.process([hot(600)]) == []  # the old pending window does not apply
    engine.flush()
    rows = {(r.rule, r.fingerprint) for r in store.load() if r.rule == "hot"}
    assert rows == {("hot", engine.evaluators["hot"].fingerprint)}


def test_heartbeat_after_restart_gives_devices_their_full_period(store: RuleStateStore) -> None:
    first = RuleEngine(RULES, store=store)
    first.process([hot(0, value=20)])
    first.flush()
    start = T0 + timedelta(hours=2)  # the gateway was down for two hours
    engine = restarted(store, now=start)
    assert engine.tick(start + timedelta(minutes=10)) == []
    (silent,) = engine.tick(start + timedelta(minutes=16))
    assert (silent.rule, silent.device) == ("silent", "room-1")


def test_suppressed_alerts_are_recorded_in_the_database(store: RuleStateStore) -> None:
    engine = RuleEngine(RULES, store=store, asset_of={"t-9": "ROOM-9"}.get)
    engine.process([hot(0, device="t-9"), hot(600, device="t-9")])
    engine.flush()
    (row,) = store.suppressed()
    assert (row["rule"], row["asset"], row["reason"]) == ("hot", "ROOM-9", "maintenance:swap")


def test_unreadable_rows_are_skipped_not_fatal(store: RuleStateStore) -> None:
    engine = RuleEngine(RULES, store=store)
    engine.process([hot(0)])
    engine.flush()
    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE rules_state SET data = 'not json' WHERE scope = 'eval'"))
        conn.execute(
            sa.text(
                "INSERT INTO rules_state (rule, scope, key, fingerprint, data, updated_at) "
                "VALUES ('hot', 'eval', 'x', :fp, '{\"nonsense\": 1}', :now)"
            ),
            {"fp": engine.evaluators["hot"].fingerprint, "now": T0},
        )
    again = restarted(store)
    assert again.process([hot(600)]) == []


def test_alert_held_by_a_maintenance_window_fires_after_a_restart_when_the_window_ends(
    store: RuleStateStore,
) -> None:
    first = RuleEngine(RULES, store=store, asset_of={"t-9": "ROOM-9"}.get)
    alerts = first.process([hot(0, device="t-9"), hot(600, device="t-9")])
    assert [a.state.value for a in alerts] == ["suppressed"]
    first.flush()
    second = RuleEngine(RULES, store=store, asset_of={"t-9": "ROOM-9"}.get)
    second.restore()

    def hot_alerts(alerts: list[Alert]) -> list[tuple[str, AlertState]]:
        return [(a.asset, a.state) for a in alerts if a.rule == "hot"]

    assert hot_alerts(second.tick(T0 + timedelta(hours=3))) == []  # still inside the window
    fired = hot_alerts(second.tick(T0 + timedelta(hours=4)))
    assert fired == [("ROOM-9", AlertState.FIRING)]
    second.flush()
    third = RuleEngine(RULES, store=store, asset_of={"t-9": "ROOM-9"}.get)
    third.restore()
    assert hot_alerts(third.tick(T0 + timedelta(hours=5))) == []  # published once, not again


def test_refinements_are_written_lazily_and_significant_changes_at_once(
    store: RuleStateStore,
) -> None:
    engine = RuleEngine(RULES, store=store, lazy_interval_s=3600)
    engine.process([hot(0, value=20)])
    assert engine.flush() > 0  # the first flush writes everything
    engine.process([hot(60, value=21), hot(120, value=22)])  # nothing a restart must keep
    assert engine.flush() == 0
    engine.process([hot(180)])  # a for window opens: written at once
    assert engine.flush() == 1
    assert engine.flush(force=True) >= 1  # at shutdown the refinements go too (last-seen)
    again = restarted(store)
    (fired,) = again.process([hot(780)])
    assert fired.ts == T0 + timedelta(minutes=13)  # 10 min after the window opened at 3 min
