"""Canonical metric names and units, and the conversions that get readings there.

Every codec hands its raw ``(name, value, unit)`` triples to :func:`normalize` so that a
temperature is in degC whatever the device sent, a cumulative energy counter in kWh, and a relay
state 0.0/1.0. Unit conversion goes through pint; the common case (already canonical) never
touches it, which keeps the ingest path fast.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from facility.core.types import Reading

__all__ = [
    "BOOLEAN_METRICS",
    "CANONICAL_UNITS",
    "Rejection",
    "canonical_metric",
    "normalize",
    "parse_bool",
    "parse_timestamp",
    "unitless_number",
]


class Rejection(ValueError):
    """A value could not be normalised; ``reason`` is the short code counted by the gateway."""

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(detail)


CANONICAL_UNITS: dict[str, str] = {
    "temperature": "degC",
    "humidity": "%",
    "power": "W",
    "energy": "kWh",
    "voltage": "V",
    "current": "A",
    "power_factor": "1",
    "frequency": "Hz",
    "illuminance": "lx",
    "co2": "ppm",
    "pressure": "Pa",
    "battery": "%",
    "state": "bool",
    "contact": "bool",
    "water_leak": "bool",
    "occupancy": "bool",
    "fault_code": "code",
}

BOOLEAN_METRICS = frozenset(m for m, u in CANONICAL_UNITS.items() if u == "bool")

_METRIC_ALIASES: dict[str, str] = {
    "temp": "temperature",
    "temperature_c": "temperature",
    "hum": "humidity",
    "rh": "humidity",
    "relative_humidity": "humidity",
    "lux": "illuminance",
    "illuminance_lux": "illuminance",
    "carbon_dioxide": "co2",
    "eco2": "co2",
    "leak": "water_leak",
    "water": "water_leak",
    "pf": "power_factor",
    "factor": "power_factor",
    "freq": "frequency",
    "fault": "fault_code",
    "alarm_code": "fault_code",
    "apower": "power",
    "active_power": "power",
    "total": "energy",
    "total_energy": "energy",
    "press": "pressure",
    "running": "state",
    "power_state": "state",
}

# Spellings devices use for units, mapped to pint expressions.
_UNIT_SPELLINGS: dict[str, str] = {
    "°c": "degC",
    "c": "degC",
    "degc": "degC",
    "celsius": "degC",
    "°f": "degF",
    "f": "degF",
    "degf": "degF",
    "fahrenheit": "degF",
    "k": "kelvin",
    "kelvin": "kelvin",
    "wh": "watt_hour",
    "kwh": "kilowatt_hour",
    "mwh": "megawatt_hour",
    "w": "watt",
    "kw": "kilowatt",
    "mw": "milliwatt",
    "v": "volt",
    "mv": "millivolt",
    "a": "ampere",
    "ma": "milliampere",
    "hz": "hertz",
    "pa": "pascal",
    "hpa": "hectopascal",
    "kpa": "kilopascal",
    "mbar": "millibar",
    "bar": "bar",
    "psi": "psi",
    "lx": "lux",
    "lux": "lux",
    "ppm": "ppm",
    "%": "percent",
    "1": "dimensionless",
    "": "dimensionless",
}

_SNAKE_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_CAMEL_RE = re.compile(r"(?<=[a-z0-9])([A-Z])")
_TRUE = {"on", "true", "1", "yes", "closed", "open_alarm", "online", "running", "detected"}
_FALSE = {"off", "false", "0", "no", "open", "offline", "stopped", "clear", "idle"}
_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
_MAX_FUTURE = timedelta(days=1)


@lru_cache(maxsize=8192)
def canonical_metric(name: str) -> str:
    """Map a source's field name to our metric name (``Temperature`` → ``temperature``).

    Raises:
        Rejection: ``invalid_metric`` when the name cannot be made snake_case.
    """
    snake = _CAMEL_RE.sub(r"_\1", name.strip()).lower().replace("-", "_").replace(" ", "_")
    snake = _METRIC_ALIASES.get(snake, snake)
    if not _SNAKE_RE.match(snake):
        raise Rejection("invalid_metric", f"metric name {name[:80]!r} is not usable")
    return snake


def parse_bool(raw: Any) -> float | None:
    """``ON``/``off``/``true``/``1`` → 1.0/0.0; ``None`` when the value is not a boolean word."""
    if isinstance(raw, bool):
        return 1.0 if raw else 0.0
    if isinstance(raw, int | float) and raw in (0, 1):
        return float(raw)
    if isinstance(raw, str):
        word = raw.strip().lower()
        if word in _TRUE:
            return 1.0
        if word in _FALSE:
            return 0.0
    return None


def _bool_word(raw: Any) -> float | None:
    """A boolean given as JSON true/false or a word (not a bare 0/1, which stays a number)."""
    if isinstance(raw, bool) or (isinstance(raw, str) and not raw.strip().lstrip("-").isdigit()):
        return parse_bool(raw)
    return None


def _parse_number(metric: str, raw: Any) -> float:
    """A number for a metric that is not on/off; JSON ``true``/``false`` is not a number here.

    Reached only by metrics with a unit (on/off metrics and pass-through words are decided
    before), so a ``true`` where watts belong is a device or firmware fault: read as 1 W it
    would be a plausible, wrong reading; rejected it is counted and dead-lettered.
    """
    if isinstance(raw, bool):
        word = "true" if raw else "false"
        raise Rejection("wrong_type", f"{metric}: JSON {word} is not a number")
    if isinstance(raw, int | float):
        value = float(raw)
    elif isinstance(raw, str):
        try:
            value = float(raw.strip())
        except ValueError:
            raise Rejection("wrong_type", f"{metric}: {raw[:40]!r} is not a number") from None
    else:
        raise Rejection("wrong_type", f"{metric}: expected a number, got {type(raw).__name__}")
    if not math.isfinite(value):
        raise Rejection("not_finite", f"{metric}: value {raw!r} is not finite")
    return value


@lru_cache(maxsize=1)
def _registry() -> Any:
    import pint  # noqa: PLC0415  (lazy: pint costs ~0.3 s of start-up, used on odd units)

    return pint.UnitRegistry(autoconvert_offset_to_baseunit=True)


@lru_cache(maxsize=512)
def _converter(source: str, target: str) -> tuple[float, float] | None:
    """Return ``(scale, offset)`` so that ``target = source * scale + offset``, or ``None``."""
    reg = _registry()
    try:
        src = reg.Quantity(0.0, _UNIT_SPELLINGS.get(source.lower(), source))
        zero = src.to(_UNIT_SPELLINGS.get(target.lower(), target)).magnitude
        one = reg.Quantity(1.0, src.units).to(_UNIT_SPELLINGS.get(target.lower(), target))
    except Exception:
        # The unit string comes from the payload and pint parses it as an expression: besides
        # PintError it raises TokenError for "(", ZeroDivisionError for "1/0", and so on. Any
        # failure means "not a unit we can convert", never a crash of the ingest loop.
        return None
    return float(one.magnitude) - float(zero), float(zero)


_FAMILY_SUFFIXES = ("temperature", "humidity", "pressure", "power", "energy", "voltage", "current")


def unit_family(metric: str) -> str | None:
    """The canonical metric whose unit ``metric`` shares: ``supply_temperature`` → temperature."""
    if metric in CANONICAL_UNITS:
        return metric
    if metric.endswith(("apparent_power", "reactive_power")):
        return None  # VA and var are not W, though pint would convert them
    for suffix in _FAMILY_SUFFIXES:
        if metric.endswith("_" + suffix):
            return suffix
    return None


def convert(metric: str, value: float, unit: str | None) -> tuple[float, str]:
    """Convert ``value`` in ``unit`` to the canonical unit of ``metric``'s family (if any)."""
    family = unit_family(metric)
    target = CANONICAL_UNITS.get(family) if family else None
    if target is None:
        return value, (unit or "")
    if unit is None or unit == target or target in ("bool", "code"):
        return value, target
    key = unit.strip()
    if _UNIT_SPELLINGS.get(key.lower(), key) == _UNIT_SPELLINGS.get(target.lower(), target):
        return value, target
    factors = _converter(key, target)
    if factors is None:
        raise Rejection("bad_unit", f"{metric}: cannot convert unit {unit[:20]!r} to {target}")
    scale, offset = factors
    return round(value * scale + offset, 9), target


def parse_timestamp(raw: Any, received: datetime) -> datetime:
    """Parse ISO 8601 (with or without zone; naive = UTC) or epoch seconds/milliseconds.

    ``None`` means "use the receive time". Timestamps before 2000 or more than a day ahead of
    the receive time are rejected: they are clock faults, and stored they would corrupt history.
    """
    if raw is None or raw == "":
        return received
    if isinstance(raw, bool):
        raise Rejection("bad_timestamp", f"timestamp {raw!r} is not a time")
    try:
        if isinstance(raw, int | float):
            seconds = float(raw)
            if not math.isfinite(seconds):
                raise Rejection("bad_timestamp", f"timestamp {raw!r} is not finite")
            if seconds > 1e11:  # milliseconds since the epoch
                seconds /= 1000.0
            ts = datetime.fromtimestamp(seconds, tz=UTC)
        elif isinstance(raw, str):
            text = raw.strip()
            iso = _iso_timestamp(text)
            if iso is not None:
                ts = iso
            else:
                try:
                    return parse_timestamp(float(text), received)
                except (ValueError, Rejection):
                    pass
                ts = _from_iso(text)
        else:
            raise Rejection("bad_timestamp", f"timestamp of type {type(raw).__name__}")
    except (ValueError, OverflowError, OSError) as exc:
        raise Rejection(
            "bad_timestamp", f"timestamp {str(raw)[:40]!r} is not ISO 8601 or epoch"
        ) from exc
    if ts < _EARLIEST or ts > received + _MAX_FUTURE:
        raise Rejection(
            "bad_timestamp", f"timestamp {ts.isoformat()} is outside the plausible range"
        )
    return ts


def _from_iso(text: str) -> datetime:
    ts = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


@lru_cache(maxsize=1024)
def _iso_timestamp(text: str) -> datetime | None:
    """``text`` parsed as ISO 8601 (aware UTC), or ``None`` when it reads as a number.

    Cached because every device of a site reporting in one tick sends the same timestamp text:
    under load this saves a failed ``float()`` (an exception) and an ISO parse per message.
    Numbers return ``None`` so that :func:`parse_timestamp` handles them exactly as before
    (epoch first, ISO as the fallback); a ValueError for text that is neither is not cached.
    """
    try:
        float(text)
    except ValueError:
        return _from_iso(text)
    return None


@dataclass(frozen=True, slots=True)
class RawValue:
    """A field as a codec found it, before normalisation."""

    name: str
    value: Any
    unit: str | None = None


_PROBE_TS = datetime(2000, 1, 1, tzinfo=UTC)


@lru_cache(maxsize=4096)
def unitless_number(name: str) -> tuple[str, str, bool] | None:
    """Where a bare JSON number under field ``name`` goes: ``(metric, unit, boolean)``.

    This is what :func:`normalize` decides for ``RawValue(name, <int or float>)``, computed once
    per field name instead of once per reading: a boolean metric takes only 0/1 (``boolean`` is
    True), any other metric keeps the number with its family's canonical unit (or ``""``).
    ``None`` when the name is unusable; the caller then goes through :func:`normalize`, which
    raises the rejection with its reason.
    """
    try:
        metric = canonical_metric(name)
        Reading(device="probe", metric=metric, value=0.0, unit="", ts=_PROBE_TS)
    except (Rejection, ValueError, TypeError):
        return None
    if metric in BOOLEAN_METRICS:
        return metric, "bool", True
    family = unit_family(metric)
    target = CANONICAL_UNITS.get(family) if family else None
    return metric, target or "", False


def normalize(device: str, raw: RawValue, ts: datetime, *, quality: str = "good") -> Reading:
    """Turn one raw field into a canonical :class:`Reading`.

    Raises:
        Rejection: with a reason code when the name, value or unit is unusable.
    """
    metric = canonical_metric(raw.name)
    if metric in BOOLEAN_METRICS:
        flag = parse_bool(raw.value)
        if flag is None:
            raise Rejection("wrong_type", f"{metric}: {str(raw.value)[:40]!r} is not on/off")
        value, unit = flag, "bool"
    elif metric not in CANONICAL_UNITS and (flag := _bool_word(raw.value)) is not None:
        value, unit = flag, "bool"  # e.g. a pass-through "fan": "ON"
    else:
        value = _parse_number(metric, raw.value)
        value, unit = convert(metric, value, raw.unit)
        if not math.isfinite(value):
            raise Rejection("not_finite", f"{metric}: converted value is not finite")
    try:
        return Reading(device=device, metric=metric, value=value, unit=unit, ts=ts, quality=quality)
    except (ValueError, TypeError) as exc:
        raise Rejection("invalid_reading", str(exc)) from exc
