"""The InfluxDB reading store: line protocol written in batches, InfluxQL read over HTTP.

Schema (see docs/influx-schema.md): measurement ``readings``; tags ``device``, ``metric``,
``unit``, ``quality`` and, when the device registry knows them, ``asset`` and ``site``; one float
field ``value``; nanosecond timestamps. Tags are what Grafana groups and filters by and all of
them are bounded by the number of devices, so the series count stays ``devices x metrics``.

Writes go through ``influxdb-client``'s write API in batching mode (background delivery, retries
with exponential backoff and jitter). The gateway acknowledges MQTT messages only after they are
stored, so :meth:`InfluxReadingStore.write` blocks until the writer reports every line of the
call written (or failed). The gateway already forms batches (as many messages as are waiting, up
to its batch size), so each call is cut into request bodies of at most ``batch_size`` lines and
each body is one item for the library, sent at once (single lines would each go through its
reactive pipeline and a partial batch would wait for the flush interval). The library's
``jitter_interval`` delays *every* write by a random amount (it measured 4,300 readings/s at
200 ms), so it defaults to 0 here; the retry backoff is randomised anyway.

Reads use InfluxQL on ``/query`` because it is the one query language InfluxDB 1.x, 2.x (through
its DBRP mapping) and 3.x all answer. Every value that reaches a query string goes through
:func:`quote_string` / :func:`quote_ident`; times are integer nanoseconds, never text.

Tag values are stored as given except for the characters line protocol cannot carry in a tag
(``%``, ``\\``, CR, LF, TAB), which are percent-encoded (:func:`encode_tag`), so any device name
round-trips exactly.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import orjson
import urllib3
from influxdb_client.client.influxdb_client import InfluxDBClient
from influxdb_client.client.write_api import WriteOptions, WriteType
from reactivex.scheduler import ThreadPoolScheduler

from facility.core.errors import ConfigError, ServiceUnavailable
from facility.core.types import Reading, ReadingPage
from gateway.stores.lineproto import (
    LatestValue,
    TagsOf,
    decode_tag,
    decode_time_cursor,
    encode_tag,
    encode_time_cursor,
    from_ns,
    line_protocol,
    to_ns,
)
from gateway.stores.lineproto import short_error as _short

__all__ = [
    "InfluxOptions",
    "InfluxReadingStore",
    "LatestValue",
    "TagsOf",
    "decode_tag",
    "encode_tag",
    "from_ns",
    "line_protocol",
    "quote_ident",
    "quote_string",
    "to_ns",
]

log = logging.getLogger(__name__)

#: `` FROM "readings"`` (kept apart so no statement below is one literal a linter mistakes for SQL)
_FROM = ' FROM "readings"'
_AGGREGATES = frozenset({"mean", "min", "max", "sum", "count", "median", "last", "first"})


# -- InfluxQL ----------------------------------------------------------------------------------


def quote_string(value: str) -> str:
    """An InfluxQL string literal: single quotes, with backslash, quote and newline escaped."""
    escaped = (
        value.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n").replace("\r", "\\r")
    )
    return f"'{escaped}'"


def quote_ident(value: str) -> str:
    """An InfluxQL identifier in double quotes, with backslash, quote and newline escaped."""
    escaped = (
        value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    )
    return f'"{escaped}"'


def _tag_literal(value: str) -> str:
    """The InfluxQL literal matching a stored (percent-encoded) tag value."""
    return quote_string(encode_tag(value))


def encode_cursor(ts_ns: int, skip: int) -> str:
    return encode_time_cursor("i", ts_ns, skip)


def decode_cursor(cursor: str) -> tuple[int, int]:
    """Raises ValueError with a readable message for a cursor we did not issue."""
    return decode_time_cursor("i", cursor)


@dataclass(slots=True)
class InfluxOptions:
    """Where and how to write and read.

    ``query_url``/``database`` default to ``url``/``bucket``: right for InfluxDB 2.x with a DBRP
    mapping for the bucket and for 3.x; set them to read from a 1.x server or a replica.
    """

    url: str
    token: str | None = None
    org: str = "facility"
    bucket: str = "facility"
    query_url: str | None = None
    database: str | None = None
    retention_policy: str | None = None
    batch_size: int = 500
    flush_interval_ms: int = 100
    max_retries: int = 3
    retry_interval_ms: int = 500
    max_retry_delay_ms: int = 5_000
    max_retry_time_ms: int = 15_000
    #: random delay before every write (spreads many gateways' flushes); retries are already
    #: randomised: the n-th waits a random time in [interval*2^(n-1), interval*2^n]
    jitter_ms: int = 0
    timeout_s: float = 10.0


class _PendingWrite:
    """Counts the lines of one ``write()`` call as the batching writer reports them."""

    def __init__(self, lines: int) -> None:
        self.remaining = lines
        self.error: BaseException | None = None
        self.done = threading.Event()


class InfluxReadingStore:
    """Readings in InfluxDB (or anything speaking its v2 write API); see the module docstring."""

    def __init__(self, options: InfluxOptions, *, tags_of: TagsOf | None = None) -> None:
        if not options.url.startswith(("http://", "https://")):
            raise ConfigError(
                f"FACILITY_INFLUX_URL={options.url!r} is not an http(s):// URL; "
                "set it to e.g. http://influxdb:8086"
            )
        self.options = options
        self.tags_of = tags_of
        self._client = InfluxDBClient(
            url=options.url,
            token=options.token or "",
            org=options.org,
            timeout=int(options.timeout_s * 1000),
        )
        self._scheduler = ThreadPoolScheduler(max_workers=1)
        self._write_api: Any = self._client.write_api(
            write_options=WriteOptions(
                write_type=WriteType.batching,
                batch_size=1,  # one item = one request body of up to options.batch_size lines
                flush_interval=options.flush_interval_ms,
                jitter_interval=options.jitter_ms,
                retry_interval=options.retry_interval_ms,
                max_retries=options.max_retries,
                max_retry_delay=options.max_retry_delay_ms,
                max_retry_time=options.max_retry_time_ms,
                exponential_base=2,
                write_scheduler=self._scheduler,
            ),
            success_callback=self._on_success,
            error_callback=self._on_error,
        )
        self._pending: _PendingWrite | None = None
        self._write_lock = threading.Lock()
        self._http = urllib3.PoolManager(
            timeout=urllib3.Timeout(total=options.timeout_s), retries=False
        )
        self._query_url = (options.query_url or options.url).rstrip("/") + "/query"
        self._database = options.database or options.bucket

    # -- writing ---------------------------------------------------------------------------
    def _on_success(self, _conf: tuple[str, str, str], data: bytes | str) -> None:
        pending = self._pending
        if pending is None:
            return
        lines = (data.count(b"\n") if isinstance(data, bytes) else data.count("\n")) + 1
        pending.remaining -= lines
        if pending.remaining <= 0:
            pending.done.set()

    def _on_error(
        self, _conf: tuple[str, str, str], _data: bytes | str, exc: BaseException
    ) -> None:
        pending = self._pending
        if pending is not None:
            pending.error = exc
            pending.done.set()

    def write(self, readings: Sequence[Reading]) -> None:
        """Hand the batch to the batching writer and wait until InfluxDB accepted all of it.

        Raises:
            ServiceUnavailable: the server refused or could not be reached after the retries.
        """
        if not readings:
            return
        if self._write_api is None:
            raise RuntimeError("the InfluxDB store is closed")
        lines = line_protocol(readings, self.tags_of)
        deadline_s = (
            self.options.max_retry_time_ms + self.options.flush_interval_ms
        ) / 1000 + self.options.timeout_s * (self.options.max_retries + 1)
        with self._write_lock:
            pending = _PendingWrite(len(lines))
            self._pending = pending
            size = max(1, self.options.batch_size)
            bodies = [b"\n".join(lines[i : i + size]) for i in range(0, len(lines), size)]
            try:
                self._write_api.write(
                    bucket=self.options.bucket, org=self.options.org, record=bodies
                )
                finished = pending.done.wait(deadline_s)
            finally:
                self._pending = None
        if not finished:
            raise ServiceUnavailable(
                f"InfluxDB at {self.options.url} did not confirm a write within {deadline_s:g}s"
            )
        if pending.error is not None:
            raise ServiceUnavailable(
                f"cannot write to InfluxDB at {self.options.url} "
                f"(bucket {self.options.bucket!r}): {_short(pending.error)}; "
                "check FACILITY_INFLUX_URL/_TOKEN/_ORG/_BUCKET"
            ) from pending.error

    def ping(self) -> None:
        """Check that the write server answers (``/ping``), so ``serve`` can refuse to start.

        Raises:
            ServiceUnavailable: with the URL and what to do.
        """
        url = self.options.url.rstrip("/") + "/ping"
        try:
            response = self._http.request("GET", url)
        except urllib3.exceptions.HTTPError as exc:
            raise ServiceUnavailable(
                f"cannot reach InfluxDB at {self.options.url} ({_short(exc)}); "
                "start it or fix FACILITY_INFLUX_URL"
            ) from exc
        if response.status >= 400:
            raise ServiceUnavailable(
                f"InfluxDB at {self.options.url} answered /ping with HTTP {response.status}; "
                "check FACILITY_INFLUX_URL"
            )

    # -- reading ---------------------------------------------------------------------------
    def influxql(self, statement: str) -> list[dict[str, Any]]:
        """Run one InfluxQL statement; return its series (``name``, ``tags``, ``columns``,
        ``values``), times as integer nanoseconds.

        Raises:
            ServiceUnavailable: the server is unreachable or answered with an HTTP error.
            ServiceUnavailable: also when it answered something that is not InfluxQL's shape.
        """
        params: dict[str, str] = {"db": self._database, "epoch": "ns", "q": statement}
        if self.options.retention_policy:
            params["rp"] = self.options.retention_policy
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if self.options.token:
            headers["Authorization"] = f"Token {self.options.token}"
        try:
            response = self._http.request(
                "POST", self._query_url, body=urlencode(params), headers=headers
            )
        except urllib3.exceptions.HTTPError as exc:
            raise ServiceUnavailable(
                f"cannot query InfluxDB at {self._query_url} ({_short(exc)}); "
                "is it running? check FACILITY_INFLUX_URL"
            ) from exc
        try:
            body: dict[str, Any] = orjson.loads(response.data)
        except orjson.JSONDecodeError:
            body = {}
        if response.status >= 400 and not body.get("results"):
            raise ServiceUnavailable(
                f"InfluxDB at {self._query_url} answered HTTP {response.status}: "
                f"{body.get('error') or response.data[:200]!r}"
            )
        try:
            first = (body.get("results") or [{}])[0]
            error = first.get("error")
            series: list[dict[str, Any]] = first.get("series") or []
        except (AttributeError, IndexError, KeyError, TypeError) as exc:
            raise self._unexpected(f"a body of another shape ({response.data[:120]!r})") from exc
        if error:
            raise self._unexpected(f"an error for our query ({str(error)[:200]})")
        return series

    def _unexpected(self, what: str) -> ServiceUnavailable:
        """The store answered, but not as InfluxQL does: a wrong URL or another engine."""
        return ServiceUnavailable(
            f"the reading store at {self._query_url} answered {what}; check that "
            "FACILITY_INFLUX_QUERY_URL (or FACILITY_INFLUX_URL) points at an InfluxQL endpoint "
            "(InfluxDB 1.x /query, or 2.x/3.x with the v1 API)"
        )

    def _where(
        self,
        device: str | None,
        metric: str | None,
        start: datetime | None,
        end: datetime | None,
        *,
        asset: str | None = None,
    ) -> list[str]:
        conditions = []
        if device is not None:
            conditions.append(f'"device" = {_tag_literal(device)}')
        if asset is not None:
            conditions.append(f'"asset" = {_tag_literal(asset)}')
        if metric is not None:
            conditions.append(f'"metric" = {_tag_literal(metric)}')
        if start is not None:
            conditions.append(f"time >= {to_ns(start)}")
        if end is not None:
            conditions.append(f"time < {to_ns(end)}")
        return conditions

    @staticmethod
    def _clause(conditions: list[str]) -> str:
        return f" WHERE {' AND '.join(conditions)}" if conditions else ""

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
        """One page in time order; ``total`` counts the whole range.

        The cursor is (time, how many rows at that time were already returned): InfluxQL has no
        row id and no OR over time, and rows sharing a time come back in series-key order, which
        is stable between queries.
        """
        if limit < 1:
            raise ValueError("limit must be at least 1")
        conditions = self._where(device, metric, start, end)
        page_conditions = list(conditions)
        skip, after_ns = 0, None
        if cursor:
            after_ns, skip = decode_cursor(cursor)
            page_conditions.append(f"time >= {after_ns}")
        select = (
            f'SELECT "value", "device", "metric", "unit", "quality"{_FROM}'
            f"{self._clause(page_conditions)} ORDER BY time ASC LIMIT {limit + skip + 1}"
        )
        rows = self._rows(self.influxql(select))[skip:]
        total = self._count(conditions)
        more = len(rows) > limit
        rows = rows[:limit]
        items = [
            Reading(
                device=decode_tag(row["device"]),
                metric=decode_tag(row["metric"]),
                value=float(row["value"]),
                unit=decode_tag(row["unit"] or ""),
                ts=from_ns(int(row["time"])),
                quality=decode_tag(row["quality"] or "good"),
            )
            for row in rows
        ]
        next_cursor = None
        if more and rows:
            last_ns = int(rows[-1]["time"])
            same = sum(1 for row in rows if int(row["time"]) == last_ns)
            if last_ns == after_ns:
                same += skip  # the page never left the cursor's instant
            next_cursor = encode_cursor(last_ns, same)
        return ReadingPage(items=items, total=total, next_cursor=next_cursor)

    def _rows(self, series: list[dict[str, Any]]) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        try:
            for one in series:
                columns = one["columns"]
                tags = one.get("tags") or {}
                for values in one["values"]:
                    rows.append({**tags, **dict(zip(columns, values, strict=True))})
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise self._unexpected(f"series without columns and values ({exc!r})") from exc
        return rows

    def _count(self, conditions: list[str]) -> int:
        series = self.influxql('SELECT COUNT("value")' + _FROM + self._clause(conditions))
        rows = self._rows(series)
        try:
            return int(rows[0]["count"]) if rows else 0
        except (KeyError, TypeError, ValueError) as exc:
            raise self._unexpected(f"a count without a 'count' column ({rows[0]!r:.120})") from exc

    def count(self) -> int:
        return self._count([])

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

        With ``window_s`` the points are aggregated per window (``aggregate`` is one of mean,
        min, max, sum, count, median, first, last), empty windows left out.
        """
        if device is None and asset is None:
            raise ValueError("history needs a device or an asset")
        conditions = self._where(device, metric, start, end, asset=asset)
        if window_s is None:
            statement = f'SELECT "value"{_FROM}{self._clause(conditions)} ORDER BY time ASC'
        else:
            if aggregate not in _AGGREGATES:
                raise ValueError(f"aggregate {aggregate!r} is not one of {sorted(_AGGREGATES)}")
            if window_s < 1:
                raise ValueError("window_s must be at least 1 second")
            statement = (
                f'SELECT {aggregate.upper()}("value") AS "value"{_FROM}'
                f"{self._clause(conditions)} GROUP BY time({int(window_s)}s) fill(none)"
            )
        return [
            (from_ns(int(row["time"])), float(row["value"]))
            for row in self._rows(self.influxql(statement))
        ]

    def latest(self, *, device: str | None = None) -> list[LatestValue]:
        """The newest value of every (device, metric), optionally for one device."""
        conditions = self._where(device, None, None, None)
        statement = (
            f'SELECT LAST("value") AS "value"{_FROM}'
            f'{self._clause(conditions)} GROUP BY "device", "metric", "unit"'
        )
        values = [
            LatestValue(
                device=decode_tag(row["device"]),
                metric=decode_tag(row["metric"]),
                value=float(row["value"]),
                unit=decode_tag(row.get("unit") or ""),
                ts=from_ns(int(row["time"])),
            )
            for row in self._rows(self.influxql(statement))
        ]
        return sorted(values, key=lambda v: (v.device, v.metric))

    def close(self) -> None:
        """Flush what the batching writer holds, then release connections."""
        if self._write_api is None:
            return
        try:
            self._write_api.close()
        finally:
            self._client.close()  # type: ignore[no-untyped-call]
            self._write_api = None  # it holds the HTTP client; let it go now, not at exit
            self._scheduler.executor.shutdown(wait=False)
            self._http.clear()
