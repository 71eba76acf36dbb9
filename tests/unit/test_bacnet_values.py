"""BACnet values, units and configuration: pure rules, no network."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from facility.core.errors import ConfigError
from gateway.connectors import parse_connectors
from gateway.connectors.bacnet_units import BACNET_UNITS, unit_of
from gateway.connectors.bacnet_values import bacnet_reading, quality_of, status_flags
from gateway.connectors.config import BacnetPoint
from gateway.normalize import CANONICAL_UNITS, Rejection, convert

TS = datetime(2026, 1, 1, tzinfo=UTC)


def point(**fields: Any) -> BacnetPoint:
    return BacnetPoint.model_validate(
        {"metric": "value", "type": "analog-value", "instance": 1, **fields}
    )


@pytest.mark.parametrize(
    ("bacnet", "metric", "raw", "value", "unit"),
    [
        ("degreesCelsius", "temperature", 21.5, 21.5, "degC"),
        ("degrees-fahrenheit", "temperature", 212.0, 100.0, "degC"),
        ("percent", "humidity", 45.0, 45.0, "%"),
        ("percentRelativeHumidity", "humidity", 45.0, 45.0, "%"),
        ("pascals", "pressure", 250.0, 250.0, "Pa"),
        ("inchesOfWater", "pressure", 1.0, 249.08891, "Pa"),
        ("kilopascals", "pressure", 1.0, 1000.0, "Pa"),
        ("kilowatts", "power", 2.5, 2500.0, "W"),
        ("kilowattHours", "energy", 10.0, 10.0, "kWh"),
        ("watt-hours", "energy", 1000.0, 1.0, "kWh"),
        ("cubicMetersPerHour", "airflow", 850.0, 850.0, "m^3/h"),
        ("cubicFeetPerMinute", "airflow", 500.0, 500.0, "ft^3/min"),
        ("volts", "voltage", 230.0, 230.0, "V"),
        ("amperes", "current", 4.0, 4.0, "A"),
        ("partsPerMillion", "co2", 800.0, 800.0, "ppm"),
        ("noUnits", "mode_count", 3.0, 3.0, ""),
    ],
)
def test_bacnet_units_map_to_canonical_units(
    bacnet: str, metric: str, raw: float, value: float, unit: str
) -> None:
    reading = bacnet_reading("ahu-1", point(metric=metric), raw, TS, units=bacnet)
    assert reading.value == pytest.approx(value)
    assert reading.unit == unit


def test_every_mapped_unit_of_a_family_converts_to_the_canonical_unit() -> None:
    families = ("temperature", "pressure", "power", "energy", "voltage", "current")
    converted = set()
    for bacnet, ours in BACNET_UNITS.items():
        for metric in families:
            try:
                _, unit = convert(metric, 1.0, ours)
            except Rejection:
                continue
            assert unit == CANONICAL_UNITS[metric], bacnet
            converted.add(bacnet)
    # each unit of these families in the table converts (none is a dead entry pint rejects)
    for bacnet in ("degrees-fahrenheit", "inches-of-water", "tons-refrigeration", "megawatt-hours"):
        assert bacnet in converted


def test_an_unmapped_unit_is_rejected_until_the_point_declares_one() -> None:
    with pytest.raises(Rejection) as caught:
        bacnet_reading("ahu-1", point(), 3.0, TS, units="degree-days-celsius")
    assert caught.value.reason == "bad_unit"
    assert "declare 'unit:'" in caught.value.detail
    declared = bacnet_reading("ahu-1", point(unit="h"), 3.0, TS, units="degree-days-celsius")
    assert declared.unit == "h"
    assert unit_of("unknownThing") is None


@pytest.mark.parametrize(
    ("flags", "quality"),
    [
        ([0, 0, 0, 0], "good"),
        ([1, 0, 0, 0], "good"),  # in alarm: the value is real, the rules judge it
        ([0, 1, 0, 0], "bad"),
        ([0, 0, 1, 0], "uncertain"),
        ([0, 0, 0, 1], "uncertain"),
        ([0, 1, 1, 1], "bad"),
    ],
)
def test_status_flags_become_the_reading_quality(flags: list[int], quality: str) -> None:
    assert quality_of(status_flags(flags)) == quality
    reading = bacnet_reading("ahu-1", point(), 1.0, TS, units="percent", flags=status_flags(flags))
    assert reading.quality == quality


def test_binary_and_multi_state_values() -> None:
    fan = point(metric="state", type="binary-value")
    assert bacnet_reading("ahu-1", fan, "active", TS).value == 1.0
    assert bacnet_reading("ahu-1", fan, "inactive", TS).value == 0.0
    assert bacnet_reading("ahu-1", fan, "active", TS).unit == "bool"
    mode = point(metric="mode", type="multiStateValue")
    assert bacnet_reading("ahu-1", mode, 3, TS).value == 3.0
    with pytest.raises(Rejection, match="state 0"):
        bacnet_reading("ahu-1", mode, 0, TS)


class _BacnetError:
    errorClass = "object"
    errorCode = "unknown-object"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (_BacnetError(), "bacnet_error"),
        (None, "wrong_type"),
        ("<script>" * 100, "wrong_type"),
        ([1, 2], "wrong_type"),
        (float("nan"), "not_finite"),
        (float("inf"), "not_finite"),
    ],
)
def test_undecodable_values_are_rejected_with_a_reason(raw: Any, reason: str) -> None:
    with pytest.raises(Rejection) as caught:
        bacnet_reading("ahu-1", point(), raw, TS, units="percent")
    assert caught.value.reason == reason
    assert len(caught.value.detail) < 200  # a hostile value is not echoed whole


def test_out_of_range_and_binary_nonsense_are_rejected() -> None:
    with pytest.raises(Rejection, match="outside"):
        bacnet_reading("ahu-1", point(max=10), 11.0, TS, units="percent")
    with pytest.raises(Rejection) as caught:
        bacnet_reading("ahu-1", point(type="binary-input"), "maybe", TS)
    assert caught.value.reason == "wrong_type"


def _bacnet(device: dict[str, Any], **section: Any) -> dict[str, Any]:
    base = {
        "name": "ahu-1",
        "address": "10.0.0.5",
        "instance": 1001,
        "points": [{"metric": "supply_temperature", "type": "analog-input", "instance": 1}],
    }
    return {"bacnet": {**section, "devices": [{**base, **device}]}}


def test_a_valid_bacnet_config_normalises_its_names() -> None:
    config = parse_connectors(_bacnet({}, foreign={"bbmd": "10.0.0.1", "ttl_s": 600}))
    device = config.bacnet.devices[0]
    assert device.address == "10.0.0.5:47808"
    assert device.points[0].prop == "present-value"
    assert config.bacnet.foreign is not None
    assert config.bacnet.foreign.bbmd == "10.0.0.1:47808"


@pytest.mark.parametrize(
    ("device", "section", "needle"),
    [
        ({"address": "10.0.0.5:99999"}, {}, "not a port number"),
        ({"address": "no spaces allowed"}, {}, "is not host or host:port"),
        ({"instance": 4194303}, {}, "instance"),
        ({"instance": "one"}, {}, "instance"),
        (
            {"points": [{"metric": "x", "type": "calendar", "instance": 1}]},
            {},
            "not a value object",
        ),
        (
            {"points": [{"metric": "x", "type": "analog-input", "instance": 1, "property": "a b"}]},
            {},
            "not a BACnet property",
        ),
        (
            {"points": [{"metric": "Bad Metric!", "type": "analog-input", "instance": 1}]},
            {},
            "metric",
        ),
        ({"cov_lifetime_s": 1}, {}, "cov_lifetime_s"),
        ({"colour": "red"}, {}, "colour"),
        ({}, {"bind": "127.0.0.1:0x50"}, "bind"),
        ({}, {"foreign": {"bbmd": "10.0.0.1:0"}}, "bbmd"),
        ({"address": None}, {}, "needs the local network's prefix"),
    ],
)
def test_bad_bacnet_config_names_the_device_and_field(
    device: dict[str, Any], section: dict[str, Any], needle: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_connectors(_bacnet(device, **section))
    message = str(caught.value)
    assert needle in message
    assert message.count("\n") == 0


def test_two_points_giving_one_metric_are_refused() -> None:
    point_spec = {"metric": "supply_temperature", "type": "analog-input", "instance": 1}
    with pytest.raises(ConfigError, match="both give supply_temperature"):
        parse_connectors(_bacnet({"points": [point_spec, {**point_spec, "instance": 2}]}))


_ANY_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=300),
    st.binary(max_size=50),
    st.lists(st.integers(), max_size=5),
)


@given(
    raw=_ANY_VALUE,
    object_type=st.sampled_from(["analog-input", "binary-value", "multi-state-value"]),
    units=st.one_of(st.none(), st.sampled_from(sorted(BACNET_UNITS)), st.text(max_size=40)),
    flags=st.one_of(st.none(), st.lists(st.integers(0, 1), max_size=6)),
)
def test_any_value_gives_a_reading_or_a_rejection_never_a_crash(
    raw: Any, object_type: str, units: Any, flags: Any
) -> None:
    target = point(metric="value", type=object_type)
    reason = None
    try:
        reading = bacnet_reading("ahu-1", target, raw, TS, units=units, flags=status_flags(flags))
    except Rejection as rejection:
        reason = rejection.reason
    else:
        assert reading.quality in {"good", "uncertain", "bad"}
    known = {"bacnet_error", "bad_unit", "wrong_type", "not_finite", "out_of_range"}
    assert reason is None or reason in known | {"invalid_reading"}


def test_a_device_found_by_who_is_is_allowed_with_a_prefix_or_a_bbmd() -> None:
    with_prefix = parse_connectors(_bacnet({"address": None}, bind="10.0.4.9/24:47808"))
    assert with_prefix.bacnet.devices[0].address is None
    with_bbmd = parse_connectors(_bacnet({"address": None}, foreign={"bbmd": "10.0.0.1"}))
    assert with_bbmd.bacnet.foreign is not None
