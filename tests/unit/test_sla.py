"""SLA clock arithmetic: wall-clock targets, business hours, weekends, holidays and DST."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from facility.core.errors import ConfigError
from maintenance.shared.sla import (
    BusinessHours,
    SlaPolicy,
    SlaTarget,
    add_business_time,
    business_seconds_between,
    due_times,
    extend,
)
from maintenance.shared.vocabulary import Priority

BERLIN = ZoneInfo("Europe/Berlin")
OFFICE = BusinessHours(timezone="Europe/Berlin", opens=time(8), closes=time(17))
ALL_DAY_EVERY_DAY = BusinessHours(
    timezone="Europe/Berlin", opens=time(0), closes=time(23, 59), weekdays=frozenset(range(7))
)
HOUR = 3600.0


def berlin(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A Berlin wall-clock time, as the aware UTC instant the SLA code works with."""
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN).astimezone(UTC)


def test_a_24_7_target_is_plain_elapsed_time() -> None:
    created = datetime(2026, 3, 6, 16, 0, tzinfo=UTC)
    response, resolution = due_times(created, Priority.P1, SlaPolicy())
    assert response == created + timedelta(minutes=15)
    assert resolution == created + timedelta(hours=4)


def test_business_time_started_on_friday_afternoon_continues_on_monday_morning() -> None:
    friday_4pm = berlin(2026, 3, 6, 16, 0)
    assert add_business_time(friday_4pm, 4 * HOUR, OFFICE) == berlin(2026, 3, 9, 11, 0)


def test_business_time_started_on_saturday_begins_at_monday_opening() -> None:
    saturday = berlin(2026, 3, 7, 12, 0)
    assert add_business_time(saturday, 30 * 60, OFFICE) == berlin(2026, 3, 9, 8, 30)


def test_a_deadline_over_the_spring_dst_weekend_keeps_local_opening_hours() -> None:
    # Europe/Berlin moves from UTC+1 to UTC+2 on Sunday 29 March 2026.
    friday = berlin(2026, 3, 27, 16, 0)
    due = add_business_time(friday, 4 * HOUR, OFFICE)
    assert due.astimezone(BERLIN) == datetime(2026, 3, 30, 11, 0, tzinfo=BERLIN)
    assert due == datetime(2026, 3, 30, 9, 0, tzinfo=UTC)  # 11:00 CEST, not 10:00


def test_the_23_hour_spring_day_and_25_hour_autumn_day_count_real_time() -> None:
    spring = add_business_time(berlin(2026, 3, 29, 0, 0), 23 * HOUR, ALL_DAY_EVERY_DAY)
    # 00:00-23:59 on the short day holds 22 h 59 min; the last minute spills into Monday.
    assert spring.astimezone(BERLIN) == datetime(2026, 3, 30, 0, 1, tzinfo=BERLIN)
    autumn_start = berlin(2026, 10, 25, 0, 0)
    autumn = add_business_time(autumn_start, 23 * HOUR, ALL_DAY_EVERY_DAY)
    # On the 25-hour day 23 h of opening time end at 22:00 local, not 23:00.
    assert autumn.astimezone(BERLIN) == datetime(2026, 10, 25, 22, 0, tzinfo=BERLIN)
    assert business_seconds_between(autumn_start, autumn, ALL_DAY_EVERY_DAY) == 23 * HOUR


def test_business_seconds_between_skips_nights_and_weekends() -> None:
    assert business_seconds_between(
        berlin(2026, 3, 6, 16, 0), berlin(2026, 3, 9, 10, 0), OFFICE
    ) == pytest.approx(3 * HOUR)
    assert business_seconds_between(berlin(2026, 3, 9, 10), berlin(2026, 3, 9, 9), OFFICE) == 0


def test_holidays_are_closed_days() -> None:
    hours = BusinessHours(
        timezone="Europe/Berlin",
        opens=time(8),
        closes=time(17),
        holidays=frozenset({date(2026, 4, 3), date(2026, 4, 6)}),  # Good Friday, Easter Monday
    )
    assert add_business_time(berlin(2026, 4, 2, 16, 0), 2 * HOUR, hours) == berlin(2026, 4, 7, 9, 0)


def test_business_hours_policy_gives_due_times_in_opening_hours() -> None:
    policy = SlaPolicy(
        targets={p: SlaTarget(2 * HOUR, 9 * HOUR, business_hours=True) for p in Priority},
        hours=OFFICE,
    )
    response, resolution = due_times(berlin(2026, 3, 6, 16, 0), Priority.P3, policy)
    assert response == berlin(2026, 3, 9, 9, 0)
    assert resolution == berlin(2026, 3, 9, 16, 0)


def test_a_pause_extends_a_business_hours_deadline_by_business_time() -> None:
    target = SlaTarget(HOUR, 9 * HOUR, business_hours=True)
    due = berlin(2026, 3, 6, 16, 0)
    assert extend(due, 2 * HOUR, target, OFFICE) == berlin(2026, 3, 9, 9, 0)
    assert extend(due, 0, target, OFFICE) == due


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"timezone": "Mars/Olympus"}, "time zone 'Mars/Olympus' is unknown"),
        ({"opens": time(18), "closes": time(8)}, "open at 18:00:00 but close at 08:00:00"),
        ({"weekdays": frozenset({9})}, "subset of 0-6"),
        ({"weekdays": frozenset()}, "non-empty"),
    ],
)
def test_a_malformed_calendar_is_refused_with_a_clear_message(
    kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        BusinessHours(**kwargs)  # type: ignore[arg-type]


def test_a_target_must_be_positive_and_business_time_cannot_go_backwards() -> None:
    with pytest.raises(ValueError, match="positive"):
        SlaTarget(0, 10)
    with pytest.raises(ValueError, match="negative"):
        add_business_time(berlin(2026, 3, 6, 16, 0), -1, OFFICE)


def test_business_hours_follow_the_site_time_zone_and_ignore_a_bad_one() -> None:
    policy = SlaPolicy(
        targets={p: SlaTarget(HOUR, 9 * HOUR, business_hours=True) for p in Priority},
        hours=BusinessHours(timezone="UTC", opens=time(8), closes=time(17)),
    )
    created = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)  # Monday 06:00 UTC = 07:00 in Berlin
    assert due_times(created, Priority.P3, policy)[0] == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    in_berlin = due_times(created, Priority.P3, policy, timezone="Europe/Berlin")[0]
    assert in_berlin == berlin(2026, 3, 2, 9, 0)  # opens 08:00 Berlin, one hour later
    in_new_york = due_times(created, Priority.P3, policy, timezone="America/New_York")[0]
    assert in_new_york == datetime(2026, 3, 2, 14, 0, tzinfo=UTC)  # 09:00 EST
    assert due_times(created, Priority.P3, policy, timezone="Nowhere/Land") == due_times(
        created, Priority.P3, policy
    )
