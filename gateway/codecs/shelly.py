"""Shelly Gen2/Gen3/Gen4 devices speaking the RPC protocol over MQTT.

Topics (``<prefix>`` is the device's MQTT topic prefix, by default its id such as
``shellyplus1pm-a8032ab12345``; it may contain ``/``):

* ``<prefix>/status/<component>:<id>`` — the whole status of one component, published when
  "generic status update over MQTT" (``status_ntf``) is on, e.g. on ``.../status/switch:0``::

      {"id": 0, "source": "WS_in", "output": true, "apower": 12.3, "voltage": 230.1,
       "current": 0.061, "aenergy": {"total": 1523.4, "by_minute": [...], "minute_ts": ...},
       "temperature": {"tC": 41.2, "tF": 106.2}}

* ``<prefix>/events/rpc`` — RPC notifications (``rpc_ntf``): ``{"src": ..., "dst": ...,
  "method": "NotifyStatus" | "NotifyFullStatus", "params": {"ts": 1700000000.12,
  "switch:0": {...}, "temperature:100": {...}}}``. ``params.ts`` (Unix seconds, UTC) is the
  reading time. ``NotifyStatus`` carries only what changed; that is fine, each field is a
  reading of its own. ``NotifyEvent`` (button pushes) and other methods → ``[]``.
* ``<prefix>/online`` — ``true``/``false`` (the last will) → :class:`~facility.core.types.Presence`.
* Anything else (``<prefix>/rpc`` requests and responses, ``<prefix>/debug/log``) → ``[]``;
  so are components we do not measure (``sys``, ``wifi``, ``cloud``, ``mqtt``, ``ble``...).

Auto-detection claims ``.../events/rpc``, ``<prefix>/status/<component>`` and
``<prefix>/online`` for any prefix, as the status topics already were: a custom prefix
(``shellies/plus1pm``) is common, and its last will must not be ``unknown_format`` while its
``status/switch:0`` decodes. No other codec claims a topic ending in ``/online`` (Tasmota's is
``LWT``, ESPHome's ``status``, Zigbee2MQTT's ``availability``, and native/Zigbee2MQTT/Tasmota
are asked first anyway), so a non-Shelly ``x/online`` saying ``true``/``false`` is read with
the same meaning, and any other payload there is rejected as ``wrong_type``.

Device ids (decision, as in design.md): every component instance is a channel of the device,
``<prefix>/<component>:<id>`` (``shellypro4pm-x/switch:3``), also on single-channel devices so
that a second channel never renames the first. Then:

* ``em:<id>`` (three-phase meter): totals on ``<prefix>/em:0``, each phase on
  ``<prefix>/em:0/a`` (``b``, ``c``), the neutral current on ``<prefix>/em:0/n``.
* ``emdata:<id>`` / ``em1data:<id>`` energy counters go to the meter they count for
  (``<prefix>/em:<id>[/<phase>]``, ``<prefix>/em1:<id>``), so power and energy share an id.

Fields and units (Shelly sends W, V, A, Hz, °C and Wh):

* ``switch``/``light``: ``output`` → ``state``; ``switch``/``cover``/``light``/``pm1``:
  ``apower`` → ``power``, ``voltage``, ``current``, ``freq`` → ``frequency``, ``pf`` →
  ``power_factor``, ``aenergy.total`` (Wh) → ``energy`` in kWh, ``ret_aenergy.total`` (Wh) →
  ``energy_returned`` in kWh, ``temperature.tC`` → ``device_temperature`` (the relay's own
  temperature, kept apart from room temperature); ``cover.current_pos`` → ``position`` (%),
  ``light.brightness`` → ``brightness`` (%).
* ``em1``: ``act_power`` → ``power``, ``aprt_power`` → ``power_apparent`` (VA), ``voltage``,
  ``current``, ``pf``, ``freq``. ``em``: the same per phase (``a_act_power``...),
  ``total_act_power``/``total_current``/``total_aprt_power`` on the meter.
* ``emdata``: ``total_act``/``<p>_total_act_energy`` → ``energy``, ``total_act_ret``/
  ``<p>_total_act_ret_energy`` → ``energy_returned``; ``em1data``: ``total_act_energy``,
  ``total_act_ret_energy``; all Wh → kWh.
* ``temperature``: ``tC`` (or ``tF`` converted) → ``temperature``; ``humidity``: ``rh``;
  ``illuminance``: ``lux``; ``voltmeter``: ``voltage``; ``input``: ``state`` → ``state``;
  ``devicepower``: ``battery.percent`` → ``battery``, ``battery.V`` → ``voltage``.
* ``null`` values (Shelly's "not measured") are skipped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from facility.core.errors import PayloadRejected
from gateway.codecs._common import DEFAULT_MAX_PAYLOAD, Decoded, parse_json, text_of
from gateway.codecs._vendor import (
    collect,
    device_id,
    presence_from_word,
    received_at,
    scaled,
    timestamp,
)
from gateway.normalize import RawValue

__all__ = ["decode", "matches"]

_COMPONENT_RE = re.compile(r"^([a-z][a-z0-9_]{0,31})(?::(\d{1,5}))?$")
_STATUS_METHODS = {"NotifyStatus", "NotifyFullStatus"}
_PHASES = ("a", "b", "c")

Field = tuple[str, str | None]  # (our metric, the unit Shelly sends)
Groups = dict[str, list[RawValue]]

_METERING: dict[str, Field] = {
    "apower": ("power", "W"),
    "voltage": ("voltage", "V"),
    "current": ("current", "A"),
    "freq": ("frequency", "Hz"),
    "pf": ("power_factor", None),
}
_EM_FIELDS: dict[str, Field] = {
    "act_power": ("power", "W"),
    "aprt_power": ("power_apparent", "VA"),
    "voltage": ("voltage", "V"),
    "current": ("current", "A"),
    "pf": ("power_factor", None),
    "freq": ("frequency", "Hz"),
}
_FLAT: dict[str, dict[str, Field]] = {
    "switch": {"output": ("state", None), **_METERING},
    "light": {"output": ("state", None), "brightness": ("brightness", "%"), **_METERING},
    "cover": {"current_pos": ("position", "%"), **_METERING},
    "pm1": dict(_METERING),
    "em1": _EM_FIELDS,
    "input": {"state": ("state", None)},
    "temperature": {"tC": ("temperature", "degC")},
    "humidity": {"rh": ("humidity", "%")},
    "illuminance": {"lux": ("illuminance", "lx")},
    "voltmeter": {"voltage": ("voltage", "V")},
}
_WITH_COUNTERS = {"switch", "light", "cover", "pm1"}


def matches(topic: str) -> bool:
    parts = topic.split("/")
    if len(parts) >= 3 and parts[-2:] == ["events", "rpc"]:
        return True
    if len(parts) >= 3 and parts[-2] == "status" and _COMPONENT_RE.match(parts[-1]):
        return True
    return len(parts) >= 2 and parts[-1] == "online" and all(parts)


def decode(
    topic: str,
    payload: bytes,
    *,
    received: datetime | None = None,
    max_bytes: int = DEFAULT_MAX_PAYLOAD,
) -> Decoded:
    """Decode one Shelly message into readings or a presence change."""
    received = received_at(received)
    parts = topic.split("/")
    if len(parts) < 2 or not all(parts):
        raise PayloadRejected(topic, "bad_topic", "expected <prefix>/status/<component>:<id>")
    if parts[-1] == "online":
        prefix = device_id(topic, *parts[:-1])
        return presence_from_word(
            topic, prefix, text_of(topic, payload, max_bytes=max_bytes), received
        )
    if len(parts) >= 3 and parts[-2:] == ["events", "rpc"]:
        prefix = device_id(topic, *parts[:-2])
        return _notification(topic, prefix, payload, received, max_bytes)
    if len(parts) >= 3 and parts[-2] == "status":
        prefix = device_id(topic, *parts[:-2])
        if _COMPONENT_RE.match(parts[-1]) is None:
            raise PayloadRejected(topic, "bad_topic", f"{parts[-1][:40]!r} is not a component")
        status = parse_json(topic, payload, max_bytes=max_bytes)
        if not isinstance(status, dict):
            raise PayloadRejected(topic, "wrong_type", "expected a component status object")
        groups: Groups = {}
        _component(topic, prefix, parts[-1], status, groups)
        return list(collect(topic, groups.items(), received))
    return []


def _notification(
    topic: str, prefix: str, payload: bytes, received: datetime, max_bytes: int
) -> Decoded:
    body = parse_json(topic, payload, max_bytes=max_bytes)
    if not isinstance(body, dict):
        raise PayloadRejected(topic, "wrong_type", "expected a JSON-RPC notification object")
    method = body.get("method")
    if not isinstance(method, str):
        raise PayloadRejected(topic, "wrong_type", "notification without a method name")
    if method not in _STATUS_METHODS:
        return []
    params = body.get("params")
    if not isinstance(params, dict):
        raise PayloadRejected(topic, "wrong_type", f"{method} without a params object")
    ts = timestamp(topic, params.get("ts"), received)
    groups: Groups = {}
    for key, status in params.items():
        if key != "ts" and isinstance(status, dict) and _COMPONENT_RE.match(key):
            _component(topic, prefix, key, status, groups)
    return list(collect(topic, groups.items(), ts))


def _component(topic: str, prefix: str, key: str, status: dict[str, Any], groups: Groups) -> None:
    """Add the fields of component ``key`` (``switch:0``) to ``groups`` by device id."""
    kind = key.partition(":")[0]
    if kind in ("emdata", "em1data"):
        meter = device_id(topic, prefix, key.replace("data", "", 1))
        _energy_counters(kind, meter, status, groups)
        return
    device = device_id(topic, prefix, key)
    if kind == "em":
        _three_phase(device, status, groups)
    elif kind == "devicepower":
        battery = status.get("battery")
        if isinstance(battery, dict):
            fields: dict[str, Field] = {"percent": ("battery", "%"), "V": ("voltage", "V")}
            _add(groups, device, _fields(battery, fields))
    elif kind in _FLAT:
        _add(groups, device, _fields(status, _FLAT[kind]))
        if kind == "temperature" and status.get("tC") is None and status.get("tF") is not None:
            _add(groups, device, [RawValue("temperature", status["tF"], "degF")])
        if kind in _WITH_COUNTERS:
            _add(groups, device, _counters(status))


def _fields(status: dict[str, Any], table: Mapping[str, Field]) -> list[RawValue]:
    return [
        RawValue(name, status[key], unit)
        for key, (name, unit) in table.items()
        if status.get(key) is not None
    ]


def _counters(status: dict[str, Any]) -> list[RawValue]:
    fields: list[RawValue] = []
    energy = status.get("aenergy")
    if isinstance(energy, dict) and energy.get("total") is not None:
        fields.append(RawValue("energy", energy["total"], "Wh"))
    returned = status.get("ret_aenergy")
    if isinstance(returned, dict) and returned.get("total") is not None:
        fields.append(scaled("energy_returned", returned["total"], "Wh", like="energy"))
    temperature = status.get("temperature")
    if isinstance(temperature, dict) and temperature.get("tC") is not None:
        fields.append(RawValue("device_temperature", temperature["tC"], "degC"))
    return fields


def _three_phase(device: str, status: dict[str, Any], groups: Groups) -> None:
    totals: dict[str, Field] = {
        "total_act_power": ("power", "W"),
        "total_aprt_power": ("power_apparent", "VA"),
        "total_current": ("current", "A"),
    }
    _add(groups, device, _fields(status, totals))
    for phase in _PHASES:
        table = {f"{phase}_{key}": field for key, field in _EM_FIELDS.items()}
        _add(groups, f"{device}/{phase}", _fields(status, table))
    _add(groups, f"{device}/n", _fields(status, {"n_current": ("current", "A")}))


def _energy_counters(kind: str, meter: str, status: dict[str, Any], groups: Groups) -> None:
    if kind == "em1data":
        names = {"total_act_energy": "energy", "total_act_ret_energy": "energy_returned"}
        _add(groups, meter, _wh(status, names))
        return
    _add(groups, meter, _wh(status, {"total_act": "energy", "total_act_ret": "energy_returned"}))
    for phase in _PHASES:
        names = {
            f"{phase}_total_act_energy": "energy",
            f"{phase}_total_act_ret_energy": "energy_returned",
        }
        _add(groups, f"{meter}/{phase}", _wh(status, names))


def _wh(status: dict[str, Any], names: dict[str, str]) -> list[RawValue]:
    return [
        scaled(name, status[key], "Wh", like="energy")
        for key, name in names.items()
        if status.get(key) is not None
    ]


def _add(groups: Groups, device: str, fields: list[RawValue]) -> None:
    if fields:
        groups.setdefault(device, []).extend(fields)
