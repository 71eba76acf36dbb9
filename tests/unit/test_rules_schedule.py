"""Weekly windows in a time zone: midnight wrap, daylight-saving shifts, one-off windows."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from rules import MaintenanceWindow, Schedule

NIGHTS = Schedule.model_validate(
    {
        "timezone": "Europe/Berlin",
        "windows": [
            {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "20:00", "end": "06:00"}
        ],
    }
)


@pytest.mark.parametrize(
    ("utc", "active"),
    [
        ("2026-01-05T18:59:00", False),  # Mon 19:59 Berlin (CET, UTC+1)
        ("2026-01-05T19:00:00", True),  # Mon 20:00
        ("2026-01-06T04:59:00", True),  # Tue 05:59: the Monday window runs past midnight
        ("2026-01-06T05:00:00", False),  # Tue 06:00
        ("2026-01-10T03:00:00", True),  # Sat 04:00: Friday's night
        ("2026-01-11T03:00:00", False),  # Sun 04:00: no Saturday window
        ("2026-07-06T18:30:00", True),  # Mon 20:30 in summer (CEST, UTC+2)
        ("2026-07-06T17:30:00", False),  # Mon 19:30 CEST
    ],
)
def test_night_window_in_local_time_across_midnight_and_seasons(utc: str, active: bool) -> None:
    assert NIGHTS.active(datetime.fromisoformat(utc).replace(tzinfo=UTC)) is active


def test_equal_start_and_end_is_the_whole_day_and_24_00_is_midnight() -> None:
    weekend = Schedule.model_validate({"windows": [{"days": ["sat", "sun"]}]})
    assert weekend.active(datetime(2026, 1, 10, 12, tzinfo=UTC))
    assert not weekend.active(datetime(2026, 1, 9, 23, 59, tzinfo=UTC))
    evening = Schedule.model_validate({"windows": [{"start": "18:00", "end": "24:00"}]})
    assert evening.active(datetime(2026, 1, 9, 23, 59, 59, tzinfo=UTC))
    assert not evening.active(datetime(2026, 1, 9, 17, 59, tzinfo=UTC))


def test_unquoted_yaml_times_read_as_sexagesimal_are_understood() -> None:
    schedule = Schedule.model_validate({"windows": [{"start": 1080, "end": 1140}]})  # 18:00-19:00
    assert schedule.active(datetime(2026, 1, 9, 18, 30, tzinfo=UTC))


def test_one_off_window_without_offset_is_in_its_time_zone() -> None:
    window = MaintenanceWindow.model_validate(
        {
            "name": "swap",
            "timezone": "Europe/Berlin",
            "start": "2026-03-01T08:00:00",
            "end": "2026-03-01T10:00:00",
        }
    )
    assert window.active(datetime(2026, 3, 1, 7, 0, tzinfo=UTC))  # 08:00 Berlin
    assert not window.active(datetime(2026, 3, 1, 9, 0, tzinfo=UTC))  # 10:00 Berlin


@pytest.mark.parametrize(
    "data",
    [
        {"name": "w"},  # neither one-off nor weekly
        {"name": "w", "start": "2026-03-01T08:00:00Z"},
        {"name": "w", "start": "2026-03-01T08:00:00Z", "end": "2026-03-01T07:00:00Z"},
        {"name": "w", "weekly": [{}], "start": "2026-03-01T08:00:00Z", "end": "2026-03-02"},
        {"name": "w", "weekly": [{"start": "7pm"}]},
        {"name": "w", "weekly": [{"start": "24:30"}]},
        {"name": "w", "weekly": [{"days": []}]},
        {"name": "bad name!", "weekly": [{}]},
        {"name": "w", "weekly": [{}], "scope": {"room": "x"}},
    ],
)
def test_malformed_windows_are_refused(data: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        MaintenanceWindow.model_validate(data)


# -- spans, for SLA pauses -----------------------------------------------------------------------
def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_a_one_off_window_spans_its_own_time_clipped_to_the_question() -> None:
    window = MaintenanceWindow.model_validate(
        {"name": "swap", "start": "2026-03-02T10:00:00Z", "end": "2026-03-02T12:00:00Z"}
    )
    assert window.intervals(_utc("2026-03-02T11:00"), _utc("2026-03-03T00:00")) == [
        (_utc("2026-03-02T11:00"), _utc("2026-03-02T12:00"))
    ]
    assert window.intervals(_utc("2026-03-02T12:00"), _utc("2026-03-02T13:00")) == []
    assert window.intervals(_utc("2026-03-02T13:00"), _utc("2026-03-02T12:00")) == []


def test_weekly_night_windows_cross_midnight_and_follow_the_clock_change() -> None:
    """Mon-Fri 22:00-06:00 in Berlin; on 29 March 2026 the clocks go forward at 02:00."""
    window = MaintenanceWindow.model_validate(
        {
            "name": "nights",
            "timezone": "Europe/Berlin",
            "weekly": [
                {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "22:00", "end": "06:00"}
            ],
        }
    )
    spans = window.intervals(_utc("2026-03-27T00:00"), _utc("2026-03-31T12:00"))
    assert spans == [
        (_utc("2026-03-27T00:00"), _utc("2026-03-27T05:00")),  # Thursday night, CET (UTC+1)
        (_utc("2026-03-27T21:00"), _utc("2026-03-28T05:00")),  # Friday night
        # no window on Saturday and Sunday nights; the clocks change on Sunday
        (_utc("2026-03-30T20:00"), _utc("2026-03-31T04:00")),  # Monday night, CEST (UTC+2)
    ]


def test_back_to_back_weekly_windows_are_one_span() -> None:
    window = MaintenanceWindow.model_validate(
        {
            "name": "weekend",
            "weekly": [
                {"days": ["sat"], "start": "00:00", "end": "00:00"},
                {"days": ["sun"], "start": "00:00", "end": "24:00"},
            ],
        }
    )
    (span,) = window.intervals(_utc("2026-03-06T00:00"), _utc("2026-03-09T00:00"))
    assert span[0] == _utc("2026-03-07T00:00")
    assert span[1] >= _utc("2026-03-08T23:59:59")


@pytest.mark.parametrize(
    ("rule", "device", "place", "covered"),
    [
        ("chiller-hot", "ch-2/probe", {"building": "B2", "asset": "CH-2"}, True),
        ("ahu-hot", "ch-2/probe", {"building": "B2", "asset": "CH-2"}, False),  # other rule
        (None, None, {"building": "B2", "asset": "CH-2"}, False),  # by hand: not every rule
        ("chiller-hot", None, {"building": "B1", "asset": "CH-9"}, False),  # other building
    ],
)
def test_a_window_covers_its_rules_and_its_place(
    rule: str | None, device: str | None, place: dict[str, str], covered: bool
) -> None:
    window = MaintenanceWindow.model_validate(
        {
            "name": "swap",
            "rules": ["chiller-*"],
            "scope": {"building": "B2"},
            "start": "2026-03-02T10:00:00Z",
            "end": "2026-03-02T12:00:00Z",
        }
    )
    assert window.covers(rule=rule, device=device, attributes=place) is covered


def test_a_device_scope_never_covers_work_without_a_device() -> None:
    window = MaintenanceWindow.model_validate(
        {
            "name": "probe",
            "scope": {"device": "ch-2/*"},
            "start": "2026-03-02T10:00:00Z",
            "end": "2026-03-02T12:00:00Z",
        }
    )
    assert window.covers(rule=None, device="ch-2/probe", attributes={})
    assert not window.covers(rule=None, device=None, attributes={})
