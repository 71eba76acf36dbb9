"""InfluxDB line protocol as both time-series stores write it (InfluxDB and VictoriaMetrics).

Kept apart from :mod:`gateway.stores.influx` so the VictoriaMetrics store can write the very same
lines without importing ``influxdb-client`` (~40 MB of RSS). See docs/influx-schema.md for the
schema: measurement ``readings``, tags ``device``, ``metric``, ``unit``, ``quality`` (and
``asset``/``site`` from the registry), one float field ``value``, nanosecond timestamps.

Tag values are stored as given except for the characters line protocol cannot carry in a tag
(``%``, ``\\``, CR, LF, TAB), which are percent-encoded (:func:`encode_tag`), so any device name
round-trips exactly.

Both stores also share the shape of a page cursor (a point's time and how many points at that
very time the caller has seen; :func:`encode_time_cursor`) and of a latest value.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from facility.core.types import Reading

__all__ = [
    "MEASUREMENT",
    "LatestValue",
    "TagsOf",
    "decode_tag",
    "decode_time_cursor",
    "encode_tag",
    "encode_time_cursor",
    "from_ns",
    "line_protocol",
    "short_error",
    "to_ns",
]

TagsOf = Callable[[str], Mapping[str, str]]

MEASUREMENT = "readings"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TAG_UNSAFE = {"%": "%25", "\\": "%5C", "\n": "%0A", "\r": "%0D", "\t": "%09"}
_TAG_DECODE = {v: k for k, v in _TAG_UNSAFE.items()}
#: line protocol escapes for tag keys and values (after encode_tag there are no backslashes left)
_LP_TAG = str.maketrans({",": "\\,", "=": "\\=", " ": "\\ "})


def encode_tag(value: str) -> str:
    """Percent-encode what line protocol cannot carry in a tag value; everything else as is."""
    return "".join(_TAG_UNSAFE.get(ch, ch) for ch in value)


def decode_tag(value: str) -> str:
    """Undo :func:`encode_tag` (a ``%`` not followed by one of our codes is kept)."""
    out: list[str] = []
    i = 0
    while i < len(value):
        chunk = value[i : i + 3]
        if chunk in _TAG_DECODE:
            out.append(_TAG_DECODE[chunk])
            i += 3
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


def to_ns(ts: datetime) -> int:
    """Exact integer nanoseconds since the epoch (no float rounding)."""
    return (ts - _EPOCH) // timedelta(microseconds=1) * 1000


def from_ns(ns: int) -> datetime:
    return _EPOCH + timedelta(microseconds=ns // 1000)


def line_protocol(readings: Sequence[Reading], tags_of: TagsOf | None = None) -> list[bytes]:
    """One line of InfluxDB line protocol per reading (nanosecond precision).

    Args:
        readings: the batch.
        tags_of: extra tags per device (``asset``, ``site``) from the registry, if any.
    """
    lines: list[bytes] = []
    for r in readings:
        tags = {"device": r.device, "metric": r.metric, "unit": r.unit, "quality": r.quality}
        if tags_of is not None:
            for key, value in tags_of(r.device).items():
                if value and key not in tags:
                    tags[key] = value
        tag_text = ",".join(
            f"{key.translate(_LP_TAG)}={encode_tag(value).translate(_LP_TAG)}"
            for key, value in sorted(tags.items())
            if value
        )
        lines.append(f"{MEASUREMENT},{tag_text} value={r.value!r} {to_ns(r.ts)}".encode())
    return lines


def short_error(exc: BaseException) -> str:
    """One readable line: urllib3's object reprs and ``[Errno n]`` prefixes removed."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    text = re.sub(r"<[^<>]*object at 0x[0-9a-f]+>:?\s*", "", text)
    text = re.sub(r"\[Errno -?\d+\]\s*", "", text)
    return text[:300]


@dataclass(frozen=True, slots=True)
class LatestValue:
    """The newest point of one series."""

    device: str
    metric: str
    value: float
    unit: str
    ts: datetime


_BAD_CURSOR = "cursor is not one this API returned; start without a cursor"


def encode_time_cursor(kind: str, ts: int, skip: int) -> str:
    """An opaque cursor: ``ts`` in the store's own unit, tagged with ``kind`` (one letter per
    store, so a cursor of one store is refused by another instead of misread)."""
    return base64.urlsafe_b64encode(f"{kind}{ts}:{skip}".encode()).decode()


def decode_time_cursor(kind: str, cursor: str) -> tuple[int, int]:
    """``(ts, skip)`` of a cursor :func:`encode_time_cursor` made for ``kind``; else ValueError
    with a readable message."""
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
        if not text.startswith(kind):
            raise ValueError(text)
        ts_text, skip_text = text[len(kind) :].split(":")
        ts, skip = int(ts_text), int(skip_text)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise ValueError(_BAD_CURSOR) from exc
    if skip < 0:
        raise ValueError(_BAD_CURSOR)
    return ts, skip
