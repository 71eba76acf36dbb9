"""Tasmota codec: SENSOR/STATE telemetry, relays, LWT, ignored topics and hostile input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from facility.core.types import Presence, Reading
from gateway.codecs import decode, detect_format, tasmota
from tests.unit.codecs._support import CodecProbe

RECEIVED = datetime(2026, 3, 1, 12, 0, 3, tzinfo=UTC)
PROBE = CodecProbe(tasmota, RECEIVED)
decoded, readings, rejected = PROBE.decoded, PROBE.readings, PROBE.rejected


POW_SENSOR = (
    b'{"Time":"2026-03-01T12:00:00","ENERGY":{"TotalStartTime":"2024-10-21T22:15:00",'
    b'"Total":3.705,"Yesterday":0.028,"Today":0.026,"Period":12,"Power":5,'
    b'"ApparentPower":6,"ReactivePower":2,"Factor":0.83,"Voltage":233,"Current":0.021}}'
)


def test_tasmota_energy_total_is_stored_as_kwh() -> None:
    got = readings("tele/boiler_pump/SENSOR", POW_SENSOR)
    assert got["boiler_pump", "energy"].value == 3.705
    assert got["boiler_pump", "energy"].unit == "kWh"


def test_tasmota_energy_block_maps_to_canonical_metrics() -> None:
    got = readings("tele/boiler_pump/SENSOR", POW_SENSOR)
    assert (got["boiler_pump", "power"].value, got["boiler_pump", "power"].unit) == (5.0, "W")
    assert got["boiler_pump", "voltage"].value == 233.0
    assert got["boiler_pump", "current"].value == 0.021
    assert got["boiler_pump", "power_factor"].value == 0.83


def test_tasmota_today_and_yesterday_pass_through_as_energy_counters_in_kwh() -> None:
    got = readings("tele/boiler_pump/SENSOR", POW_SENSOR)
    assert (got["boiler_pump", "energy_today"].value, got["boiler_pump", "energy_today"].unit) == (
        0.026,
        "kWh",
    )
    assert got["boiler_pump", "energy_yesterday"].value == 0.028


def test_tasmota_period_in_wh_is_stored_in_kwh() -> None:
    got = readings("tele/boiler_pump/SENSOR", POW_SENSOR)
    assert got["boiler_pump", "energy_period"].value == pytest.approx(0.012)
    assert got["boiler_pump", "energy_period"].unit == "kWh"


def test_tasmota_apparent_and_reactive_power_keep_their_own_units() -> None:
    got = readings("tele/boiler_pump/SENSOR", POW_SENSOR)
    assert got["boiler_pump", "power_apparent"].unit == "VA"
    assert got["boiler_pump", "power_reactive"].unit == "var"


def test_tasmota_text_fields_in_the_energy_block_are_dropped() -> None:
    got = readings("tele/boiler_pump/SENSOR", POW_SENSOR)
    assert not any("start" in metric for _, metric in got)


def test_naive_tasmota_time_is_not_trusted_and_receive_time_is_used() -> None:
    got = readings("tele/boiler_pump/SENSOR", POW_SENSOR)
    assert all(r.ts == RECEIVED for r in got.values())


def test_tasmota_time_with_an_offset_is_used_as_the_reading_time() -> None:
    payload = b'{"Time":"2026-03-01T13:00:00+01:00","DS18B20":{"Temperature":21.5}}'
    (reading,) = decoded("tele/boiler/SENSOR", payload)
    assert reading.ts == datetime(2026, 3, 1, 13, 0, tzinfo=timezone(timedelta(hours=1)))


def test_each_sensor_block_is_a_channel_of_the_device() -> None:
    payload = (
        b'{"Time":"2026-03-01T12:00:00","DS18B20-1":{"Id":"01144BF6F2AA","Temperature":61.2},'
        b'"DS18B20-2":{"Id":"0214C2D3E4F5","Temperature":48.9},"TempUnit":"C"}'
    )
    got = readings("tele/boiler/SENSOR", payload)
    assert got["boiler/DS18B20-1", "temperature"].value == 61.2
    assert got["boiler/DS18B20-2", "temperature"].value == 48.9
    assert len(got) == 2


def test_a_single_sensor_block_is_still_a_channel() -> None:
    payload = b'{"Time":"2026-03-01T12:00:00","AM2301":{"Temperature":22.1,"Humidity":45.3}}'
    got = readings("tele/office_th/SENSOR", payload)
    assert set(got) == {("office_th/AM2301", "temperature"), ("office_th/AM2301", "humidity")}


def test_tasmota_fahrenheit_temperatures_are_stored_in_celsius() -> None:
    payload = b'{"SI7021":{"Temperature":68.0,"Humidity":40,"DewPoint":50.0},"TempUnit":"F"}'
    got = readings("tele/office_th/SENSOR", payload)
    assert got["office_th/SI7021", "temperature"].value == pytest.approx(20.0)
    assert got["office_th/SI7021", "temperature"].unit == "degC"
    assert got["office_th/SI7021", "dew_point"].value == pytest.approx(10.0)
    assert got["office_th/SI7021", "dew_point"].unit == "degC"


def test_tasmota_bme280_pressure_in_hpa_is_stored_in_pascal() -> None:
    payload = (
        b'{"BME280":{"Temperature":20.1,"Humidity":40.2,"DewPoint":6.2,"Pressure":1013.2},'
        b'"PressureUnit":"hPa","TempUnit":"C"}'
    )
    got = readings("tele/plant_room/SENSOR", payload)
    assert got["plant_room/BME280", "pressure"].value == pytest.approx(101320.0)
    assert got["plant_room/BME280", "pressure"].unit == "Pa"


def test_tasmota_pressure_in_mmhg_is_converted() -> None:
    payload = b'{"BMP280":{"Pressure":760.0},"PressureUnit":"mmHg"}'
    got = readings("tele/plant_room/SENSOR", payload)
    assert got["plant_room/BMP280", "pressure"].value == pytest.approx(101325.0, rel=1e-4)


def test_tasmota_measured_co2_wins_over_the_estimate() -> None:
    payload = b'{"SCD30":{"CarbonDioxide":645,"eCO2":630,"Temperature":22.0,"Humidity":41}}'
    got = readings("tele/meeting_room/SENSOR", payload)
    assert got["meeting_room/SCD30", "co2"].value == 645.0


def test_chip_temperature_is_device_temperature_of_the_device_itself() -> None:
    payload = b'{"ESP32":{"Temperature":113.0},"TempUnit":"F"}'
    (reading,) = decoded("tele/boiler/SENSOR", payload)
    assert (reading.device, reading.metric) == ("boiler", "device_temperature")
    assert reading.value == pytest.approx(45.0)


def test_switch_inputs_become_state_channels() -> None:
    (reading,) = decoded("tele/boiler/SENSOR", b'{"Switch1":"ON"}')
    assert (reading.device, reading.metric, reading.value) == ("boiler/Switch1", "state", 1.0)


def test_multi_channel_energy_arrays_go_to_the_relay_channels() -> None:
    payload = b'{"ENERGY":{"Total":1.5,"Power":[40,0],"Voltage":230,"Current":[0.18,0]}}'
    got = readings("tele/dual_relay/SENSOR", payload)
    assert got["dual_relay/POWER1", "power"].value == 40.0
    assert got["dual_relay/POWER2", "power"].value == 0.0
    assert got["dual_relay/POWER1", "current"].value == 0.18
    assert got["dual_relay", "voltage"].value == 230.0


def test_state_with_one_relay_is_the_device_state() -> None:
    payload = (
        b'{"Time":"2026-03-01T12:00:00","Uptime":"0T01:00:00","UptimeSec":3600,'
        b'"POWER":"ON","Wifi":{"AP":1,"SSId":"plant","RSSI":88,"Signal":-56}}'
    )
    (reading,) = decoded("tele/boiler_pump/STATE", payload)
    assert (reading.device, reading.metric, reading.value) == ("boiler_pump", "state", 1.0)


def test_state_with_several_relays_gives_one_channel_each() -> None:
    got = readings("tele/dual_relay/STATE", b'{"POWER1":"ON","POWER2":"OFF"}')
    assert got["dual_relay/POWER1", "state"].value == 1.0
    assert got["dual_relay/POWER2", "state"].value == 0.0


def test_stat_power_topics_are_relay_states() -> None:
    (one,) = decoded("stat/boiler_pump/POWER", b"OFF")
    (two,) = decoded("stat/dual_relay/POWER2", b"ON")
    assert (one.device, one.value) == ("boiler_pump", 0.0)
    assert (two.device, two.value) == ("dual_relay/POWER2", 1.0)


def test_stat_result_with_power_is_a_relay_state() -> None:
    (reading,) = decoded("stat/dual_relay/RESULT", b'{"POWER1":"ON"}')
    assert (reading.device, reading.metric) == ("dual_relay/POWER1", "state")


def test_stat_result_without_power_decodes_to_nothing() -> None:
    assert decoded("stat/lobby_light/RESULT", b'{"Dimmer":40}') == []


def test_status10_sensor_answer_is_read_like_telemetry() -> None:
    payload = b'{"StatusSNS":{"Time":"2026-03-01T12:00:00","DS18B20":{"Temperature":55.0}}}'
    (reading,) = decoded("stat/boiler/STATUS10", payload)
    assert (reading.device, reading.metric, reading.value) == ("boiler/DS18B20", "temperature", 55)


def test_lwt_online_and_offline_are_presence() -> None:
    assert decoded("tele/boiler/LWT", b"Online") == [
        Presence(device="boiler", online=True, ts=RECEIVED)
    ]
    assert decoded("tele/boiler/LWT", b"Offline") == [
        Presence(device="boiler", online=False, ts=RECEIVED)
    ]


def test_custom_full_topic_with_the_prefix_second_is_decoded_through_an_override() -> None:
    items = decode(
        "sonoff_th/tele/SENSOR",
        b'{"AM2301":{"Temperature":21.0}}',
        received=RECEIVED,
        overrides={"sonoff_th/": "tasmota"},
    )
    assert [(r.device, r.metric) for r in items if isinstance(r, Reading)] == [
        ("sonoff_th/AM2301", "temperature")
    ]


@pytest.mark.parametrize(
    "topic",
    ["cmnd/boiler/POWER", "tele/boiler/INFO1", "tele/boiler/UPTIME", "stat/boiler/STATUS5"],
)
def test_commands_and_other_telemetry_are_ignored(topic: str) -> None:
    assert decoded(topic, b'{"POWER":"ON"}') == []


def test_sensor_message_without_measurements_decodes_to_nothing() -> None:
    assert decoded("tele/boiler/SENSOR", b'{"Time":"2026-03-01T12:00:00","TempUnit":"C"}') == []


def test_auto_detection_picks_tasmota_only_for_upper_case_suffixes() -> None:
    assert detect_format("tele/boiler/SENSOR") == "tasmota"
    assert detect_format("stat/boiler/POWER1") == "tasmota"
    assert detect_format("stat/sensor/boiler_temperature/state") == "esphome"


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b'{"Time":', "malformed_json"),
        (b'"SENSOR"', "wrong_type"),
        (b"[1,2,3]", "wrong_type"),
        (b'{"DS18B20":{"Temperature":"warm"}}', "wrong_type"),
        (b'{"DS18B20":{"Temperature":NaN}}', "not_finite"),
        (b'{"ENERGY":{"Total":Infinity}}', "not_finite"),
        (b"\xc3\x28", "not_utf8"),
        (b"", "malformed_json"),
        (b"[" * 3000 + b"]" * 3000, "malformed_json"),
        (b'{"Time":"noon","DS18B20":{"Temperature":21.0}}', "bad_timestamp"),
        (b'{"Time":"1999-01-01T00:00:00+00:00","DS18B20":{"Temperature":21}}', "bad_timestamp"),
        (b'{"TempUnit":"X","DS18B20":{"Temperature":21.0}}', "bad_unit"),
        (b'{"PressureUnit":"(","BMP280":{"Pressure":1000}}', "bad_unit"),
    ],
)
def test_hostile_sensor_payload_is_rejected_with_its_reason(payload: bytes, reason: str) -> None:
    assert rejected("tele/boiler/SENSOR", payload) == reason


def test_tasmota_payload_over_the_size_limit_is_rejected_as_oversized() -> None:
    assert rejected("tele/boiler_pump/SENSOR", POW_SENSOR, max_bytes=64) == "oversized"


def test_deeply_nested_sensor_block_is_dropped() -> None:
    nested = b'{"a":' * 300 + b"1" + b"}" * 300
    assert decoded("tele/boiler/SENSOR", b'{"DEEP":' + nested + b"}") == []


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        ("tele/boiler/LWT", b"Sleeping", "wrong_type"),
        ("tele/boiler/LWT", b"", "wrong_type"),
        ("stat/boiler/POWER", b"MAYBE", "wrong_type"),
        ("stat/boiler/POWER", b"\xff", "not_utf8"),
        ("stat/boiler/STATUS10", b'{"StatusSNS":5}', "wrong_type"),
        ("tele//SENSOR", b"{}", "bad_topic"),
        ("tele/bad+topic/SENSOR", b"{}", "bad_topic"),
    ],
)
def test_hostile_relay_and_presence_messages_are_rejected(
    topic: str, payload: bytes, reason: str
) -> None:
    assert rejected(topic, payload) == reason


@pytest.mark.parametrize(
    ("topic", "payload", "device", "value"),
    [
        ("stat/boiler/POWER", b'{"POWER":"OFF"}', "boiler", 0.0),
        ("stat/boiler/POWER", b'{"POWER":"ON"}', "boiler", 1.0),
        ("stat/boiler/POWER2", b'{"POWER2":"ON"}', "boiler/POWER2", 1.0),
    ],
)
def test_stat_power_with_a_json_result_decodes_like_the_plain_word(
    topic: str, payload: bytes, device: str, value: float
) -> None:
    got = readings(topic, payload)
    assert got[device, "state"].value == value
    assert got[device, "state"].unit == "bool"


@pytest.mark.parametrize(
    "payload", [b'{"POWER1":"ON"}', b'{"Dimmer":40}', b'{"POWER":', b'{"POWER":"MAYBE"}']
)
def test_stat_power_json_without_its_own_key_or_word_is_rejected(payload: bytes) -> None:
    assert rejected("stat/boiler/POWER", payload) in {"wrong_type", "malformed_json"}


def test_a_json_true_where_watts_belong_is_rejected_not_read_as_one_watt() -> None:
    assert rejected("tele/pump/SENSOR", b'{"ENERGY":{"Power":true}}') == "wrong_type"


def test_a_json_boolean_power_is_dropped_while_the_other_fields_flow() -> None:
    got = readings("tele/pump/SENSOR", b'{"ENERGY":{"Power":false,"Voltage":230}}')
    assert ("pump", "power") not in got
    assert got["pump", "voltage"].value == 230.0
