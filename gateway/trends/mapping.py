"""The trend map (``MAP.yaml``): how one BMS trend-log CSV becomes readings.

A building-management system exports trends in its own shape: wide (a time column and one
column per point, as Niagara, Metasys and most Chinese BMS front ends write) or long (one row
per sample: point, value, time). The map names the columns, says what each one is (device,
canonical metric, unit, how booleans are spelt) and how time is written, and is validated as a
whole before the first row is read, so a typo never half-imports a month of data.

Unknown keys are refused (``extra="forbid"``): a misspelt ``timezon`` silently ignored would
shift every reading by the site's UTC offset and look plausible. A worked example is in
docs/trends.md.
"""

from __future__ import annotations

import math
import zoneinfo
from collections.abc import Mapping, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Any, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from facility.core.errors import ConfigError
from gateway.normalize import Rejection, canonical_metric, convert

__all__ = [
    "DEFAULT_FALSE",
    "DEFAULT_MISSING",
    "DEFAULT_TRUE",
    "Ambiguous",
    "CsvDialect",
    "Layout",
    "LongColumns",
    "PointMap",
    "TimeFormat",
    "TimestampSpec",
    "TrendMap",
    "ValueKind",
    "load_trend_map",
    "parse_trend_map",
]

#: boolean words BMS exports use, English and Chinese (compared case-insensitively)
DEFAULT_TRUE = ("on", "true", "1", "yes", "active", "running", "run", "开", "开启", "运行", "是")
DEFAULT_FALSE = (
    "off",
    "false",
    "0",
    "no",
    "inactive",
    "stopped",
    "stop",
    "关",
    "关闭",
    "停止",
    "否",
)
#: cells that mean "no sample at this time" (skipped and counted, not rejected)
DEFAULT_MISSING = ("", "null", "nan", "n/a", "na", "-", "--", "none", "{?}")


class Layout(StrEnum):
    """``wide``: one column per point; ``long``: rows of (point, value, time)."""

    WIDE = "wide"
    LONG = "long"


class ValueKind(StrEnum):
    """How a cell is read: a number, a 0-1 fraction stored as percent, or an on/off word."""

    NUMBER = "number"
    FRACTION = "fraction"  # 0.0-1.0 in the file, 0-100 % in the reading
    BOOL = "bool"


class Ambiguous(StrEnum):
    """What a local time that occurs twice (the hour clocks go back) means.

    ``earlier`` takes the first occurrence (``fold=0``, still summer time), ``later`` the second
    (``fold=1``), ``infer`` takes the first unless the file's previous row is already past it
    (a chronological export that repeats 01:00-01:59), and ``reject`` refuses the row.
    """

    EARLIER = "earlier"
    LATER = "later"
    INFER = "infer"
    REJECT = "reject"


class TimeFormat(StrEnum):
    """The named timestamp formats; any other ``format`` is a ``strptime`` pattern."""

    ISO = "iso"
    EPOCH_S = "epoch_s"
    EPOCH_MS = "epoch_ms"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CsvDialect(_Model):
    """How the file is written: delimiter, decimal mark, encoding, lines before the header."""

    delimiter: str = Field(default=",", description='one character, or "auto" to sniff it')
    quotechar: str = Field(default='"', min_length=1, max_length=1)
    decimal: str = Field(default=".", description='"." or "," (decimal comma)')
    encoding: str = Field(
        default="utf-8",
        validate_default=True,
        description="utf-8 (a BOM is skipped), gb18030, gbk, latin-1 ...",
    )
    skip_rows: int = Field(default=0, ge=0, le=1000, description="rows before the header")
    missing: tuple[str, ...] = Field(
        default=DEFAULT_MISSING, description="cells that mean no sample (case-insensitive)"
    )

    @field_validator("delimiter")
    @classmethod
    def _delimiter(cls, value: str) -> str:
        if value == "\\t":
            return "\t"
        if value != "auto" and len(value) != 1:
            raise ValueError(f'{value!r} must be one character (";", "\\t"...) or "auto"')
        return value

    @field_validator("decimal")
    @classmethod
    def _decimal(cls, value: str) -> str:
        if value not in (".", ","):
            raise ValueError(f'{value!r} must be "." or ","')
        return value

    @field_validator("encoding")
    @classmethod
    def _encoding(cls, value: str) -> str:
        import codecs  # noqa: PLC0415  (stdlib; only to check the name)

        try:
            name = codecs.lookup(value).name
        except LookupError:
            raise ValueError(
                f"{value!r} is not an encoding Python knows (utf-8, gb18030...)"
            ) from None
        return "utf-8-sig" if name in ("utf-8", "utf-8-sig") else name

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.decimal == "," and self.delimiter == ",":
            raise ValueError('delimiter: a decimal comma needs another delimiter, e.g. ";"')
        object.__setattr__(self, "missing", tuple(m.strip().lower() for m in self.missing))
        return self


class TimestampSpec(_Model):
    """Where the time of a row is and how to read it."""

    columns: tuple[str, ...] = Field(
        min_length=1, max_length=4, description="column(s), joined with a space (Date, Time)"
    )
    format: str = Field(default="iso", min_length=1, max_length=100)
    timezone: str = Field(default="UTC", description="IANA zone of local times (Asia/Shanghai)")
    ambiguous: Ambiguous = Ambiguous.EARLIER

    @field_validator("columns", mode="before")
    @classmethod
    def _one_column(cls, value: Any) -> Any:
        return (value,) if isinstance(value, str) else value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"{value!r} is not an IANA time zone; use a name such as Asia/Shanghai, "
                "America/New_York or UTC"
            ) from None
        return value

    @field_validator("format")
    @classmethod
    def _format(cls, value: str) -> str:
        if value in TimeFormat.__members__.values() or "%" in value:
            return value
        raise ValueError(
            f"{value!r} is neither iso, epoch_s, epoch_ms nor a strptime pattern such as "
            "'%Y-%m-%d %H:%M:%S'"
        )


class PointMap(_Model):
    """What one column (wide) or one point name (long) is."""

    device: str | None = Field(default=None, description="device id; default: the map's device")
    metric: str = Field(description="canonical metric (supply_air_temperature...)")
    unit: str | None = Field(default=None, description="unit in the file (degF, inH2O, kPa, %)")
    value: ValueKind = ValueKind.NUMBER
    scale: float = 1.0
    offset: float = 0.0
    true: tuple[str, ...] = Field(default=(), description="extra words for on (value: bool)")
    false: tuple[str, ...] = Field(default=(), description="extra words for off (value: bool)")

    @model_validator(mode="after")
    def _check(self) -> Self:
        try:
            object.__setattr__(self, "metric", canonical_metric(self.metric))
        except Rejection as exc:
            raise ValueError(f"metric: {exc.detail}") from None
        if not math.isfinite(self.scale) or self.scale == 0 or not math.isfinite(self.offset):
            raise ValueError("scale: must be a finite, non-zero number (offset finite)")
        if self.value is ValueKind.FRACTION and self.unit not in (None, "%", "percent"):
            raise ValueError(
                f"unit: a fraction (0-1) becomes percent; drop unit {self.unit!r} or use %"
            )
        if self.value is ValueKind.NUMBER and self.unit is not None:
            try:  # a unit that can never convert would reject every cell: refuse it here
                convert(self.metric, 1.0, self.unit)
            except Rejection as exc:
                raise ValueError(f"unit: {exc.detail}") from None
        if self.value is not ValueKind.BOOL and (self.true or self.false):
            raise ValueError("true: on/off words need value: bool")
        overlap = {w.lower() for w in self.true} & {w.lower() for w in self.false}
        if overlap:
            raise ValueError(f"true: {sorted(overlap)} are both on and off words")
        if self.device is not None and (
            not self.device.strip() or any(ch in self.device for ch in "#+\x00")
        ):
            raise ValueError(f"device: {self.device!r} is not a usable device id")
        return self


class LongColumns(_Model):
    """The columns of a long file: which holds the point name and which its value."""

    point: str = Field(min_length=1)
    value: str = Field(min_length=1)


class TrendMap(_Model):
    """The whole map; see the module docstring and docs/trends.md."""

    layout: Layout = Layout.WIDE
    csv: CsvDialect = Field(default_factory=CsvDialect)
    timestamp: TimestampSpec
    device: str | None = Field(default=None, description="device of points that name none")
    columns: dict[str, PointMap] = Field(default_factory=dict, description="wide: header -> point")
    long: LongColumns | None = None
    points: dict[str, PointMap] = Field(default_factory=dict, description="long: name -> point")
    ignore_unmapped: bool = Field(
        default=False, description="long: skip rows of unmapped points instead of rejecting"
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.layout is Layout.WIDE:
            if not self.columns:
                raise ValueError("columns: a wide map needs at least one value column")
            if self.long is not None or self.points:
                raise ValueError("long: 'long' and 'points' belong to layout: long")
            mapped = self.columns
        else:
            if self.long is None or not self.points:
                raise ValueError("long: layout long needs 'long: {point, value}' and 'points'")
            if self.columns:
                raise ValueError("columns: 'columns' belongs to layout: wide; use 'points'")
            mapped = self.points
        seen: dict[tuple[str, str], str] = {}
        for name, point in mapped.items():
            device = point.device or self.device
            if device is None:
                raise ValueError(f"device: {name!r} names no device and the map has none")
            key = (device, point.metric)
            if key in seen:
                raise ValueError(
                    f"columns: {name!r} and {seen[key]!r} both give {key[1]} of {key[0]}"
                )
            seen[key] = name
        return self

    def device_of(self, point: PointMap) -> str:
        device = point.device or self.device
        assert device is not None  # checked by the validator
        return device

    def needed_columns(self) -> list[str]:
        """Every header the file must have."""
        needed = list(self.timestamp.columns)
        if self.layout is Layout.WIDE:
            needed += [c for c in self.columns if c not in needed]
        else:
            assert self.long is not None
            needed += [c for c in (self.long.point, self.long.value) if c not in needed]
        return needed


def _where(loc: Sequence[int | str]) -> str:
    return ".".join(str(part) for part in loc) or "map"


def parse_trend_map(data: Any, *, source: str = "trend map") -> TrendMap:
    """Validate a parsed map; one :class:`ConfigError` naming the field path and the fix."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: expected a mapping with 'timestamp' and 'columns'")
    try:
        return TrendMap.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        message = str(first["msg"]).removeprefix("Value error, ")
        loc = list(first["loc"])
        field, sep, rest = message.partition(": ")
        if sep and field.isidentifier() and field in PointMap.model_fields | TrendMap.model_fields:
            loc.append(field)
            message = rest
        more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
        raise ConfigError(f"{source}: {_where(loc)}: {message}{more}") from None


def load_trend_map(path: Path) -> TrendMap:
    """Read and validate ``MAP.yaml``; errors name the file and the field."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ConfigError(f"--map {str(path)!r} cannot be read ({reason})") from exc
    if len(text) > 1_000_000:
        raise ConfigError(f"--map {str(path)!r} is over 1 MB; a trend map is a few KB")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from exc
    return parse_trend_map(data, source=str(path))
