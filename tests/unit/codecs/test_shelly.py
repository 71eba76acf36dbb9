"""Shelly Gen2+ codec: component status, RPC notifications, presence and hostile input."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from facility.core.types import Presence
from gateway.codecs import decode, detect_format, shelly
from tests.unit.codecs._support import CodecProbe

RECEIVED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PROBE = CodecProbe(shelly, RECEIVED)
decoded, readings, rejected = PROBE.decoded, PROBE.readings, PROBE.rejected


PLUS_1PM = "shellyplus1pm-a8032ab12345"


SWITCH_STATUS = json.dumps(
    {
        "id": 0,
        "source": "WS_in",
        "output": True,
        "apower": 118.6,
        "voltage": 230.4,
        "freq": 50.0,
        "current": 0.532,
        "pf": 0.97,
        "aenergy": {"total": 15234.5, "by_minute": [12.1, 13.0, 12.8], "minute_ts": 1772366340},
        "ret_aenergy": {"total": 120.0, "by_minute": [0, 0, 0], "minute_ts": 1772366340},
        "temperature": {"tC": 41.2, "tF": 106.2},
    }
).encode()


def test_switch_status_becomes_readings_of_the_channel_device() -> None:
    got = readings(f"{PLUS_1PM}/status/switch:0", SWITCH_STATUS)
    device = f"{PLUS_1PM}/switch:0"
    assert got[device, "state"].value == 1.0
    assert (got[device, "power"].value, got[device, "power"].unit) == (118.6, "W")
    assert got[device, "voltage"].value == 230.4
    assert got[device, "current"].value == 0.532
    assert got[device, "frequency"].value == 50.0
    assert got[device, "power_factor"].value == 0.97
    assert all(r.ts == RECEIVED for r in got.values())


def test_shelly_aenergy_total_in_wh_is_stored_in_kwh() -> None:
    got = readings(f"{PLUS_1PM}/status/switch:0", SWITCH_STATUS)
    energy = got[f"{PLUS_1PM}/switch:0", "energy"]
    assert (energy.value, energy.unit) == (pytest.approx(15.2345), "kWh")


def test_shelly_returned_energy_is_stored_in_kwh() -> None:
    got = readings(f"{PLUS_1PM}/status/switch:0", SWITCH_STATUS)
    returned = got[f"{PLUS_1PM}/switch:0", "energy_returned"]
    assert (returned.value, returned.unit) == (pytest.approx(0.12), "kWh")


def test_relay_temperature_is_device_temperature_not_room_temperature() -> None:
    got = readings(f"{PLUS_1PM}/status/switch:0", SWITCH_STATUS)
    assert got[f"{PLUS_1PM}/switch:0", "device_temperature"].value == 41.2
    assert (f"{PLUS_1PM}/switch:0", "temperature") not in got


def test_second_channel_of_a_multi_relay_device_has_its_own_id() -> None:
    got = readings("shellypro4pm-c8f09e8a1b2c/status/switch:3", b'{"id":3,"output":false}')
    assert got["shellypro4pm-c8f09e8a1b2c/switch:3", "state"].value == 0.0


def test_add_on_temperature_and_humidity_components_are_read() -> None:
    got = readings("shellyhtg3-x/status/temperature:0", b'{"id":0,"tC":21.4,"tF":70.5}')
    assert got["shellyhtg3-x/temperature:0", "temperature"].value == 21.4
    got = readings("shellyhtg3-x/status/humidity:0", b'{"id":0,"rh":44.1}')
    assert got["shellyhtg3-x/humidity:0", "humidity"].unit == "%"


def test_shelly_fahrenheit_is_used_and_converted_when_celsius_is_missing() -> None:
    got = readings("shellyhtg3-x/status/temperature:100", b'{"id":100,"tC":null,"tF":68.0}')
    assert got["shellyhtg3-x/temperature:100", "temperature"].value == pytest.approx(20.0)


def test_em1_channel_maps_active_and_apparent_power() -> None:
    payload = b'{"id":1,"current":2.598,"voltage":234.9,"act_power":501.8,"aprt_power":612.4,"pf":0.84,"freq":50,"calibration":"factory"}'  # noqa: E501
    got = readings("shellyproem50-x/status/em1:1", payload)
    device = "shellyproem50-x/em1:1"
    assert got[device, "power"].value == 501.8
    assert (got[device, "power_apparent"].value, got[device, "power_apparent"].unit) == (
        612.4,
        "VA",
    )
    assert got[device, "power_factor"].value == 0.84


def test_three_phase_meter_gives_totals_and_one_channel_per_phase() -> None:
    status = {
        "id": 0,
        "a_current": 4.1, "a_voltage": 231.0, "a_act_power": 900.0, "a_pf": 0.95,
        "b_current": 3.9, "b_voltage": 229.5, "b_act_power": 850.0,
        "c_current": 0.2, "c_voltage": 230.2, "c_act_power": 40.0,
        "n_current": None,
        "total_current": 8.2, "total_act_power": 1790.0, "total_aprt_power": 1880.0,
    }  # fmt: skip
    got = readings("shellypro3em-x/status/em:0", json.dumps(status).encode())
    assert got["shellypro3em-x/em:0", "power"].value == 1790.0
    assert got["shellypro3em-x/em:0", "current"].value == 8.2
    assert got["shellypro3em-x/em:0/a", "voltage"].value == 231.0
    assert got["shellypro3em-x/em:0/b", "power"].value == 850.0
    assert got["shellypro3em-x/em:0/c", "current"].value == 0.2
    assert ("shellypro3em-x/em:0/n", "current") not in got


def test_energy_data_counters_go_to_the_meter_they_count_for() -> None:
    payload = b'{"id":0,"a_total_act_energy":40000,"total_act":123456,"total_act_ret":10}'
    got = readings("shellypro3em-x/status/emdata:0", payload)
    assert got["shellypro3em-x/em:0", "energy"].value == pytest.approx(123.456)
    assert got["shellypro3em-x/em:0/a", "energy"].value == pytest.approx(40.0)
    assert got["shellypro3em-x/em:0", "energy_returned"].value == pytest.approx(0.01)
    got = readings("shellyproem50-x/status/em1data:1", b'{"id":1,"total_act_energy":2500}')
    assert got["shellyproem50-x/em1:1", "energy"].value == pytest.approx(2.5)


def test_pm1_and_devicepower_components_are_read() -> None:
    got = readings("shellypmminig3-x/status/pm1:0", b'{"id":0,"apower":3.2,"aenergy":{"total":7}}')
    assert got["shellypmminig3-x/pm1:0", "energy"].value == pytest.approx(0.007)
    payload = b'{"id":0,"battery":{"V":5.8,"percent":73},"external":{"present":false}}'
    got = readings("shellyhtg3-x/status/devicepower:0", payload)
    assert got["shellyhtg3-x/devicepower:0", "battery"].value == 73.0
    assert got["shellyhtg3-x/devicepower:0", "voltage"].value == 5.8


def test_notify_status_uses_its_timestamp_and_reads_every_component() -> None:
    payload = json.dumps(
        {
            "src": PLUS_1PM,
            "dst": f"{PLUS_1PM}/events",
            "method": "NotifyStatus",
            "params": {
                "ts": 1772366340.52,
                "switch:0": {"id": 0, "apower": 95.1, "current": 0.43},
                "temperature:100": {"id": 100, "tC": 19.8},
                "sys": {"uptime": 1234, "ram_free": 100000},
            },
        }
    ).encode()
    got = readings(f"{PLUS_1PM}/events/rpc", payload)
    assert set(got) == {
        (f"{PLUS_1PM}/switch:0", "power"),
        (f"{PLUS_1PM}/switch:0", "current"),
        (f"{PLUS_1PM}/temperature:100", "temperature"),
    }
    expected_ts = datetime.fromtimestamp(1772366340.52, tz=UTC)
    assert all(r.ts == expected_ts for r in got.values())


def test_notify_full_status_is_read_like_notify_status() -> None:
    payload = json.dumps(
        {
            "method": "NotifyFullStatus",
            "params": {"ts": 1772366340, "switch:0": json.loads(SWITCH_STATUS)},
        }
    ).encode()
    got = readings(f"{PLUS_1PM}/events/rpc", payload)
    assert got[f"{PLUS_1PM}/switch:0", "energy"].unit == "kWh"


def test_notify_event_and_system_only_updates_decode_to_nothing() -> None:
    event = b'{"method":"NotifyEvent","params":{"ts":1772366340,"events":[{"component":"input:0","event":"single_push"}]}}'  # noqa: E501
    assert decoded(f"{PLUS_1PM}/events/rpc", event) == []
    system = b'{"method":"NotifyStatus","params":{"ts":1772366340,"sys":{"uptime":99}}}'
    assert decoded(f"{PLUS_1PM}/events/rpc", system) == []


def test_online_true_and_false_are_presence_of_the_device() -> None:
    assert decoded(f"{PLUS_1PM}/online", b"true") == [
        Presence(device=PLUS_1PM, online=True, ts=RECEIVED)
    ]
    assert decoded(f"{PLUS_1PM}/online", b"false") == [
        Presence(device=PLUS_1PM, online=False, ts=RECEIVED)
    ]


def test_custom_prefix_with_slashes_is_part_of_the_device_id() -> None:
    got = readings("site-a/plant/pump1/status/switch:0", b'{"id":0,"output":true}')
    assert ("site-a/plant/pump1/switch:0", "state") in got


@pytest.mark.parametrize(
    ("topic", "payload"),
    [
        (f"{PLUS_1PM}/status/sys", b'{"mac":"A8032AB12345","uptime":5}'),
        (f"{PLUS_1PM}/status/wifi", b'{"sta_ip":"10.0.0.5","rssi":-60}'),
        (f"{PLUS_1PM}/rpc", b'{"id":1,"method":"Switch.Set","params":{"id":0,"on":true}}'),
        (f"{PLUS_1PM}/debug/log", b"shelly_notification:163 Status change"),
    ],
)
def test_components_and_topics_we_do_not_measure_are_ignored(topic: str, payload: bytes) -> None:
    assert decoded(topic, payload) == []


def test_auto_detection_picks_shelly_for_its_topic_shapes() -> None:
    assert detect_format(f"{PLUS_1PM}/status/switch:0") == "shelly"
    assert detect_format("any/prefix/events/rpc") == "shelly"
    assert detect_format(f"{PLUS_1PM}/online") == "shelly"
    items = decode(f"{PLUS_1PM}/status/switch:0", SWITCH_STATUS, received=RECEIVED)
    assert len(items) == 9


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        (f"{PLUS_1PM}/status/switch:0", b'{"output":', "malformed_json"),
        (f"{PLUS_1PM}/status/switch:0", b"[]", "wrong_type"),
        (f"{PLUS_1PM}/status/switch:0", b'{"apower":"lots"}', "wrong_type"),
        (f"{PLUS_1PM}/status/switch:0", b'{"aenergy":{"total":[1]}}', "wrong_type"),
        (f"{PLUS_1PM}/status/switch:0", b'{"apower":NaN}', "not_finite"),
        (f"{PLUS_1PM}/status/switch:0", b'{"apower":-Infinity}', "not_finite"),
        (f"{PLUS_1PM}/status/switch:0", b"\x80\x81", "not_utf8"),
        (f"{PLUS_1PM}/status/switch:0", b"", "malformed_json"),
        (f"{PLUS_1PM}/status/switch:0", b'{"a":' * 2000 + b"1" + b"}" * 2000, "malformed_json"),
        (f"{PLUS_1PM}/events/rpc", b'{"method":5}', "wrong_type"),
        (f"{PLUS_1PM}/events/rpc", b'"NotifyStatus"', "wrong_type"),
        (f"{PLUS_1PM}/events/rpc", b'{"method":"NotifyStatus","params":[]}', "wrong_type"),
        (
            f"{PLUS_1PM}/events/rpc",
            b'{"method":"NotifyStatus","params":{"ts":"soon","switch:0":{"apower":1}}}',
            "bad_timestamp",
        ),
        (f"{PLUS_1PM}/online", b"yes", "wrong_type"),
        (f"{PLUS_1PM}/online", b"", "wrong_type"),
        (f"{PLUS_1PM}/status/Switch 0", b"{}", "bad_topic"),
        ("shelly#x/status/switch:0", b"{}", "bad_topic"),
    ],
)
def test_hostile_shelly_message_is_rejected_with_its_reason(
    topic: str, payload: bytes, reason: str
) -> None:
    assert rejected(topic, payload) == reason


def test_shelly_payload_over_the_size_limit_is_rejected_as_oversized() -> None:
    assert rejected(f"{PLUS_1PM}/status/switch:0", SWITCH_STATUS, max_bytes=100) == "oversized"


def test_deeply_nested_component_fields_are_ignored() -> None:
    nested = b'{"a":' * 300 + b"1" + b"}" * 300
    assert decoded(f"{PLUS_1PM}/status/switch:0", b'{"id":0,"aenergy":' + nested + b"}") == []


@pytest.mark.parametrize("prefix", ["shellies/plus1pm", "building-a/plant/relay-7"])
def test_online_of_a_custom_prefix_is_presence_like_its_status_topics(prefix: str) -> None:
    assert detect_format(f"{prefix}/online") == "shelly"
    assert detect_format(f"{prefix}/status/switch:0") == "shelly"
    assert decode(f"{prefix}/online", b"true", received=RECEIVED) == [
        Presence(device=prefix, online=True, ts=RECEIVED)
    ]
    assert decode(f"{prefix}/online", b"false", received=RECEIVED) == [
        Presence(device=prefix, online=False, ts=RECEIVED)
    ]


def test_online_topics_of_the_other_formats_keep_their_own_codec() -> None:
    assert detect_format("zigbee2mqtt/bridge/state") == "zigbee2mqtt"
    assert detect_format("tele/boiler/LWT") == "tasmota"
    assert detect_format("facility/site/room-1/online") == "native"
    assert detect_format("online") is None
