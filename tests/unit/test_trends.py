"""Trend-log maps and conversion: units, booleans, dialects, time zones and DST, bad input."""

from __future__ import annotations

import itertools
import zoneinfo
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from facility.core.errors import ConfigError
from facility.core.types import Reading
from gateway.normalize import Rejection
from gateway.trends import (
    Ambiguous,
    TrendReject,
    TrendStats,
    localize,
    parse_trend_map,
    read_trend,
)

NY = zoneinfo.ZoneInfo("America/New_York")
NOW = datetime(2027, 1, 1, tzinfo=UTC)


def _map(**extra: Any) -> Any:
    data: dict[str, Any] = {
        "timestamp": {"columns": "Time", "format": "%Y-%m-%d %H:%M", "timezone": "UTC"},
        "device": "ahu-1",
        "columns": {"SAT": {"metric": "supply_air_temperature", "unit": "degF"}},
    }
    for key, value in extra.items():
        if value and isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return parse_trend_map(data)


def _run(
    tmp_path: Path, text: str | bytes, mapping: Any, encoding: str = "utf-8"
) -> tuple[list[Reading], list[TrendReject], TrendStats]:
    path = tmp_path / "trend.csv"
    path.write_bytes(text if isinstance(text, bytes) else text.encode(encoding))
    stats = TrendStats()
    items = list(read_trend(path, mapping, stats, now=NOW))
    return (
        [i for i in items if isinstance(i, Reading)],
        [i for i in items if isinstance(i, TrendReject)],
        stats,
    )


# -- the map --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"timestamp": {"timezone": "Mars/Olympus"}}, "timestamp.timezone: .*IANA"),
        ({"timestamp": {"format": "dd/mm/yyyy"}}, "strptime"),
        ({"columns": {"SAT": {"metric": "Bad Metric!"}}}, "columns.SAT.metric"),
        (
            {"columns": {"SAT": {"metric": "cooling_valve", "value": "fraction", "unit": "degC"}}},
            "fraction",
        ),
        ({"columns": {"SAT": {"metric": "t", "scale": 0}}}, "scale"),
        (
            {"columns": {"SAT": {"metric": "supply_air_temperature", "unit": "%"}}},
            "columns.SAT.unit: .*cannot convert unit '%' to degC",
        ),
        ({"columns": {"SAT": {"metric": "t", "unit": "degF", "colour": "red"}}}, "colour"),
        ({"csv": {"decimal": ","}}, "decimal comma needs another delimiter"),
        ({"csv": {"encoding": "klingon"}}, "encoding"),
        ({"device": None}, "names no device"),
        ({"columns": {}}, "at least one value column"),
        ({"layout": "long"}, "layout long needs"),
        ({"columns": {"A": {"metric": "t"}, "B": {"metric": "t"}}}, "both give t of ahu-1"),
    ],
)
def test_a_bad_map_is_refused_naming_the_field(change: dict[str, Any], words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        _map(**change)


def test_a_map_that_is_not_a_mapping_is_refused() -> None:
    with pytest.raises(ConfigError, match="expected a mapping"):
        parse_trend_map(["timestamp"])


# -- time -----------------------------------------------------------------------------------
def test_a_time_in_the_spring_gap_does_not_exist_and_says_why() -> None:
    with pytest.raises(Rejection, match="does not exist in America/New_York") as caught:
        localize(datetime(2026, 3, 8, 2, 30), NY, Ambiguous.EARLIER, None)
    assert caught.value.reason == "nonexistent_time"


@pytest.mark.parametrize(
    ("policy", "previous", "expected_hour"),
    [
        (Ambiguous.EARLIER, None, 5),  # 01:30 EDT = 05:30 UTC
        (Ambiguous.LATER, None, 6),  # 01:30 EST = 06:30 UTC
        (Ambiguous.INFER, None, 5),
        (Ambiguous.INFER, datetime(2026, 11, 1, 5, 50, tzinfo=UTC), 6),  # already past it
    ],
)
def test_a_time_in_the_autumn_fold_follows_the_maps_choice(
    policy: Ambiguous, previous: datetime | None, expected_hour: int
) -> None:
    ts = localize(datetime(2026, 11, 1, 1, 30), NY, policy, previous)
    assert ts == datetime(2026, 11, 1, expected_hour, 30, tzinfo=UTC)


def test_an_ambiguous_time_can_be_rejected() -> None:
    with pytest.raises(Rejection, match="occurs twice") as caught:
        localize(datetime(2026, 11, 1, 1, 30), NY, Ambiguous.REJECT, None)
    assert caught.value.reason == "ambiguous_time"


@settings(max_examples=200, deadline=None)
@given(st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2037, 12, 31)))
def test_every_local_time_that_exists_maps_back_to_itself(naive: datetime) -> None:
    gap = naive.replace(tzinfo=NY).astimezone(UTC).astimezone(NY).replace(tzinfo=None) != naive
    if gap:  # only the spring gap is refused
        with pytest.raises(Rejection, match="does not exist"):
            localize(naive, NY, Ambiguous.EARLIER, None)
        return
    ts = localize(naive, NY, Ambiguous.EARLIER, None)
    assert ts.astimezone(NY).replace(tzinfo=None) == naive


def test_a_chronological_export_across_fall_back_keeps_15_minute_steps(tmp_path: Path) -> None:
    local = [
        "00:45",
        "01:00",
        "01:15",
        "01:30",
        "01:45",
        "01:00",
        "01:15",
        "01:30",
        "01:45",
        "02:00",
    ]
    text = "Time,SAT\n" + "".join(f"2026-11-01 {t},55\n" for t in local)
    mapping = _map(timestamp={"timezone": "America/New_York", "ambiguous": "infer"})
    readings, rejects, _ = _run(tmp_path, text, mapping)
    assert rejects == []
    steps = {(b.ts - a.ts).total_seconds() for a, b in itertools.pairwise(readings)}
    assert steps == {900.0}
    assert readings[0].ts == datetime(2026, 11, 1, 4, 45, tzinfo=UTC)


@pytest.mark.parametrize(
    ("fmt", "cell", "expected"),
    [
        ("iso", "2026-05-01T08:00:00+08:00", datetime(2026, 5, 1, 0, 0, tzinfo=UTC)),
        ("iso", "2026-05-01T08:00:00Z", datetime(2026, 5, 1, 8, 0, tzinfo=UTC)),
        ("iso", "2026-05-01 08:00", datetime(2026, 5, 1, 0, 0, tzinfo=UTC)),  # local Shanghai
        ("epoch_s", "1777593600", datetime(2026, 5, 1, 0, 0, tzinfo=UTC)),
        ("epoch_ms", "1777593600000", datetime(2026, 5, 1, 0, 0, tzinfo=UTC)),
        ("%d.%m.%Y %H:%M:%S", "01.05.2026 08:00:00", datetime(2026, 5, 1, 0, 0, tzinfo=UTC)),
    ],
)
def test_timestamp_formats(tmp_path: Path, fmt: str, cell: str, expected: datetime) -> None:
    mapping = _map(timestamp={"format": fmt, "timezone": "Asia/Shanghai"})
    readings, rejects, _ = _run(tmp_path, f"Time,SAT\n{cell},50\n", mapping)
    assert rejects == []
    assert readings[0].ts == expected


# -- values ---------------------------------------------------------------------------------
def test_fahrenheit_inches_of_water_fractions_and_booleans_become_canonical(tmp_path: Path) -> None:
    mapping = _map(
        columns={
            "SAT": {"metric": "supply_air_temperature", "unit": "°F"},
            "DSP": {"metric": "duct_static_pressure", "unit": "inH2O"},
            "KPA": {"metric": "pressure", "unit": "kPa"},
            "OAD": {"metric": "outdoor_air_damper", "value": "fraction"},
            "CHW": {"metric": "cooling_valve", "unit": "%"},
            "FAN": {"metric": "supply_fan_status", "value": "bool"},
            "OCC": {"metric": "occupancy", "value": "bool", "true": ["occ"], "false": ["unocc"]},
            "RAW": {"metric": "return_air_temperature", "scale": 0.1, "offset": -2},
        }
    )
    text = (
        "Time,SAT,DSP,KPA,OAD,CHW,FAN,OCC,RAW\n"
        "2026-05-01 08:00,50,1.0,101.325,0.25,40,开,occ,250\n"
        "2026-05-01 08:15,212,0.5,1,1,0,Inactive,unocc,0\n"
    )
    readings, rejects, stats = _run(tmp_path, text, mapping)
    assert rejects == []
    got = {(r.ts.minute, r.metric): (r.value, r.unit) for r in readings}
    assert got[(0, "supply_air_temperature")] == (pytest.approx(10.0), "degC")
    assert got[(15, "supply_air_temperature")] == (pytest.approx(100.0), "degC")
    assert got[(0, "duct_static_pressure")] == (pytest.approx(249.08891), "Pa")
    assert got[(0, "pressure")] == (pytest.approx(101325.0), "Pa")
    assert got[(0, "outdoor_air_damper")] == (pytest.approx(25.0), "%")
    assert got[(15, "outdoor_air_damper")] == (pytest.approx(100.0), "%")
    assert got[(0, "cooling_valve")] == (40.0, "%")
    assert got[(0, "supply_fan_status")] == (1.0, "bool")
    assert got[(15, "supply_fan_status")] == (0.0, "bool")
    assert got[(0, "occupancy")] == (1.0, "bool")
    assert got[(15, "occupancy")] == (0.0, "bool")
    assert got[(0, "return_air_temperature")] == (pytest.approx(23.0), "degC")
    assert stats.readings == 16


def test_a_decimal_comma_semicolon_file_in_gb18030_with_chinese_headers(tmp_path: Path) -> None:
    mapping = parse_trend_map(
        {
            "csv": {"delimiter": ";", "decimal": ",", "encoding": "gb18030"},
            "timestamp": {
                "columns": "时间",
                "format": "%Y/%m/%d %H:%M:%S",
                "timezone": "Asia/Shanghai",
            },
            "device": "空调箱-1",
            "columns": {
                "送风温度(℃)": {"metric": "supply_air_temperature", "unit": "degC"},
                "风机状态": {"metric": "supply_fan_status", "value": "bool"},
            },
        }
    )
    text = (
        "时间;送风温度(℃);风机状态\n2026/05/01 08:00:00;13,5;开\n2026/05/01 08:15:00;1.013,25;关\n"
    )
    readings, rejects, _ = _run(tmp_path, text, mapping, encoding="gb18030")
    assert rejects == []
    assert [r.value for r in readings] == [13.5, 1.0, 1013.25, 0.0]
    assert readings[0].device == "空调箱-1"
    assert readings[0].ts == datetime(2026, 5, 1, 0, 0, tzinfo=UTC)


def test_a_utf8_bom_does_not_hide_the_first_header(tmp_path: Path) -> None:
    text = "\ufeffTime,SAT\n2026-05-01 08:00,50\n".encode()
    readings, rejects, _ = _run(tmp_path, text, _map())
    assert rejects == [] and len(readings) == 1


def test_the_delimiter_can_be_sniffed(tmp_path: Path) -> None:
    text = "Time\tSAT\n2026-05-01 08:00\t50\n2026-05-01 08:15\t51\n"
    readings, rejects, _ = _run(tmp_path, text, _map(csv={"delimiter": "auto"}))
    assert rejects == [] and len(readings) == 2


def test_a_long_file_maps_point_names_and_rejects_unmapped_ones(tmp_path: Path) -> None:
    mapping = parse_trend_map(
        {
            "layout": "long",
            "timestamp": {"columns": "Timestamp", "format": "iso"},
            "long": {"point": "Point", "value": "Value"},
            "points": {
                "AHU1.SAT": {"device": "ahu-1", "metric": "supply_air_temperature", "unit": "degF"},
                "AHU1.SF": {"device": "ahu-1", "metric": "supply_fan_status", "value": "bool"},
            },
        }
    )
    text = (
        "Point,Value,Timestamp\n"
        "AHU1.SAT,50,2026-05-01T08:00:00Z\n"
        "AHU1.SF,active,2026-05-01T08:00:00Z\n"
        "AHU9.XYZ,1,2026-05-01T08:00:00Z\n"
    )
    readings, rejects, stats = _run(tmp_path, text, mapping)
    assert [(r.metric, r.value) for r in readings] == [
        ("supply_air_temperature", pytest.approx(10.0)),
        ("supply_fan_status", 1.0),
    ]
    assert [(r.line, r.reason) for r in rejects] == [(4, "unmapped_point")]
    assert stats.rows == 3 and stats.rows_rejected == 1


# -- bad input ------------------------------------------------------------------------------
def test_bad_rows_and_cells_are_rejected_with_line_column_and_reason_and_the_rest_flows(
    tmp_path: Path,
) -> None:
    mapping = _map(
        timestamp={"timezone": "America/New_York"},
        columns={
            "SAT": {"metric": "supply_air_temperature", "unit": "degF"},
            "OAD": {"metric": "outdoor_air_damper", "value": "fraction"},
            "FAN": {"metric": "supply_fan_status", "value": "bool"},
        },
    )
    text = (
        "Time,SAT,OAD,FAN\n"
        "2026-03-08 01:45,50,0.5,ON\n"  # line 2: fine
        "2026-03-08 02:30,50,0.5,ON\n"  # line 3: spring gap
        "08/03/2026,50,0.5,ON\n"  # line 4: wrong format
        "2026-03-08 03:15,hot,45,maybe\n"  # line 5: three bad cells
        "2026-03-08 03:30,50\n"  # line 6: short row
        "2026-03-08 03:45,1e999,,ON\n"  # line 7: infinite, one empty cell
        "\n"
        "2026-03-08 04:00," + "9" * 300 + ",0.1,OFF\n"  # line 9: an oversized cell
        "1999-01-01 00:00,50,0.5,ON\n"  # line 10: implausible time
        "2026-03-08 04:15,51,0.2,OFF\n"  # line 11: fine
    )
    readings, rejects, stats = _run(tmp_path, text, mapping)
    found = [(r.line, r.column, r.reason) for r in rejects]
    assert found == [
        (3, "Time", "nonexistent_time"),
        (4, "Time", "bad_timestamp"),
        (5, "SAT", "wrong_type"),
        (5, "OAD", "out_of_range"),
        (5, "FAN", "wrong_type"),
        (6, "", "short_row"),
        (7, "SAT", "not_finite"),
        (9, "SAT", "too_long"),
        (10, "Time", "bad_timestamp"),
    ]
    assert "add it to true:/false:" in rejects[4].detail
    assert len(readings) == 3 + 1 + 2 + 3  # lines 2, 7 (FAN), 9 (OAD, FAN), 11
    assert stats.empty_cells == 1
    assert stats.rows == 9 and stats.rows_rejected == 4 and stats.cells_rejected == 5


def test_bytes_not_in_the_encoding_reject_their_row_only(tmp_path: Path) -> None:
    text = b"Time,SAT\n2026-05-01 08:00,5\xff0\n2026-05-01 08:15,50\n"
    readings, rejects, _ = _run(tmp_path, text, _map())
    assert [(r.line, r.reason) for r in rejects] == [(2, "bad_encoding")]
    assert "gb18030" in rejects[0].detail
    assert len(readings) == 1


def test_an_endless_line_is_rejected_without_holding_it_and_the_next_row_flows(
    tmp_path: Path,
) -> None:
    text = "Time,SAT\n" + "9" * (3 * 1024 * 1024) + "\n2026-05-01 08:15,50\n"
    readings, rejects, _ = _run(tmp_path, text, _map())
    assert [(r.line, r.reason) for r in rejects] == [(2, "too_long")]
    assert len(readings) == 1 and readings[0].ts.minute == 15


def test_a_missing_column_is_refused_before_any_row(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"'SAT' of the map are not in the header.*'Zeit'"):
        _run(tmp_path, "Zeit,Wert\n2026-05-01 08:00,50\n", _map())


def test_an_empty_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="ends before its header"):
        _run(tmp_path, "", _map())


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_yield_readings_or_rejects_never_a_crash(data: bytes) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "t.csv"
        path.write_bytes(b"Time,SAT\n" + data)
        for item in read_trend(path, _map(), now=NOW):
            assert isinstance(item, Reading | TrendReject)
