"""A point's raw registers (or bits) to a canonical :class:`Reading`, or a counted rejection.

The registers are decoded (:mod:`gateway.connectors.decode`), scaled (``value * scale +
offset``), checked against the point's plausible range, and handed to the same
:func:`gateway.normalize.normalize` the MQTT codecs use, so a Modbus temperature in °F lands in
degC and a relay bit is a 0/1 ``state`` exactly as a Tasmota one is. A value that cannot be a
reading raises :class:`~gateway.normalize.Rejection` with the reason the gateway counts in
``facility_gateway_rejected_total{reason}``, as it does for a bad MQTT payload:

* ``not_finite`` — a float register holds NaN or an infinity (many meters send NaN for "not
  measured"), or scaling overflowed;
* ``out_of_range`` — outside the point's ``min``/``max``;
* ``wrong_type`` — text that is not a number, or an on/off bit mapped to a metric with a unit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime

from facility.core.types import Reading
from gateway.connectors.config import ModbusPoint
from gateway.connectors.decode import decode_words
from gateway.normalize import RawValue, Rejection, normalize

__all__ = ["point_reading", "point_value"]


def point_value(point: ModbusPoint, raw: Sequence[int] | Sequence[bool]) -> float | bool:
    """The point's scaled value from its own registers (or its one bit).

    Raises:
        Rejection: the value is not finite, not a number, or outside ``min``/``max``.
    """
    if point.function.is_bit:
        return bool(raw[0])
    decoded = decode_words(
        [int(word) for word in raw],
        point.data_type,
        byte_order=point.byte_order,
        word_order=point.word_order,
        bit=point.bit,
        length=point.length,
    )
    if isinstance(decoded, bool):
        return decoded
    if isinstance(decoded, str):
        text = decoded
        try:
            decoded = float(text.strip())
        except ValueError:
            detail = f"{point.label}: text {text[:40]!r} is not a number"
            raise Rejection("wrong_type", detail) from None
    if not math.isfinite(decoded):
        raise Rejection("not_finite", f"{point.label}: register value {decoded!r} is not finite")
    value = decoded * point.scale + point.offset
    if not math.isfinite(value):
        raise Rejection("not_finite", f"{point.label}: {decoded!r} scaled is not finite")
    low = -math.inf if point.min is None else point.min
    high = math.inf if point.max is None else point.max
    if not low <= value <= high:
        detail = f"{point.label}: {value:g} is outside {low:g}..{high:g}"
        raise Rejection("out_of_range", detail)
    return value


def point_reading(
    device: str, point: ModbusPoint, raw: Sequence[int] | Sequence[bool], ts: datetime
) -> Reading:
    """The canonical reading of one point of ``device`` (or of the point's own device id)."""
    value = point_value(point, raw)
    return normalize(point.device or device, RawValue(point.metric, value, point.unit), ts)
