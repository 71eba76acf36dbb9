"""Facility's native format.

Topics:

* ``facility/<site>/<device>/<metric>`` — payload a bare number (``21.5``), a boolean word
  (``ON``), or ``{"value": 21.5, "unit": "degC", "ts": "2026-01-01T00:00:00Z"}``;
* ``facility/<site>/<device>`` — a JSON object of several metrics, each a number or
  ``{"value", "unit"}``, with an optional shared ``"ts"``;
* ``facility/<site>/<device>/availability`` — ``online`` / ``offline`` (our last-will topic).

``facility/_deadletter/...`` is ours: it is ignored so a rejected message never loops.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from facility.core.errors import PayloadRejected
from facility.core.types import Presence, Reading
from gateway.codecs._common import (
    DEFAULT_MAX_PAYLOAD,
    Decoded,
    accepted,
    parse_json,
    readings_from,
    text_of,
    validated_reading,
)
from gateway.normalize import (
    RawValue,
    Rejection,
    normalize,
    parse_bool,
    parse_timestamp,
    unitless_number,
)

__all__ = ["PREFIX", "decode", "matches"]

PREFIX = "facility/"
DEADLETTER_PREFIX = "facility/_deadletter/"
_RESERVED_KEYS = {"ts", "time", "timestamp"}
#: longer field names take the general path, so hostile keys cannot fill the per-name cache
_MAX_FAST_KEY = 80


def matches(topic: str) -> bool:
    return topic.startswith(PREFIX)


def _timestamp(topic: str, raw: Any, received: datetime) -> datetime:
    try:
        return parse_timestamp(raw, received)
    except Rejection as rejection:
        raise PayloadRejected(topic, rejection.reason, rejection.detail) from None


def decode(
    topic: str,
    payload: bytes,
    *,
    received: datetime | None = None,
    max_bytes: int = DEFAULT_MAX_PAYLOAD,
) -> Decoded:
    """Decode one native message into readings or a presence change."""
    received = received or datetime.now(UTC)
    if topic.startswith("facility/_"):  # ours, e.g. DEADLETTER_PREFIX
        return []
    parts = topic.split("/")
    if len(parts) not in (3, 4) or "" in parts[1:]:
        raise PayloadRejected(topic, "bad_topic", "expected facility/<site>/<device>[/<metric>]")
    device = parts[2]
    if len(parts) == 4 and parts[3] == "availability":
        flag = parse_bool(text_of(topic, payload, max_bytes=max_bytes))
        if flag is None:
            raise PayloadRejected(topic, "wrong_type", "availability must be online/offline")
        return [Presence(device=device, online=bool(flag), ts=received)]

    if len(parts) == 4:
        text = text_of(topic, payload, max_bytes=max_bytes).strip()
        metric = parts[3]
        if text[:1] in ("{", "["):
            body = parse_json(topic, payload, max_bytes=max_bytes)
            if not isinstance(body, dict) or "value" not in body:
                raise PayloadRejected(topic, "wrong_type", 'expected {"value": ..} or a number')
            raw = RawValue(metric, body["value"], _unit(topic, body.get("unit")))
            ts = _timestamp(topic, body.get("ts"), received)
        else:
            if text.lower() in ("nan", "inf", "-inf", "infinity", "-infinity"):
                raise PayloadRejected(topic, "not_finite", f"{metric}: {text!r} is not finite")
            raw = RawValue(metric, text)
            ts = received
        return list(readings_from(topic, device, [raw], ts))

    body = parse_json(topic, payload, max_bytes=max_bytes)
    if not isinstance(body, dict):
        raise PayloadRejected(topic, "wrong_type", "expected a JSON object of metrics")
    stamp = None
    for key in _RESERVED_KEYS:  # the first present, in the set's order, as before
        if key in body:
            stamp = body[key]
            break
    ts = _timestamp(topic, stamp, received)
    if ts.tzinfo is not None:
        return _metrics_object(topic, device, body, ts)
    fields: list[RawValue] = []
    for key, value in body.items():
        if key in _RESERVED_KEYS:
            continue
        if isinstance(value, dict):
            fields.append(RawValue(key, value.get("value"), _unit(topic, value.get("unit"))))
        else:
            fields.append(RawValue(key, value))
    return list(readings_from(topic, device, fields, ts))


def _metrics_object(topic: str, device: str, body: dict[str, Any], ts: datetime) -> Decoded:
    """The readings of a ``facility/<site>/<device>`` object; the ingest hot path.

    Same result as building a :class:`RawValue` per field and calling ``readings_from`` (the
    path every other shape takes), but a bare number under a known field name skips the
    per-reading work: where it goes is cached per name (:func:`unitless_number`), and once one
    reading of the message was built (and so validated ``device`` and ``ts``) the others are
    built without re-validation. Anything else (a string, a bool, ``{"value", "unit"}``, an
    unusable name, 2 for a boolean metric) takes the general path, in field order.
    """
    readings: Decoded = []
    first: Rejection | None = None
    checked = False  # a Reading of this device and ts was built through the kernel's checks
    for key, value in body.items():
        if key in _RESERVED_KEYS:
            continue
        kind = type(value)
        if (kind is float or kind is int) and len(key) <= _MAX_FAST_KEY:
            target = unitless_number(key)
            if target is not None:
                metric, unit, boolean = target
                number = float(value)
                if (number in {0.0, 1.0}) if boolean else math.isfinite(number):
                    if checked:
                        readings.append(validated_reading(device, metric, number, unit, ts))
                        continue
                    try:
                        readings.append(Reading(device, metric, number, unit, ts))
                    except (ValueError, TypeError) as exc:
                        first = first or Rejection("invalid_reading", str(exc))
                        continue
                    checked = True
                    continue
        if isinstance(value, dict):
            raw = RawValue(key, value.get("value"), _unit(topic, value.get("unit")))
        else:
            raw = RawValue(key, value)
        try:
            readings.append(normalize(device, raw, ts))
        except Rejection as rejection:
            first = first or rejection
    return accepted(topic, readings, first)


def _unit(topic: str, unit: Any) -> str | None:
    if unit is None:
        return None
    if not isinstance(unit, str) or len(unit) > 20:
        raise PayloadRejected(topic, "bad_unit", "unit must be a short string")
    return unit
