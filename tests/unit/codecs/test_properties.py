"""Properties every codec keeps, whatever arrives: readings, presence, or PayloadRejected.

Hypothesis draws arbitrary bytes and topics, and also payloads that are *almost* right (valid
JSON with hostile values, vendor-shaped topics with odd segments), since those reach deeper
into the codecs than random noise does.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from facility.core.errors import PayloadRejected
from facility.core.types import Presence, Reading
from gateway.codecs import CODECS, decode
from gateway.normalize import convert

RECEIVED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
FORMATS = ["auto", *CODECS]

SEGMENT = st.one_of(
    st.sampled_from(
        [
            "zigbee2mqtt",
            "tele",
            "stat",
            "cmnd",
            "SENSOR",
            "STATE",
            "LWT",
            "POWER",
            "POWER2",
            "RESULT",
            "STATUS8",
            "status",
            "events",
            "rpc",
            "online",
            "switch:0",
            "em:0",
            "emdata:0",
            "sensor",
            "binary_sensor",
            "switch",
            "light",
            "climate",
            "state",
            "availability",
            "bridge",
            "set",
            "homeassistant",
            "facility",
            "config",
            "current_temperature",
            "supply_temperature",
            "front_door",
            "",
            "#",
            "+",
            " x ",
        ]
    ),
    st.text(max_size=12),
)
TOPICS = st.one_of(
    st.text(max_size=80),
    st.lists(SEGMENT, min_size=1, max_size=7).map("/".join),
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from(["ON", "OFF", "online", "offline", "true", "nan", "F", "hPa", "1/0", "("]),
)
KEYS = st.one_of(
    st.sampled_from(
        [
            "temperature",
            "humidity",
            "voltage",
            "state",
            "state_l1",
            "Time",
            "TempUnit",
            "PressureUnit",
            "ENERGY",
            "Total",
            "Power",
            "Period",
            "DS18B20-1",
            "ESP32",
            "Switch1",
            "POWER1",
            "method",
            "params",
            "ts",
            "switch:0",
            "em:0",
            "emdata:0",
            "aenergy",
            "apower",
            "output",
            "tC",
            "last_seen",
            "illuminance_lux",
            "StatusSNS",
        ]
    ),
    st.text(max_size=10),
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(KEYS, children, max_size=5)
    ),
    max_leaves=25,
)
PAYLOADS = st.one_of(
    st.binary(max_size=300),
    JSON_VALUES.map(lambda value: json.dumps(value).encode()),
    SCALARS.map(lambda value: str(value).encode()),
)


def decodes_safely(topic: str, payload: bytes, fmt: str) -> None:
    """The property: a list of readings/presence, or PayloadRejected — nothing else."""
    rejection: PayloadRejected | None = None
    try:
        result: Any = decode(topic, payload, fmt=fmt, received=RECEIVED)
    except PayloadRejected as exc:
        rejection = exc
    if rejection is not None:
        assert rejection.reason
        assert rejection.topic == topic
        return
    assert isinstance(result, list)
    for item in result:
        assert isinstance(item, Reading | Presence)
        if isinstance(item, Reading):
            assert math.isfinite(item.value)
            assert item.ts.tzinfo is not None


@pytest.mark.parametrize("fmt", FORMATS)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(topic=TOPICS, payload=PAYLOADS)
def test_decode_on_arbitrary_input_returns_items_or_rejects(
    fmt: str, topic: str, payload: bytes
) -> None:
    decodes_safely(topic, payload, fmt)


VENDOR_TOPICS = st.sampled_from(
    [
        "zigbee2mqtt/kitchen/sensor",
        "zigbee2mqtt/kitchen/sensor/availability",
        "tele/boiler/SENSOR",
        "tele/boiler/STATE",
        "stat/boiler/RESULT",
        "stat/boiler/STATUS10",
        "stat/boiler/POWER2",
        "shellypro3em-x/events/rpc",
        "shellyplus1pm-x/status/switch:0",
        "shellypro3em-x/status/em:0",
        "boiler/sensor/supply_temperature/state",
        "boiler/light/hall/state",
        "homeassistant/sensor/ahu1/supply_temperature/state",
        "homeassistant/climate/hall/current_temperature",
    ]
)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(topic=VENDOR_TOPICS, body=JSON_VALUES)
def test_vendor_shaped_json_with_hostile_values_returns_items_or_rejects(
    topic: str, body: object
) -> None:
    decodes_safely(topic, json.dumps(body).encode(), "auto")


@settings(max_examples=300, deadline=None)
@given(topic=VENDOR_TOPICS, depth=st.integers(min_value=1, max_value=3000))
def test_deeply_nested_json_returns_items_or_rejects(topic: str, depth: int) -> None:
    decodes_safely(topic, b'{"a":' * depth + b"1" + b"}" * depth, "auto")
    decodes_safely(topic, b"[" * depth + b"]" * depth, "auto")


FINITE = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False, allow_infinity=False)
# deadline=None: the first conversion builds pint's unit registry, which takes a while.
CONVERSIONS = settings(deadline=None)


@CONVERSIONS
@given(fahrenheit=FINITE)
def test_fahrenheit_to_celsius_round_trips(fahrenheit: float) -> None:
    celsius, unit = convert("temperature", fahrenheit, "degF")
    assert unit == "degC"
    assert celsius * 9 / 5 + 32 == pytest.approx(fahrenheit, rel=1e-9, abs=1e-6)


@CONVERSIONS
@given(celsius=FINITE)
def test_celsius_to_fahrenheit_and_back_round_trips(celsius: float) -> None:
    again, _ = convert("temperature", celsius * 9 / 5 + 32, "degF")
    assert again == pytest.approx(celsius, rel=1e-9, abs=1e-6)


@CONVERSIONS
@given(watt_hours=FINITE)
def test_watt_hours_to_kilowatt_hours_round_trips(watt_hours: float) -> None:
    kwh, unit = convert("energy", watt_hours, "Wh")
    assert unit == "kWh"
    assert kwh * 1000 == pytest.approx(watt_hours, rel=1e-9, abs=1e-5)


@CONVERSIONS
@given(kwh=FINITE)
def test_kilowatt_hours_to_watt_hours_and_back_round_trips(kwh: float) -> None:
    again, _ = convert("energy", kwh * 1000, "Wh")
    assert again == pytest.approx(kwh, rel=1e-9, abs=1e-6)


@CONVERSIONS
@given(hectopascal=FINITE)
def test_hectopascal_to_pascal_round_trips(hectopascal: float) -> None:
    pascal, unit = convert("pressure", hectopascal, "hPa")
    assert unit == "Pa"
    assert pascal / 100 == pytest.approx(hectopascal, rel=1e-9, abs=1e-6)


PLAUSIBLE = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)


@CONVERSIONS
@given(fahrenheit=PLAUSIBLE)
def test_tasmota_fahrenheit_reading_converts_back_to_what_the_device_sent(
    fahrenheit: float,
) -> None:
    payload = json.dumps({"DS18B20": {"Temperature": fahrenheit}, "TempUnit": "F"}).encode()
    (reading,) = decode("tele/boiler/SENSOR", payload, received=RECEIVED)
    assert isinstance(reading, Reading)
    assert reading.unit == "degC"
    assert reading.value * 9 / 5 + 32 == pytest.approx(fahrenheit, rel=1e-9, abs=1e-6)


@CONVERSIONS
@given(watt_hours=PLAUSIBLE)
def test_shelly_energy_in_wh_converts_back_to_what_the_device_sent(watt_hours: float) -> None:
    payload = json.dumps({"id": 0, "aenergy": {"total": watt_hours}}).encode()
    (reading,) = decode("shellyplus1pm-x/status/switch:0", payload, received=RECEIVED)
    assert isinstance(reading, Reading)
    assert (reading.metric, reading.unit) == ("energy", "kWh")
    assert reading.value * 1000 == pytest.approx(watt_hours, rel=1e-9, abs=1e-5)
