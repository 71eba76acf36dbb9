"""Encoders: a device's values as our native JSON or as a vendor's firmware would publish them.

The same scenario can thus exercise every gateway codec. Each encoder returns the messages a
real device of that kind sends (topic and exact payload) together with the readings the gateway
is expected to decode from them, named the way that vendor's codec names devices (a Tasmota
sensor block is a channel ``<topic>/<block>``, a Shelly component ``<prefix>/switch:0``, an
ESPHome ``supply_temperature`` entity the channel ``<node>/supply``). The round-trip tests
compare the two.

A vendor format only carries what such a device measures: metrics a Shelly relay or a Tasmota
plug has no field for (a pump's vibration) go out in the native format on the same device, as a
second sensor on a real site would. Booleans follow each vendor: ``ON``/``OFF``, ``true``/
``false``, ESPHome's door ``ON`` = open.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import orjson

from facility.core.types import Reading

__all__ = ["ENCODERS", "SimulatedMessage", "availability", "encode"]

_BOOLEAN = frozenset({"state", "contact", "water_leak", "occupancy"})


@dataclass(frozen=True, slots=True)
class SimulatedMessage:
    """One MQTT message and the readings the gateway should decode from it."""

    topic: str
    payload: bytes
    readings: list[Reading]
    device: str = ""
    #: the simulated time of the message (a replay decodes with it as the receive time)
    ts: datetime | None = None


def _readings(device: str, values: dict[str, float], ts: datetime) -> list[Reading]:
    return [Reading(device=device, metric=m, value=v, unit="", ts=ts) for m, v in values.items()]


def native(
    site: str, device: str, values: dict[str, float], ts: datetime
) -> list[SimulatedMessage]:
    """``facility/<site>/<device>``: every metric in one JSON object with the simulated time."""
    if not values:
        return []
    body: dict[str, object] = {**values, "ts": ts.isoformat()}
    return [
        SimulatedMessage(
            f"facility/{site}/{device}",
            orjson.dumps(body),
            _readings(device, values, ts),
            device,
            ts,
        )
    ]


def zigbee2mqtt(
    site: str, device: str, values: dict[str, float], ts: datetime
) -> list[SimulatedMessage]:
    """``zigbee2mqtt/<friendly name>``: one state object; pressure in hPa, ``last_seen`` time."""
    body: dict[str, object] = {}
    for metric, value in values.items():
        if metric == "state":
            body[metric] = "ON" if value else "OFF"
        elif metric in _BOOLEAN:
            body[metric] = bool(value)
        elif metric == "pressure":
            body[metric] = value / 100.0
        else:
            body[metric] = value
    body["linkquality"] = 120
    body["last_seen"] = ts.isoformat()
    readings = _readings(device, {**values, "linkquality": 120.0}, ts)
    return [SimulatedMessage(f"zigbee2mqtt/{device}", orjson.dumps(body), readings, device, ts)]


_ENERGY_FIELDS = {
    "energy": "Total",
    "power": "Power",
    "voltage": "Voltage",
    "current": "Current",
    "power_factor": "Factor",
}
_TASMOTA_SENSOR_FIELDS = {
    "temperature": "Temperature",
    "humidity": "Humidity",
    "co2": "CarbonDioxide",
    "pressure": "Pressure",
}


def tasmota(
    site: str, device: str, values: dict[str, float], ts: datetime
) -> list[SimulatedMessage]:
    """``tele/<topic>/SENSOR`` (ENERGY block + one sensor block) and ``tele/<topic>/STATE``.

    ``Time`` carries its UTC offset (Tasmota ``SetOption52 1``) so the codec may trust it.
    """
    time = ts.isoformat()
    out: list[SimulatedMessage] = []
    energy = {m: v for m, v in values.items() if m in _ENERGY_FIELDS}
    sensor = {m: v for m, v in values.items() if m not in _ENERGY_FIELDS and m != "state"}
    block = "SIM" if not ({"temperature", "humidity"} & sensor.keys()) else "BME280"
    if energy or sensor:
        body: dict[str, object] = {"Time": time}
        if energy:
            body["ENERGY"] = {_ENERGY_FIELDS[m]: v for m, v in energy.items()}
        if sensor:
            body[block] = {
                _TASMOTA_SENSOR_FIELDS.get(m, m): _tasmota_value(m, v) for m, v in sensor.items()
            }
            body["TempUnit"] = "C"
            body["PressureUnit"] = "hPa"
        readings = _readings(device, energy, ts) + _readings(f"{device}/{block}", sensor, ts)
        out.append(
            SimulatedMessage(f"tele/{device}/SENSOR", orjson.dumps(body), readings, device, ts)
        )
    if "state" in values:
        body = {"Time": time, "POWER": "ON" if values["state"] else "OFF"}
        readings = _readings(device, {"state": values["state"]}, ts)
        out.append(
            SimulatedMessage(f"tele/{device}/STATE", orjson.dumps(body), readings, device, ts)
        )
    return out


def _tasmota_value(metric: str, value: float) -> float:
    return value / 100.0 if metric == "pressure" else value


def shelly(
    site: str, device: str, values: dict[str, float], ts: datetime
) -> list[SimulatedMessage]:
    """``shelly-<device>/events/rpc`` ``NotifyStatus``: a ``switch:0`` meter/relay, sensors.

    Energy is sent in Wh (``aenergy.total``), as Shelly does.
    """
    prefix = f"shelly-{device}"
    params: dict[str, object] = {"ts": round(ts.timestamp(), 3)}
    readings: list[Reading] = []
    switch: dict[str, object] = {}
    switch_values: dict[str, float] = {}
    rest: dict[str, float] = {}
    for metric, value in values.items():
        if metric == "state":
            switch["output"] = bool(value)
        elif metric == "power":
            switch["apower"] = value
        elif metric in ("voltage", "current"):
            switch[metric] = value
        elif metric == "power_factor":
            switch["pf"] = value
        elif metric == "energy":
            switch["aenergy"] = {"total": round(value * 1000.0, 1)}
        elif metric == "temperature":
            params["temperature:0"] = {"id": 0, "tC": value}
            readings += _readings(f"{prefix}/temperature:0", {metric: value}, ts)
            continue
        elif metric == "humidity":
            params["humidity:0"] = {"id": 0, "rh": value}
            readings += _readings(f"{prefix}/humidity:0", {metric: value}, ts)
            continue
        else:
            rest[metric] = value
            continue
        switch_values[metric] = round(value * 1000.0, 1) / 1000.0 if metric == "energy" else value
    if switch:
        params["switch:0"] = {"id": 0, **switch}
        readings += _readings(f"{prefix}/switch:0", switch_values, ts)
    out: list[SimulatedMessage] = []
    if len(params) > 1:
        body = {
            "src": prefix,
            "dst": f"{prefix}/events",
            "method": "NotifyStatus",
            "params": params,
        }
        out.append(
            SimulatedMessage(f"{prefix}/events/rpc", orjson.dumps(body), readings, device, ts)
        )
    return out + native(site, device, rest, ts)


_ESPHOME_SENSORS = frozenset(
    {"temperature", "humidity", "co2", "power", "energy", "voltage", "current", "battery"}
)
_ESPHOME_BINARY = {"contact": "door", "water_leak": "leak", "occupancy": "motion"}


def esphome(
    site: str, device: str, values: dict[str, float], ts: datetime
) -> list[SimulatedMessage]:
    """``<node>/sensor/<entity>/state`` per value; no timestamp (the gateway uses receive time).

    Entities named ``<where>_temperature`` become the channel ``<node>/<where>``; binary sensors
    are ``door`` (ON = open, inverted to our contact), ``leak``, ``motion``; the running state
    is a ``relay`` switch. Metrics ESPHome has no platform for go out natively.
    """
    out: list[SimulatedMessage] = []
    rest: dict[str, float] = {}
    for metric, value in values.items():
        decoded_as = metric
        if metric in _ESPHOME_SENSORS:
            topic, text, where = f"{device}/sensor/{metric}/state", _number(value), device
        elif metric.endswith("_temperature"):
            channel = metric.removesuffix("_temperature")
            topic, text = f"{device}/sensor/{metric}/state", _number(value)
            where, decoded_as = f"{device}/{channel}", "temperature"
        elif metric in _ESPHOME_BINARY:
            entity = _ESPHOME_BINARY[metric]
            on = not value if metric == "contact" else bool(value)
            topic, text = f"{device}/binary_sensor/{entity}/state", "ON" if on else "OFF"
            where = f"{device}/{entity}"
        elif metric == "state":
            topic, text, where = (
                f"{device}/switch/relay/state",
                "ON" if value else "OFF",
                f"{device}/relay",
            )
        else:
            rest[metric] = value
            continue
        readings = _readings(where, {decoded_as: value}, ts)
        out.append(SimulatedMessage(topic, text.encode(), readings, device, ts))
    return out + native(site, device, rest, ts)


def _number(value: float) -> str:
    return repr(float(value))


Encoder = Callable[[str, str, dict[str, float], datetime], list[SimulatedMessage]]

ENCODERS: dict[str, Encoder] = {
    "native": native,
    "zigbee2mqtt": zigbee2mqtt,
    "tasmota": tasmota,
    "shelly": shelly,
    "esphome": esphome,
}


def encode(
    fmt: str, site: str, device: str, values: dict[str, float], ts: datetime
) -> list[SimulatedMessage]:
    """The messages ``device`` publishes in format ``fmt`` for one set of values."""
    try:
        encoder = ENCODERS[fmt]
    except KeyError:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(ENCODERS)}") from None
    return encoder(site, device, values, ts)


def availability(fmt: str, site: str, device: str, *, online: bool) -> tuple[str, bytes]:
    """The device's availability (birth / last-will) topic and payload in format ``fmt``."""
    if fmt == "zigbee2mqtt":
        return (
            f"zigbee2mqtt/{device}/availability",
            b'{"state":"online"}' if online else b'{"state":"offline"}',
        )
    if fmt == "tasmota":
        return f"tele/{device}/LWT", b"Online" if online else b"Offline"
    if fmt == "shelly":
        return f"shelly-{device}/online", b"true" if online else b"false"
    if fmt == "esphome":
        return f"{device}/status", b"online" if online else b"offline"
    return f"facility/{site}/{device}/availability", b"online" if online else b"offline"
