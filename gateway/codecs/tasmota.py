"""Tasmota: telemetry on ``tele/<topic>/...`` and command results on ``stat/<topic>/...``.

Topics (Tasmota's default FullTopic ``%prefix%/%topic%/``; ``<t>`` is the device's Topic):

* ``tele/<t>/SENSOR`` — periodic telemetry, a JSON object with ``Time``, an ``ENERGY`` block
  on metering devices and one block per attached sensor::

      {"Time": "2026-03-01T10:00:00", "ENERGY": {"Total": 3.705, "Power": 5, ...},
       "DS18B20-1": {"Id": "01144BF6F2AA", "Temperature": 21.3},
       "BME280": {"Temperature": 20.1, "Humidity": 40.2, "Pressure": 1013.2},
       "TempUnit": "C", "PressureUnit": "hPa"}

* ``tele/<t>/STATE`` — periodic state: ``POWER`` (one relay) or ``POWER1``, ``POWER2``...
* ``tele/<t>/LWT`` — ``Online``/``Offline`` (the last will) →
  :class:`~facility.core.types.Presence`.
* ``stat/<t>/POWER``, ``stat/<t>/POWER<n>`` — ``ON``/``OFF`` after a relay changed, or the
  same as JSON, ``{"POWER": "OFF"}`` (Tasmota sends command results there with
  ``SetOption4 1``); a JSON object without that key is ``wrong_type``.
* ``stat/<t>/RESULT`` — command results; only ``POWER<n>`` keys are read.
* ``stat/<t>/STATUS8`` / ``STATUS10`` (``{"StatusSNS": {...}}``, a SENSOR payload) and
  ``stat/<t>/STATUS11`` (``{"StatusSTS": {...}}``, a STATE payload).
* ``cmnd/...`` (commands) and other telemetry (``INFO1``, ``UPTIME``, ``MARGINS``...) → ``[]``.

Auto-detection claims ``tele/``, ``stat/`` and ``cmnd/`` topics whose last level is upper case
(Tasmota's suffixes are), so an ESPHome node called ``stat`` is not taken. Decoding also
accepts a custom FullTopic such as ``%topic%/%prefix%/`` (``sonoff1/tele/SENSOR``) through a
prefix override: the device id is the topic without the ``tele``/``stat`` level and the suffix.

Device ids (decisions):

* Relays: ``POWER`` is the device ``<t>`` itself; ``POWER<n>`` is channel ``<t>/POWER<n>``.
* ``ENERGY``: scalar fields belong to ``<t>``. When a field is an array (one value per channel
  on multi-channel meters), value *n* (1-based) goes to ``<t>/POWER<n>``, the same id as relay
  *n*, so a metering relay's state and power live together, as a Shelly ``switch:1`` does.
* Every sensor block is a channel named by its key as Tasmota sent it: ``<t>/DS18B20``,
  ``<t>/DS18B20-1``, ``<t>/AM2301``, ``<t>/BME280``. Always, not only when two blocks clash: a
  second probe added later then never renames the first one's history, and the chip's own
  temperature never mixes with the room's. ``Switch<n>`` inputs → ``state`` of ``<t>/Switch<n>``.
* The ``ESP32`` block (the chip's internal sensor) → ``device_temperature`` of ``<t>``.

Fields and units:

* ``ENERGY``: ``Total`` (kWh) → ``energy``; ``Power`` (W) → ``power``; ``Voltage``, ``Current``,
  ``Frequency``; ``Factor`` → ``power_factor``; ``Today``/``Yesterday`` (kWh) →
  ``energy_today``/``energy_yesterday``; ``Period`` (Wh) → ``energy_period`` in kWh;
  ``ApparentPower`` (VA), ``ReactivePower`` (var) → ``power_apparent``/``power_reactive``;
  ``ExportActive`` (kWh) → ``energy_exported``; other numbers pass through in snake_case.
  Pass-through names put the quantity first (``energy_today``, not ``today_energy``) so they
  never read as the canonical counter and keep the unit they were sent in.
* Sensor blocks: ``Temperature``/``DewPoint`` are in ``TempUnit`` (``C``, ``F`` or ``K``; °F is
  converted; ``DewPoint`` → ``dew_point`` in degC), ``Pressure``/``SeaPressure`` in
  ``PressureUnit`` (default hPa) and stored in Pa, ``Humidity``, ``Illuminance``,
  ``CarbonDioxide`` → ``co2`` (a block's ``eCO2`` estimate is dropped when it also has a
  measured ``CarbonDioxide``); other numbers pass through in snake_case (``A0`` → ``a0``).
  Text (``Id``, ``Model``), objects and arrays inside a block are dropped.
* An unknown ``TempUnit``/``PressureUnit`` rejects the message with ``bad_unit``.

Time: Tasmota's ``Time`` is the device's *local* time and, by default, carries no zone. A
naive ``Time`` is therefore not trusted: the receive time is used (telemetry is sent as it is
taken, so that is accurate to network latency, whereas guessing UTC would be wrong by the
device's zone offset). A ``Time`` with an offset (Tasmota ``SetOption52 1``) is used as
given. A ``Time`` that does not parse rejects the message with ``bad_timestamp``.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from facility.core.errors import PayloadRejected
from gateway.codecs._common import DEFAULT_MAX_PAYLOAD, Decoded, parse_json, text_of
from gateway.codecs._vendor import (
    collect,
    device_id,
    is_number,
    presence_from_word,
    received_at,
    scaled,
    timestamp,
)
from gateway.normalize import (
    CANONICAL_UNITS,
    RawValue,
    Rejection,
    canonical_metric,
    parse_bool,
)

__all__ = ["PREFIXES", "decode", "matches"]

PREFIXES = ("tele", "stat", "cmnd")
_SUFFIX_RE = re.compile(r"^[A-Z][A-Z0-9_]*$")
_POWER_RE = re.compile(r"^POWER(\d{0,2})$")
_SWITCH_RE = re.compile(r"^Switch\d{1,2}$")
_TEMP_UNITS = {"C": "degC", "F": "degF", "K": "kelvin"}
_PRESSURE_UNITS = {"hPa", "mbar", "mmHg", "inHg", "kPa", "Pa", "psi"}
_RESERVED_KEYS = {"Time", "TempUnit", "PressureUnit", "SpeedUnit", "Epoch"}
_CHIP_BLOCKS = {"ESP32", "ESP8266"}
# ENERGY field → (our metric, unit Tasmota sends it in).
_ENERGY: dict[str, tuple[str, str | None]] = {
    "Total": ("energy", "kWh"),
    "Today": ("energy_today", "kWh"),
    "Yesterday": ("energy_yesterday", "kWh"),
    "Power": ("power", "W"),
    "ApparentPower": ("power_apparent", "VA"),
    "ReactivePower": ("power_reactive", "var"),
    "Factor": ("power_factor", None),
    "Voltage": ("voltage", "V"),
    "Current": ("current", "A"),
    "Frequency": ("frequency", "Hz"),
    "ExportActive": ("energy_exported", "kWh"),
}
_MAX_CHANNELS = 16

Groups = dict[str, list[RawValue]]


def matches(topic: str) -> bool:
    parts = topic.split("/")
    return len(parts) >= 3 and parts[0] in PREFIXES and bool(_SUFFIX_RE.match(parts[-1]))


def decode(
    topic: str,
    payload: bytes,
    *,
    received: datetime | None = None,
    max_bytes: int = DEFAULT_MAX_PAYLOAD,
) -> Decoded:
    """Decode one Tasmota message into readings or a presence change."""
    received = received_at(received)
    parts = topic.split("/")
    where = next((i for i, part in enumerate(parts[:-1]) if part in PREFIXES), None)
    if where is None or len(parts) < 3 or not all(parts):
        raise PayloadRejected(topic, "bad_topic", "expected tele|stat|cmnd/<topic>/<SUFFIX>")
    prefix, suffix = parts[where], parts[-1]
    device = device_id(topic, *(parts[:where] + parts[where + 1 : -1]))

    if prefix == "cmnd":
        return []
    if prefix == "tele" and suffix == "LWT":
        return presence_from_word(
            topic, device, text_of(topic, payload, max_bytes=max_bytes), received
        )
    if prefix == "stat" and (power := _POWER_RE.match(suffix)):
        text = text_of(topic, payload, max_bytes=max_bytes).strip()
        channel = _relay_device(topic, device, suffix, power)
        state: Any = text
        if text.startswith("{"):
            body = parse_json(topic, payload, max_bytes=max_bytes)
            if not isinstance(body, dict) or suffix not in body:
                raise PayloadRejected(topic, "wrong_type", f"expected {{{suffix!r}: ON|OFF}}")
            state = body[suffix]
        return list(collect(topic, [(channel, [RawValue("state", state)])], received))

    kind = {
        ("tele", "SENSOR"): "sensor",
        ("tele", "STATE"): "state",
        ("stat", "RESULT"): "state",
        ("stat", "STATUS8"): "StatusSNS",
        ("stat", "STATUS10"): "StatusSNS",
        ("stat", "STATUS11"): "StatusSTS",
    }.get((prefix, suffix))
    if kind is None:
        return []
    body = parse_json(topic, payload, max_bytes=max_bytes)
    if not isinstance(body, dict):
        raise PayloadRejected(topic, "wrong_type", "expected a JSON object")
    if kind in ("StatusSNS", "StatusSTS"):
        body = body.get(kind)
        if not isinstance(body, dict):
            raise PayloadRejected(topic, "wrong_type", f"expected {{{kind!r}: {{...}}}}")
    ts = _time(topic, body.get("Time"), received)
    if kind in ("sensor", "StatusSNS"):
        return list(collect(topic, _sensor_groups(topic, device, body).items(), ts))
    return list(collect(topic, _power_groups(topic, device, body).items(), ts))


def _time(topic: str, raw: Any, received: datetime) -> datetime:
    if raw is None:
        return received
    if isinstance(raw, str):
        try:
            parsed = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
        except ValueError:
            detail = f"Time {raw[:40]!r} is not ISO 8601"
            raise PayloadRejected(topic, "bad_timestamp", detail) from None
        if parsed.tzinfo is None:
            return received  # local time of an unknown zone: see the module docstring
    return timestamp(topic, raw, received)


def _relay_device(topic: str, device: str, key: str, power: re.Match[str]) -> str:
    return device_id(topic, device, key) if power.group(1) else device


def _power_groups(topic: str, device: str, body: dict[str, Any]) -> Groups:
    groups: Groups = {}
    for key, value in body.items():
        power = _POWER_RE.match(key)
        if power and isinstance(value, str | int | float):
            channel = _relay_device(topic, device, key, power)
            groups.setdefault(channel, []).append(RawValue("state", value))
    return groups


def _sensor_groups(topic: str, device: str, body: dict[str, Any]) -> Groups:
    temp_unit = _unit(topic, body.get("TempUnit", "C"), _TEMP_UNITS, "TempUnit")
    pressure_unit = _unit(
        topic, body.get("PressureUnit", "hPa"), {u: u for u in _PRESSURE_UNITS}, "PressureUnit"
    )
    groups: Groups = {device: []}
    for key, value in body.items():
        if key in _RESERVED_KEYS:
            continue
        if key == "ENERGY" and isinstance(value, dict):
            _energy(topic, device, value, groups)
        elif key in _CHIP_BLOCKS and isinstance(value, dict):
            if "Temperature" in value:
                chip = value["Temperature"]
                groups[device].append(
                    scaled("device_temperature", chip, temp_unit, like="temperature")
                )
        elif isinstance(value, dict) and (channel := _channel(device, key)):
            groups.setdefault(channel, []).extend(_block(value, temp_unit, pressure_unit))
        elif (
            _SWITCH_RE.match(key) and isinstance(value, str) and (channel := _channel(device, key))
        ):
            groups.setdefault(channel, []).append(RawValue("state", value))
    return groups


def _channel(device: str, key: str) -> str | None:
    """``<t>/<block key>``, or ``None`` for a key no device id can hold (the block is dropped)."""
    try:
        return device_id("", device, key)
    except PayloadRejected:
        return None


def _unit(topic: str, raw: Any, known: dict[str, str], name: str) -> str:
    if isinstance(raw, str) and raw in known:
        return known[raw]
    detail = f"{name} {str(raw)[:20]!r} is not one of {', '.join(sorted(known))}"
    raise PayloadRejected(topic, "bad_unit", detail)


def _energy(topic: str, device: str, block: dict[str, Any], groups: Groups) -> None:
    for key, value in block.items():
        if not isinstance(value, list):
            field = _energy_field(key, value)
            if field is not None:
                groups[device].append(field)
            continue
        for n, item in enumerate(value[:_MAX_CHANNELS], start=1):
            field = _energy_field(key, item)
            if field is not None:
                groups.setdefault(device_id(topic, device, f"POWER{n}"), []).append(field)


def _energy_field(key: str, value: Any) -> RawValue | None:
    if key == "Period":
        return scaled("energy_period", value, "Wh", like="energy")
    if key in _ENERGY:
        name, unit = _ENERGY[key]
        return RawValue(name, value, unit)
    return RawValue(key, value) if is_number(value) else None


def _block(block: dict[str, Any], temp_unit: str, pressure_unit: str) -> list[RawValue]:
    fields: list[RawValue] = []
    for key, value in block.items():
        if key == "eCO2" and "CarbonDioxide" in block:
            continue
        if key == "Temperature":
            fields.append(RawValue("temperature", value, temp_unit))
        elif key == "DewPoint":
            fields.append(scaled("dew_point", value, temp_unit, like="temperature"))
        elif key == "Pressure":
            fields.append(RawValue("pressure", value, pressure_unit))
        elif key == "SeaPressure":
            fields.append(scaled("sea_pressure", value, pressure_unit, like="pressure"))
        elif _is_measurement(key, value):
            fields.append(RawValue(key, value))
    return fields


def _is_measurement(key: str, value: Any) -> bool:
    """Known metrics always count (a bad value is reported); others only as numbers/on-off."""
    try:
        if canonical_metric(key) in CANONICAL_UNITS:
            return True
    except Rejection:
        return False
    if isinstance(value, bool) or is_number(value):
        return True
    return isinstance(value, str) and parse_bool(value) is not None
