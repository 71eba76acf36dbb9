"""Cron plans on the site's wall clock: DST days, lead windows and expression validation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from facility.core.errors import ConfigError
from maintenance.pm.service import (
    CronExpressionError,
    PlanError,
    cron_occurrences,
    latest_cron_occurrence,
    to_utc,
    validate_cron,
)

BERLIN = ZoneInfo("Europe/Berlin")


def _runs(expression: str, start: datetime, days: int) -> list[tuple[datetime, datetime]]:
    return list(cron_occurrences(expression, BERLIN, after=start, until=start + timedelta(days)))


def test_a_daily_0230_job_runs_once_on_the_spring_forward_day_moved_past_the_gap() -> None:
    # 2026-03-29: Berlin skips 02:00-03:00 local
    runs = _runs("30 2 * * *", datetime(2026, 3, 27, 12, tzinfo=UTC), 4)
    on_the_day = [utc for local, utc in runs if local.date().isoformat() == "2026-03-29"]
    assert on_the_day == [to_utc(datetime(2026, 3, 29, 3, 30), BERLIN)]
    assert on_the_day == [datetime(2026, 3, 29, 1, 30, tzinfo=UTC)]  # 03:30 CEST
    assert len(runs) == 4
    assert [utc.astimezone(BERLIN).strftime("%H:%M") for _, utc in runs] == [
        "02:30",  # 28th
        "03:30",  # 29th, the spring-forward day
        "02:30",
        "02:30",
    ]


def test_a_daily_0230_job_runs_once_on_the_fall_back_day_at_the_first_0230() -> None:
    # 2026-10-25: Berlin repeats 02:00-03:00 local
    runs = _runs("30 2 * * *", datetime(2026, 10, 24, 12, tzinfo=UTC), 2)
    on_the_day = [utc for local, utc in runs if local.date().isoformat() == "2026-10-25"]
    assert on_the_day == [datetime(2026, 10, 25, 0, 30, tzinfo=UTC)]  # 02:30 CEST, not CET


def test_every_instant_of_a_half_hourly_job_runs_once_across_the_gap() -> None:
    runs = _runs("*/30 * * * *", datetime(2026, 3, 28, 23, tzinfo=UTC), 0.25)
    instants = [utc for _, utc in runs]
    assert instants == sorted(set(instants))
    # 02:00 and 02:30 local do not exist; 03:00 and 03:30 CEST run once each
    gap = [utc for utc in instants if datetime(2026, 3, 29, 0, 30, tzinfo=UTC) < utc]
    assert gap[:3] == [
        datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
        datetime(2026, 3, 29, 1, 30, tzinfo=UTC),
        datetime(2026, 3, 29, 2, 0, tzinfo=UTC),
    ]


def test_the_latest_run_is_the_last_one_at_or_before_the_instant() -> None:
    # Mondays 06:00 local; 2026-03-02 is a Monday
    monday = to_utc(datetime(2026, 3, 2, 6, 0), BERLIN)
    assert latest_cron_occurrence("0 6 * * 1", BERLIN, until=monday) == (
        datetime(2026, 3, 2, 6, 0),
        monday,
    )
    before = latest_cron_occurrence("0 6 * * 1", BERLIN, until=monday - timedelta(seconds=1))
    assert before is not None
    assert before[1] == monday - timedelta(days=7)


@pytest.mark.parametrize(
    "expression",
    [
        "",
        "* * * *",
        "* * * * * *",
        "61 * * * *",
        "0 25 * * *",
        "0 0 30 2 *",
        "a b c d e",
        "0 0 * * 8",
        "* " * 200,
        "0\x00 * * * *",
    ],
)
def test_a_malformed_cron_expression_is_refused_with_an_example(expression: str) -> None:
    with pytest.raises(CronExpressionError) as caught:
        validate_cron(expression)
    assert isinstance(caught.value, ConfigError)
    assert isinstance(caught.value, PlanError)
    assert "e.g." in str(caught.value)
    assert len(str(caught.value)) < 300


def test_a_valid_cron_expression_comes_back_whitespace_normalised() -> None:
    assert validate_cron("  0  6 *  * 1-5 ") == "0 6 * * 1-5"
