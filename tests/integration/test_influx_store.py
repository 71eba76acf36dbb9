"""The InfluxDB reading store on real servers.

Writes go through ``influxdb-client`` (v2 write API, batching mode) to VictoriaMetrics and are
read back through its export API; InfluxQL reads run on InfluxDB 1.6 loaded with the very same
line protocol through ``/write``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from facility.app.stack import Stack
from facility.core.errors import ConfigError, ServiceUnavailable
from facility.core.settings import Settings
from facility.core.types import Reading
from facility.core.wait import wait_until
from gateway.broker import free_port
from gateway.mqtt import MqttConnection
from gateway.stores.influx import InfluxOptions, InfluxReadingStore, line_protocol
from gateway.stores.sql import SqlReadingStore, make_engine
from tests.fixtures_influx import InfluxServer, VictoriaMetricsServer

from .conftest import publish

HOSTILE = [
    'x" OR 1=1 --',
    "it's, a = test",
    "line\nbreak\rand\ttab",
    "back\\slash%41 and %25",
    "name with spaces",
    "quote'\"both",
]
BASE = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def _readings(device: str, count: int, *, metric: str = "temperature") -> list[Reading]:
    return [
        Reading(device, metric, 20.0 + i * 0.25, "degC", BASE + timedelta(seconds=10 * i))
        for i in range(count)
    ]


@pytest.fixture
def vm_store(victoria_metrics: VictoriaMetricsServer) -> Iterator[InfluxReadingStore]:
    store = InfluxReadingStore(
        InfluxOptions(url=victoria_metrics.url, token="unused", org="acme", bucket="facility"),
        tags_of=lambda device: {"asset": "AHU-1", "site": "hq"} if device == "ahu-1" else {},
    )
    yield store
    store.close()


@pytest.fixture
def influx_store(influxdb16: InfluxServer) -> Iterator[InfluxReadingStore]:
    store = InfluxReadingStore(
        InfluxOptions(url=influxdb16.url, query_url=influxdb16.url, database="facility")
    )
    yield store
    store.close()


def _series(
    server: VictoriaMetricsServer,
) -> dict[tuple[tuple[str, str], ...], list[tuple[int, float]]]:
    exported = server.export('{__name__="readings_value"}')
    return {
        tuple(sorted((k, v) for k, v in s["metric"].items() if k not in ("__name__", "db"))): list(
            zip(s["timestamps"], s["values"], strict=True)
        )
        for s in exported
    }


def test_written_readings_come_back_from_victoria_metrics_with_exact_series_tags_values_and_times(
    vm_store: InfluxReadingStore, victoria_metrics: VictoriaMetricsServer
) -> None:
    batch = _readings("ahu-1", 3) + _readings("room-7", 2, metric="humidity")
    vm_store.write(batch)
    ms = [int(r.ts.timestamp() * 1000) for r in batch]
    assert _series(victoria_metrics) == {
        (
            ("asset", "AHU-1"),
            ("device", "ahu-1"),
            ("metric", "temperature"),
            ("quality", "good"),
            ("site", "hq"),
            ("unit", "degC"),
        ): [(ms[0], 20.0), (ms[1], 20.25), (ms[2], 20.5)],
        (
            ("device", "room-7"),
            ("metric", "humidity"),
            ("quality", "good"),
            ("unit", "degC"),
        ): [(ms[3], 20.0), (ms[4], 20.25)],
    }


def test_hostile_device_names_are_written_as_their_own_series(
    vm_store: InfluxReadingStore, victoria_metrics: VictoriaMetricsServer
) -> None:
    batch = [r for name in HOSTILE for r in _readings(name, 1)]
    vm_store.write(batch)
    devices = {dict(key)["device"] for key in _series(victoria_metrics)}
    # VictoriaMetrics stores the tag text as sent: the percent-encoded form of unsafe characters
    assert len(devices) == len(HOSTILE)
    assert 'x" OR 1=1 --' in devices and "it's, a = test" in devices
    assert "line%0Abreak%0Dand%09tab" in devices


def test_a_redelivered_batch_does_not_create_double_points(
    vm_store: InfluxReadingStore, victoria_metrics: VictoriaMetricsServer
) -> None:
    batch = _readings("meter-1", 4, metric="power")
    vm_store.write(batch)
    vm_store.write(batch)
    victoria_metrics.flush()
    (points,) = _series(victoria_metrics).values()
    assert [value for _ts, value in points] == [20.0, 20.25, 20.5, 20.75]


def test_influxql_pages_through_a_range_with_a_cursor_and_total_counts_the_whole_range(
    influx_store: InfluxReadingStore, influxdb16: InfluxServer
) -> None:
    batch = _readings("ahu-1", 25) + _readings("ahu-2", 5)
    influxdb16.write_lines("facility", b"\n".join(line_protocol(batch)))
    seen: list[Reading] = []
    cursor = None
    totals = set()
    while True:
        page = influx_store.query(
            device="ahu-1", metric="temperature", start=None, end=None, limit=10, cursor=cursor
        )
        seen.extend(page.items)
        totals.add(page.total)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert totals == {25}
    assert seen == _readings("ahu-1", 25)
    window = influx_store.query(
        start=BASE + timedelta(seconds=20), end=BASE + timedelta(seconds=50), limit=100
    )
    assert window.total == 6 and len(window.items) == 6
    assert influx_store.count() == 30


def test_cursor_pages_through_many_points_sharing_one_timestamp(
    influx_store: InfluxReadingStore, influxdb16: InfluxServer
) -> None:
    batch = [Reading(f"sensor-{i:02d}", "co2", 400.0 + i, "ppm", BASE) for i in range(7)]
    influxdb16.write_lines("facility", b"\n".join(line_protocol(batch)))
    devices: list[str] = []
    cursor = None
    for _ in range(10):
        page = influx_store.query(metric="co2", limit=3, cursor=cursor)
        devices.extend(r.device for r in page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert sorted(devices) == [f"sensor-{i:02d}" for i in range(7)]
    assert len(devices) == 7


def test_timestamps_round_trip_to_the_microsecond_through_nanosecond_line_protocol(
    influx_store: InfluxReadingStore, influxdb16: InfluxServer
) -> None:
    ts = datetime(2026, 11, 20, 8, 0, 0, 123457, tzinfo=UTC)
    reading = Reading("clock", "temperature", 1.5, "degC", ts)
    (line,) = line_protocol([reading])
    assert line.endswith(b" 1795161600123457000")
    influxdb16.write_lines("facility", line)
    (stored,) = influx_store.query(device="clock", limit=10).items
    assert stored == reading
    raw = influxdb16.query('SELECT "value" FROM "readings"', db="facility")
    assert raw["results"][0]["series"][0]["values"][0][0] == 1795161600123457000


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_device_names_round_trip_and_do_not_change_the_query(
    influx_store: InfluxReadingStore, influxdb16: InfluxServer, name: str
) -> None:
    batch = _readings(name, 2) + _readings("innocent", 3)
    influxdb16.write_lines("facility", b"\n".join(line_protocol(batch)))
    page = influx_store.query(device=name, metric="temperature", limit=100)
    assert page.items == _readings(name, 2)
    assert page.total == 2
    assert [v.device for v in influx_store.latest(device=name)] == [name]
    assert (
        len(
            influx_store.history(
                device=name, metric="temperature", start=BASE, end=BASE + timedelta(hours=1)
            )
        )
        == 2
    )


def test_injection_attempts_in_every_filter_match_nothing(
    influx_store: InfluxReadingStore, influxdb16: InfluxServer
) -> None:
    influxdb16.write_lines("facility", b"\n".join(line_protocol(_readings("innocent", 3))))
    for attempt in ["' OR 1=1 --", "x' OR device =~ /.*/ --", '"; DROP DATABASE "facility"', "\\"]:
        assert influx_store.query(device=attempt, limit=10).total == 0
        assert influx_store.query(metric=attempt, limit=10).items == []
        assert (
            influx_store.history(
                asset=attempt, metric="temperature", start=BASE, end=BASE + timedelta(hours=1)
            )
            == []
        )
    assert influx_store.count() == 3


def test_history_aggregates_per_window_and_latest_gives_the_newest_value_per_metric(
    influx_store: InfluxReadingStore, influxdb16: InfluxServer
) -> None:
    batch = _readings("ahu-1", 12) + _readings("ahu-1", 2, metric="humidity")
    influxdb16.write_lines("facility", b"\n".join(line_protocol(batch)))
    windows = influx_store.history(
        device="ahu-1",
        metric="temperature",
        start=BASE,
        end=BASE + timedelta(minutes=2),
        window_s=60,
        aggregate="max",
    )
    assert windows == [(BASE, 21.25), (BASE + timedelta(minutes=1), 22.75)]
    latest = {(v.metric, v.value, v.unit) for v in influx_store.latest(device="ahu-1")}
    assert latest == {("temperature", 22.75, "degC"), ("humidity", 20.25, "degC")}


def test_bad_history_arguments_and_foreign_cursors_are_refused_with_a_clear_error(
    influx_store: InfluxReadingStore,
) -> None:
    with pytest.raises(ValueError, match="aggregate"):
        influx_store.history(
            device="a", metric="m", start=BASE, end=BASE, window_s=60, aggregate="drop"
        )
    with pytest.raises(ValueError, match="device or an asset"):
        influx_store.history(metric="m", start=BASE, end=BASE)
    # not base64, a negative skip, a SQL-store cursor, binary junk
    for cursor in ["garbage!", "aTE6LTI=", "MS41OjI=", "i" * 500]:
        with pytest.raises(ValueError, match="cursor"):
            influx_store.query(limit=10, cursor=cursor)


def test_an_unreachable_store_raises_service_unavailable_naming_the_url() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    store = InfluxReadingStore(
        InfluxOptions(url=url, max_retries=1, retry_interval_ms=50, max_retry_time_ms=500)
    )
    try:
        with pytest.raises(ServiceUnavailable, match=re.escape(url)):
            store.write(_readings("a", 1))
        with pytest.raises(ServiceUnavailable, match=r"127\.0\.0\.1"):
            store.query(limit=1)
    finally:
        store.close()


def test_the_stack_writes_readings_to_influx_when_facility_influx_url_is_set(
    make_stack: Callable[..., Stack],
    publisher: MqttConnection,
    settings: Settings,
    victoria_metrics: VictoriaMetricsServer,
) -> None:
    settings.influx_url = victoria_metrics.url
    stack = make_stack()
    assert isinstance(stack.readings, InfluxReadingStore)
    publish(publisher, "facility/hq/room-3/temperature", b"22.5")
    wait_until(
        lambda: victoria_metrics.export('{__name__="readings_value"}'),
        timeout_s=15,
        what="the reading in VictoriaMetrics",
    )
    (series,) = victoria_metrics.export('{__name__="readings_value"}')
    assert series["metric"]["device"] == "room-3" and series["values"] == [22.5]


def test_ping_answers_on_a_running_server_and_names_the_url_when_nothing_listens(
    vm_store: InfluxReadingStore,
) -> None:
    vm_store.ping()
    url = f"http://127.0.0.1:{free_port()}"
    store = InfluxReadingStore(InfluxOptions(url=url))
    try:
        with pytest.raises(ServiceUnavailable, match=re.escape(url) + ".*FACILITY_INFLUX_URL"):
            store.ping()
    finally:
        store.close()


def test_a_non_http_influx_url_is_a_config_error_naming_the_variable() -> None:
    for url in ["influx.local:8086", "ftp://x", ""]:
        with pytest.raises(ConfigError, match="FACILITY_INFLUX_URL"):
            InfluxReadingStore(InfluxOptions(url=url))


def test_the_sql_store_answers_history_and_latest_as_influxql_does(
    influx_store: InfluxReadingStore, influxdb16: InfluxServer, database_url: str
) -> None:
    batch = _readings("ahu-1", 12) + _readings("ahu-1", 3, metric="humidity")
    batch += _readings(HOSTILE[0], 2)
    influxdb16.write_lines("facility", b"\n".join(line_protocol(batch)))
    sql = SqlReadingStore(make_engine(Settings._normalise_database_url(database_url) or ""))
    start, end = BASE, BASE + timedelta(minutes=2)
    try:
        sql.write(batch)
        for aggregate in ["mean", "min", "max", "sum", "count"]:
            for window_s in [None, 30, 60]:
                for device in ["ahu-1", HOSTILE[0]]:
                    expected = influx_store.history(
                        device=device,
                        metric="temperature",
                        start=start,
                        end=end,
                        window_s=window_s,
                        aggregate=aggregate,
                    )
                    assert expected, "the comparison must not be between two empty answers"
                    assert expected == sql.history(
                        device=device,
                        metric="temperature",
                        start=start,
                        end=end,
                        window_s=window_s,
                        aggregate=aggregate,
                    )
        latest = [(v.device, v.metric, v.value, v.unit, v.ts) for v in influx_store.latest()]
        assert latest == sql.latest() and len(latest) == 3
        with pytest.raises(ValueError, match="per device"):
            sql.history(asset="AHU-1", metric="temperature", start=start, end=end)
        with pytest.raises(ValueError, match="aggregate"):
            sql.history(
                device="ahu-1",
                metric="temperature",
                start=start,
                end=end,
                window_s=60,
                aggregate="median",
            )
    finally:
        sql.close()
