"""Helpers every codec shares: size limit, UTF-8, JSON, and collecting rejections."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import orjson

from facility.errors import PayloadRejected
from facility.types import Presence, Reading
from gateway.normalize import RawValue, Rejection, normalize

__all__ = ["DEFAULT_MAX_PAYLOAD", "Decoded", "parse_json", "readings_from", "text_of"]

Decoded = list[Reading | Presence]
DEFAULT_MAX_PAYLOAD = 64 * 1024
_NON_FINITE = re.compile(rb"\b(NaN|-?Infinity)\b")


def text_of(topic: str, payload: bytes, *, max_bytes: int = DEFAULT_MAX_PAYLOAD) -> str:
    """The payload as text, refusing oversized or non-UTF-8 bytes."""
    if len(payload) > max_bytes:
        raise PayloadRejected(topic, "oversized", f"{len(payload)} bytes > limit {max_bytes}")
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PayloadRejected(topic, "not_utf8", f"byte {exc.start} is not UTF-8") from exc


def parse_json(topic: str, payload: bytes, *, max_bytes: int = DEFAULT_MAX_PAYLOAD) -> Any:
    """Parse a JSON payload; NaN/Infinity tokens get their own reason, not 'malformed'."""
    text_of(topic, payload, max_bytes=max_bytes)
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        if _NON_FINITE.search(payload):
            raise PayloadRejected(topic, "not_finite", "NaN/Infinity are not readings") from exc
        raise PayloadRejected(topic, "malformed_json", str(exc)[:120]) from exc


def readings_from(
    topic: str, device: str, fields: Iterable[RawValue], ts: datetime
) -> list[Reading]:
    """Normalise several fields of one message; reject the message if none is usable.

    One bad field among good ones is dropped, not the whole message: a Zigbee sensor that
    reports a garbage ``linkquality`` still has a good temperature. If every field is bad the
    first reason is raised so the message is dead-lettered with it.
    """
    readings: list[Reading] = []
    first: Rejection | None = None
    for raw in fields:
        try:
            readings.append(normalize(device, raw, ts))
        except Rejection as rejection:
            first = first or rejection
    if not readings:
        if first is not None:
            raise PayloadRejected(topic, first.reason, first.detail)
        raise PayloadRejected(topic, "no_readings", "the message carries no metric")
    return readings
