"""ESPHome codec: entity state topics, metric and channel naming, status, hostile input."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from facility.core.types import Presence, Reading
from gateway.codecs import decode, detect_format, esphome
from tests.unit.codecs._support import CodecProbe

RECEIVED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PROBE = CodecProbe(esphome, RECEIVED)
decoded, one, rejected = PROBE.decoded, PROBE.one, PROBE.rejected


def test_sensor_named_after_a_metric_is_that_metric_of_the_node() -> None:
    reading = one("boiler-room/sensor/temperature/state", b"21.4")
    assert (reading.device, reading.metric, reading.value, reading.unit) == (
        "boiler-room",
        "temperature",
        21.4,
        "degC",
    )
    assert reading.ts == RECEIVED


def test_sensor_name_ending_in_a_metric_becomes_a_channel_of_the_node() -> None:
    supply = one("boiler-room/sensor/supply_temperature/state", b"71.5")
    back = one("boiler-room/sensor/return_temperature/state", b"55.0")
    assert (supply.device, supply.metric) == ("boiler-room/supply", "temperature")
    assert (back.device, back.metric) == ("boiler-room/return", "temperature")


def test_metric_aliases_in_names_are_understood() -> None:
    assert one("office/sensor/office_rh/state", b"41").metric == "humidity"
    assert one("office/sensor/temp/state", b"20.5").metric == "temperature"


def test_esphome_pressure_in_hpa_is_stored_in_pascal() -> None:
    reading = one("plant-room/sensor/pressure/state", b"1013.25")
    assert (reading.value, reading.unit) == (pytest.approx(101325.0), "Pa")


def test_unit_word_at_the_end_of_the_name_sets_the_unit() -> None:
    fahrenheit = one("office/sensor/temperature_f/state", b"68")
    assert (fahrenheit.metric, fahrenheit.value) == ("temperature", pytest.approx(20.0))
    wh = one("meter/sensor/energy_wh/state", b"1500")
    assert (wh.metric, wh.value, wh.unit) == ("energy", pytest.approx(1.5), "kWh")


def test_names_that_change_the_quantity_pass_through() -> None:
    assert one("meter/sensor/apparent_power/state", b"612").metric == "apparent_power"
    assert one("meter/sensor/total_daily_energy/state", b"3.2").metric == "total_daily_energy"


def test_other_sensors_pass_through_under_their_own_name() -> None:
    reading = one("boiler-room/sensor/wifi_signal/state", b"-61")
    assert (reading.device, reading.metric, reading.value) == ("boiler-room", "wifi_signal", -61)


def test_door_sensor_on_means_open_so_contact_is_zero() -> None:
    reading = one("plant-room/binary_sensor/plant_room_door/state", b"ON")
    assert (reading.device, reading.metric, reading.value) == (
        "plant-room/plant_room_door",
        "contact",
        0.0,
    )
    assert one("plant-room/binary_sensor/plant_room_door/state", b"OFF").value == 1.0


def test_motion_and_leak_binary_sensors_map_to_occupancy_and_water_leak() -> None:
    assert one("corridor/binary_sensor/hall_motion/state", b"ON").metric == "occupancy"
    leak = one("plant-room/binary_sensor/boiler_leak/state", b"ON")
    assert (leak.metric, leak.value) == ("water_leak", 1.0)


def test_other_binary_sensors_pass_through_as_booleans() -> None:
    reading = one("boiler-room/binary_sensor/burner_fault/state", b"ON")
    assert (reading.device, reading.metric, reading.value, reading.unit) == (
        "boiler-room",
        "burner_fault",
        1.0,
        "bool",
    )


def test_switch_is_the_state_of_a_relay_channel() -> None:
    reading = one("boiler-room/switch/circulation_pump/state", b"ON")
    assert (reading.device, reading.metric, reading.value) == (
        "boiler-room/circulation_pump",
        "state",
        1.0,
    )


def test_fan_and_json_light_states_are_relay_states() -> None:
    assert one("ahu-1/fan/supply_fan/state", b"OFF").value == 0.0
    light = one("lobby/light/ceiling/state", b'{"state":"ON","brightness":255,"color_mode":"rgb"}')
    assert (light.device, light.metric, light.value) == ("lobby/ceiling", "state", 1.0)


def test_climate_current_temperature_and_humidity_are_readings() -> None:
    temperature = one("office/climate/office_thermostat/current_temperature/state", b"20.5")
    assert (temperature.device, temperature.metric) == ("office/office_thermostat", "temperature")
    humidity = one("office/climate/office_thermostat/current_humidity/state", b"45")
    assert humidity.metric == "humidity"


def test_climate_modes_and_setpoints_are_not_readings() -> None:
    assert decoded("office/climate/office_thermostat/mode/state", b"heat") == []
    assert decoded("office/climate/office_thermostat/target_temperature/state", b"21") == []


def test_node_status_is_presence() -> None:
    assert decoded("boiler-room/status", b"online") == [
        Presence(device="boiler-room", online=True, ts=RECEIVED)
    ]
    assert decoded("boiler-room/status", b"offline") == [
        Presence(device="boiler-room", online=False, ts=RECEIVED)
    ]


def test_topic_prefix_with_slashes_is_the_device() -> None:
    reading = one("site-a/esphome/boiler-room/sensor/temperature/state", b"20")
    assert reading.device == "site-a/esphome/boiler-room"


@pytest.mark.parametrize(
    "topic",
    [
        "boiler-room/switch/circulation_pump/command",
        "boiler-room/debug",
        "boiler-room/text_sensor/firmware_version/state",
        "boiler-room/number/setpoint/state",
        "boiler-room/select/mode/state",
    ],
)
def test_commands_debug_and_non_measurement_components_are_ignored(topic: str) -> None:
    assert decoded(topic, b"ON") == []


def test_auto_detection_picks_esphome_but_leaves_home_assistant_topics_alone() -> None:
    assert detect_format("boiler-room/sensor/temperature/state") == "esphome"
    assert detect_format("boiler-room/status") == "esphome"
    assert detect_format("homeassistant/sensor/boiler_temperature/state") == "homeassistant"
    (item,) = decode("boiler-room/sensor/temperature/state", b"19.5", received=RECEIVED)
    assert isinstance(item, Reading)


def test_nan_from_a_failed_sensor_read_is_rejected_as_not_finite() -> None:
    assert rejected("boiler-room/sensor/temperature/state", b"nan") == "not_finite"


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        ("boiler-room/sensor/temperature/state", b"warm", "wrong_type"),
        ("boiler-room/sensor/temperature/state", b"{not json", "wrong_type"),
        ("boiler-room/sensor/temperature/state", b'{"value": 1}', "wrong_type"),
        ("boiler-room/sensor/temperature/state", b"inf", "not_finite"),
        ("boiler-room/sensor/temperature/state", b"-Infinity", "not_finite"),
        ("boiler-room/sensor/temperature/state", b"1e400", "not_finite"),
        ("boiler-room/sensor/temperature/state", b"\xff21", "not_utf8"),
        ("boiler-room/sensor/temperature/state", b"", "wrong_type"),
        ("boiler-room/binary_sensor/plant_room_door/state", b"AJAR", "wrong_type"),
        ("boiler-room/switch/circulation_pump/state", b"", "wrong_type"),
        ("lobby/light/ceiling/state", b'{"state":', "malformed_json"),
        ("lobby/light/ceiling/state", b'{"state":1}', "wrong_type"),
        ("lobby/light/ceiling/state", b'{"a":' * 2000 + b"1" + b"}" * 2000, "malformed_json"),
        ("boiler-room/status", b"sleeping", "wrong_type"),
        ("boiler-room/status", b"", "wrong_type"),
        ("bad+node/sensor/temperature/state", b"20", "bad_topic"),
        ("boiler-room/sensor/temperature", b"20", "bad_topic"),
    ],
)
def test_hostile_esphome_message_is_rejected_with_its_reason(
    topic: str, payload: bytes, reason: str
) -> None:
    assert rejected(topic, payload) == reason


def test_esphome_payload_over_the_size_limit_is_rejected_as_oversized() -> None:
    assert rejected("boiler-room/sensor/temperature/state", b"21.5", max_bytes=3) == "oversized"
