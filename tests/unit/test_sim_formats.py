"""Vendor-format output of the simulators decodes back to the same readings (gateway codecs)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from facility.core.types import Presence, Reading
from gateway.codecs import decode, detect_format
from simulators.formats import availability, encode
from simulators.runner import Simulator
from simulators.scenario import FORMATS, Scenario, load_scenario

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
RECEIVED = datetime(2026, 1, 5, 9, 0, 30, tzinfo=UTC)
#: Formats whose payload carries the reading time (ESPHome's state topics do not).
TIMESTAMPED = {"native", "zigbee2mqtt", "tasmota", "shelly"}


def every_model() -> Scenario:
    return Scenario.model_validate(
        {
            "name": "zoo",
            "start": START.isoformat(),
            "interval": "60s",
            "generate": {
                "buildings": 1,
                "per_building": {
                    m: 1
                    for m in (
                        "room_sensor",
                        "co2_sensor",
                        "air_handler",
                        "chiller",
                        "boiler",
                        "pump",
                        "energy_meter",
                        "door_contact",
                        "water_leak",
                    )
                },
            },
            "faults": [
                {"device": "boiler-b01-1", "kind": "fault_code", "magnitude": 7},
                {"device": "door-b01-1", "kind": "held_open"},
                {"device": "leak-b01-1", "kind": "leak", "at": "2m"},
            ],
        }
    )


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_model_decodes_back_to_the_readings_it_simulated(fmt: str) -> None:
    simulator = Simulator(every_model(), seed=2, fmt=fmt)
    checked = 0
    for message in simulator.messages(4):
        decoded = decode(message.topic, message.payload, received=RECEIVED)
        got = sorted((r.device, r.metric, r.value, r.ts) for r in decoded if isinstance(r, Reading))
        expected = sorted((r.device, r.metric, r.value, r.ts) for r in message.readings)
        assert [g[:2] for g in got] == [e[:2] for e in expected], message.topic
        for g, e in zip(got, expected, strict=True):
            assert g[2] == pytest.approx(e[2], rel=1e-9, abs=1e-9), (message.topic, g, e)
            assert g[3] == (
                e[3] if fmt in TIMESTAMPED or message.topic.startswith("facility/") else RECEIVED
            )
        checked += len(got)
    per_sweep = sum(len(v) for v in _one_sweep_values())
    assert checked >= 4 * per_sweep  # nothing dropped (z2m adds linkquality)


def _one_sweep_values() -> list[dict[str, float]]:
    simulator = Simulator(every_model(), seed=2)
    return [{r.metric: r.value for r in m.readings} for m in simulator.messages(1)]


@pytest.mark.parametrize("fmt", ["zigbee2mqtt", "tasmota", "shelly", "esphome"])
def test_vendor_output_is_claimed_by_that_vendors_codec(fmt: str) -> None:
    simulator = Simulator(every_model(), seed=2, fmt=fmt)
    claimed = {detect_format(m.topic) for m in simulator.messages(1)}
    assert fmt in claimed
    assert claimed <= {fmt, "native"}  # what the vendor cannot carry goes out natively


def test_canonical_units_survive_the_vendor_unit_conversions() -> None:
    values = {"pressure": 150_000.0, "energy": 1523.4567, "temperature": 21.5}
    for fmt in ("zigbee2mqtt", "tasmota", "shelly", "esphome"):
        units = {}
        for message in encode(fmt, "hq", "dev-1", values, START):
            for item in decode(message.topic, message.payload, received=RECEIVED):
                assert isinstance(item, Reading)
                units[item.metric] = (item.value, item.unit)
        assert units["temperature"] == (21.5, "degC"), fmt
        assert units["energy"][0] == pytest.approx(1523.4567, abs=1e-3), fmt
        assert units["energy"][1] == "kWh", fmt
        if "pressure" in units:
            assert units["pressure"][0] == pytest.approx(150_000.0), fmt


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("online", [True, False])
def test_availability_and_last_will_decode_to_presence(fmt: str, online: bool) -> None:
    topic, payload = availability(fmt, "hq", "pump-1", online=online)
    (presence,) = decode(topic, payload, received=RECEIVED)
    assert isinstance(presence, Presence)
    assert presence.online is online
    assert presence.device.endswith("pump-1")


def test_an_offline_fault_sends_the_last_will_then_silence_then_the_birth() -> None:
    plant = load_scenario("plant")
    messages = [m for m in Simulator(plant, seed=1).messages(200) if m.device == "co2-101"]
    wills = [m for m in messages if not m.readings]
    assert [m.payload for m in wills] == [b"offline", b"online"]
    assert all(m.topic.endswith("/availability") for m in wills)
    silent = [m for m in messages if wills[0].ts < m.ts < wills[1].ts]  # type: ignore[operator]
    assert silent == []


def test_an_unknown_format_is_a_programming_error_with_the_choices() -> None:
    with pytest.raises(ValueError, match="zigbee2mqtt"):
        encode("modbus", "hq", "d", {"power": 1.0}, START)
    with pytest.raises(ValueError, match="unknown format 'modbus'"):
        Simulator(every_model(), fmt="modbus")
