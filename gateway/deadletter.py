"""Dead-letter envelopes: what was rejected, where it came from, and why.

``reason`` is one of a small fixed set (it is also the ``reason`` label of
``facility_gateway_rejected_total``, so it never carries a device id): the codecs' reasons
(``malformed_json``, ``oversized``, ``bad_topic``, ...), ``calibration_failed``, and the device
gate's ``new_device_rate`` (more new device ids than ``FACILITY_NEW_DEVICE_RATE`` allows) and
``unassigned_cap`` (``FACILITY_UNASSIGNED_DEVICE_CAP`` unassigned devices already recorded);
see :mod:`gateway.admission`.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import orjson

__all__ = ["DEADLETTER_PREFIX", "deadletter_topic", "envelope"]

DEADLETTER_PREFIX = "facility/_deadletter/"
_MAX_ECHO = 4096


def deadletter_topic(topic: str) -> str:
    """``facility/_deadletter/<original topic>`` (a leading ``/`` or ``$`` is kept readable)."""
    return DEADLETTER_PREFIX + topic.lstrip("/")


def envelope(topic: str, payload: bytes, reason: str, detail: str) -> bytes:
    """A JSON envelope; the payload is echoed as text if UTF-8, else base64, and truncated."""
    echo = payload[:_MAX_ECHO]
    try:
        body: dict[str, object] = {"payload": echo.decode("utf-8")}
    except UnicodeDecodeError:
        body = {"payload_base64": base64.b64encode(echo).decode()}
    body.update(
        {
            "topic": topic,
            "reason": reason,
            "detail": detail,
            "size": len(payload),
            "truncated": len(payload) > _MAX_ECHO,
            "ts": datetime.now(UTC).isoformat(),
        }
    )
    return orjson.dumps(body)
