"""ESPHome nodes with the ``mqtt:`` component: one topic per entity state.

Topics (``<node>`` is the MQTT ``topic_prefix``, by default the node name; it may contain ``/``):

* ``<node>/sensor/<object_id>/state`` — a bare number as text (``21.4``). ESPHome sends
  ``nan`` when a sensor could not be read: that is rejected as ``not_finite`` (as native does),
  so a failing probe shows up in the dead-letter counts instead of vanishing.
* ``<node>/binary_sensor/<object_id>/state`` — ``ON``/``OFF``.
* ``<node>/switch/<object_id>/state``, ``<node>/fan/<object_id>/state`` — ``ON``/``OFF``;
  ``<node>/light/<object_id>/state`` — ``{"state": "ON", "brightness": 255, ...}`` (only
  ``state`` is read).
* ``<node>/climate/<object_id>/current_temperature/state`` and ``.../current_humidity/state``
  — the thermostat's measured values; its modes and setpoints are not readings.
* ``<node>/status`` — ``online``/``offline`` (birth and last will) →
  :class:`~facility.core.types.Presence` of ``<node>``.
* Command topics (``.../command``), ``<node>/debug`` and other components (``text_sensor``,
  ``number``, ``select``, ``cover``, ``lock``, ``button``...) → ``[]``.

Auto-detection claims these shapes unless the first level is ``homeassistant`` (Home
Assistant's discovery and statestream topics, which look alike, belong to that codec).

Device and metric (decision): the device is ``<node>``; the metric comes from the object id
(the entity name in snake_case) by the rule in :func:`gateway.codecs._vendor.entity_metric`:

* a name that *is* a metric (``temperature``, ``humidity``, or an alias such as ``temp``,
  ``rh``) → that metric of ``<node>``;
* a name that *ends* with a metric (``supply_air_temperature``) → the metric of channel
  ``<node>/supply_air``. The words before the metric are kept in the device id because a node
  often has two of a kind (supply and return temperature), and folding both into
  ``<node>``/``temperature`` would interleave two series into one;
* a trailing unit word after the metric sets the unit: ``temperature_f``, ``energy_wh``;
* binary sensors: ``door``/``window``/``opening``/``contact`` → ``contact`` (inverted: ESPHome,
  like Home Assistant, reports them ON when open, our ``contact`` is 1 when closed),
  ``motion``/``presence`` → ``occupancy``, ``leak``/``moisture`` → ``water_leak``,
  ``running``/``state`` → ``state``; the whole name stays the channel for descriptive words
  (``front_door`` → ``<node>/front_door``);
* switches, fans and lights are relays: ``state`` of channel ``<node>/<object_id>``;
* any other name (``wifi_signal``, ``uptime``, ``apparent_power``, ``boiler_fault``) passes
  through as a metric of ``<node>`` named after the entity.

Units: the state topic carries none (it is in the discovery config), so ESPHome's platform
units are assumed: temperature °C, pressure hPa (every ESPHome barometric and differential
pressure platform reports hPa; stored in Pa), energy kWh, power W, voltage V, current A,
humidity and battery %, illuminance lx. A sensor filtered into another unit must say so in its
name (``_f``, ``_wh``, ``_kpa``) or be published in the native format with an explicit unit.
"""

from __future__ import annotations

import re
from datetime import datetime

from facility.core.errors import PayloadRejected
from gateway.codecs._common import DEFAULT_MAX_PAYLOAD, Decoded, text_of
from gateway.codecs._vendor import (
    collect,
    device_id,
    entity_metric,
    json_state,
    on_off,
    presence_from_word,
    received_at,
    reject_non_finite_word,
)
from gateway.normalize import RawValue

__all__ = ["ASSUMED_UNITS", "decode", "matches"]

COMPONENTS = (
    "sensor|binary_sensor|switch|fan|light|text_sensor|number|select|cover|lock|button|valve"
    "|text|datetime|date|time|event|update|climate|alarm_control_panel"
)
_ENTITY_RE = re.compile(
    rf"^(?P<node>.+)/(?P<component>{COMPONENTS})/(?P<object>[^/]+)/(state|command)$"
)
_CLIMATE_RE = re.compile(
    r"^(?P<node>.+)/climate/(?P<object>[^/]+)/(?P<attr>[^/]+)/(state|command)$"
)
_NODE_RE = re.compile(r"^(?P<node>.+)/(status|debug)$")
_CLIMATE_ATTRS = {"current_temperature": "temperature", "current_humidity": "humidity"}
_RELAYS = {"switch", "fan", "light"}
ASSUMED_UNITS = {"temperature": "degC", "pressure": "hPa"}


def matches(topic: str) -> bool:
    if topic.startswith("homeassistant/"):
        return False
    return any(rx.match(topic) for rx in (_ENTITY_RE, _CLIMATE_RE, _NODE_RE))


def decode(
    topic: str,
    payload: bytes,
    *,
    received: datetime | None = None,
    max_bytes: int = DEFAULT_MAX_PAYLOAD,
) -> Decoded:
    """Decode one ESPHome message into readings or a presence change."""
    received = received_at(received)
    if topic.endswith("/command") or topic.endswith("/debug"):
        return []
    if node := _NODE_RE.match(topic):
        device = _device(topic, node.group("node"))
        return presence_from_word(
            topic, device, text_of(topic, payload, max_bytes=max_bytes), received
        )
    if climate := _CLIMATE_RE.match(topic):
        metric = _CLIMATE_ATTRS.get(climate.group("attr"))
        if metric is None:
            return []
        text = _state_text(topic, payload, max_bytes)
        device = _device(topic, climate.group("node"), climate.group("object"))
        raw = RawValue(metric, text, ASSUMED_UNITS.get(metric))
        return list(collect(topic, [(device, [raw])], received))
    entity = _ENTITY_RE.match(topic)
    if entity is None:
        raise PayloadRejected(
            topic, "bad_topic", "expected <node>/<component>/<object_id>/state or <node>/status"
        )
    component, object_id = entity.group("component"), entity.group("object")
    if component == "sensor":
        where = entity_metric(object_id, kind="numeric")
        text = _state_text(topic, payload, max_bytes)
        raw = RawValue(where.metric, text, where.unit or ASSUMED_UNITS.get(where.metric))
    elif component == "binary_sensor":
        where = entity_metric(object_id, kind="binary")
        raw = on_off(where, _state_text(topic, payload, max_bytes))
    elif component in _RELAYS:
        where = entity_metric(object_id, kind="switch")
        raw = on_off(where, _relay_state(topic, component, payload, max_bytes))
    else:
        return []
    device = _device(topic, entity.group("node"), where.channel)
    return list(collect(topic, [(device, [raw])], received))


def _device(topic: str, node: str, channel: str | None = None) -> str:
    parts = node.split("/")
    return device_id(topic, *parts, *([channel] if channel else []))


def _state_text(topic: str, payload: bytes, max_bytes: int) -> str:
    text = text_of(topic, payload, max_bytes=max_bytes).strip()
    reject_non_finite_word(topic, text)
    return text


def _relay_state(topic: str, component: str, payload: bytes, max_bytes: int) -> str:
    """A light's state is JSON (``{"state": "ON", ...}``); switches and fans send the word."""
    text = _state_text(topic, payload, max_bytes)
    if component != "light":
        return text
    return json_state(topic, payload, text, max_bytes=max_bytes)
