"""The VictoriaMetrics reading store: InfluxDB line protocol in, export API and MetricsQL out.

VictoriaMetrics does not speak InfluxQL, so the InfluxDB store can write to it but not read
from it. This store writes the very same lines (:func:`gateway.stores.lineproto.line_protocol`)
to its InfluxDB endpoint (``/write``) and reads:

* raw points with ``/api/v1/export`` (JSON lines, exact raw samples per series): paging history
  with a cursor, ``history`` without windows;
* counts, aggregates and latest values with MetricsQL on ``/api/v1/query`` and
  ``/api/v1/query_range`` (``sum(count_over_time(...))`` for ``total``, ``*_over_time``
  per window), always with ``nocache=1`` so a back-filled point is never hidden by the
  response cache or the ``-search.latencyOffset`` adjustment of recent points.

VictoriaMetrics names a series written by line protocol ``<measurement>_<field>``, so readings
are the series ``readings_value`` with the tags as labels (``device``, ``metric``, ``unit``,
``quality``, ``asset``, ``site``). Tag values are percent-encoded as the InfluxDB store stores
them (:func:`gateway.stores.lineproto.encode_tag`); every value that reaches a selector is
encoded the same way and then quoted by :func:`quote_label_value`.

What VictoriaMetrics keeps differs from InfluxDB in two ways, and this store says so rather than
hide it:

* **milliseconds**: timestamps are truncated to the millisecond on write, so readings come back
  at millisecond precision, ``start``/``end`` are compared at millisecond resolution
  (``[floor(start), floor(end))`` in ms) and cursors are (millisecond, rows already returned at
  it). ``total`` and the pages use the same millisecond range, so they always agree.
* **about 12 significant digits**: values are stored as decimals (21.5 and 0.25 exactly,
  0.30000000000000004 as 0.3).

Two points of one series at the same millisecond are one point only when VictoriaMetrics runs
with ``-dedup.minScrapeInterval=1ms`` (then a redelivered batch replaces itself, as in
InfluxDB); run it so. Cluster: point ``FACILITY_VICTORIA_URL`` at vminsert's
``http://vminsert:8480/insert/0/influx`` and ``FACILITY_VICTORIA_QUERY_URL`` at vmselect's
``http://vmselect:8481/select/0/prometheus``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import urllib3

from facility.core.errors import ConfigError, ServiceUnavailable
from facility.core.types import Reading, ReadingPage
from gateway.stores.lineproto import (
    MEASUREMENT,
    LatestValue,
    TagsOf,
    decode_tag,
    decode_time_cursor,
    encode_tag,
    encode_time_cursor,
    line_protocol,
    short_error,
)

__all__ = [
    "SERIES",
    "VictoriaOptions",
    "VictoriaReadingStore",
    "decode_cursor",
    "encode_cursor",
    "quote_label_value",
    "selector",
]

#: the series line protocol ``readings,... value=...`` becomes in VictoriaMetrics
SERIES = f"{MEASUREMENT}_value"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: the earliest instant read when a range has no start: VictoriaMetrics answers nothing for a
#: rollup window that reaches back to the epoch itself (measured on 1.79)
_EARLIEST_MS = 365 * 86_400_000
#: how far past "now" an open range reaches: VictoriaMetrics refuses samples more than two days
#: ahead of its clock, so nothing stored lies beyond
_FUTURE_MS = 2 * 86_400_000
#: ``history`` aggregates, each as (per-series rollup, how per-series results combine)
_AGGREGATES = {
    "mean": None,  # sum of sums / sum of counts: the mean of every point, not of series means
    "min": "min(min_over_time({sel}[{w}]))",
    "max": "max(max_over_time({sel}[{w}]))",
    "sum": "sum(sum_over_time({sel}[{w}]))",
    "count": "sum(count_over_time({sel}[{w}]))",
}
_MEAN = "sum(sum_over_time({sel}[{w}])) / sum(count_over_time({sel}[{w}]))"
_LABELS = ("device", "metric", "unit", "quality")


def to_ms(ts: datetime) -> int:
    """Integer milliseconds since the epoch, truncated as VictoriaMetrics truncates on write."""
    return (ts - _EPOCH) // timedelta(milliseconds=1)


def from_ms(ms: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=ms)


def quote_label_value(value: str) -> str:
    """A MetricsQL string literal matching exactly ``value``.

    Double quotes; backslash and quote escaped; every control or non-printable character as a
    ``\\u``/``\\U`` escape (MetricsQL unquotes Go-style), so no value can end the literal,
    the selector or the query.
    """
    out = ['"']
    for ch in value:
        if ch in '\\"':
            out.append("\\" + ch)
        elif ch.isprintable() and ch not in "\u2028\u2029":
            out.append(ch)
        elif ord(ch) <= 0xFFFF:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)


def selector(**labels: str | None) -> str:
    """``readings_value{device="…",metric="…"}`` for the labels given (``None`` = any).

    Label values are matched in their stored (percent-encoded) form.
    """
    parts = [
        f"{key}={quote_label_value(encode_tag(value))}"
        for key, value in labels.items()
        if value is not None
    ]
    return SERIES + "{" + ",".join(parts) + "}"


def encode_cursor(ts_ms: int, skip: int) -> str:
    return encode_time_cursor("v", ts_ms, skip)


def decode_cursor(cursor: str) -> tuple[int, int]:
    """Raises ValueError with a readable message for a cursor we did not issue."""
    return decode_time_cursor("v", cursor)


@dataclass(slots=True)
class VictoriaOptions:
    """Where to write and read.

    ``url`` is the write base (``/write`` is appended); ``query_url`` the read base
    (``/api/v1/...`` appended), ``url`` when unset: right for single-node VictoriaMetrics.
    """

    url: str
    query_url: str | None = None
    batch_size: int = 500
    max_retries: int = 3
    retry_interval_s: float = 0.5
    timeout_s: float = 10.0


# one raw point: (ms, series key, value, labels); the key orders points sharing a millisecond
_Row = tuple[int, tuple[tuple[str, str], ...], float, dict[str, str]]


class VictoriaReadingStore:
    """Readings in VictoriaMetrics; see the module docstring for what it keeps and how."""

    def __init__(self, options: VictoriaOptions, *, tags_of: TagsOf | None = None) -> None:
        for name, value in (("URL", options.url), ("QUERY_URL", options.query_url)):
            if value is not None and not value.startswith(("http://", "https://")):
                raise ConfigError(
                    f"FACILITY_VICTORIA_{name}={value!r} is not an http(s):// URL; "
                    "set it to e.g. http://victoriametrics:8428"
                )
        self.options = options
        self.tags_of = tags_of
        self._write_url = options.url.rstrip("/") + "/write"
        self._read_base = (options.query_url or options.url).rstrip("/")
        self._http = urllib3.PoolManager(
            timeout=urllib3.Timeout(total=options.timeout_s), retries=False
        )

    # -- writing ---------------------------------------------------------------------------
    def write(self, readings: Sequence[Reading]) -> None:
        """Write the batch as line protocol, in bodies of at most ``batch_size`` lines.

        Each body is retried (bounded, with exponential backoff) on a refused connection or a
        5xx; a 4xx is not retried (the body would be refused again).

        Raises:
            ServiceUnavailable: the server refused or could not be reached after the retries.
        """
        if not readings:
            return
        lines = line_protocol(readings, self.tags_of)
        size = max(1, self.options.batch_size)
        for begin in range(0, len(lines), size):
            self._post(b"\n".join(lines[begin : begin + size]))

    def _post(self, body: bytes) -> None:
        url = f"{self._write_url}?precision=ns"
        problem = ""
        for attempt in range(self.options.max_retries + 1):
            if attempt:
                time.sleep(self.options.retry_interval_s * 2 ** (attempt - 1))  # backoff
            try:
                response = self._http.request("POST", url, body=body)
            except urllib3.exceptions.HTTPError as exc:
                problem = short_error(exc)
                continue
            if response.status < 300:
                return
            problem = f"HTTP {response.status}: {response.data[:200]!r}"
            if response.status < 500:
                break
        raise ServiceUnavailable(
            f"cannot write to VictoriaMetrics at {self._write_url} ({problem}); "
            "is it running? check FACILITY_VICTORIA_URL"
        )

    def ping(self) -> None:
        """Check that the server answers (``/health``), so ``serve`` can refuse to start.

        Raises:
            ServiceUnavailable: with the URL and what to do.
        """
        url = self.options.url.rstrip("/") + "/health"
        try:
            response = self._http.request("GET", url)
        except urllib3.exceptions.HTTPError as exc:
            raise ServiceUnavailable(
                f"cannot reach VictoriaMetrics at {self.options.url} ({short_error(exc)}); "
                "start it or fix FACILITY_VICTORIA_URL"
            ) from exc
        if response.status >= 400:
            raise ServiceUnavailable(
                f"VictoriaMetrics at {self.options.url} answered /health with HTTP "
                f"{response.status}; check FACILITY_VICTORIA_URL"
            )

    # -- HTTP ------------------------------------------------------------------------------
    def _get(self, path: str, fields: dict[str, str]) -> bytes:
        url = self._read_base + path
        try:
            response = self._http.request("POST", url, fields=fields, encode_multipart=False)
        except urllib3.exceptions.HTTPError as exc:
            raise ServiceUnavailable(
                f"cannot query VictoriaMetrics at {url} ({short_error(exc)}); "
                "is it running? check FACILITY_VICTORIA_QUERY_URL (or FACILITY_VICTORIA_URL)"
            ) from exc
        if response.status >= 400:
            raise self._unexpected(url, f"HTTP {response.status}: {response.data[:200]!r}")
        data: bytes = response.data
        return data

    @staticmethod
    def _unexpected(url: str, what: str) -> ServiceUnavailable:
        """The store answered, but not as VictoriaMetrics does: a wrong URL or another engine."""
        return ServiceUnavailable(
            f"the reading store at {url} answered {what}; check that "
            "FACILITY_VICTORIA_QUERY_URL (or FACILITY_VICTORIA_URL) points at VictoriaMetrics "
            "(single node :8428, or vmselect's /select/<tenant>/prometheus)"
        )

    def export(self, match: str, start_ms: int, end_ms: int) -> Iterator[_Row]:
        """Raw points of every series ``match`` selects in ``[start_ms, end_ms)``."""
        if end_ms <= start_ms:
            return
        body = self._get(
            "/api/v1/export",
            {
                "match[]": match,
                "start": _seconds(start_ms),
                "end": _seconds(end_ms - 1),  # export's end is inclusive
            },
        )
        url = self._read_base + "/api/v1/export"
        for line in body.splitlines():
            if not line.strip():
                continue
            try:
                series = orjson.loads(line)
                labels = {k: v for k, v in series["metric"].items() if k != "__name__"}
                key = tuple(sorted(labels.items()))
                pairs = zip(series["timestamps"], series["values"], strict=True)
                rows = [(int(ts), key, float(value), labels) for ts, value in pairs]
            except (orjson.JSONDecodeError, AttributeError, KeyError, TypeError, ValueError) as exc:
                raise self._unexpected(
                    url, f"a line that is not an exported series ({line[:120]!r})"
                ) from exc
            for row in rows:
                if start_ms <= row[0] < end_ms and math.isfinite(row[2]):
                    yield row

    def metricsql(self, query: str, at_ms: int) -> list[tuple[dict[str, str], float]]:
        """An instant MetricsQL query at ``at_ms``: (labels, value) of every result series."""
        body = self._get("/api/v1/query", {"query": query, "time": _seconds(at_ms), "nocache": "1"})
        return [
            (labels, float(values[0][1]))
            for labels, values in self._result(body, "/api/v1/query", "vector")
        ]

    def metricsql_range(
        self, query: str, start_ms: int, end_ms: int, step_ms: int
    ) -> list[tuple[dict[str, str], list[tuple[int, float]]]]:
        """A MetricsQL range query evaluated at ``start_ms, start_ms + step_ms, … <= end_ms``."""
        body = self._get(
            "/api/v1/query_range",
            {
                "query": query,
                "start": _seconds(start_ms),
                "end": _seconds(end_ms),
                "step": f"{step_ms}ms",
                "nocache": "1",
            },
        )
        url = self._read_base + "/api/v1/query_range"
        try:
            return [
                (labels, [(round(float(t) * 1000), float(v)) for t, v in values])
                for labels, values in self._result(body, "/api/v1/query_range", "matrix")
            ]
        except (TypeError, ValueError) as exc:
            raise self._unexpected(url, f"points that are not [time, value] ({exc})") from exc

    def _result(self, body: bytes, path: str, kind: str) -> list[tuple[dict[str, str], list[Any]]]:
        url = self._read_base + path
        try:
            answer = orjson.loads(body)
            if answer.get("status") != "success" or answer["data"]["resultType"] != kind:
                raise ValueError(answer.get("error") or answer.get("status"))
            out: list[tuple[dict[str, str], list[Any]]] = []
            for series in answer["data"]["result"]:
                labels = {k: v for k, v in series["metric"].items() if k != "__name__"}
                values = [series["value"]] if kind == "vector" else series["values"]
                for point in values:  # the shape is [time, "value"]
                    float(point[0]), float(point[1])
                out.append((labels, values))
        except (
            orjson.JSONDecodeError,
            AttributeError,
            IndexError,
            KeyError,
            TypeError,
            ValueError,
        ) as exc:
            raise self._unexpected(
                url, f"a body that is not a {kind} result ({body[:120]!r})"
            ) from exc
        return out

    # -- reading ---------------------------------------------------------------------------
    @staticmethod
    def _range(start: datetime | None, end: datetime | None) -> tuple[int, int]:
        """``[start_ms, end_ms)``; an open range runs from 1971 to two days from now."""
        start_ms = max(_EARLIEST_MS, to_ms(start)) if start is not None else _EARLIEST_MS
        end_ms = to_ms(end) if end is not None else int(time.time() * 1000) + _FUTURE_MS
        return start_ms, end_ms

    def _count(self, match: str, start_ms: int, end_ms: int) -> int:
        """Points in ``[start_ms, end_ms)``: one rollup window ending at ``end_ms - 1``
        (MetricsQL windows are ``(t - w, t]``)."""
        if end_ms <= start_ms:
            return 0
        query = f"sum(count_over_time({match}[{end_ms - start_ms}ms]))"
        result = self.metricsql(query, end_ms - 1)
        return int(result[0][1]) if result else 0

    def query(
        self,
        *,
        device: str | None = None,
        metric: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = 1000,
        cursor: str | None = None,
    ) -> ReadingPage:
        """One page in time order (points sharing a millisecond in series order); ``total``
        counts the whole range.

        ``total`` comes from ``count_over_time``; the page from ``/api/v1/export`` over a window
        starting at the cursor that grows until it holds a page (sized from the range's
        density), so a page costs about a page of points, not the rest of the range.
        """
        if limit < 1:
            raise ValueError("limit must be at least 1")
        match = selector(device=device, metric=metric)
        start_ms, end_ms = self._range(start, end)
        after_ms, skip = decode_cursor(cursor) if cursor else (None, 0)
        total = self._count(match, start_ms, end_ms)
        if total == 0:
            return ReadingPage(items=[], total=0, next_cursor=None)
        position = max(start_ms, after_ms) if after_ms is not None else start_ms
        want = skip + limit + 1
        span = max(1, end_ms - start_ms)
        window = max(1000, math.ceil(span * want / total * 1.5))
        rows: list[_Row] = []
        while position < end_ms and len(rows) < want:
            upto = min(end_ms, position + window)
            rows.extend(sorted(self.export(match, position, upto), key=lambda r: r[:3]))
            position, window = upto, window * 2
        rows = rows[skip:]
        more = len(rows) > limit
        rows = rows[:limit]
        try:
            items = [_reading(labels, ts, value) for ts, _key, value, labels in rows]
        except (TypeError, ValueError) as exc:
            url = self._read_base + "/api/v1/export"
            raise self._unexpected(url, f"a series that is not a reading ({exc})") from exc
        next_cursor = None
        if more and rows:
            last_ms = rows[-1][0]
            same = sum(1 for row in rows if row[0] == last_ms)
            if last_ms == after_ms:
                same += skip  # the page never left the cursor's millisecond
            next_cursor = encode_cursor(last_ms, same)
        return ReadingPage(items=items, total=total, next_cursor=next_cursor)

    def count(self) -> int:
        """How many points the store holds (all devices, 1971 to two days from now)."""
        return self._count(SERIES, *self._range(None, None))

    def history(
        self,
        *,
        metric: str,
        start: datetime,
        end: datetime,
        device: str | None = None,
        asset: str | None = None,
        window_s: int | None = None,
        aggregate: str = "mean",
    ) -> list[tuple[datetime, float]]:
        """A metric of a device (or of every device on an asset) over ``[start, end)``.

        Without ``window_s``, the raw points (export). With it, one point per window aligned to
        the epoch (``[k*w, (k+1)*w)``, stamped with its start, empty windows left out), as the
        InfluxQL ``GROUP BY time(w)`` answers: MetricsQL evaluates window k at ``(k+1)*w - 1 ms``
        over ``[w]``. ``aggregate`` is one of mean, min, max, sum, count, over every point of
        every selected series (mean is sum/count, not a mean of series means).
        """
        if device is None and asset is None:
            raise ValueError("history needs a device or an asset")
        match = selector(device=device, asset=asset, metric=metric)
        start_ms, end_ms = self._range(start, end)
        if window_s is None:
            rows = sorted(self.export(match, start_ms, end_ms), key=lambda r: r[:3])
            return [(from_ms(ts), value) for ts, _key, value, _labels in rows]
        if aggregate not in _AGGREGATES:
            raise ValueError(f"aggregate {aggregate!r} is not one of {sorted(_AGGREGATES)}")
        if window_s < 1:
            raise ValueError("window_s must be at least 1 second")
        step_ms = int(window_s) * 1000
        template = _AGGREGATES[aggregate] or _MEAN
        query = template.format(sel=match, w=f"{step_ms}ms")
        first = (start_ms // step_ms + 1) * step_ms - 1  # the end of start's window
        last = ((end_ms - 1) // step_ms + 1) * step_ms - 1  # the end of (end - 1 ms)'s window
        points: list[tuple[int, float]] = []
        for begin in range(first, last + 1, step_ms * 10_000):  # VM caps points per query
            upto = min(last, begin + step_ms * 9_999)
            for _labels, values in self.metricsql_range(query, begin, upto, step_ms):
                points.extend(values)
        out: list[tuple[datetime, float]] = []
        for at_ms, value in sorted(points):
            window_start = at_ms + 1 - step_ms
            if math.isfinite(value):
                out.append((from_ms(window_start), value))
        if out and (start_ms % step_ms or end_ms % step_ms):
            # partial first/last windows: InfluxQL counts only the points inside the range
            out = self._trim_edges(out, match, start_ms, end_ms, step_ms, aggregate)
        return out

    def _trim_edges(
        self,
        points: list[tuple[datetime, float]],
        match: str,
        start_ms: int,
        end_ms: int,
        step_ms: int,
        aggregate: str,
    ) -> list[tuple[datetime, float]]:
        """Recompute the windows the range cuts from the raw points inside the range."""
        edges = {start_ms - start_ms % step_ms, (end_ms - 1) - (end_ms - 1) % step_ms}
        by_window = dict(points)
        for edge in edges:
            lo, hi = max(edge, start_ms), min(edge + step_ms, end_ms)
            values = [value for _ts, _key, value, _labels in self.export(match, lo, hi)]
            at = from_ms(edge)
            if not values:
                by_window.pop(at, None)
            else:
                by_window[at] = _aggregate(aggregate, values)
        return sorted(by_window.items())

    def latest(
        self, *, device: str | None = None, within: timedelta = timedelta(days=365)
    ) -> list[LatestValue]:
        """The newest value of every (device, metric) written ``within`` the past (one year)."""
        match = selector(device=device)
        now_ms = int(time.time() * 1000) + _FUTURE_MS
        window_ms = min(now_ms - _EARLIEST_MS, within // timedelta(milliseconds=1) + _FUTURE_MS)
        values = self.metricsql(f"last_over_time({match}[{window_ms}ms])", now_ms)
        times = {
            tuple(sorted(labels.items())): seconds
            for labels, seconds in self.metricsql(
                f"tlast_over_time({match}[{window_ms}ms])", now_ms
            )
        }
        out: list[LatestValue] = []
        for labels, value in values:
            seconds = times.get(tuple(sorted(labels.items())))
            if seconds is None:
                continue
            try:
                reading = _reading(labels, round(seconds * 1000), value)
            except (TypeError, ValueError):  # no time, or a series that is not a reading
                continue
            out.append(LatestValue(reading.device, reading.metric, value, reading.unit, reading.ts))
        return sorted(out, key=lambda v: (v.device, v.metric, v.ts))

    def close(self) -> None:
        self._http.clear()


def _seconds(ms: int) -> str:
    """Epoch seconds with millisecond precision, as text (no float rounding)."""
    sign = "-" if ms < 0 else ""
    whole, frac = divmod(abs(ms), 1000)
    return f"{sign}{whole}.{frac:03d}"


def _reading(labels: dict[str, str], ts_ms: int, value: float) -> Reading:
    return Reading(
        device=decode_tag(labels.get("device", "")),
        metric=decode_tag(labels.get("metric", "")),
        value=value,
        unit=decode_tag(labels.get("unit", "")),
        ts=from_ms(ts_ms),
        quality=decode_tag(labels.get("quality", "good")),
    )


def _aggregate(aggregate: str, values: list[float]) -> float:
    if aggregate == "mean":
        return sum(values) / len(values)
    if aggregate == "min":
        return min(values)
    if aggregate == "max":
        return max(values)
    if aggregate == "sum":
        return sum(values)
    return float(len(values))
