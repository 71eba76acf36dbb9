"""Home Assistant codec: discovery-style and Statestream state topics, presence, hostile input."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from facility.core.types import Presence, Reading
from gateway.codecs import decode, detect_format, homeassistant
from tests.unit.codecs._support import CodecProbe

RECEIVED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PROBE = CodecProbe(homeassistant, RECEIVED)
decoded, one, rejected = PROBE.decoded, PROBE.one, PROBE.rejected


# -- discovery-style: homeassistant/<component>/<node_id>/<object_id>/state ----------------------
def test_discovery_style_sensor_state_is_a_reading_of_the_node() -> None:
    reading = one("homeassistant/sensor/ahu_1/temperature/state", b"18.5")
    assert (reading.device, reading.metric, reading.value, reading.unit) == (
        "ahu_1",
        "temperature",
        18.5,
        "degC",
    )
    assert reading.ts == RECEIVED


def test_discovery_style_object_id_ending_in_a_metric_is_a_channel_of_the_node() -> None:
    reading = one("homeassistant/sensor/ahu_1/supply_air_temperature/state", b"16.0")
    assert (reading.device, reading.metric) == ("ahu_1/supply_air", "temperature")


def test_shared_json_state_is_read_key_by_key() -> None:
    payload = (
        b'{"temperature":21.5,"humidity":40,"co2":640,"fan":"ON",'
        b'"firmware":"1.2.3","filter":{"hours":210}}'
    )
    items = decoded("homeassistant/sensor/room_12/env/state", payload)
    got = {(r.device, r.metric): r for r in items if isinstance(r, Reading)}
    assert set(got) == {
        ("room_12", "temperature"),
        ("room_12", "humidity"),
        ("room_12", "co2"),
        ("room_12", "fan"),
    }
    assert got["room_12", "fan"].unit == "bool"


def test_home_assistant_pressure_in_hpa_is_stored_in_pascal() -> None:
    reading = one("homeassistant/sensor/roof/pressure/state", b"1002.1")
    assert (reading.value, reading.unit) == (pytest.approx(100210.0), "Pa")


def test_unit_word_in_the_object_id_overrides_the_assumed_unit() -> None:
    reading = one("homeassistant/sensor/roof/temperature_f/state", b"50")
    assert reading.value == pytest.approx(10.0)


def test_discovery_style_availability_is_presence_of_the_node() -> None:
    assert decoded("homeassistant/sensor/ahu_1/availability", b"offline") == [
        Presence(device="ahu_1", online=False, ts=RECEIVED)
    ]
    assert decoded("homeassistant/sensor/ahu_1/temperature/availability", b"online") == [
        Presence(device="ahu_1", online=True, ts=RECEIVED)
    ]


# -- Statestream: homeassistant/<domain>/<object_id>/state ---------------------------------------
def test_statestream_sensor_entity_name_gives_device_and_metric() -> None:
    reading = one("homeassistant/sensor/boiler_supply_temperature/state", b"71.5")
    assert (reading.device, reading.metric, reading.value) == ("boiler_supply", "temperature", 71.5)


def test_statestream_entity_without_a_metric_word_is_its_own_device() -> None:
    reading = one("homeassistant/sensor/wifi_signal/state", b"-61")
    assert (reading.device, reading.metric) == ("wifi_signal", "wifi_signal")


def test_statestream_switch_is_the_state_of_a_device_named_after_it() -> None:
    reading = one("homeassistant/switch/boiler_pump/state", b"on")
    assert (reading.device, reading.metric, reading.value) == ("boiler_pump", "state", 1.0)
    assert one("homeassistant/input_boolean/chiller_enable/state", b"off").value == 0.0


def test_statestream_door_on_means_open_so_contact_is_zero() -> None:
    reading = one("homeassistant/binary_sensor/plant_room_door/state", b"on")
    assert (reading.device, reading.metric, reading.value) == ("plant_room_door", "contact", 0.0)


def test_statestream_motion_and_leak_sensors_map_to_our_metrics() -> None:
    assert one("homeassistant/binary_sensor/lobby_motion/state", b"on").metric == "occupancy"
    assert one("homeassistant/binary_sensor/boiler_leak/state", b"off").metric == "water_leak"


def test_json_schema_light_state_is_read() -> None:
    reading = one("homeassistant/light/lobby/state", b'{"state":"ON","brightness":255}')
    assert (reading.device, reading.metric, reading.value) == ("lobby", "state", 1.0)


def test_statestream_climate_current_temperature_attribute_is_a_reading() -> None:
    reading = one("homeassistant/climate/office_thermostat/current_temperature", b"20.5")
    assert (reading.device, reading.metric) == ("office_thermostat", "temperature")


@pytest.mark.parametrize("payload", [b"unavailable", b"unknown", b"None", b""])
def test_unavailable_and_unknown_states_give_no_reading(payload: bytes) -> None:
    assert decoded("homeassistant/sensor/boiler_supply_temperature/state", payload) == []


def test_text_sensor_state_is_not_a_reading() -> None:
    payload = b"2026-03-01T06:00:00+00:00"
    assert decoded("homeassistant/sensor/boiler_last_service/state", payload) == []


@pytest.mark.parametrize(
    "topic",
    [
        "homeassistant/sensor/ahu_1/temperature/config",
        "homeassistant/sensor/boiler_temperature/config",
        "homeassistant/status",
        "homeassistant/sensor/boiler_temperature/unit_of_measurement",
        "homeassistant/sensor/boiler_temperature/last_updated",
        "homeassistant/switch/boiler_pump/set",
        "homeassistant/climate/office_thermostat/state",
        "homeassistant/person/facility_manager/state",
        "homeassistant/number/boiler_setpoint/state",
    ],
)
def test_config_status_attribute_and_non_measurement_topics_are_ignored(topic: str) -> None:
    assert decoded(topic, b'{"name": "x", "state_topic": "y"}') == []


def test_auto_detection_picks_home_assistant_for_its_prefix() -> None:
    assert detect_format("homeassistant/sensor/boiler_temperature/state") == "homeassistant"
    assert detect_format("homeassistant/sensor/ahu_1/temperature/config") == "homeassistant"
    (item,) = decode("homeassistant/sensor/ahu_1/temperature/state", b"18", received=RECEIVED)
    assert isinstance(item, Reading)


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        ("homeassistant/sensor/ahu_1/env/state", b'{"temperature":', "malformed_json"),
        ("homeassistant/sensor/ahu_1/env/state", b'{"temperature":NaN}', "not_finite"),
        ("homeassistant/sensor/ahu_1/env/state", b'{"temperature":Infinity}', "not_finite"),
        ("homeassistant/sensor/ahu_1/env/state", b'{"a":' * 2000 + b"1" + b"}" * 2000,
         "malformed_json"),
        ("homeassistant/sensor/ahu_1/temperature/state", b"nan", "not_finite"),
        ("homeassistant/sensor/ahu_1/temperature/state", b"-inf", "not_finite"),
        ("homeassistant/sensor/ahu_1/temperature/state", b"1e999", "not_finite"),
        ("homeassistant/sensor/ahu_1/temperature/state", b"\xff\xfe", "not_utf8"),
        ("homeassistant/binary_sensor/plant_room_door/state", b"ajar", "wrong_type"),
        ("homeassistant/switch/boiler_pump/state", b'{"state":true}', "wrong_type"),
        ("homeassistant/climate/office_thermostat/current_temperature", b'"warm"', "wrong_type"),
        ("homeassistant/climate/office_thermostat/current_temperature", b"warm", "malformed_json"),
        ("homeassistant/sensor/ahu_1/availability", b"sleeping", "wrong_type"),
        ("homeassistant/sensor", b"1", "bad_topic"),
        ("homeassistant/sensor//temperature/state", b"1", "bad_topic"),
    ],
)  # fmt: skip
def test_hostile_home_assistant_message_is_rejected_with_its_reason(
    topic: str, payload: bytes, reason: str
) -> None:
    assert rejected(topic, payload) == reason


def test_json_arrays_and_nested_objects_in_a_shared_state_are_not_readings() -> None:
    assert decoded("homeassistant/sensor/ahu_1/env/state", b'{"history":[1,2],"meta":{}}') == []
    assert decoded("homeassistant/sensor/ahu_1/temperature/state", b"[21.5]") == []


def test_home_assistant_payload_over_the_size_limit_is_rejected_as_oversized() -> None:
    topic = "homeassistant/sensor/ahu_1/temperature/state"
    assert rejected(topic, b"18.5", max_bytes=2) == "oversized"
