"""Home Assistant style state topics under the discovery prefix (``homeassistant``).

Two conventions share the prefix; the number of levels tells them apart (``<base>`` is the
first level, ``homeassistant`` by default):

* Discovery-style device state, five levels:
  ``<base>/<component>/<node_id>/<object_id>/state`` — what many DIY and bridge devices use
  next to their discovery config. The device is ``<node_id>``. The payload is a number, an
  ``ON``/``OFF`` word, or a JSON object shared by several entities
  (``{"temperature": 21.5, "humidity": 40}``, each entity picking its key with a
  ``value_template``); an object is read key by key.
  ``<base>/<component>/<node_id>[/<object_id>]/availability`` (``online``/``offline``) →
  :class:`~facility.core.types.Presence` of ``<node_id>``.
* MQTT Statestream, four levels: ``<base>/<domain>/<object_id>/state`` — Home Assistant
  mirroring its entities (``sensor.boiler_supply_temperature``) onto MQTT. The device is named
  after the entity, see below. With ``publish_attributes`` a climate entity's
  ``<base>/climate/<object_id>/current_temperature`` and ``.../current_humidity`` are read
  too; other attribute topics (``unit_of_measurement``, ``friendly_name``, ``last_updated``)
  are ignored — a stateless codec cannot join them to the state.

Ignored (``[]``): ``.../config`` (discovery), ``<base>/status`` (Home Assistant's own birth
message), command topics, domains that are not measurements (``person``, ``sun``, ``weather``,
``automation``, ``number``, ``select``...), and the states ``unavailable``, ``unknown``,
``None`` and empty, which say there is no value. A ``sensor`` state that is text rather than a
number (an enum or timestamp sensor) is not a reading either: ``[]``.

Metric and device (decision), by :func:`gateway.codecs._vendor.entity_metric`, as for ESPHome:

* ``sensor``: a name that is a metric (``temperature``) → that metric; a name ending in one
  (``supply_temperature``) → the metric of channel ``supply``; other names pass through as a
  metric named after the entity (``wifi_signal``).
* ``binary_sensor``: ``door``/``window``/``opening``/``contact`` → ``contact`` inverted (Home
  Assistant's ON is *open*, our ``contact`` is 1 when closed), ``motion``/``presence`` →
  ``occupancy``, ``leak``/``moisture`` → ``water_leak``.
* ``switch``/``light``/``fan``/``input_boolean``: ``state`` of a channel named after the entity
  (JSON-schema lights: ``{"state": "ON", ...}``).
* Discovery-style: device ``<node_id>`` plus the channel (``boiler/supply``). Statestream has
  no node, so the channel *is* the device, and an entity whose name is just a metric or has no
  channel is a device of its own name: ``sensor.boiler_supply_temperature`` →
  ``boiler_supply``/``temperature``; ``switch.boiler_pump`` → ``boiler_pump``/``state``;
  ``sensor.wifi_signal`` → ``wifi_signal``/``wifi_signal``.

Units: Home Assistant keeps them in the entity's config or attributes, not in the state, so
its metric-system defaults are assumed: temperature °C, pressure hPa (stored in Pa), energy
kWh, power W. A name ending in a unit word (``_f``, ``_wh``, ``_kpa``) overrides the
assumption. Timestamps: the receive time (Statestream's timestamps are separate topics).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from facility.core.errors import PayloadRejected
from gateway.codecs._common import DEFAULT_MAX_PAYLOAD, Decoded, parse_json, text_of
from gateway.codecs._vendor import (
    EntityKind,
    collect,
    device_id,
    entity_metric,
    is_number,
    json_state,
    on_off,
    presence_from_word,
    received_at,
    reject_non_finite_word,
)
from gateway.normalize import RawValue, parse_bool

__all__ = ["ASSUMED_UNITS", "DISCOVERY_PREFIX", "decode", "matches"]

DISCOVERY_PREFIX = "homeassistant"
ASSUMED_UNITS = {"temperature": "degC", "pressure": "hPa"}
_KINDS: dict[str, EntityKind] = {
    "sensor": "numeric",
    "binary_sensor": "binary",
    "switch": "switch",
    "light": "switch",
    "fan": "switch",
    "input_boolean": "switch",
}
_CLIMATE_ATTRS = {"current_temperature": "temperature", "current_humidity": "humidity"}
_NO_VALUE = {"", "unavailable", "unknown", "none", "null"}


def matches(topic: str) -> bool:
    return topic.startswith(DISCOVERY_PREFIX + "/")


def decode(
    topic: str,
    payload: bytes,
    *,
    received: datetime | None = None,
    max_bytes: int = DEFAULT_MAX_PAYLOAD,
) -> Decoded:
    """Decode one Home Assistant state message into readings or a presence change."""
    received = received_at(received)
    parts = topic.split("/")
    if len(parts) == 2 and parts[1] == "status":
        return []
    if len(parts) < 4 or not all(parts):
        raise PayloadRejected(
            topic, "bad_topic", "expected <base>/<component>/[<node_id>/]<object_id>/state"
        )
    component, last = parts[1], parts[-1]
    if last == "availability" and len(parts) in (4, 5):
        text = text_of(topic, payload, max_bytes=max_bytes)
        return presence_from_word(topic, device_id(topic, parts[2]), text, received)
    if len(parts) == 4 and component == "climate" and last in _CLIMATE_ATTRS:
        device = device_id(topic, parts[2])
        value = _scalar(topic, payload, max_bytes)
        if value is None:
            return []
        raw = RawValue(_CLIMATE_ATTRS[last], value, ASSUMED_UNITS.get(_CLIMATE_ATTRS[last]))
        return list(collect(topic, [(device, [raw])], received))
    kind = _KINDS.get(component)
    if last != "state" or len(parts) > 5 or kind is None:
        return []
    node = parts[2] if len(parts) == 5 else None
    object_id = parts[-2]

    text = text_of(topic, payload, max_bytes=max_bytes).strip()
    if text.lower() in _NO_VALUE:
        return []
    reject_non_finite_word(topic, text)
    if kind == "numeric" and text.startswith("{"):
        return _json_state(topic, payload, node or object_id, max_bytes, received)
    where = entity_metric(object_id, kind=kind)
    if kind == "numeric":
        if not _is_numeric_text(text):
            return []  # a text, enum or timestamp sensor: not a measurement
        raw = RawValue(where.metric, text, where.unit or ASSUMED_UNITS.get(where.metric))
    else:
        state = json_state(topic, payload, text, max_bytes=max_bytes) if kind == "switch" else text
        raw = on_off(where, state)
    if node is not None:
        device = device_id(topic, node, *([where.channel] if where.channel else []))
    else:
        device = device_id(topic, where.channel or object_id)
    return list(collect(topic, [(device, [raw])], received))


def _scalar(topic: str, payload: bytes, max_bytes: int) -> Any:
    """A Statestream attribute value (JSON-encoded), or ``None`` when it has none."""
    text = text_of(topic, payload, max_bytes=max_bytes).strip()
    if text.lower() in _NO_VALUE:
        return None
    reject_non_finite_word(topic, text)
    return parse_json(topic, payload, max_bytes=max_bytes)


def _json_state(
    topic: str, payload: bytes, base: str, max_bytes: int, received: datetime
) -> Decoded:
    body = parse_json(topic, payload, max_bytes=max_bytes)
    if not isinstance(body, dict):
        raise PayloadRejected(topic, "wrong_type", "expected a JSON object of entity values")
    groups: dict[str, list[RawValue]] = {}
    for key, value in body.items():
        if not (is_number(value) or isinstance(value, bool) or _is_word(value)):
            continue  # nested objects, arrays, null and text are attributes, not readings
        where = entity_metric(str(key), kind="numeric")
        device = device_id(topic, base, *([where.channel] if where.channel else []))
        unit = where.unit or ASSUMED_UNITS.get(where.metric)
        groups.setdefault(device, []).append(RawValue(where.metric, value, unit))
    return list(collect(topic, groups.items(), received))


def _is_word(value: Any) -> bool:
    return isinstance(value, str) and (_is_numeric_text(value) or parse_bool(value) is not None)


def _is_numeric_text(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
