"""The VictoriaMetrics reading store on a real ``victoria-metrics``: line protocol in, export API
and MetricsQL out.

VictoriaMetrics makes samples searchable about a second after they arrive; every test waits on
a condition (``wait_until`` on the store's own count, after a forced flush), never on a sleep.
Readings are in the past (``BASE``), so ``-search.latencyOffset`` (30 s by default) does not
matter, and the store sends ``nocache=1`` anyway.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from facility.core.errors import ConfigError, ServiceUnavailable
from facility.core.settings import Settings
from facility.core.types import MAX_DEVICE_LEN, Reading
from facility.core.wait import wait_until
from gateway.broker import free_port
from gateway.stores import SqlReadingStore, open_reading_store
from gateway.stores.victoria import (
    VictoriaOptions,
    VictoriaReadingStore,
    decode_cursor,
    encode_cursor,
    quote_label_value,
)
from tests.fixtures_influx import VictoriaMetricsServer

from ._work_order_server import running_api

BASE = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
HOSTILE = [
    'x" OR 1=1 --',
    'brace}{device=~".*"}',
    "back\\slash\\\\ and %25 and %5C",
    "line\nbreak\rand\ttab",
    "ünïcødé 温度 🌡",
    "quote'\"both`",
]


def _readings(
    device: str, count: int, *, metric: str = "temperature", step_s: float = 10
) -> list[Reading]:
    return [
        Reading(device, metric, 20.0 + i * 0.25, "degC", BASE + timedelta(seconds=step_s * i))
        for i in range(count)
    ]


@pytest.fixture
def store(victoria_metrics: VictoriaMetricsServer) -> Iterator[VictoriaReadingStore]:
    vm = VictoriaReadingStore(
        VictoriaOptions(url=victoria_metrics.url, batch_size=7),
        tags_of=lambda device: {"asset": "AHU-1", "site": "hq"} if device == "ahu-1" else {},
    )
    yield vm
    vm.close()


def _stored(store: VictoriaReadingStore, server: VictoriaMetricsServer, count: int) -> None:
    """Wait until ``count`` points are searchable (VictoriaMetrics buffers about a second)."""

    def searchable() -> bool:
        server.flush()
        return store.count() == count

    wait_until(searchable, timeout_s=15, what=f"{count} points searchable in VictoriaMetrics")


def _all_pages(store: VictoriaReadingStore, **query: object) -> tuple[list[Reading], set[int]]:
    seen: list[Reading] = []
    totals: set[int] = set()
    cursor = None
    while True:
        page = store.query(cursor=cursor, **query)  # type: ignore[arg-type]
        seen.extend(page.items)
        totals.add(page.total)
        cursor = page.next_cursor
        if cursor is None:
            return seen, totals


def test_written_readings_come_back_with_exact_values_units_tags_and_times(
    store: VictoriaReadingStore, victoria_metrics: VictoriaMetricsServer
) -> None:
    batch = [
        *_readings("ahu-1", 3),
        Reading("room-7", "humidity", 41.5, "%", BASE + timedelta(milliseconds=1234)),
        Reading("room-7", "state", 1.0, "bool", BASE + timedelta(seconds=5), quality="uncertain"),
    ]
    store.write(batch)
    _stored(store, victoria_metrics, 5)
    page = store.query(limit=100)
    assert page.total == 5 and page.next_cursor is None
    assert page.items == sorted(batch, key=lambda r: r.ts)
    exported = victoria_metrics.export('{__name__="readings_value",device="ahu-1"}')
    assert {k: v for k, v in exported[0]["metric"].items() if k != "db"} == {
        "__name__": "readings_value",
        "asset": "AHU-1",
        "device": "ahu-1",
        "metric": "temperature",
        "quality": "good",
        "site": "hq",
        "unit": "degC",
    }


def test_times_are_kept_to_the_millisecond_and_the_range_is_half_open(
    store: VictoriaReadingStore, victoria_metrics: VictoriaMetricsServer
) -> None:
    fine = BASE + timedelta(microseconds=1_999)
    store.write([Reading("m", "power", 1.0, "W", fine), Reading("m", "power", 2.0, "W", BASE)])
    _stored(store, victoria_metrics, 2)
    items = store.query(limit=10).items
    assert [r.ts for r in items] == [BASE, BASE + timedelta(milliseconds=1)]  # truncated
    inside = store.query(start=BASE, end=BASE + timedelta(milliseconds=1), limit=10)
    assert inside.total == 1 and [r.value for r in inside.items] == [2.0]


def test_paging_with_a_cursor_returns_every_point_once_and_total_counts_the_whole_range(
    store: VictoriaReadingStore, victoria_metrics: VictoriaMetricsServer
) -> None:
    batch = _readings("ahu-1", 45) + _readings("ahu-2", 12) + _readings("ahu-1", 9, metric="power")
    store.write(batch)
    _stored(store, victoria_metrics, 66)
    seen, totals = _all_pages(store, device="ahu-1", metric="temperature", limit=10)
    assert totals == {45}
    assert seen == _readings("ahu-1", 45)
    start, end = BASE + timedelta(seconds=20), BASE + timedelta(seconds=50)
    window, totals = _all_pages(store, start=start, end=end, limit=4)
    assert totals == {9}  # three instants x (ahu-1 temperature, ahu-2 temperature, ahu-1 power)
    assert [r.ts for r in window] == sorted(r.ts for r in window)
    assert {(r.device, r.metric, r.ts) for r in window} == {
        (r.device, r.metric, r.ts) for r in batch if start <= r.ts < end
    }
    assert len(window) == len({(r.device, r.metric, r.ts) for r in window})


def test_a_cursor_pages_through_many_points_sharing_one_millisecond(
    store: VictoriaReadingStore, victoria_metrics: VictoriaMetricsServer
) -> None:
    batch = [Reading(f"dev-{i:02d}", "temperature", float(i), "degC", BASE) for i in range(23)]
    store.write(batch)
    _stored(store, victoria_metrics, 23)
    seen, totals = _all_pages(store, limit=5)
    assert totals == {23}
    assert sorted(seen, key=lambda r: r.device) == batch and len(seen) == 23


def test_latest_values_and_aggregates_per_window(
    store: VictoriaReadingStore, victoria_metrics: VictoriaMetricsServer
) -> None:
    store.write(_readings("ahu-1", 12) + _readings("room-7", 2, metric="humidity"))
    _stored(store, victoria_metrics, 14)
    latest = store.latest()
    assert [(v.device, v.metric, v.value, v.unit, v.ts) for v in latest] == [
        ("ahu-1", "temperature", 22.75, "degC", BASE + timedelta(seconds=110)),
        ("room-7", "humidity", 20.25, "degC", BASE + timedelta(seconds=10)),
    ]
    assert [v.device for v in store.latest(device="room-7")] == ["room-7"]
    span = {"metric": "temperature", "start": BASE, "end": BASE + timedelta(minutes=2)}
    values = [20.0 + i * 0.25 for i in range(12)]
    assert store.history(device="ahu-1", **span) == [  # type: ignore[arg-type]
        (BASE + timedelta(seconds=10 * i), v) for i, v in enumerate(values)
    ]
    minute = BASE + timedelta(minutes=1)
    for aggregate, first, second in [
        ("mean", sum(values[:6]) / 6, sum(values[6:]) / 6),
        ("min", values[0], values[6]),
        ("max", values[5], values[11]),
        ("sum", sum(values[:6]), sum(values[6:])),
        ("count", 6.0, 6.0),
    ]:
        got = store.history(device="ahu-1", window_s=60, aggregate=aggregate, **span)  # type: ignore[arg-type]
        assert [ts for ts, _v in got] == [BASE, minute], aggregate
        assert [v for _ts, v in got] == pytest.approx([first, second]), aggregate
    by_asset = store.history(asset="AHU-1", window_s=60, aggregate="count", **span)  # type: ignore[arg-type]
    assert by_asset == [(BASE, 6.0), (minute, 6.0)]
    # a range that cuts a window counts only the points inside it, as InfluxQL does
    cut = store.history(
        device="ahu-1",
        metric="temperature",
        start=BASE + timedelta(seconds=30),
        end=BASE + timedelta(seconds=80),
        window_s=60,
        aggregate="count",
    )
    assert cut == [(BASE, 3.0), (minute, 2.0)]
    with pytest.raises(ValueError, match="aggregate"):
        store.history(device="ahu-1", window_s=60, aggregate="stddev", **span)  # type: ignore[arg-type]


def test_hostile_device_names_round_trip_and_match_only_themselves(
    store: VictoriaReadingStore, victoria_metrics: VictoriaMetricsServer
) -> None:
    batch = [r for name in HOSTILE for r in _readings(name, 2)]
    store.write(batch)
    _stored(store, victoria_metrics, len(batch))
    for name in HOSTILE:
        page = store.query(device=name, limit=10)
        assert page.items == _readings(name, 2), name
        assert page.total == 2
    assert store.query(device='x" OR 1=1', limit=10).total == 0
    assert store.query(device=".*", limit=10).total == 0


_DEVICE = st.text(min_size=1, max_size=40).filter(
    lambda s: s == s.strip() and not any(ch in s for ch in "#+\x00") and len(s) <= MAX_DEVICE_LEN
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(device=_DEVICE)
def test_any_device_name_round_trips_through_write_and_selectors(
    store: VictoriaReadingStore, victoria_metrics: VictoriaMetricsServer, device: str
) -> None:
    before = store.count()
    reading = Reading(device, "co2", 412.0, "ppm", BASE + timedelta(milliseconds=before))
    store.write([reading])
    _stored(store, victoria_metrics, before + 1)
    page = store.query(device=device, metric="co2", limit=5000)
    assert reading in page.items
    assert all(r.device == device for r in page.items)


@given(value=st.text(max_size=30))
def test_a_quoted_label_value_never_leaves_its_string_literal(value: str) -> None:
    quoted = quote_label_value(value)
    assert quoted.startswith('"') and quoted.endswith('"')
    body = quoted[1:-1]
    unescaped = body.replace("\\\\", "")
    assert '"' not in unescaped.replace('\\"', "")
    assert all(ch.isprintable() for ch in body)


def test_foreign_cursors_are_refused_with_a_clear_error(store: VictoriaReadingStore) -> None:
    assert decode_cursor(encode_cursor(1_700_000_000_123, 4)) == (1_700_000_000_123, 4)
    with pytest.raises(ValueError, match="start without a cursor"):
        store.query(cursor="bm9wZQ==", limit=5)


class _Garbage(BaseHTTPRequestHandler):
    status = 200
    body = b"<html>not VictoriaMetrics</html>"

    def _answer(self) -> None:
        self.send_response(self.status)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    do_GET = do_POST = _answer

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture(params=[(200, b"<html>not VictoriaMetrics</html>"), (500, b"boom")])
def garbage_url(request: pytest.FixtureRequest) -> Iterator[str]:
    handler = type("Handler", (_Garbage,), {"status": request.param[0], "body": request.param[1]})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_a_store_answering_garbage_or_an_http_error_raises_service_unavailable(
    garbage_url: str,
) -> None:
    store = VictoriaReadingStore(VictoriaOptions(url=garbage_url, max_retries=0))
    try:
        with pytest.raises(ServiceUnavailable, match="FACILITY_VICTORIA"):
            store.query(limit=5)
        with pytest.raises(ServiceUnavailable, match="FACILITY_VICTORIA"):
            store.history(device="d", metric="temperature", start=BASE, end=BASE + timedelta(1))
        with pytest.raises(ServiceUnavailable, match="FACILITY_VICTORIA"):
            store.latest()
    finally:
        store.close()


def test_an_unreachable_store_raises_service_unavailable_naming_the_url() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    store = VictoriaReadingStore(
        VictoriaOptions(url=url, max_retries=1, retry_interval_s=0.01, timeout_s=2)
    )
    try:
        with pytest.raises(ServiceUnavailable, match=url):
            store.write(_readings("d", 1))
        with pytest.raises(ServiceUnavailable, match=url):
            store.count()
        with pytest.raises(ServiceUnavailable, match="FACILITY_VICTORIA_URL"):
            store.ping()
    finally:
        store.close()


def test_open_reading_store_picks_the_store_the_settings_name(
    victoria_metrics: VictoriaMetricsServer, tmp_path: Path
) -> None:
    vm = open_reading_store(Settings(victoria_url=victoria_metrics.url, data_dir=tmp_path))
    assert isinstance(vm, VictoriaReadingStore)
    vm.ping()
    vm.close()
    sql = open_reading_store(
        Settings(reading_store="sql", victoria_url=victoria_metrics.url, data_dir=tmp_path)
    )
    assert isinstance(sql, SqlReadingStore)
    sql.close()
    with pytest.raises(ConfigError, match="FACILITY_VICTORIA_URL"):
        open_reading_store(Settings(reading_store="victoriametrics", data_dir=tmp_path))
    with pytest.raises(ConfigError, match="FACILITY_VICTORIA_URL"):
        VictoriaReadingStore(VictoriaOptions(url="victoria:8428"))


def test_the_api_answers_reading_history_from_victoria_metrics(
    store: VictoriaReadingStore, victoria_metrics: VictoriaMetricsServer, tmp_path: Path
) -> None:
    store.write(_readings("ahu-1", 7) + _readings("ahu-2", 3))
    _stored(store, victoria_metrics, 10)
    with running_api(f"sqlite:///{tmp_path / 'facility.db'}", tmp_path) as server:
        server.context.readings = store
        with server.client("admin") as client:
            params: dict[str, str | int] = {
                "device": "ahu-1",
                "start": BASE.isoformat(),
                "limit": 4,
            }
            first = client.get("/api/v1/readings", params=params)
            assert first.status_code == 200, first.text
            body = first.json()
            assert body["total"] == 7 and len(body["items"]) == 4 and body["next"]
            assert body["items"][0] == {
                "device": "ahu-1",
                "metric": "temperature",
                "value": 20.0,
                "unit": "degC",
                "ts": body["items"][0]["ts"],
            }
            second = client.get("/api/v1/readings", params={**params, "cursor": body["next"]})
            assert second.status_code == 200
            rest = second.json()
            assert rest["total"] == 7 and len(rest["items"]) == 3 and rest["next"] is None
            values = [item["value"] for item in body["items"] + rest["items"]]
            assert values == [r.value for r in _readings("ahu-1", 7)]
