"""Dead-letter envelopes: what was rejected, where it came from, and why."""

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
