"""The ``expression`` rule kind: load-time checks, unknown points, means, states, delays."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from facility.core.errors import RuleError
from facility.core.types import Alert, Reading
from rules import RuleEngine, check_rules, parse_rules
from rules._expression import ExpressionError, compile_expression
from rules.points import AHU_POINTS, BOOLEAN_POINTS, operating_state

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
KNOWN = frozenset(AHU_POINTS)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def engine(body: str) -> RuleEngine:
    return RuleEngine(parse_rules("rules:\n  - name: r\n    kind: expression\n" + body))


def feed(eng: RuleEngine, rows: list[tuple[float, dict[str, float]]]) -> list[Alert]:
    alerts: list[Alert] = []
    for minute, values in rows:
        for metric, value in values.items():
            alerts += eng.process([Reading("ahu-1", metric, value, "", at(minute))])
    return alerts


def states(alerts: list[Alert]) -> list[tuple[str, str]]:
    return [(a.state.value, a.ts.strftime("%H:%M")) for a in alerts]


# -- load-time checks -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("condition", "column", "words"),
    [
        ("mixed_air_temperature >", 24, "ends too early"),
        ("mixed_air_temperature > 1 < 2", 27, "unexpected <"),
        ("mixed_air_temperature $ 2", 23, "unexpected character '$'"),
        ("nosuch_point > 1", 1, "unknown point or parameter 'nosuch_point'"),
        ("sqrt(mixed_air_temperature) > 1", 1, "unknown function 'sqrt'"),
        ("mixed_air_temperature and supply_fan_status", 1, "'and' needs true/false"),
        ("mixed_air_temperature + 1", 1, "must give true/false"),
        ("mean(mixed_air_temperature, 5) > 1", 29, "window must be a duration"),
        ("mean(eps, 5m) > 1", 6, "needs a point"),
        ("supply_fan_status > 1", 1, "'>' needs a number, got true/false"),
    ],
)
def test_a_bad_condition_is_a_rule_error_naming_rule_field_line_and_column(
    condition: str, column: int, words: str
) -> None:
    text = (
        "rules:\n  - name: fc-x\n    kind: expression\n    params: {eps: 1}\n"
        f"    condition: {condition!r}\n"
    )
    parsed, errors = check_rules(text)
    assert parsed is None
    (error,) = errors
    assert isinstance(error, RuleError)
    assert (error.rule, error.field, error.line) == ("fc-x", "condition", 5)
    assert f"column {column}: " in str(error)
    assert words in str(error)


def test_clear_and_value_are_checked_too_and_a_value_must_be_a_number() -> None:
    text = (
        "rules:\n  - name: fc-x\n    kind: expression\n"
        "    condition: 'mixed_air_temperature > 1'\n"
        "    value: 'mixed_air_temperature > 1'\n"
    )
    _, errors = check_rules(text)
    assert [(e.field, "must give a number" in str(e)) for e in errors] == [("value", True)]


def test_fan_must_be_a_status_point_and_params_cannot_shadow_points() -> None:
    _, errors = check_rules(
        "rules:\n  - name: a\n    kind: expression\n    condition: 'true'\n"
        "    fan: supply_fan_speed\n"
        "  - name: b\n    kind: expression\n    condition: 'true'\n"
        "    params: {occupancy: 1}\n"
    )
    assert [(e.rule, e.field) for e in errors] == [("a", "-"), ("b", "params")]


def test_the_cli_check_prints_the_position(tmp_path: pytest.TempPathFactory) -> None:
    from typer.testing import CliRunner

    from facility.app.cli import app

    path = tmp_path / "bad.yaml"  # type: ignore[operator]
    path.write_text("rules:\n  - name: fc-x\n    kind: expression\n    condition: 'oops > 1'\n")
    result = CliRunner().invoke(app, ["rules", "check", str(path)])
    assert result.exit_code == 1
    assert "rule 'fc-x', field 'condition' (line 4): column 1: unknown point" in result.output


# -- evaluation -----------------------------------------------------------------------------------
def test_points_map_names_to_metrics_and_the_condition_fires_after_for() -> None:
    eng = engine(
        "    points: {mat: mixed_air_temperature, rat: return_air_temperature}\n"
        "    condition: 'mat > rat + 3'\n    for: 10m\n"
    )
    rows = [(m, {"mixed_air_temperature": 30.0, "return_air_temperature": 22.0}) for m in range(12)]
    rows += [(12, {"mixed_air_temperature": 22.0})]
    assert states(feed(eng, rows)) == [("firing", "08:10"), ("resolved", "08:12")]


def test_a_missing_point_keeps_the_condition_unknown() -> None:
    eng = engine("    condition: 'mixed_air_temperature > return_air_temperature'\n")
    assert feed(eng, [(m, {"mixed_air_temperature": 40.0}) for m in range(30)]) == []


def test_a_stale_point_neither_fires_nor_clears_and_restarts_the_for_window() -> None:
    eng = engine(
        "    condition: 'mixed_air_temperature > return_air_temperature'\n"
        "    max_age: 5m\n    for: 4m\n"
    )
    rows = [(0, {"return_air_temperature": 20.0})]
    rows += [(m, {"mixed_air_temperature": 25.0}) for m in range(1, 4)]  # pending from 08:01
    rows += [(m, {"mixed_air_temperature": 25.0}) for m in range(6, 9)]  # RAT stale from 08:05
    assert feed(eng, rows) == []
    rows = [
        (10 + m, {"return_air_temperature": 20.0, "mixed_air_temperature": 25.0}) for m in range(6)
    ]
    assert states(feed(eng, rows)) == [("firing", "08:14")]  # 4 min of fresh data again
    # firing; now RAT goes stale while MAT reads fine: no resolve either
    assert feed(eng, [(m, {"mixed_air_temperature": 10.0}) for m in range(21, 40)]) == []
    assert states(feed(eng, [(40, {"return_air_temperature": 20.0})])) == [("resolved", "08:40")]


def test_a_rolling_mean_smooths_a_spike_that_the_latest_value_would_not() -> None:
    eng = engine("    condition: 'mean(mixed_air_temperature, 5m) > 20'\n")
    rows = [(m, {"mixed_air_temperature": 18.0}) for m in range(5)]
    rows += [(5, {"mixed_air_temperature": 26.0})]  # mean of 08:01..08:05 = 19.6
    assert feed(eng, rows) == []
    rows = [(6, {"mixed_air_temperature": 26.0})]  # 08:02..08:06: (18*3 + 26*2) / 5 = 21.2
    assert states(feed(eng, rows)) == [("firing", "08:06")]


def test_hysteresis_clear_condition_holds_the_alert_between_the_two_limits() -> None:
    eng = engine(
        "    condition: 'supply_air_temperature > 16'\n    clear: 'supply_air_temperature < 14'\n"
    )
    rows = [(0, {"supply_air_temperature": 17.0}), (1, {"supply_air_temperature": 15.0})]
    rows += [(2, {"supply_air_temperature": 13.5})]
    assert states(feed(eng, rows)) == [("firing", "08:00"), ("resolved", "08:02")]


def test_division_by_zero_is_unknown_not_a_crash() -> None:
    eng = engine(
        "    condition: '(mixed_air_temperature - return_air_temperature) "
        "/ (outdoor_air_temperature - return_air_temperature) > 0.5'\n"
    )
    rows = [(0, {"mixed_air_temperature": 20.0, "return_air_temperature": 22.0})]
    rows += [(0, {"outdoor_air_temperature": 22.0})]
    assert feed(eng, rows) == []


def commands(os_name: str) -> dict[str, float]:
    return {
        "OS1": {"heating_valve": 40.0, "cooling_valve": 0.0, "outdoor_air_damper": 20.0},
        "OS2": {"heating_valve": 0.0, "cooling_valve": 0.0, "outdoor_air_damper": 60.0},
        "OS3": {"heating_valve": 0.0, "cooling_valve": 50.0, "outdoor_air_damper": 100.0},
        "OS4": {"heating_valve": 0.0, "cooling_valve": 50.0, "outdoor_air_damper": 20.0},
        "OS5": {"heating_valve": 30.0, "cooling_valve": 50.0, "outdoor_air_damper": 60.0},
    }[os_name]


@pytest.mark.parametrize("name", ["OS1", "OS2", "OS3", "OS4", "OS5"])
def test_operating_states_follow_g36_from_the_commands(name: str) -> None:
    c = commands(name)
    found = operating_state(
        c["heating_valve"],
        c["cooling_valve"],
        c["outdoor_air_damper"],
        min_outdoor_air_damper=20,
        damper_tolerance=5,
        valve_deadband=1,
    )
    assert found == name


def test_a_state_gated_rule_runs_only_in_its_states_after_the_mode_delay() -> None:
    eng = engine(
        "    condition: 'mixed_air_temperature > 30'\n    states: [OS2]\n    mode_delay: 30m\n"
    )
    hot = {"mixed_air_temperature": 35.0}
    rows = [(m, {**commands("OS1"), **hot}) for m in range(20)]  # wrong state: quiet
    rows += [(m, {**commands("OS2"), **hot}) for m in range(20, 70)]  # OS2 from 08:20
    assert states(feed(eng, rows)) == [("firing", "08:50")]
    rows = [(70, {**commands("OS3"), **hot})]  # leaving the state: not applicable = clear
    assert states(feed(eng, rows)) == [("resolved", "09:10")]


def test_a_state_gated_rule_without_the_command_points_is_skipped() -> None:
    eng = engine("    condition: 'mixed_air_temperature > 30'\n    states: [OS2]\n")
    assert feed(eng, [(m, {"mixed_air_temperature": 35.0}) for m in range(120)]) == []


def test_the_fan_start_up_delay_suppresses_evaluation_and_fan_off_clears() -> None:
    eng = engine(
        "    condition: 'supply_air_temperature > 16'\n"
        "    fan: supply_fan_status\n    fan_startup_delay: 10m\n"
    )
    rows = [(m, {"supply_fan_status": 0.0, "supply_air_temperature": 25.0}) for m in range(5)]
    rows += [(m, {"supply_fan_status": 1.0, "supply_air_temperature": 25.0}) for m in range(5, 20)]
    assert states(feed(eng, rows)) == [("firing", "08:15")]
    assert states(feed(eng, [(20, {"supply_fan_status": 0.0})])) == [("resolved", "08:20")]


def test_messages_show_the_points_the_state_and_the_value() -> None:
    eng = engine(
        "    condition: 'mean(mixed_air_temperature, 5m) > 30'\n"
        "    value: 'mean(mixed_air_temperature, 5m) - 30'\n"
        "    states: [OS2]\n    mode_delay: 0s\n"
        "    message: '{asset} {state}: MAT {mixed_air_temperature:.0f}, over by {value:.1f}, "
        "damper {outdoor_air_damper:.0f}'\n"
    )
    (alert,) = feed(eng, [(0, {**commands("OS2"), "mixed_air_temperature": 32.5})])
    assert alert.message == "ahu-1 OS2: MAT 32, over by 2.5, damper 60"
    assert alert.value == pytest.approx(2.5)


# -- the compiled closures equal a reference evaluation -------------------------------------------
NAMES = ("mixed_air_temperature", "return_air_temperature", "outdoor_air_temperature")


def numbers(depth: int) -> st.SearchStrategy[tuple[str, object]]:
    """(expression text, reference function of the values) for a numeric expression."""
    leaf = st.one_of(
        st.sampled_from(NAMES).map(lambda n: (n, lambda v, n=n: v[n])),
        st.integers(-50, 50).map(lambda k: (f"{k}", lambda v, k=k: float(k))),
    )
    if depth == 0:
        return leaf
    sub = numbers(depth - 1)
    ops = {
        "+": lambda a, b: a + b,
        "-": lambda a, b: a - b,
        "*": lambda a, b: a * b,
        "/": lambda a, b: a / b,
    }
    binary = st.tuples(sub, st.sampled_from(sorted(ops)), sub).map(
        lambda t: (
            f"({t[0][0]} {t[1]} {t[2][0]})",
            lambda v, t=t: ops[t[1]](t[0][1](v), t[2][1](v)),
        )
    )
    calls = st.tuples(st.sampled_from(["min", "max"]), sub, sub).map(
        lambda t: (
            f"{t[0]}({t[1][0]}, {t[2][0]})",
            lambda v, t=t: (min if t[0] == "min" else max)(t[1][1](v), t[2][1](v)),
        )
    )
    unary = st.one_of(
        sub.map(lambda s: (f"abs({s[0]})", lambda v, s=s: abs(s[1](v)))),
        sub.map(lambda s: (f"-{s[0]}", lambda v, s=s: -s[1](v))),
    )
    return st.one_of(leaf, binary, calls, unary)


def booleans(depth: int) -> st.SearchStrategy[tuple[str, object]]:
    cmp = {"<": float.__lt__, "<=": float.__le__, ">": float.__gt__, ">=": float.__ge__}
    comparison = st.tuples(numbers(2), st.sampled_from(sorted(cmp)), numbers(2)).map(
        lambda t: (
            f"{t[0][0]} {t[1]} {t[2][0]}",
            lambda v, t=t: cmp[t[1]](float(t[0][1](v)), float(t[2][1](v))),
        )
    )
    if depth == 0:
        return comparison
    sub = booleans(depth - 1)
    return st.one_of(
        comparison,
        st.tuples(sub, st.sampled_from(["and", "or"]), sub).map(
            lambda t: (
                f"({t[0][0]}) {t[1]} ({t[2][0]})",
                lambda v, t=t: (
                    (t[0][1](v) and t[2][1](v)) if t[1] == "and" else (t[0][1](v) or t[2][1](v))
                ),
            )
        ),
        sub.map(lambda s: (f"not ({s[0]})", lambda v, s=s: not s[1](v))),
    )


@settings(max_examples=300, deadline=None)
@given(
    expression=booleans(2),
    values=st.fixed_dictionaries(
        {n: st.floats(-40, 60, allow_nan=False).map(lambda x: round(x, 2)) for n in NAMES}
    ),
)
def test_compiled_expression_equals_a_reference_evaluation(
    expression: tuple[str, object], values: dict[str, float]
) -> None:
    text, reference = expression
    compiled = compile_expression(
        text, want="bool", points={}, params={}, known=KNOWN, booleans=BOOLEAN_POINTS
    )
    keyed = {(name, 0.0): value for name, value in values.items()}
    try:
        expected = reference(values)  # type: ignore[operator]
    except ZeroDivisionError:
        with pytest.raises(ZeroDivisionError):
            compiled(keyed)
        return
    except OverflowError:
        return
    if isinstance(expected, float) and math.isnan(expected):
        return
    assert compiled(keyed) == expected


def test_compile_errors_are_value_errors_with_a_column() -> None:
    with pytest.raises(ExpressionError) as caught:
        compile_expression(
            "max(1) > 0", want="bool", points={}, params={}, known=KNOWN, booleans=BOOLEAN_POINTS
        )
    assert caught.value.column == 1
    assert isinstance(caught.value, ValueError)
