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

from datetime import UTC, datetime
from typing import Any

from facility.errors import PayloadRejected
from facility.types import Presence
from gateway.codecs._common import (
    DEFAULT_MAX_PAYLOAD,
    Decoded,
    parse_json,
    readings_from,
    text_of,
)
from gateway.normalize import RawValue, Rejection, parse_bool, parse_timestamp

__all__ = ["PREFIX", "decode", "matches"]

PREFIX = "facility/"
DEADLETTER_PREFIX = "facility/_deadletter/"
_RESERVED_KEYS = {"ts", "time", "timestamp"}


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
    if topic.startswith(DEADLETTER_PREFIX) or topic.startswith("facility/_"):
        return []
    parts = topic.split("/")
    if len(parts) not in (3, 4) or not all(parts[1:]):
        raise PayloadRejected(topic, "bad_topic", "expected facility/<site>/<device>[/<metric>]")
    device = parts[2]
    if len(parts) == 4 and parts[3] == "availability":
        flag = parse_bool(text_of(topic, payload, max_bytes=max_bytes))
        if flag is None:
            raise PayloadRejected(topic, "wrong_type", "availability must be online/offline")
        return [Presence(device=device, online=bool(flag), ts=received)]

    text = text_of(topic, payload, max_bytes=max_bytes).strip()
    if len(parts) == 4:
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
    ts = _timestamp(topic, next((body[k] for k in _RESERVED_KEYS if k in body), None), received)
    fields: list[RawValue] = []
    for key, value in body.items():
        if key in _RESERVED_KEYS:
            continue
        if isinstance(value, dict):
            fields.append(RawValue(key, value.get("value"), _unit(topic, value.get("unit"))))
        else:
            fields.append(RawValue(key, value))
    return list(readings_from(topic, device, fields, ts))


def _unit(topic: str, unit: Any) -> str | None:
    if unit is None:
        return None
    if not isinstance(unit, str) or len(unit) > 20:
        raise PayloadRejected(topic, "bad_unit", "unit must be a short string")
    return unit
