"""``changes(state, W)``: operating-state changes in a window (G36 FC4), and the points check.

The count is checked against a straightforward reference (derive the state of every minute,
count the minutes whose state differs from the one before, within the window) on random
command sequences; unknown semantics as every point: commands missing or stale, or a window
not yet fully seen, keep the condition unknown.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from facility.app.cli import app
from facility.core.errors import RuleError
from facility.core.types import Alert, Reading
from rules import RuleEngine, load_rules, parse_rules
from rules.coverage import PointsFileError, coverage, parse_points
from rules.points import operating_state

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
LIBRARY = Path(__file__).resolve().parents[2] / "rules" / "library" / "ahu-g36.yaml"
COMMANDS = {
    "OS1": {"heating_valve": 40.0, "cooling_valve": 0.0, "outdoor_air_damper": 20.0},
    "OS2": {"heating_valve": 0.0, "cooling_valve": 0.0, "outdoor_air_damper": 60.0},
    "OS3": {"heating_valve": 0.0, "cooling_valve": 50.0, "outdoor_air_damper": 100.0},
    "OS4": {"heating_valve": 0.0, "cooling_valve": 50.0, "outdoor_air_damper": 20.0},
    "OS5": {"heating_valve": 30.0, "cooling_valve": 50.0, "outdoor_air_damper": 60.0},
}


def engine(condition: str, **fields: str) -> RuleEngine:
    extra = "".join(f"    {key}: {value}\n" for key, value in fields.items())
    body = f"rules:\n  - name: r\n    kind: expression\n    condition: '{condition}'\n{extra}"
    return RuleEngine(parse_rules(body))


def feed(eng: RuleEngine, rows: list[tuple[float, dict[str, float]]]) -> list[Alert]:
    alerts: list[Alert] = []
    for minute, values in rows:
        ts = T0 + timedelta(minutes=minute)
        for metric, value in values.items():
            alerts += eng.process([Reading("ahu-1", metric, value, "%", ts)])
    return alerts


def states(alerts: list[Alert]) -> list[tuple[str, str]]:
    return [(a.state.value, a.ts.strftime("%H:%M")) for a in alerts]


def hunting(minutes: range, period: int = 4) -> list[tuple[float, dict[str, float]]]:
    """OS1 and OS2 in turn, ``period`` minutes each: 60 / period changes an hour."""
    return [(m, COMMANDS["OS1" if m // period % 2 == 0 else "OS2"]) for m in minutes]


# -- load-time checks -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("condition", "words"),
    [
        ("changes(mixed_air_temperature, 1h) > 7", "its first argument must be 'state'"),
        ("changes(state) > 7", "got 1 arguments"),
        ("changes(state, 7) > 7", "window must be a duration"),
        ("changes(state, 2d) > 7", "at most 1d"),
        ("changes(state, 1h)", "must give true/false"),
        ("changes(state, 1h) and true", "'and' needs true/false"),
    ],
)
def test_a_bad_changes_call_is_a_rule_error_naming_the_field(condition: str, words: str) -> None:
    with pytest.raises(RuleError) as caught:
        parse_rules(f"rules:\n  - name: r\n    kind: expression\n    condition: '{condition}'\n")
    assert "'condition'" in str(caught.value)
    assert words in str(caught.value)


def test_a_changes_rule_listens_to_the_commands_it_derives_the_state_from() -> None:
    (rule,) = parse_rules(
        "rules:\n  - {name: r, kind: expression, condition: 'changes(state, 1h) > 7'}\n"
    ).rules
    assert rule.metrics() == ["cooling_valve", "heating_valve", "outdoor_air_damper"]


# -- evaluation -----------------------------------------------------------------------------------
def test_hunting_fires_once_the_hour_is_seen_and_steady_commands_resolve_it() -> None:
    eng = engine("changes(state, 1h) > 7", clear_for="0s")
    # a change every 4 min from 08:00: more than 7 within the hour, but the window is only
    # fully seen at 09:00, so nothing before that
    assert states(feed(eng, hunting(range(60)))) == []
    assert states(feed(eng, hunting(range(60, 62)))) == [("firing", "09:00")]
    # steady from 09:04: the count falls below 8 once the old changes leave the hour
    steady = [(m, COMMANDS["OS2"]) for m in range(62, 140)]
    ((state, when),) = states(feed(eng, steady))
    assert state == "resolved"
    assert "09:20" <= when <= "10:00"


def test_a_few_changes_an_hour_are_quiet() -> None:
    eng = engine("changes(state, 1h) > 7")
    assert feed(eng, hunting(range(240), period=10)) == []  # 6 an hour


def test_stale_commands_make_the_count_unknown_until_a_whole_window_is_seen_again() -> None:
    eng = engine("changes(state, 1h) > 7", max_age="5m")
    rows = hunting(range(50))
    rows += [(m, {"mixed_air_temperature": 20.0}) for m in range(50, 70)]  # no commands
    rows += hunting(range(70, 130))  # known again from 09:10: the window is full at 10:10
    assert feed(eng, rows) == []
    assert states(feed(eng, hunting(range(130, 132)))) == [("firing", "10:10")]


def test_the_first_state_is_not_a_change_and_the_value_is_the_count() -> None:
    eng = engine("changes(state, 30m) >= 0", value="'changes(state, 30m)'")
    rows = [(m, COMMANDS["OS3"]) for m in range(31)]
    (alert,) = feed(eng, rows)
    assert alert.value == 0.0
    assert alert.ts == T0 + timedelta(minutes=30)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(1, 6), st.sampled_from(sorted(COMMANDS))), min_size=1, max_size=60
    ),
    st.integers(10, 90),
)
def test_the_count_equals_a_reference_count_of_state_changes(
    runs: list[tuple[int, str]], window_min: int
) -> None:
    """Random runs of operating states, one command set a minute: the count at every minute."""
    eng = engine(f"changes(state, {window_min}m) > 999", value=f"'changes(state, {window_min}m)'")
    evaluator = next(iter(eng.evaluators.values()))
    sequence = [name for length, name in runs for _ in range(length)]
    for minute, name in enumerate(sequence):
        feed(eng, [(minute, COMMANDS[name])])
        ts = (T0 + timedelta(minutes=minute)).timestamp()
        got = evaluator._values(evaluator.states["ahu-1"], ts)
        derived = [
            operating_state(
                **COMMANDS[n], min_outdoor_air_damper=20, damper_tolerance=5, valve_deadband=1
            )
            for n in sequence[: minute + 1]
        ]
        if minute < window_min:
            assert got is None  # the window is not fully seen yet: unknown
            continue
        expected = sum(
            1
            for m in range(1, minute + 1)
            if derived[m] != derived[m - 1] and m > minute - window_min
        )
        assert got is not None
        assert got[("@state_changes", window_min * 60.0)] == expected


# -- which rules an asset's points can run --------------------------------------------------------
def test_points_as_a_list_or_per_asset_say_which_library_rules_run() -> None:
    library = load_rules(LIBRARY)
    full = parse_points("\n".join(sorted(set().union(*(r.metrics() for r in library.rules)))))
    (everything,) = coverage(library, full)
    assert everything.skips == {}
    assert len(everything.runs) == len(library.rules)
    assets = parse_points(
        "AHU-1: [mixed_air_temperature, return_air_temperature, outdoor_air_temperature,"
        " supply_fan_status]\n"
        "AHU-2: [heating_valve, cooling_valve, supply_fan_status]\n"
    )
    one, two = coverage(library, assets)
    assert one.runs == ["ahu-g36-fc2-mixed-air-too-low", "ahu-g36-fc3-mixed-air-too-high"]
    assert two.runs == ["ahu-simultaneous-heating-cooling"]
    assert "supply_airflow" in one.skips["ahu-g36-fc6-outdoor-air-fraction-off-minimum"]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "lists no points"),
        ("# only a comment\n", "lists no points"),
        ("Supply Air\n", "line 1: 'Supply Air' is not a metric name"),
        ("AHU-1: supply_air_temperature\n", "expected a non-empty list"),
        ("AHU-1: [ok_point, {a: b}]\n", "is not a metric name"),
        ("AHU-1: [a\n", "not valid YAML"),
        ("x" * 1_000_001, "larger than"),
    ],
)
def test_a_bad_points_file_says_what_is_wrong(text: str, words: str) -> None:
    with pytest.raises(PointsFileError, match=words):
        parse_points(text)


def test_rules_check_with_points_prints_runs_and_skips(tmp_path: Path) -> None:
    points = tmp_path / "points.txt"
    points.write_text("supply_fan_status\nheating_valve\ncooling_valve\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["rules", "check", str(LIBRARY), "--points", str(points)])
    assert result.exit_code == 0, result.output
    assert "-: 1 of 16 rules can run" in result.output
    assert "runs   ahu-simultaneous-heating-cooling" in result.output
    assert "skips  ahu-g36-fc4-too-many-state-changes (needs outdoor_air_damper)" in result.output
    points.write_text("Not A Point\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["rules", "check", str(LIBRARY), "--points", str(points)])
    assert result.exit_code != 0  # the top level turns the error into one line and exit 1
    assert isinstance(result.exception, PointsFileError)
    assert "line 1: 'Not A Point' is not a metric name" in str(result.exception)
