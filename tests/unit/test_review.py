"""The monthly review's pure parts: months in time zones, verdicts, targets, surveys, charts."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from facility.core.errors import ConfigError
from maintenance.pm.service import Compliance
from maintenance.review.models import ActionStatus, ImprovementAction
from maintenance.review.report._charts import faults_chart, kpi_chart, orders_chart, survey_chart
from maintenance.review.report._render import change, duration, figure
from maintenance.review.schemas import DayCount, EnergySummary, FaultByAsset, KpiLine
from maintenance.review.service import (
    ReviewError,
    ReviewTargets,
    action_state,
    energy_used,
    judge,
    kpi_lines,
    month_bounds,
    parse_month,
    previous_month,
    targets_from_mapping,
)
from maintenance.review.surveys import (
    MAX_QUESTIONS,
    SurveyError,
    aggregate,
    validate_answers,
    validate_questions,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


# -- months --------------------------------------------------------------------------------------
def test_a_month_in_utc_runs_from_midnight_to_midnight() -> None:
    start, end = month_bounds("2026-02", ZoneInfo("UTC"))
    assert start == datetime(2026, 2, 1, tzinfo=UTC)
    assert end == datetime(2026, 3, 1, tzinfo=UTC)


def test_a_berlin_month_with_the_clock_change_lasts_one_hour_more() -> None:
    start, end = month_bounds("2026-10", BERLIN)
    assert start == datetime(2026, 9, 30, 22, tzinfo=UTC)  # CEST, UTC+2
    assert end == datetime(2026, 10, 31, 23, tzinfo=UTC)  # CET, UTC+1
    assert end - start == timedelta(days=31, hours=1)


def test_a_spring_forward_month_lasts_one_hour_less() -> None:
    start, end = month_bounds("2026-03", NEW_YORK)
    assert end - start == timedelta(days=31) - timedelta(hours=1)
    assert start.astimezone(NEW_YORK).hour == 0 and end.astimezone(NEW_YORK).hour == 0


def test_consecutive_months_meet_without_gap_or_overlap() -> None:
    _, october_end = month_bounds("2026-10", BERLIN)
    november_start, _ = month_bounds("2026-11", BERLIN)
    assert october_end == november_start


def test_january_follows_the_previous_december() -> None:
    assert previous_month("2027-01") == "2026-12"
    assert previous_month("2026-10") == "2026-09"
    assert month_bounds("2026-12", BERLIN)[1] == month_bounds("2027-01", BERLIN)[0]


@pytest.mark.parametrize(
    "value",
    ["2026-13", "2026-00", "2026-1", "26-10", "2026/10", "", "1999-12", "2026-10 ", "x" * 500],
)
def test_a_malformed_month_is_refused_with_an_example(value: str) -> None:
    with pytest.raises(ReviewError, match="YYYY-MM"):
        parse_month(value)


# -- verdicts and targets ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "target", "better", "verdict"),
    [
        (96.0, 95.0, "higher", "met"),
        (95.0, 95.0, "higher", "met"),
        (94.9, 95.0, "higher", "missed"),
        (3600.0, 7200.0, "lower", "met"),
        (7201.0, 7200.0, "lower", "missed"),
        (None, 95.0, "higher", "no data"),
        (50.0, None, "higher", "no target"),
    ],
)
def test_a_figure_is_judged_against_its_target_in_the_right_direction(
    value: float | None, target: float | None, better: str, verdict: str
) -> None:
    assert judge(value, target, better) == verdict  # type: ignore[arg-type]


def _kpis(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "total": 10,
        "mean_time_to_respond_s": 1800.0,
        "mttr_s": 7200.0,
        "mtbf_s_by_asset": {"A": 100.0, "B": 300.0, "C": None},
        "sla_resolution_compliance_pct": 90.0,
        "sla_response_compliance_pct": 100.0,
        "first_time_fix_pct": 80.0,
        "backlog": {"count": 2},
        "rating": {"count": 3, "mean": 4.5},
        "automatic_pct": 60.0,
        "manual_pct": 40.0,
    }
    base.update(overrides)
    return base


def test_kpi_lines_carry_deltas_targets_and_verdicts() -> None:
    lines = {
        line.key: line
        for line in kpi_lines(
            _kpis(),
            _kpis(total=8, sla_resolution_compliance_pct=None, mttr_s=9000.0),
            pm_now=Compliance(due=4, on_time=3, late=1, open=0),
            pm_before=Compliance(due=0, on_time=0, late=0, open=0),
            energy=EnergySummary(source=None, devices=0),
            targets=ReviewTargets(),
        )
    }
    assert lines["orders"].delta == 2 and lines["orders"].judgement == "no target"
    assert lines["resolution_s"].delta == 7200.0 - 9000.0
    assert lines["resolution_s"].judgement == "met"  # 2 h <= 24 h
    assert lines["sla_resolution_pct"].delta is None  # nothing to compare with
    assert lines["sla_resolution_pct"].judgement == "missed"  # 90 < 95
    assert lines["pm_compliance_pct"].current == 75.0
    assert lines["pm_compliance_pct"].previous is None
    assert lines["mtbf_s"].current == 200.0  # mean of the assets that have one
    assert lines["energy_kwh"].judgement == "no data"


def test_targets_override_only_the_keys_given() -> None:
    targets = targets_from_mapping({"sla_resolution_pct": 98, "energy_kwh": 12000, "mtbf_s": None})
    assert targets.sla_resolution_pct == 98.0 and targets.energy_kwh == 12000.0
    assert targets.mtbf_s is None and targets.response_s == ReviewTargets().response_s


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([1, 2], "mapping"),
        ({"sla_typo": 90}, "unknown target"),
        ({"sla_resolution_pct": "high"}, "not a number"),
        ({"sla_resolution_pct": True}, "not a number"),
        ({"sla_resolution_pct": 150}, "percentage"),
        ({"response_s": -5}, "from 0"),
        ({"response_s": float("nan")}, "from 0"),
        ({"response_s": float("inf")}, "from 0"),
    ],
)
def test_bad_targets_name_the_key_and_the_value(data: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        targets_from_mapping(data)


# -- energy, actions, formatting -----------------------------------------------------------------
def test_energy_is_the_sum_of_counter_rises_across_a_reset() -> None:
    assert energy_used([100.0, 110.0, 125.0, 0.0, 5.0]) == pytest.approx(10 + 15 + 5)
    assert energy_used([42.0]) == 0.0
    assert energy_used([]) == 0.0


def test_an_action_is_on_time_late_open_overdue_or_dropped() -> None:
    def action(status: ActionStatus, closed: datetime | None) -> ImprovementAction:
        return ImprovementAction(status=status, due_on=date(2026, 10, 15), closed_at=closed)

    today = date(2026, 11, 1)
    # closed at 23:30 Berlin time on the due day = 21:30 UTC: still on time
    assert (
        action_state(
            action(ActionStatus.DONE, datetime(2026, 10, 15, 21, 30, tzinfo=UTC)), today, BERLIN
        )
        == "done on time"
    )
    assert (
        action_state(
            action(ActionStatus.DONE, datetime(2026, 10, 15, 22, 30, tzinfo=UTC)), today, BERLIN
        )
        == "done late"
    )
    assert action_state(action(ActionStatus.OPEN, None), today, BERLIN) == "overdue"
    assert action_state(action(ActionStatus.OPEN, None), date(2026, 10, 10), BERLIN) == "open"
    assert action_state(action(ActionStatus.DROPPED, None), today, BERLIN) == "dropped"


def test_figures_read_as_people_say_them() -> None:
    assert duration(5400) == "1 h 30 min"
    assert duration(59 * 60) == "59 min"
    assert duration(3 * 86400 + 7200) == "3 d 2 h"
    assert duration(None) == "\u2013"
    assert figure(95.456, "%") == "95.5 %"
    assert figure(1234.0, "count") == "1,234"
    line = KpiLine(
        key="x",
        label="x",
        unit="%",
        current=90,
        previous=95,
        delta=-5.0,
        target=None,
        better="higher",
        judgement="no target",
    )
    assert change(line) == "-5.0 pt"


# -- surveys -------------------------------------------------------------------------------------
QUESTIONS = [
    {"key": "comfort", "text": "How comfortable is your workplace?", "kind": "rating"},
    {"key": "channel", "text": "How do you report?", "kind": "choice", "choices": ["app", "phone"]},
    {"key": "comment", "text": "Anything else?", "kind": "text"},
]


def test_good_questions_are_kept_and_trimmed() -> None:
    questions = validate_questions([{**QUESTIONS[0], "text": "  Comfort?  "}, *QUESTIONS[1:]])
    assert questions[0]["text"] == "Comfort?"
    assert questions[1]["choices"] == ["app", "phone"]


@pytest.mark.parametrize(
    ("questions", "message"),
    [
        ([], "1 to 20"),
        ([QUESTIONS[0]] * 2, "used twice"),
        ([{"key": "Bad Key", "text": "t", "kind": "rating"}], "key"),
        ([{"key": "a", "text": "", "kind": "rating"}], "empty"),
        ([{"key": "a", "text": "x" * 301, "kind": "rating"}], "300"),
        ([{"key": "a", "text": "t", "kind": "essay"}], "not one of"),
        ([{"key": "a", "text": "t", "kind": "choice", "choices": ["only"]}], "2 to 10"),
        ([{"key": "a", "text": "t", "kind": "choice", "choices": ["x", "x"]}], "different"),
        ([{"key": "a", "text": "t", "kind": "rating", "choices": ["x", "y"]}], "only a choice"),
        ([{"key": "a", "text": "t", "kind": "rating", "weight": 3}], "unknown field"),
        (["not an object"], "object"),
        ([{"key": "a", "text": 5, "kind": "rating"}], "must be text"),
        ([{"key": "a", "text": "nul\x00", "kind": "rating"}], "NUL"),
    ],
)
def test_bad_questions_are_refused_naming_the_question(
    questions: list[object], message: str
) -> None:
    with pytest.raises(SurveyError, match=message):
        validate_questions(questions)


def test_a_survey_has_at_most_twenty_questions() -> None:
    many = [{"key": f"q{i}", "text": "t", "kind": "rating"} for i in range(MAX_QUESTIONS + 1)]
    with pytest.raises(SurveyError, match="1 to 20"):
        validate_questions(many)


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"comfort": 6}, "1-5"),
        ({"comfort": 0}, "1-5"),
        ({"comfort": True}, "1-5"),
        ({"comfort": "5"}, "1-5"),
        ({"comfort": 4.5}, "1-5"),
        ({"channel": "fax"}, "one of"),
        ({"comment": "x" * 1001}, "1000"),
        ({"nope": 1}, "unknown question"),
        ({}, "no question answered"),
        ([1, 2], "object"),
    ],
)
def test_bad_answers_are_refused(answers: object, message: str) -> None:
    with pytest.raises(SurveyError, match=message):
        validate_answers(validate_questions(QUESTIONS), answers)


def test_results_give_mean_distribution_counts_and_texts() -> None:
    questions = validate_questions(QUESTIONS)
    answers = [
        {"comfort": 5, "channel": "app", "comment": "great"},
        {"comfort": 4, "channel": "app"},
        {"comfort": 2, "channel": "phone", "comment": "too cold <b>"},
        {"channel": "phone"},
        {"removed_question": 1},
    ]
    results = {r.key: r for r in aggregate(questions, answers)}
    comfort = results["comfort"]
    assert comfort.count == 3
    assert comfort.mean == pytest.approx(round((5 + 4 + 2) / 3, 2))
    assert comfort.distribution == {"1": 0, "2": 1, "3": 0, "4": 1, "5": 1}
    assert results["channel"].distribution == {"app": 2, "phone": 2}
    assert results["comment"].texts == ["great", "too cold <b>"]


# -- charts --------------------------------------------------------------------------------------
def test_charts_are_inline_svg_even_without_data() -> None:
    for svg in (kpi_chart([]), orders_chart([]), faults_chart([]), survey_chart([])):
        assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")


def test_hostile_labels_are_escaped_and_not_parsed_as_math() -> None:
    hostile = "<script>alert(1)</script> $\\frac{1}{0}$"
    svg = faults_chart([FaultByAsset(asset=hostile, name=hostile, orders=3, automatic=1)])
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    days = [DayCount(day=date(2026, 10, d), orders=d % 3) for d in range(1, 32)]
    assert "<svg" in orders_chart(days)


def test_an_empty_month_has_a_whole_number_axis_from_zero() -> None:
    quiet = [DayCount(day=date(2026, 10, d), orders=0) for d in range(1, 32)]
    labels = re.findall(r">(\S{1,6})</text>", orders_chart(quiet))
    assert "4" in labels and "0" in labels
    assert not any(label.startswith(("\u2212", "-")) or "." in label for label in labels)
