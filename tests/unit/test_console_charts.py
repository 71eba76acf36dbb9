"""Charts a facility engineer can read: round ticks, alarm bands, on/off steps, sane units."""

from __future__ import annotations

import itertools
import math
import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from console._charts import Band, line_chart, nice_ticks, time_ticks
from console._i18n import localizer
from console._labels import boolean_levels, format_value, readable_unit
from console._thresholds import alarm_bands
from rules.model import RuleFile

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def _series(values: list[float], step_s: float = 60.0) -> list[tuple[datetime, float]]:
    return [(START + timedelta(seconds=i * step_s), v) for i, v in enumerate(values)]


def _chart(points: list[tuple[datetime, float]], **options: object) -> str:
    return line_chart(
        points,
        title="t",
        unit="°C",
        fmt_number=lambda v: f"{v:g}",
        fmt_time=lambda ts: ts.strftime("%H:%M"),
        empty_text="none",
        **options,  # type: ignore[arg-type]
    )


def _y_labels(svg: str) -> list[str]:
    return re.findall(r'text-anchor="end">([^<]+)</text>', svg)


@given(
    lo=st.floats(-1e6, 1e6, allow_nan=False),
    span=st.floats(1e-3, 1e6, allow_nan=False),
)
def test_ticks_are_round_steps_that_cover_the_range(lo: float, span: float) -> None:
    hi = lo + span
    ticks = nice_ticks(lo, hi)
    assert 2 <= len(ticks) <= 12
    assert ticks[0] <= lo + 1e-9 * max(1.0, abs(lo)) and ticks[-1] >= hi - 1e-6 * max(1.0, abs(hi))
    steps = {round(b - a, 9) for a, b in itertools.pairwise(ticks)}
    step = max(steps)
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert round(mantissa, 6) in {1.0, 2.0, 2.5, 5.0, 10.0}


def test_nice_ticks_refuses_an_empty_range() -> None:
    with pytest.raises(ValueError, match="lo < hi"):
        nice_ticks(3.0, 3.0)


def test_time_ticks_fall_on_round_minutes_within_the_window() -> None:
    ticks = time_ticks(START + timedelta(seconds=17), START + timedelta(hours=1, seconds=17))
    assert 2 <= len(ticks) <= 5
    assert all(t.minute % 15 == 0 and t.second == 0 for t in ticks)
    assert all(START <= t <= START + timedelta(hours=1, seconds=17) for t in ticks)


def test_a_steady_value_is_not_drawn_as_a_wild_swing() -> None:
    noisy = _series([21.4, 21.6, 21.5, 21.45, 21.55] * 4)
    labels = [float(x) for x in _y_labels(_chart(noisy, min_span=2.0))]
    assert max(labels) - min(labels) >= 2.0, "at least the unit's minimum span is shown"


def test_a_threshold_is_drawn_inside_the_plot_even_when_the_value_is_far_below() -> None:
    svg = _chart(_series([12.0, 12.5, 13.0]), bands=[Band("supply air too warm", low=16.0)])
    assert 'class="band"' in svg and 'class="threshold"' in svg
    assert "<title>supply air too warm</title>" in svg
    assert max(float(x) for x in _y_labels(svg)) >= 16.0


def test_a_boolean_is_a_step_line_with_words() -> None:
    svg = _chart(_series([0, 1, 1, 0]), levels={0.0: "off", 1.0: "on"})
    assert _y_labels(svg) == ["off", "on"]
    polyline = re.search(r'points="([^"]+)"', svg)
    assert polyline is not None
    assert len(polyline.group(1).split()) == 4 + 3, "a horizontal then a vertical segment each"


def test_power_is_shown_in_kilowatts_and_small_values_keep_their_unit() -> None:
    assert readable_unit("W", 25_159.8) == (1_000.0, "kW")
    assert readable_unit("W", 120.0) == (1.0, "W")
    assert format_value(localizer("en"), 25_159.8, "W") == "25.2 kW"
    assert format_value(localizer("zh-Hans"), 1_500.0, "Wh") == "1.5 kWh"


def test_occupancy_reads_as_occupied_or_vacant_in_both_languages() -> None:
    assert boolean_levels(localizer("en"), "occupancy") == {0.0: "vacant", 1.0: "occupied"}
    zh = boolean_levels(localizer("zh-Hans"), "supply_fan_status")
    assert set(zh) == {0.0, 1.0} and zh[0.0] != "off"


RULES = RuleFile.model_validate(
    {
        "rules": [
            {
                "name": "sat-high",
                "description": "supply air too warm",
                "kind": "threshold",
                "select": {"device": "ahu-*", "metric": "supply_air_temperature"},
                "above": 16,
            },
            {
                "name": "sat-range",
                "kind": "threshold",
                "select": {"asset": "AHU-2", "metric": "supply_air_temperature"},
                "above": 30,
                "below": 5,
            },
            {
                "name": "off",
                "kind": "threshold",
                "enabled": False,
                "select": {"metric": "supply_air_temperature"},
                "above": 1,
            },
            {
                "name": "by-type",
                "kind": "threshold",
                "select": {"asset_type": "air_handler", "metric": "supply_air_temperature"},
                "above": 2,
            },
        ]
    }
)


def test_alarm_bands_come_from_the_enabled_threshold_rules_on_that_device_and_asset() -> None:
    one = alarm_bands(RULES, device="ahu-1", metric="supply_air_temperature", asset="AHU-1")
    assert one == [Band("supply air too warm", low=16.0)]
    two = alarm_bands(RULES, device="ahu-2", metric="supply_air_temperature", asset="AHU-2")
    assert Band("sat-range", low=30.0) in two and Band("sat-range", high=5.0) in two
    assert alarm_bands(RULES, device="ahu-1", metric="return_air_temperature", asset=None) == []


@pytest.mark.parametrize("values", [[1.0] * 5, [0.0] * 5, [0.2, 0.3, 0.25], [1581.0] * 3])
def test_no_two_axis_labels_read_the_same(values: list[float]) -> None:
    svg = _chart(_series(values), fmt_tick=lambda v, digits: f"{v:.{digits}f}")
    labels = _y_labels(svg)
    assert len(labels) >= 3 and len(set(labels)) == len(labels), labels


def test_the_axis_makes_room_for_long_state_words() -> None:
    svg = _chart(_series([0, 1]), levels={0.0: "unoccupied", 1.0: "occupied"})
    grid = re.search(r'<line class="grid" x1="(\d+)"', svg)
    assert grid is not None and int(grid.group(1)) >= 11 * len("unoccupied")


def test_a_fan_status_is_on_off_whatever_unit_the_device_sent() -> None:
    from console._labels import is_boolean

    assert is_boolean("supply_fan_status", "1") and is_boolean("fan", "")
    assert not is_boolean("supply_fan_speed", "%")
    assert format_value(localizer("en"), 1.0, "", "supply_fan_status") == "on"


def test_a_closed_valve_is_not_drawn_among_negative_values() -> None:
    labels = [
        float(x) for x in _y_labels(_chart(_series([0.0] * 4), fmt_tick=lambda v, d: f"{v:.{d}f}"))
    ]
    assert min(labels) == 0.0 and max(labels) > 0
