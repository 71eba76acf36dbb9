"""Zigbee2MQTT codec: device state JSON, availability, ignored topics and hostile input."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from facility.core.types import Presence, Reading
from gateway.codecs import decode, detect_format, zigbee2mqtt
from tests.unit.codecs._support import CodecProbe

RECEIVED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PROBE = CodecProbe(zigbee2mqtt, RECEIVED)
decoded, readings, rejected = PROBE.decoded, PROBE.readings, PROBE.rejected


AQARA_WEATHER = (
    b'{"temperature":22.75,"humidity":55.43,"pressure":1000.6,"battery":86,'
    b'"voltage":2985,"linkquality":97}'
)


def test_climate_sensor_state_becomes_canonical_readings() -> None:
    got = readings("zigbee2mqtt/office_climate", AQARA_WEATHER)
    assert got["office_climate", "temperature"].value == 22.75
    assert got["office_climate", "temperature"].unit == "degC"
    assert got["office_climate", "humidity"].value == 55.43
    assert got["office_climate", "battery"].unit == "%"
    assert all(r.ts == RECEIVED for r in got.values())


def test_zigbee2mqtt_pressure_in_hpa_is_stored_in_pascal() -> None:
    got = readings("zigbee2mqtt/office_climate", AQARA_WEATHER)
    assert got["office_climate", "pressure"].value == pytest.approx(100060.0)
    assert got["office_climate", "pressure"].unit == "Pa"


def test_battery_voltage_in_millivolts_is_stored_in_volts() -> None:
    got = readings("zigbee2mqtt/office_climate", AQARA_WEATHER)
    assert got["office_climate", "voltage"].value == pytest.approx(2.985)
    assert got["office_climate", "voltage"].unit == "V"


def test_mains_voltage_of_a_metering_plug_stays_in_volts() -> None:
    payload = b'{"state":"ON","power":118.4,"voltage":231.2,"current":0.52,"energy":12.75}'
    got = readings("zigbee2mqtt/chiller_pump_plug", payload)
    assert got["chiller_pump_plug", "voltage"].value == 231.2
    assert got["chiller_pump_plug", "power"].unit == "W"
    assert got["chiller_pump_plug", "energy"].unit == "kWh"
    assert got["chiller_pump_plug", "state"].value == 1.0


def test_linkquality_passes_through_under_its_own_name() -> None:
    got = readings("zigbee2mqtt/office_climate", AQARA_WEATHER)
    assert got["office_climate", "linkquality"].value == 97.0


def test_friendly_name_with_slashes_is_the_whole_device_id() -> None:
    got = readings("zigbee2mqtt/building_a/floor_2/ahu_filter", b'{"temperature":19.5}')
    assert ("building_a/floor_2/ahu_filter", "temperature") in got


def test_contact_true_means_closed_and_water_leak_true_means_leak() -> None:
    got = readings("zigbee2mqtt/plant_room_door", b'{"contact":true,"battery":100}')
    assert got["plant_room_door", "contact"].value == 1.0
    got = readings("zigbee2mqtt/boiler_leak", b'{"water_leak":true,"tamper":false}')
    assert got["boiler_leak", "water_leak"].value == 1.0
    assert got["boiler_leak", "tamper"].unit == "bool"


def test_occupancy_and_illuminance_are_read_from_a_motion_sensor() -> None:
    got = readings("zigbee2mqtt/corridor_pir", b'{"occupancy":true,"illuminance":35}')
    assert got["corridor_pir", "occupancy"].value == 1.0
    assert got["corridor_pir", "illuminance"].unit == "lx"


def test_legacy_illuminance_lux_wins_over_the_raw_illuminance_value() -> None:
    got = readings("zigbee2mqtt/corridor_pir", b'{"illuminance":16990,"illuminance_lux":50}')
    assert got["corridor_pir", "illuminance"].value == 50.0
    assert len(got) == 1


def test_ac_frequency_becomes_frequency() -> None:
    got = readings("zigbee2mqtt/meter", b'{"ac_frequency":50.02,"power_factor":0.97}')
    assert got["meter", "frequency"].value == 50.02
    assert got["meter", "power_factor"].value == 0.97


def test_co2_is_read_in_ppm() -> None:
    got = readings("zigbee2mqtt/meeting_room", b'{"co2":812,"voc":120}')
    assert got["meeting_room", "co2"].unit == "ppm"


def test_endpoint_states_become_channels_of_the_device() -> None:
    got = readings("zigbee2mqtt/pump_relay", b'{"state_l1":"ON","state_l2":"OFF"}')
    assert got["pump_relay/l1", "state"].value == 1.0
    assert got["pump_relay/l2", "state"].value == 0.0


def test_update_objects_colors_and_actions_are_dropped_not_rejected() -> None:
    payload = (
        b'{"state":"ON","brightness":200,"color":{"x":0.3,"y":0.3},"color_mode":"xy",'
        b'"update":{"state":"idle","installed_version":1},"update_available":null}'
    )
    got = readings("zigbee2mqtt/lobby_light", payload)
    assert set(got) == {("lobby_light", "state"), ("lobby_light", "brightness")}


def test_cover_enum_state_is_dropped_and_position_kept() -> None:
    got = readings("zigbee2mqtt/smoke_vent", b'{"state":"CLOSE","position":0}')
    assert set(got) == {("smoke_vent", "position")}


def test_button_event_without_measurements_decodes_to_nothing() -> None:
    assert decoded("zigbee2mqtt/wall_button", b'{"action":"single"}') == []


def test_last_seen_is_the_reading_time() -> None:
    payload = b'{"temperature":21.0,"last_seen":"2026-03-01T11:58:30.123Z"}'
    (reading,) = decoded("zigbee2mqtt/office_climate", payload)
    assert reading.ts == datetime(2026, 3, 1, 11, 58, 30, 123000, tzinfo=UTC)


def test_last_seen_in_epoch_milliseconds_is_the_reading_time() -> None:
    payload = b'{"temperature":21.0,"last_seen":1772366280000}'
    (reading,) = decoded("zigbee2mqtt/office_climate", payload)
    assert reading.ts == datetime(2026, 3, 1, 11, 58, tzinfo=UTC)


def test_availability_in_json_form_is_presence() -> None:
    (item,) = decoded("zigbee2mqtt/office_climate/availability", b'{"state":"offline"}')
    assert item == Presence(device="office_climate", online=False, ts=RECEIVED)


def test_legacy_text_availability_is_presence() -> None:
    (item,) = decoded("zigbee2mqtt/floor_2/ahu_filter/availability", b"online")
    assert item == Presence(device="floor_2/ahu_filter", online=True, ts=RECEIVED)


@pytest.mark.parametrize(
    "topic",
    [
        "zigbee2mqtt/bridge/state",
        "zigbee2mqtt/bridge/devices",
        "zigbee2mqtt/bridge/request/permit_join",
        "zigbee2mqtt/lobby_light/set",
        "zigbee2mqtt/lobby_light/get",
        "zigbee2mqtt/lobby_light/set/brightness",
        "zigbee2mqtt/wall_button/action",
    ],
)
def test_bridge_command_and_event_topics_are_ignored(topic: str) -> None:
    assert decoded(topic, b'{"state":"ON","anything":1}') == []


def test_auto_detection_picks_zigbee2mqtt_for_its_base_topic() -> None:
    assert detect_format("zigbee2mqtt/office_climate") == "zigbee2mqtt"
    assert detect_format("zigbee2mqtt_b2/office_climate") == "zigbee2mqtt"
    (reading,) = decode("zigbee2mqtt/office_climate", b'{"temperature":20}', received=RECEIVED)
    assert isinstance(reading, Reading)


def test_one_bad_field_is_dropped_and_the_good_ones_kept() -> None:
    got = readings("zigbee2mqtt/office_climate", b'{"temperature":"hot","humidity":40}')
    assert set(got) == {("office_climate", "humidity")}


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b'{"temperature": 21', "malformed_json"),
        (b"[21.5]", "wrong_type"),
        (b'"21.5"', "wrong_type"),
        (b'{"temperature":"hot"}', "wrong_type"),
        (b'{"temperature":{"value":1}}', "wrong_type"),
        (b'{"temperature": NaN}', "not_finite"),
        (b'{"temperature": -Infinity}', "not_finite"),
        (b"\xff\xfe{}", "not_utf8"),
        (b"", "malformed_json"),
        (b'{"a":' * 2000 + b"1" + b"}" * 2000, "malformed_json"),
        (b'{"temperature":21,"last_seen":"yesterday"}', "bad_timestamp"),
        (b'{"temperature":21,"last_seen":"1999-01-01T00:00:00Z"}', "bad_timestamp"),
    ],
)
def test_hostile_state_payload_is_rejected_with_its_reason(payload: bytes, reason: str) -> None:
    assert rejected("zigbee2mqtt/office_climate", payload) == reason


def test_payload_over_the_size_limit_is_rejected_as_oversized() -> None:
    payload = b'{"temperature":21}'
    assert rejected("zigbee2mqtt/office_climate", payload, max_bytes=10) == "oversized"


def test_moderately_nested_json_without_measurements_decodes_to_nothing() -> None:
    assert decoded("zigbee2mqtt/office_climate", b'{"a":' * 200 + b"1" + b"}" * 200) == []


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"maybe", "wrong_type"),
        (b"", "wrong_type"),
        (b'{"state": 1}', "wrong_type"),
        (b'{"state":"online"', "malformed_json"),
        (b"\xc3\x28", "not_utf8"),
    ],
)
def test_hostile_availability_payload_is_rejected(payload: bytes, reason: str) -> None:
    assert rejected("zigbee2mqtt/office_climate/availability", payload) == reason


@pytest.mark.parametrize("topic", ["zigbee2mqtt/", "zigbee2mqtt//x", "zigbee2mqtt/bad#name"])
def test_unusable_topic_is_rejected_as_bad_topic(topic: str) -> None:
    assert rejected(topic, b'{"temperature":21}') == "bad_topic"
