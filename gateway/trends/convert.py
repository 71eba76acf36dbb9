"""Stream a trend-log CSV into readings and rejects, one row at a time (bounded memory).

:func:`read_trend` is a generator: it holds one row, the header and a few caches, never the
file, so a year of one-minute trends (millions of rows) converts in the memory of one row.
Every cell that cannot become a reading yields a :class:`TrendReject` naming the line, the
column and why, and the next cell flows: one bad row never stops an import.

Local times are resolved with :mod:`zoneinfo` explicitly rather than left to chance:

* a time that does not exist (the hour skipped when clocks go forward) is rejected with the
  reason ``nonexistent_time`` — the export is wrong or in another zone, and guessing would move
  a sample by an hour;
* a time that exists twice (the hour repeated when clocks go back) follows the map's
  ``timestamp.ambiguous``: ``earlier`` (``fold=0``, the default), ``later``, ``infer`` (the
  second occurrence once the file has already passed the first) or ``reject``.

Bytes that are not valid in the declared encoding are decoded with ``surrogateescape`` so the
reader never dies mid-file; the rows holding them are rejected (``bad_encoding``) with a hint.
"""

from __future__ import annotations

import csv
import io
import math
import re
import zoneinfo
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import IO, Any

from facility.core.errors import ConfigError
from facility.core.types import Reading
from gateway.normalize import Rejection, convert
from gateway.trends.mapping import (
    DEFAULT_FALSE,
    DEFAULT_TRUE,
    Ambiguous,
    Layout,
    PointMap,
    TimeFormat,
    TrendMap,
    ValueKind,
)

__all__ = ["TrendReject", "TrendStats", "localize", "read_trend"]

#: a cell longer than this is not a BMS value; the csv module's own limit is 128 KiB
MAX_CELL = 200
_SNIFF_BYTES = 64 * 1024
_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)  # as the gateway: earlier is a clock fault
_LATEST_AHEAD = timedelta(days=2)


@dataclass(frozen=True, slots=True)
class TrendReject:
    """One cell or row that did not become a reading, and why (one JSON line of ``--rejects``)."""

    line: int
    column: str
    reason: str
    detail: str
    value: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "column": self.column,
            "reason": self.reason,
            "detail": self.detail,
            "value": self.value[:MAX_CELL],
        }


@dataclass(slots=True)
class TrendStats:
    """Counts of one conversion, for the summary line."""

    rows: int = 0
    readings: int = 0
    rows_rejected: int = 0
    cells_rejected: int = 0
    empty_cells: int = 0
    ignored_rows: int = 0

    @property
    def rejected(self) -> int:
        return self.rows_rejected + self.cells_rejected


class _RowError(Exception):
    def __init__(self, column: str, reason: str, detail: str, value: str = "") -> None:
        super().__init__(detail)
        self.column, self.reason, self.detail, self.value = column, reason, detail, value


# -- time --------------------------------------------------------------------------------------
def localize(
    naive: datetime, zone: tzinfo, ambiguous: Ambiguous, previous: datetime | None
) -> datetime:
    """``naive`` local wall time in ``zone`` as an aware UTC datetime; see the module docstring.

    Raises:
        Rejection: ``nonexistent_time`` (a DST gap) or ``ambiguous_time`` (``reject``).
    """
    first = naive.replace(tzinfo=zone, fold=0)
    second = naive.replace(tzinfo=zone, fold=1)
    first_utc, second_utc = first.astimezone(UTC), second.astimezone(UTC)
    if first_utc == second_utc:  # the common case: one instant
        return first_utc
    exists_first = first_utc.astimezone(zone).replace(tzinfo=None) == naive
    exists_second = second_utc.astimezone(zone).replace(tzinfo=None) == naive
    if not (exists_first and exists_second):
        raise Rejection(
            "nonexistent_time",
            f"{naive.isoformat(' ')} does not exist in {zone} (clocks went forward); the export "
            "is wrong or in another time zone: check timestamp.timezone",
        )
    if ambiguous is Ambiguous.EARLIER:
        return first_utc
    if ambiguous is Ambiguous.LATER:
        return second_utc
    if ambiguous is Ambiguous.INFER:
        return second_utc if previous is not None and previous > first_utc else first_utc
    raise Rejection(
        "ambiguous_time",
        f"{naive.isoformat(' ')} occurs twice in {zone} (clocks went back); set "
        "timestamp.ambiguous to earlier, later or infer",
    )


def _time_parser(spec_format: str) -> Callable[[str], datetime]:
    """A function from the timestamp text to a datetime (naive = local), per the format."""
    if spec_format == TimeFormat.ISO:
        return lambda text: datetime.fromisoformat(text.replace("Z", "+00:00"))
    if spec_format in (TimeFormat.EPOCH_S, TimeFormat.EPOCH_MS):
        divisor = 1000.0 if spec_format == TimeFormat.EPOCH_MS else 1.0

        def epoch(text: str) -> datetime:
            seconds = float(text) / divisor
            if not math.isfinite(seconds):
                raise ValueError("not finite")
            return datetime.fromtimestamp(seconds, UTC)

        return epoch
    return lambda text: datetime.strptime(text, spec_format)


# -- values ------------------------------------------------------------------------------------
class _Cell:
    """A compiled :class:`PointMap`: cell text → (value, unit), raising ``_RowError``."""

    __slots__ = ("column", "decimal", "device", "false", "metric", "point", "true")

    def __init__(self, column: str, point: PointMap, device: str, decimal: str) -> None:
        self.column = column
        self.point = point
        self.device = device
        self.metric = point.metric
        self.decimal = decimal
        self.true = {w.lower() for w in (*DEFAULT_TRUE, *point.true)} - {
            w.lower() for w in point.false
        }
        self.false = {w.lower() for w in (*DEFAULT_FALSE, *point.false)} - {
            w.lower() for w in point.true
        }

    def value(self, text: str) -> tuple[float, str]:
        point = self.point
        if point.value is ValueKind.BOOL:
            word = text.lower()
            if word in self.true:
                return 1.0, "bool"
            if word in self.false:
                return 0.0, "bool"
            raise _RowError(
                self.column,
                "wrong_type",
                f"{text[:40]!r} is not an on/off word; add it to true:/false: of this column",
                text,
            )
        number = _number(text, self.decimal, self.column)
        number = number * point.scale + point.offset
        unit = point.unit
        if point.value is ValueKind.FRACTION:
            if not -0.001 <= number <= 1.001:
                raise _RowError(
                    self.column,
                    "out_of_range",
                    f"{text[:40]} is not a fraction 0-1 (value: fraction); is it already %?",
                    text,
                )
            number, unit = number * 100.0, "%"
        try:
            value, canonical = convert(self.metric, number, unit)
        except Rejection as rejection:
            raise _RowError(self.column, rejection.reason, rejection.detail, text) from None
        if not math.isfinite(value):
            raise _RowError(self.column, "not_finite", f"{text[:40]} scaled is not finite", text)
        return value, canonical


_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _number(text: str, decimal: str, column: str) -> float:
    if decimal == ",":
        text = text.replace(".", "").replace(" ", "").replace(",", ".")
    if not _NUMBER.fullmatch(text):
        hint = "" if decimal == "," or "," not in text else " (a decimal comma? set csv.decimal)"
        raise _RowError(column, "wrong_type", f"{text[:40]!r} is not a number{hint}", text)
    value = float(text)
    if not math.isfinite(value):
        raise _RowError(column, "not_finite", f"{text[:40]!r} is not finite", text)
    return value


# -- the file ----------------------------------------------------------------------------------
def _open_text(path: Path, encoding: str) -> tuple[IO[bytes], IO[str]]:
    try:
        raw = path.open("rb")
    except OSError as exc:
        raise ConfigError(f"cannot read {path} ({exc.strerror or exc})") from exc
    text = io.TextIOWrapper(raw, encoding=encoding, errors="surrogateescape", newline="")
    return raw, text


#: a physical line longer than this is skipped (and rejected) without being held in memory
MAX_LINE = 1024 * 1024
_OVERLONG = "\x00overlong"


def _bounded_lines(text: IO[str]) -> Iterator[str]:
    """The file's lines, each at most :data:`MAX_LINE` characters: a longer one (a hostile or
    broken file with no line breaks) is read past in chunks and replaced by a marker row."""
    while True:
        line = text.readline(MAX_LINE)
        if not line:
            return
        if len(line) >= MAX_LINE and not line.endswith(("\n", "\r")):
            while True:
                rest = text.readline(MAX_LINE)
                if not rest or rest.endswith(("\n", "\r")):
                    break
            yield _OVERLONG + "\n"
            continue
        yield line


def _dialect(text: IO[str], delimiter: str, quotechar: str) -> Any:
    if delimiter != "auto":
        return {"delimiter": delimiter, "quotechar": quotechar}
    sample = text.read(_SNIFF_BYTES)
    text.seek(0)
    try:
        sniffed = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        raise ConfigError(
            "cannot tell the CSV delimiter from the first 64 KB; "
            'set csv.delimiter (",", ";", "\\t")'
        ) from None
    return {"delimiter": sniffed.delimiter, "quotechar": quotechar}


def _shown(encoding: str) -> str:
    """The encoding as the user wrote it (the BOM-skipping utf-8-sig is our detail)."""
    return "utf-8" if encoding == "utf-8-sig" else encoding


def _has_surrogates(cells: list[str]) -> bool:
    return any(
        not cell.isascii() and any("\udc80" <= ch <= "\udcff" for ch in cell) for cell in cells
    )


def read_trend(
    path: Path,
    mapping: TrendMap,
    stats: TrendStats | None = None,
    *,
    now: datetime | None = None,
    position: Callable[[int], None] | None = None,
) -> Iterator[Reading | TrendReject]:
    """Yield the readings of ``path`` (in file order) and a :class:`TrendReject` per bad cell.

    Args:
        stats: filled in as the file is read (rows, readings, rejects, empty cells).
        now: the latest plausible time is ``now`` plus two days (default: the clock).
        position: called with the byte offset read so far, for a progress bar.

    Raises:
        ConfigError: the file cannot be opened, or its header lacks a column the map names
            (nothing has been yielded then).
    """
    stats = stats if stats is not None else TrendStats()
    latest = (now or datetime.now(UTC)) + _LATEST_AHEAD
    dialect = mapping.csv
    raw, text = _open_text(path, dialect.encoding)
    with raw, text:
        try:
            options = _dialect(text, dialect.delimiter, dialect.quotechar)
            reader = csv.reader(_bounded_lines(text), strict=False, **options)
            header = _header(reader, path, mapping)
        except UnicodeDecodeError as exc:  # only in a codec without surrogateescape support
            raise ConfigError(f"{path}: not {_shown(dialect.encoding)} text ({exc})") from exc
        index = {name: i for i, name in reversed(list(enumerate(header)))}
        yield from _rows(reader, index, mapping, stats, latest, raw, position)


def _header(reader: Any, path: Path, mapping: TrendMap) -> list[str]:
    header: list[str] | None = None
    for _ in range(mapping.csv.skip_rows + 1):
        header = next(reader, None)
        if header is None:
            raise ConfigError(
                f"{path}: the file ends before its header "
                f"(csv.skip_rows is {mapping.csv.skip_rows})"
            )
    assert header is not None
    header = [cell.strip() for cell in header]
    if _has_surrogates(header):
        raise ConfigError(
            f"{path}: the header is not {_shown(mapping.csv.encoding)} text; set csv.encoding "
            "(gb18030 for most Chinese BMS exports)"
        )
    missing = [c for c in mapping.needed_columns() if c not in header]
    if missing:
        shown = ", ".join(repr(h) for h in header[:20]) + (" ..." if len(header) > 20 else "")
        raise ConfigError(
            f"{path}: column(s) {', '.join(repr(c) for c in missing)} of the map are not in the "
            f"header (line {reader.line_num}: {shown}); fix the map or csv.skip_rows/delimiter"
        )
    return header


def _rows(
    reader: Any,
    index: dict[str, int],
    mapping: TrendMap,
    stats: TrendStats,
    latest: datetime,
    raw: IO[bytes],
    position: Callable[[int], None] | None,
) -> Iterator[Reading | TrendReject]:
    spec = mapping.timestamp
    parse_time = _time_parser(spec.format)
    zone = zoneinfo.ZoneInfo(spec.timezone)
    time_columns = [index[c] for c in spec.columns]
    time_label = "+".join(spec.columns)
    missing = frozenset(mapping.csv.missing)
    decimal = mapping.csv.decimal
    wide = mapping.layout is Layout.WIDE
    if wide:
        cells = [
            (index[name], _Cell(name, point, mapping.device_of(point), decimal))
            for name, point in mapping.columns.items()
        ]
        by_point: dict[str, _Cell] = {}
        point_at = value_at = -1
    else:
        assert mapping.long is not None
        cells = []
        by_point = {
            name: _Cell(mapping.long.value, point, mapping.device_of(point), decimal)
            for name, point in mapping.points.items()
        }
        point_at, value_at = index[mapping.long.point], index[mapping.long.value]
    width = max(index.values()) + 1
    needed = max([*time_columns, *(i for i, _ in cells), point_at, value_at]) + 1
    previous: datetime | None = None
    last_line = -1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            stats.rows += 1
            stats.rows_rejected += 1
            yield TrendReject(reader.line_num, "", "bad_csv", f"{exc}; the row is skipped")
            if reader.line_num == last_line:  # no progress: give up on the rest rather than spin
                break
            last_line = reader.line_num
            continue
        line = reader.line_num
        if position is not None and stats.rows % 4096 == 0:
            position(raw.tell())
        if not row or (len(row) == 1 and not row[0].strip()):
            continue  # blank line
        stats.rows += 1
        if row == [_OVERLONG]:
            stats.rows_rejected += 1
            detail = f"the line is over {MAX_LINE // 1024} KiB (no line break?); skipped"
            yield TrendReject(line, "", "too_long", detail)
            continue
        try:
            if len(row) < needed:
                raise _RowError("", "short_row", f"{len(row)} fields, the header has {width}", "")
            if _has_surrogates(row):
                raise _RowError(
                    "",
                    "bad_encoding",
                    f"bytes that are not {_shown(mapping.csv.encoding)} text; set csv.encoding "
                    "(gb18030 for most Chinese BMS exports)",
                )
            stamp_text = " ".join(row[i].strip() for i in time_columns)
            ts = _row_time(
                stamp_text, parse_time, zone, spec.ambiguous, previous, latest, time_label
            )
        except _RowError as error:
            stats.rows_rejected += 1
            yield TrendReject(line, error.column, error.reason, error.detail, error.value)
            continue
        previous = ts
        if wide:
            targets = [(cell, row[i].strip()) for i, cell in cells]
        else:
            name = row[point_at].strip()
            found = by_point.get(name)
            if found is None:
                if mapping.ignore_unmapped:
                    stats.ignored_rows += 1
                else:
                    stats.rows_rejected += 1
                    yield TrendReject(
                        line,
                        mapping.long.point if mapping.long else "",
                        "unmapped_point",
                        f"point {name[:80]!r} is not in the map's points (or set ignore_unmapped)",
                        name,
                    )
                continue
            targets = [(found, row[value_at].strip())]
        for cell, cell_text in targets:
            if cell_text.lower() in missing:
                stats.empty_cells += 1
                continue
            try:
                if len(cell_text) > MAX_CELL:
                    raise _RowError(
                        cell.column, "too_long", f"{len(cell_text)} characters", cell_text
                    )
                value, unit = cell.value(cell_text)
                reading = Reading(cell.device, cell.metric, value, unit, ts)
            except _RowError as error:
                stats.cells_rejected += 1
                yield TrendReject(line, error.column, error.reason, error.detail, error.value)
                continue
            except (ValueError, TypeError) as exc:
                stats.cells_rejected += 1
                yield TrendReject(line, cell.column, "invalid_reading", str(exc)[:200], cell_text)
                continue
            stats.readings += 1
            yield reading
    if position is not None:
        position(raw.tell())


def _row_time(
    text: str,
    parse_time: Callable[[str], datetime],
    zone: tzinfo,
    ambiguous: Ambiguous,
    previous: datetime | None,
    latest: datetime,
    label: str,
) -> datetime:
    try:
        parsed = parse_time(text)
    except (ValueError, OverflowError, OSError):
        raise _RowError(
            label,
            "bad_timestamp",
            f"{text[:60]!r} does not match the timestamp format of the map",
            text,
        ) from None
    if parsed.tzinfo is None:
        try:
            ts = localize(parsed, zone, ambiguous, previous)
        except Rejection as rejection:
            raise _RowError(label, rejection.reason, rejection.detail, text) from None
    else:
        ts = parsed.astimezone(UTC)
    if not _EARLIEST <= ts <= latest:
        raise _RowError(label, "bad_timestamp", f"{ts.isoformat()} is not a plausible time", text)
    return ts
