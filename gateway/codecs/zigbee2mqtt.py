"""Zigbee2MQTT: device state as JSON on ``<base>/<friendly_name>``.

Topics (``<base>`` is the first topic level, ``zigbee2mqtt`` by default):

* ``<base>/<friendly_name>`` — the device's state, a JSON object such as
  ``{"temperature": 21.4, "humidity": 48.1, "pressure": 1012.6, "battery": 91,
  "voltage": 2985, "linkquality": 120}``. Friendly names may contain ``/``
  (``kitchen/floor_light``), so the device id is everything between the base topic and the end
  (or ``/availability``). The base topic is not part of the device id.
* ``<base>/<friendly_name>/availability`` — ``online``/``offline``, either as plain text (the
  legacy payload) or as ``{"state": "online"}`` (the default since Zigbee2MQTT 1.23) →
  :class:`~facility.core.types.Presence`.
* ``<base>/bridge/...`` (bridge state, logs, requests), ``.../set``, ``.../get``,
  ``.../set/<attr>`` and ``.../get/<attr>`` (commands) and the legacy event topics
  ``.../action`` and ``.../click`` are ignored: ``[]``.

Auto-detection claims topics whose first level starts with ``zigbee2mqtt`` (also covers
``zigbee2mqtt_floor2``-style bases of several instances); a different base topic needs a
prefix override. Multi-level base topics are not supported: the extra levels would become part
of the friendly name.

Fields, with the units Zigbee2MQTT publishes:

* ``temperature`` (°C), ``humidity`` (%), ``co2`` (ppm), ``battery`` (%), ``power`` (W),
  ``energy`` (kWh), ``current`` (A), ``power_factor`` are already canonical;
  ``ac_frequency`` (Hz) becomes ``frequency``; ``pressure`` is hPa and stored in Pa.
* ``voltage`` is ambiguous: Zigbee2MQTT publishes the *battery* voltage of battery devices in
  mV (``"voltage": 3045``) and the *mains* voltage of metering plugs in V (``230.1``) under the
  same key. A value above 500 is taken as mV: no battery cell reads 0.5 V or less while alive,
  and no Zigbee meter sees more than 480 V.
* ``illuminance``: since Zigbee2MQTT 2.0 it is lux. Older versions sent a raw value as
  ``illuminance`` *and* lux as ``illuminance_lux``; when ``illuminance_lux`` is present it wins
  and the raw ``illuminance`` is dropped.
* ``state`` ``ON``/``OFF`` → ``state``; enum states of covers and locks (``OPEN``, ``STOP``,
  ``LOCK``) are not on/off and are dropped. Per-endpoint states (``state_l1``,
  ``state_left``) become ``state`` of channel ``<friendly_name>/<endpoint>``.
* ``contact`` (``true`` = closed, our convention too), ``water_leak``, ``occupancy`` → bool.
* Any other number or boolean (``linkquality``, ``device_temperature``, ``tamper``,
  ``battery_low``, ``soil_moisture``...) passes through under its own name.
* Objects, arrays, ``null`` and text that is not a number or on/off (``update``, ``color``,
  ``action``, ``color_mode``) are dropped, not rejected: a button press
  ``{"action": "single", "linkquality": 80}`` yields only ``linkquality``, and
  ``{"action": "single"}`` alone yields ``[]``.

Timestamp: ``last_seen`` (ISO 8601 or epoch ms, when the Zigbee2MQTT ``last_seen`` option is
on) is the reading time; without it the receive time is used. A retained state replayed after a
reconnect thus keeps its original time.
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
    timestamp,
)
from gateway.normalize import (
    CANONICAL_UNITS,
    RawValue,
    Rejection,
    canonical_metric,
    parse_bool,
)

__all__ = ["BASE_TOPIC", "decode", "matches"]

BASE_TOPIC = "zigbee2mqtt"
_COMMAND_SEGMENTS = {"set", "get"}
_EVENT_SEGMENTS = {"action", "click"}
_RESERVED_KEYS = {"last_seen", "elapsed"}
_ENDPOINT_STATE = re.compile(r"^state_(l\d{1,2}|left|right|center|top|bottom)$")
_MV_THRESHOLD = 500.0
# Zigbee2MQTT names that differ from ours, with the unit Zigbee2MQTT publishes them in.
_FIELDS: dict[str, tuple[str, str | None]] = {
    "pressure": ("pressure", "hPa"),
    "ac_frequency": ("frequency", "Hz"),
    "illuminance_lux": ("illuminance", "lx"),
    "linkquality": ("linkquality", "lqi"),
    "device_temperature": ("device_temperature", "degC"),
}


def matches(topic: str) -> bool:
    first, sep, rest = topic.partition("/")
    return first.startswith(BASE_TOPIC) and bool(sep) and bool(rest)


def decode(
    topic: str,
    payload: bytes,
    *,
    received: datetime | None = None,
    max_bytes: int = DEFAULT_MAX_PAYLOAD,
) -> Decoded:
    """Decode one Zigbee2MQTT message into readings or a presence change."""
    received = received_at(received)
    parts = topic.split("/")[1:]
    if not parts or not all(parts):
        raise PayloadRejected(topic, "bad_topic", "expected <base>/<friendly_name>[/availability]")
    if parts[0] == "bridge":
        return []
    if parts[-1] in _COMMAND_SEGMENTS or (len(parts) > 1 and parts[-2] in _COMMAND_SEGMENTS):
        return []
    if len(parts) > 1 and parts[-1] in _EVENT_SEGMENTS:
        return []
    if len(parts) > 1 and parts[-1] == "availability":
        device = device_id(topic, *parts[:-1])
        return presence_from_word(topic, device, _availability(topic, payload, max_bytes), received)

    device = device_id(topic, *parts)
    body = parse_json(topic, payload, max_bytes=max_bytes)
    if not isinstance(body, dict):
        raise PayloadRejected(topic, "wrong_type", "expected a JSON object of device state")
    ts = timestamp(topic, body.get("last_seen"), received)
    own: list[RawValue] = []
    channels: dict[str, list[RawValue]] = {}
    for key, value in body.items():
        if key in _RESERVED_KEYS or (key == "illuminance" and "illuminance_lux" in body):
            continue
        endpoint = _ENDPOINT_STATE.match(key)
        if endpoint:
            if parse_bool(value) is not None:
                channel = device_id(topic, *parts, endpoint.group(1))
                channels.setdefault(channel, []).append(RawValue("state", value))
            continue
        field = _field(key, value)
        if field is not None:
            own.append(field)
    return list(collect(topic, [(device, own), *channels.items()], ts))


def _availability(topic: str, payload: bytes, max_bytes: int) -> str:
    text = text_of(topic, payload, max_bytes=max_bytes).strip()
    if not text.startswith("{"):
        return text
    body = parse_json(topic, payload, max_bytes=max_bytes)
    state = body.get("state") if isinstance(body, dict) else None
    if not isinstance(state, str):
        raise PayloadRejected(topic, "wrong_type", 'expected {"state": "online"|"offline"}')
    return state


def _field(key: str, value: Any) -> RawValue | None:
    """The raw field for ``key``, or ``None`` when it is not a measurement (dropped)."""
    if key in _FIELDS:
        name, unit = _FIELDS[key]
        return RawValue(name, value, unit)
    if key == "voltage":
        unit = "mV" if is_number(value) and value > _MV_THRESHOLD else "V"
        return RawValue("voltage", value, unit)
    if key == "state":
        return RawValue("state", value) if parse_bool(value) is not None else None
    try:
        canonical = canonical_metric(key) in CANONICAL_UNITS
    except Rejection:
        canonical = False
    if canonical:
        return RawValue(key, value)  # a known metric with a bad value is reported, not hidden
    if isinstance(value, bool) or is_number(value):
        return RawValue(key, value)
    if isinstance(value, str) and (parse_bool(value) is not None or _numeric_text(value)):
        return RawValue(key, value)
    return None


def _numeric_text(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
