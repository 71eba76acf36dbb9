"""PM due-date arithmetic: month ends, leap days, DST, run hours and counter roll-overs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from maintenance.pm.models import TimeUnit
from maintenance.pm.service import (
    add_interval,
    calendar_due,
    latest_fixed_occurrence,
    meter_progress,
    runtime_progress,
    to_utc,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
T0 = datetime(2026, 3, 1, tzinfo=UTC)


def test_a_month_after_january_31_is_the_last_day_of_february() -> None:
    assert add_interval(datetime(2026, 1, 31, 8), 1, TimeUnit.MONTH) == datetime(2026, 2, 28, 8)
    assert add_interval(datetime(2028, 1, 31, 8), 1, TimeUnit.MONTH) == datetime(2028, 2, 29, 8)


def test_monthly_grid_steps_from_the_anchor_so_the_31st_comes_back_after_february() -> None:
    anchor = datetime(2026, 1, 31, 8)
    dues = [add_interval(anchor, k, TimeUnit.MONTH) for k in range(4)]
    assert [d.day for d in dues] == [31, 28, 31, 30]


def test_a_leap_day_anchor_falls_on_february_28_in_common_years_and_29_in_leap_years() -> None:
    anchor = datetime(2028, 2, 29, 7)
    assert add_interval(anchor, 12, TimeUnit.MONTH) == datetime(2029, 2, 28, 7)
    assert add_interval(anchor, 48, TimeUnit.MONTH) == datetime(2032, 2, 29, 7)


def test_month_steps_cross_the_year_boundary() -> None:
    assert add_interval(datetime(2026, 11, 30), 3, TimeUnit.MONTH) == datetime(2027, 2, 28)


def test_daily_plan_keeps_its_wall_time_across_the_spring_forward_change() -> None:
    anchor = datetime(2026, 3, 28, 8, 0)  # Berlin switches to CEST on 2026-03-29
    before = calendar_due(anchor, 0, 1, TimeUnit.DAY, BERLIN)
    after = calendar_due(anchor, 1, 1, TimeUnit.DAY, BERLIN)
    assert before == datetime(2026, 3, 28, 7, 0, tzinfo=UTC)
    assert after == datetime(2026, 3, 29, 6, 0, tzinfo=UTC)
    assert after - before == timedelta(hours=23)


def test_weekly_plan_keeps_its_wall_time_across_the_fall_back_change() -> None:
    anchor = datetime(2026, 10, 20, 9, 30)  # New York falls back on 2026-11-01
    first = calendar_due(anchor, 0, 2, TimeUnit.WEEK, NEW_YORK)
    second = calendar_due(anchor, 1, 2, TimeUnit.WEEK, NEW_YORK)
    assert first == datetime(2026, 10, 20, 13, 30, tzinfo=UTC)
    assert second == datetime(2026, 11, 3, 14, 30, tzinfo=UTC)


def test_a_wall_time_inside_the_spring_gap_moves_forward_by_the_gap() -> None:
    due = to_utc(datetime(2026, 3, 29, 2, 30), BERLIN)
    assert due.astimezone(BERLIN).replace(tzinfo=None) == datetime(2026, 3, 29, 3, 30)


def test_an_ambiguous_fall_back_wall_time_takes_its_first_occurrence() -> None:
    due = to_utc(datetime(2026, 10, 25, 2, 30), BERLIN)
    assert due == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # still CEST (+2)


def test_latest_fixed_occurrence_is_none_before_the_anchor_and_exact_on_due_dates() -> None:
    anchor = datetime(2026, 1, 31, 8)
    zone = BERLIN
    assert (
        latest_fixed_occurrence(anchor, 1, TimeUnit.MONTH, zone, until=T0 - timedelta(days=60))
        is None
    )
    feb_due = calendar_due(anchor, 1, 1, TimeUnit.MONTH, zone)
    assert latest_fixed_occurrence(anchor, 1, TimeUnit.MONTH, zone, until=feb_due) == 1
    just_before = feb_due - timedelta(seconds=1)
    assert latest_fixed_occurrence(anchor, 1, TimeUnit.MONTH, zone, until=just_before) == 0
    years_later = calendar_due(anchor, 40, 1, TimeUnit.MONTH, zone) + timedelta(days=1)
    assert latest_fixed_occurrence(anchor, 1, TimeUnit.MONTH, zone, until=years_later) == 40


def _minutes(*pairs: tuple[float, float]) -> list[tuple[datetime, float]]:
    return [(T0 + timedelta(minutes=m), v) for m, v in pairs]


def test_run_hours_count_running_intervals_exactly() -> None:
    samples = _minutes((0, 1), (5, 1), (10, 0), (20, 1), (25, 1), (30, 0))
    progress = runtime_progress(samples, start=T0, end=T0 + timedelta(hours=1), max_gap_s=600)
    assert progress.total == pytest.approx(20 / 60)


def test_an_offline_gap_counts_only_the_max_gap_after_the_last_running_reading() -> None:
    samples = _minutes((0, 1), (5, 1), (125, 1), (130, 0))
    progress = runtime_progress(samples, start=T0, end=T0 + timedelta(hours=3), max_gap_s=300)
    # 0-5 running, 5-125 silent: only 5 min vouched for, 125-130 running
    assert progress.total == pytest.approx(15 / 60)


def test_the_last_running_reading_counts_until_now_or_the_max_gap() -> None:
    samples = _minutes((0, 1))
    short = runtime_progress(samples, start=T0, end=T0 + timedelta(minutes=3), max_gap_s=600)
    long = runtime_progress(samples, start=T0, end=T0 + timedelta(hours=2), max_gap_s=600)
    assert short.total == pytest.approx(3 / 60)
    assert long.total == pytest.approx(10 / 60)


def test_a_running_reading_before_the_start_counts_only_from_the_start() -> None:
    samples = [(T0 - timedelta(minutes=2), 1.0), (T0 + timedelta(minutes=3), 0.0)]
    progress = runtime_progress(samples, start=T0, end=T0 + timedelta(hours=1), max_gap_s=600)
    assert progress.total == pytest.approx(3 / 60)


def test_run_hours_threshold_crossing_time_is_interpolated_inside_a_running_interval() -> None:
    samples = _minutes((0, 1), (60, 1), (120, 0))
    progress = runtime_progress(samples, start=T0, end=T0 + timedelta(hours=3), max_gap_s=7200)
    assert progress.reached_at(1.5) == T0 + timedelta(minutes=90)
    assert progress.reached_at(2.5) is None
    assert progress.estimate(3.0) == T0 + timedelta(hours=3)  # 1 h per h while counted


def test_meter_consumption_adds_increases_and_counts_a_reset_from_zero() -> None:
    samples = _minutes((0, 1000), (10, 1040), (20, 1100), (30, 5), (40, 25))
    progress = meter_progress(samples, start=T0, end=T0 + timedelta(hours=1))
    assert progress.total == pytest.approx(100 + 5 + 20)


def test_meter_roll_over_at_the_counter_maximum_counts_the_new_value_from_zero() -> None:
    samples = _minutes((0, 99990), (10, 99999), (20, 3))
    progress = meter_progress(samples, start=T0, end=T0 + timedelta(hours=1))
    assert progress.total == pytest.approx(9 + 3)


def test_meter_readings_before_the_plan_start_are_ignored() -> None:
    samples = _minutes((-10, 500), (0, 510), (10, 530))
    progress = meter_progress(samples, start=T0, end=T0 + timedelta(hours=1))
    assert progress.total == pytest.approx(20)


def test_an_idle_meter_has_no_estimate() -> None:
    progress = meter_progress(_minutes((0, 10), (10, 10)), start=T0, end=T0 + timedelta(hours=1))
    assert progress.estimate(50) is None
