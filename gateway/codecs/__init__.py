"""Payload codecs: one module per source format, each ``decode(topic, payload) -> list``.

:func:`decode` picks the codec by topic shape (``auto``) or by name, and is what both the live
gateway and ``facility gateway decode`` call, so the two can never disagree.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from types import ModuleType
from typing import Protocol

from facility.core.errors import PayloadRejected
from gateway.codecs import esphome, homeassistant, native, shelly, tasmota, zigbee2mqtt
from gateway.codecs._common import DEFAULT_MAX_PAYLOAD, Decoded

__all__ = ["CODECS", "Decoded", "decode", "detect_format"]


class Codec(Protocol):
    def matches(self, topic: str) -> bool: ...

    def decode(
        self, topic: str, payload: bytes, *, received: datetime | None = ..., max_bytes: int = ...
    ) -> Decoded: ...


# Auto-detection asks them in this order; each ``matches`` is narrow enough not to claim the
# others' topics (ESPHome, for one, leaves ``homeassistant/...`` to the Home Assistant codec).
CODECS: dict[str, ModuleType] = {
    "native": native,
    "zigbee2mqtt": zigbee2mqtt,
    "tasmota": tasmota,
    "shelly": shelly,
    "esphome": esphome,
    "homeassistant": homeassistant,
}

# Prefix overrides from configuration win over detection: {"site-a/zb/": "zigbee2mqtt"}.
PrefixMap = dict[str, str]


def detect_format(topic: str, overrides: PrefixMap | None = None) -> str | None:
    """The name of the codec for ``topic``, or ``None`` when no codec claims it."""
    if overrides:
        for prefix, name in sorted(overrides.items(), key=lambda kv: -len(kv[0])):
            if topic.startswith(prefix):
                return name
    for name, codec in CODECS.items():
        matches: Callable[[str], bool] = codec.matches
        if matches(topic):
            return name
    return None


def decode(
    topic: str,
    payload: bytes,
    *,
    fmt: str = "auto",
    received: datetime | None = None,
    max_bytes: int = DEFAULT_MAX_PAYLOAD,
    overrides: PrefixMap | None = None,
) -> Decoded:
    """Decode one MQTT message.

    Raises:
        PayloadRejected: the payload or topic is unusable; ``reason`` says why.
        ValueError: ``fmt`` names no codec (a caller's mistake, not bad input).
    """
    name = detect_format(topic, overrides) if fmt == "auto" else fmt
    if name is None:
        raise PayloadRejected(topic, "unknown_format", "no codec recognises this topic")
    codec = CODECS.get(name)
    if codec is None:
        raise ValueError(f"unknown codec {name!r}; choose one of {', '.join(sorted(CODECS))}")
    result: Decoded = codec.decode(topic, payload, received=received, max_bytes=max_bytes)
    return result
