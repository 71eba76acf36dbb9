"""Helpers the vendor codecs share (Zigbee2MQTT, Tasmota, Shelly, ESPHome, Home Assistant).

They sit on top of :mod:`gateway.codecs._common` and keep three rules the same in every vendor
codec:

* a device id built from a topic is checked once, up front, so a hostile topic becomes
  ``PayloadRejected(reason="bad_topic")`` and never a ``ValueError`` from the kernel types;
* a message that is well formed but carries nothing we record (a button event, a ``sys``
  status, a text sensor) decodes to ``[]``; a message whose every measurable field is unusable
  is rejected with the first field's reason; one bad field among good ones is dropped;
* names of Home Assistant style entities (ESPHome and Home Assistant) map to metrics and
  channels the same way, see :func:`entity_metric`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from facility.core.errors import PayloadRejected
from facility.core.types import MAX_DEVICE_LEN, Presence, Reading, utc
from gateway.codecs._common import Decoded, parse_json, readings_from
from gateway.normalize import (
    CANONICAL_UNITS,
    RawValue,
    Rejection,
    canonical_metric,
    convert,
    parse_bool,
    parse_timestamp,
)

__all__ = [
    "EntityKind",
    "EntityMetric",
    "collect",
    "device_id",
    "entity_metric",
    "is_number",
    "json_state",
    "on_off",
    "presence_from_word",
    "received_at",
    "reject_non_finite_word",
    "scaled",
    "timestamp",
]

_ONLINE = {"online": True, "true": True, "offline": False, "false": False}
_NON_FINITE_WORDS = {"nan", "-nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"}


def received_at(received: datetime | None) -> datetime:
    """The receive time as an aware UTC datetime (now when the caller gave none)."""
    return utc(received) if received is not None else datetime.now(UTC)


def timestamp(topic: str, raw: Any, received: datetime) -> datetime:
    """:func:`parse_timestamp` with its rejection turned into ``PayloadRejected``."""
    try:
        return parse_timestamp(raw, received)
    except Rejection as rejection:
        raise PayloadRejected(topic, rejection.reason, rejection.detail) from None


def device_id(topic: str, *parts: str) -> str:
    """Join topic pieces into a device id, refusing what the kernel types would refuse."""
    device = "/".join(parts)
    if (
        not device
        or len(device) > MAX_DEVICE_LEN
        or any(ch in device for ch in "#+\x00")
        or device != device.strip()
        or any(not part for part in parts)
    ):
        raise PayloadRejected(topic, "bad_topic", f"unusable device id {device[:80]!r}")
    return device


def presence_from_word(topic: str, device: str, word: str, received: datetime) -> Decoded:
    """``online``/``offline``/``true``/``false`` (any case) → one :class:`Presence`."""
    online = _ONLINE.get(word.strip().lower())
    if online is None:
        raise PayloadRejected(
            topic, "wrong_type", f"availability {word[:40]!r} is not online/offline"
        )
    return [Presence(device=device_id(topic, device), online=online, ts=received)]


def reject_non_finite_word(topic: str, word: str) -> None:
    """A bare ``nan``/``inf`` text payload is rejected as ``not_finite``, as native does."""
    if word.strip().lower() in _NON_FINITE_WORDS:
        raise PayloadRejected(topic, "not_finite", f"{word[:20]!r} is not a finite number")


def is_number(raw: Any) -> bool:
    """A JSON number (``true``/``false`` are not numbers here)."""
    return isinstance(raw, int | float) and not isinstance(raw, bool)


def scaled(name: str, raw: Any, unit: str, *, like: str) -> RawValue:
    """A pass-through field measured like a canonical metric, converted the same way.

    ``energy_returned`` in Wh is stored in kWh like ``energy``; a Tasmota dew point in °F is
    stored in degC like ``temperature``. Values that are not numbers are handed on unchanged,
    so :func:`~gateway.normalize.normalize` rejects them with its usual reason.
    """
    if is_number(raw) and math.isfinite(raw):
        try:
            value, target = convert(like, float(raw), unit)
        except Rejection:
            return RawValue(name, raw, unit)
        return RawValue(name, value, target)
    return RawValue(name, raw, unit)


def collect(
    topic: str, groups: Iterable[tuple[str, list[RawValue]]], ts: datetime
) -> list[Reading]:
    """Normalise the fields of several devices (channels) found in one message.

    Returns ``[]`` when no group has a field. A group whose every field is bad is dropped; if
    every group is bad the message is rejected with the first reason, so a wholly garbage
    message is dead-lettered while one bad channel does not hide the good ones.
    """
    readings: list[Reading] = []
    first: PayloadRejected | None = None
    for device, fields in groups:
        if not fields:
            continue
        try:
            readings.extend(readings_from(topic, device, fields, ts))
        except PayloadRejected as rejection:
            first = first or rejection
    if not readings and first is not None:
        raise first
    return readings


# --- Home Assistant style entity names (ESPHome object ids, HA entity/object ids) -----------

EntityKind = Literal["numeric", "binary", "switch"]

# Descriptive words that make a binary sensor one of our boolean metrics, and whether ON must be
# inverted. Home Assistant (and ESPHome, which follows it) report door, window and opening
# sensors ON when *open*; our ``contact`` is 1 when closed.
_BOOL_WORDS: dict[str, tuple[str, bool]] = {
    "door": ("contact", True),
    "window": ("contact", True),
    "opening": ("contact", True),
    "motion": ("occupancy", False),
    "presence": ("occupancy", False),
    "leak": ("water_leak", False),
    "moisture": ("water_leak", False),
}
_BOOLEAN_METRICS = ("state", "contact", "water_leak", "occupancy")

# A trailing unit word after a metric word: ``supply_temperature_f``, ``meter_energy_wh``.
_UNIT_WORDS: dict[str, dict[str, str]] = {
    "temperature": {"c": "degC", "celsius": "degC", "f": "degF", "fahrenheit": "degF"},
    "energy": {"kwh": "kWh", "wh": "Wh", "mwh": "MWh"},
    "pressure": {"pa": "Pa", "hpa": "hPa", "kpa": "kPa", "mbar": "mbar", "psi": "psi"},
    "power": {"w": "W", "kw": "kW"},
    "voltage": {"v": "V", "mv": "mV"},
    "current": {"a": "A", "ma": "mA"},
}

# Qualifiers that change what is measured: ``apparent_power`` is not active power, a
# ``target_temperature`` is a setpoint and ``daily_energy`` is not the cumulative counter.
# Such names pass through under their own name.
_CHANGES_QUANTITY = {
    "apparent",
    "reactive",
    "target",
    "setpoint",
    "set",
    "max",
    "min",
    "avg",
    "average",
    "daily",
    "today",
    "yesterday",
    "hourly",
    "weekly",
    "monthly",
    "yearly",
}


@dataclass(frozen=True, slots=True)
class EntityMetric:
    """Where an entity's state goes: ``metric`` on channel ``channel`` (``None`` = the node).

    ``unit`` is the unit the value is in when the name says so (``_f``), else ``None``;
    ``invert`` flips a boolean (door ON = open → contact 0).
    """

    metric: str
    channel: str | None
    unit: str | None = None
    invert: bool = False


def _snake(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


def _metric_of(words: list[str]) -> str | None:
    """The canonical metric ``words`` name (directly or by alias), else ``None``."""
    if not words:
        return None
    try:
        metric = canonical_metric("_".join(words))
    except Rejection:
        return None
    return metric if metric in CANONICAL_UNITS else None


def entity_metric(object_id: str, *, kind: EntityKind) -> EntityMetric:
    """Map a Home Assistant style entity name to a metric and a channel.

    ``switch`` entities (relays, lights, fans) are channels: ``pump`` → ``state`` of channel
    ``pump`` (a trailing ``_state`` word is dropped from the channel).

    ``numeric`` and ``binary`` entities: the longest run of trailing words that names one of
    our metrics (``temperature``, an alias such as ``temp``/``rh``, optionally followed by a
    unit word ``_f``/``_kwh``/``_hpa``) is the metric and the words before it are the channel:
    ``supply_air_temperature`` → ``temperature`` of channel ``supply_air``; plain
    ``temperature`` is the node's own. Binary sensors also know descriptive words (``door``,
    ``window``, ``motion``, ``leak``...); for those the whole name stays the channel
    (``front_door`` → ``contact`` of channel ``front_door``), since the word tells doors apart.

    A qualifier that changes the quantity (``apparent_power``, ``target_temperature``,
    ``daily_energy``) or a name with no metric word passes through as a metric named after the
    entity (``wifi_signal``, ``boiler_fault``) on the node.
    """
    name = _snake(object_id)
    words = name.split("_") if name else []
    if kind == "switch":
        channel = words[:-1] if len(words) > 1 and words[-1] == "state" else words
        return EntityMetric("state", "_".join(channel) or None)
    for cut in range(len(words)):
        head, tail = words[:cut], words[cut:]
        if kind == "binary":
            word = "_".join(tail)
            if word in _BOOL_WORDS:
                described, invert = _BOOL_WORDS[word]
                return EntityMetric(described, name, invert=invert)
            named = _metric_of(tail)
            if named in _BOOLEAN_METRICS:
                return EntityMetric(named, "_".join(head) or None, invert=named == "contact")
            continue
        unit: str | None = None
        metric = _metric_of(tail)
        if metric is None and len(tail) > 1:
            metric = _metric_of(tail[:-1])
            unit = _UNIT_WORDS.get(metric or "", {}).get(tail[-1])
            if unit is None:
                metric = None
        if metric is None or metric in _BOOLEAN_METRICS:
            continue
        if _CHANGES_QUANTITY.intersection(head):
            break
        return EntityMetric(metric, "_".join(head) or None, unit)
    return EntityMetric(name or "value", None)


def on_off(where: EntityMetric, text: str) -> RawValue:
    """An ON/OFF word as a boolean field, inverted when the entity's ON means our 0."""
    flag = parse_bool(text)
    if flag is None:
        return RawValue(where.metric, text)  # normalize rejects it as wrong_type
    return RawValue(where.metric, bool(flag) != where.invert)


def json_state(topic: str, payload: bytes, text: str, *, max_bytes: int) -> str:
    """The ``state`` word of a JSON-schema light (``{"state": "ON", ...}``), or ``text``."""
    if not text.startswith("{"):
        return text
    body = parse_json(topic, payload, max_bytes=max_bytes)
    state = body.get("state") if isinstance(body, dict) else None
    if not isinstance(state, str):
        raise PayloadRejected(topic, "wrong_type", 'expected {"state": "ON"|"OFF", ...}')
    return state
