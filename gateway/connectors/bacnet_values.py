"""A BACnet property value (as bacpypes3 decoded it) to a canonical :class:`Reading`.

Kept apart from the connector so the rules are pure and unit-tested without a network:

* analog values (REAL, Double, Unsigned, Integer) are numbers in the object's engineering
  units, mapped by :mod:`gateway.connectors.bacnet_units` (or the point's declared ``unit``);
  an object whose units are not in the table is rejected with ``bad_unit`` — declare the unit;
* binary values (``active``/``inactive``, or a BOOLEAN) are 1/0;
* multi-state values are the integer state number (1-based, as BACnet counts);
* the object's ``statusFlags`` become the reading's quality: ``fault`` → ``bad``;
  ``out-of-service`` or ``overridden`` → ``uncertain`` (a value that is not what the sensor
  measures: someone typed it or the object is detached from its input); otherwise ``good``;
* a BACnet error for the property (unknown object, unknown property...) is rejected with
  ``bacnet_error``; anything else undecodable (a string, a date, a list) with ``wrong_type``;
  NaN/infinity with ``not_finite``; outside the point's ``min``/``max`` with ``out_of_range``.
  The connector counts each under ``facility_gateway_rejected_total{reason}``, as a bad MQTT
  payload is counted.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from facility.core.types import Reading
from gateway.connectors.bacnet_units import unit_of
from gateway.connectors.config import BacnetPoint
from gateway.normalize import RawValue, Rejection, normalize

__all__ = ["bacnet_reading", "is_analog", "quality_of", "status_flags"]

#: bit positions of BACnetStatusFlags (ASHRAE 135 21): in-alarm, fault, overridden, out-of-service
_FAULT, _OVERRIDDEN, _OUT_OF_SERVICE = 1, 2, 3


#: how much of an odd (or hostile) value a rejection message shows
_SHOWN = 60


def is_analog(point: BacnetPoint) -> bool:
    """Analog objects carry ``units``; binary and multi-state objects do not."""
    return point.type.startswith("analog-") and point.prop == "present-value"


def status_flags(raw: Any) -> tuple[bool, bool, bool, bool] | None:
    """The four flags of a ``statusFlags`` value (a bacpypes3 BitString, or 4 bits), or None."""
    if raw is None:
        return None
    try:
        bits = [bool(int(bit)) for bit in list(raw)[:4]]
    except (TypeError, ValueError):
        return None
    if len(bits) != 4:
        return None
    return bits[0], bits[1], bits[2], bits[3]


def quality_of(flags: Sequence[bool] | None) -> str:
    """``bad`` for a fault, ``uncertain`` when overridden or out of service, else ``good``."""
    if not flags:
        return "good"
    if flags[_FAULT]:
        return "bad"
    if flags[_OVERRIDDEN] or flags[_OUT_OF_SERVICE]:
        return "uncertain"
    return "good"


def _error_text(raw: Any) -> str | None:
    """``object: unknown-object`` when ``raw`` is a BACnet error/reject/abort, else None."""
    error_class = getattr(raw, "errorClass", None)
    error_code = getattr(raw, "errorCode", None)
    if error_class is not None or error_code is not None:
        return f"{error_class}: {error_code}"
    if isinstance(raw, BaseException):
        return str(raw) or type(raw).__name__
    return None


def _number(point: BacnetPoint, raw: Any) -> float:
    """The property value as a float, or a :class:`Rejection` saying why it is not one."""
    error = _error_text(raw)
    if error is not None:
        raise Rejection("bacnet_error", f"{point.label}: the device answered {error}")
    if point.type.startswith("binary-") and raw is not None:
        text = str(raw).strip().lower()[:_SHOWN]
        if isinstance(raw, bool) or text in ("active", "inactive", "true", "false", "1", "0"):
            return 1.0 if text in ("active", "true", "1") else 0.0
        shown = repr(raw)[:_SHOWN]
        raise Rejection("wrong_type", f"{point.label}: {shown} is not active/inactive")
    if raw is None or isinstance(raw, str | bytes | bytearray | list | tuple | dict):
        shown = repr(raw)[:_SHOWN]
        raise Rejection("wrong_type", f"{point.label}: {shown} is not a number or a state")
    if isinstance(raw, bool):
        return 1.0 if raw else 0.0
    if isinstance(raw, int | float):
        value = float(raw)
    else:
        try:  # an enumeration (e.g. a multi-state property) decodes to its integer
            value = float(int(raw))
        except (TypeError, ValueError):
            shown = repr(raw)[:_SHOWN]
            raise Rejection("wrong_type", f"{point.label}: {shown} is not a number") from None
    if not math.isfinite(value):
        raise Rejection("not_finite", f"{point.label}: value {value!r} is not finite")
    if point.type.startswith("multi-state-") and (value < 1 or value != int(value)):
        raise Rejection("out_of_range", f"{point.label}: state {value:g} is not 1, 2, 3...")
    return value


def bacnet_reading(
    device: str,
    point: BacnetPoint,
    raw: Any,
    ts: datetime,
    *,
    units: Any = None,
    flags: Sequence[bool] | None = None,
) -> Reading:
    """The canonical reading of one point; ``units`` is the object's BACnet units property.

    Raises:
        Rejection: with the reason the gateway counts (see the module docstring).
    """
    value = _number(point, raw)
    low = -math.inf if point.min is None else point.min
    high = math.inf if point.max is None else point.max
    if not low <= value <= high:
        raise Rejection("out_of_range", f"{point.label}: {value:g} is outside {low:g}..{high:g}")
    unit = point.unit
    if unit is None and is_analog(point):
        if units is None:
            raise Rejection(
                "bad_unit", f"{point.label}: the object has no units; declare 'unit:' on the point"
            )
        unit = unit_of(str(units))
        if unit is None:
            shown = str(units)[:_SHOWN]
            raise Rejection(
                "bad_unit",
                f"{point.label}: BACnet unit {shown!r} is not mapped; declare 'unit:' on the point",
            )
    if point.type.startswith("binary-"):
        unit = None  # 0/1: normalize gives a boolean metric "bool", others a plain number
    return normalize(
        point.device or device,
        RawValue(point.metric, value, unit or None),
        ts,
        quality=quality_of(flags),
    )
