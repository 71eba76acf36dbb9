"""No loss under faults on a real Mosquitto: a killed gateway, a store gone away, a full spool.

The gateway acknowledges a QoS 1 message only after its readings are stored (or spooled to disk),
with a persistent MQTT session, so whatever the broker accepted is stored exactly once: the
broker redelivers what was in flight, and the stores keep one point per (device, metric, time).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from prometheus_client import generate_latest

from facility.core.settings import Settings
from facility.core.types import Reading, ReadingPage
from facility.core.wait import wait_until
from gateway.broker import MosquittoBroker, free_port
from gateway.ingest import Gateway, GatewayOptions
from gateway.metrics import QUEUE_FULL, READINGS_DROPPED
from gateway.mqtt import MqttConnection, MqttOptions
from gateway.stores.influx import InfluxOptions, InfluxReadingStore
from gateway.stores.sql import SqlReadingStore, make_engine
from tests.fixtures_influx import VictoriaMetricsServer

BASE = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def _message(i: int) -> tuple[str, bytes]:
    """Reading ``i``: its own device/timestamp, value ``i`` (so each one is identifiable)."""
    ts = (BASE + timedelta(milliseconds=i)).isoformat()
    body = {"value": float(i), "unit": "W", "ts": ts}
    return f"facility/hq/meter-{i % 7}/power", orjson.dumps(body)


def _publish_all(url: str, indices: range, client_id: str) -> None:
    publisher = MqttConnection(MqttOptions(url=url, client_id=client_id)).connect()
    try:
        infos = [publisher.publish(*_message(i), qos=1) for i in indices]
        for info in infos:
            info.wait_for_publish(timeout=30)
            assert info.is_published()
    finally:
        publisher.close()


# -- SIGKILL mid-stream ------------------------------------------------------------------------
class GatewayProcess:
    """``facility serve`` as a child process (the production entry point)."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "facility.app.cli", "serve"],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        url = f"http://127.0.0.1:{self.env['FACILITY_API_PORT']}/healthz"

        def healthy() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"gateway exited: {self.log.read_text()[-800:]}")
            with urllib.request.urlopen(url, timeout=1) as response:
                return bool(response.status == 200)

        wait_until(healthy, timeout_s=60, what="facility serve to answer /healthz")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        assert self.proc.returncode == -signal.SIGKILL

    def stop(self) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
            return None


@pytest.fixture
def gateway_process(tmp_path: Path, mosquitto: MosquittoBroker) -> Iterator[GatewayProcess]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACILITY_")}
    env.update(
        {
            "FACILITY_MQTT_URL": mosquitto.url,
            "FACILITY_MQTT_CLIENT_ID": "no-loss-gateway",
            "FACILITY_DATA_DIR": str(tmp_path / "data"),
            "FACILITY_SECRET_KEY": "no-loss-secret-0123456789abcdef",
            "FACILITY_API_PORT": str(free_port()),
            "FACILITY_BATCH_SIZE": "50",
        }
    )
    process = GatewayProcess(env, tmp_path / "gateway.log")
    yield process
    process.stop()


def _stored(data_dir: Path) -> list[tuple[str, float]]:
    engine = make_engine(f"sqlite:///{data_dir / 'readings.db'}")
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT device, value FROM readings")).all()
    finally:
        engine.dispose()
    return [(row[0], row[1]) for row in rows]


def test_a_gateway_killed_mid_stream_and_restarted_stores_every_reading_exactly_once(
    gateway_process: GatewayProcess, mosquitto: MosquittoBroker, tmp_path: Path
) -> None:
    total = 3000
    data_dir = tmp_path / "data"
    gateway_process.start()
    publisher = threading.Thread(
        target=_publish_all, args=(mosquitto.url, range(total), "no-loss-publisher")
    )
    publisher.start()
    try:
        wait_until(lambda: len(_stored(data_dir)) >= 300, timeout_s=60, what="300 readings stored")
        gateway_process.kill()
        killed_at = len(_stored(data_dir))
        assert killed_at < total, "the stream ended before the kill; publish more"
        gateway_process.start()
    finally:
        publisher.join(timeout=120)
    wait_until(
        lambda: len(_stored(data_dir)) >= total, timeout_s=120, what=f"{total} readings stored"
    )
    gateway_process.stop()
    stored = _stored(data_dir)
    assert len(stored) == total  # none twice
    assert sorted(value for _device, value in stored) == [float(i) for i in range(total)]
    assert all(device == f"meter-{int(value) % 7}" for device, value in stored)


# -- the store goes away and comes back ---------------------------------------------------------
def _gateway(
    url: str, store: InfluxReadingStore | SqlReadingStore, spool: Path, **options: object
) -> Gateway:
    return Gateway(
        GatewayOptions(
            mqtt=MqttOptions(url=url, client_id=f"gw-{spool.name}", clean_start=False),
            spool_dir=spool,
            store_retries=2,
            retry_delay_s=0.05,
            spool_retry_s=0.2,
            batch_size=100,
            **options,  # type: ignore[arg-type]
        ),
        store=store,
    )


def _fast_failing_influx(url: str) -> InfluxReadingStore:
    return InfluxReadingStore(
        InfluxOptions(
            url=url,
            batch_size=100,
            flush_interval_ms=20,
            max_retries=1,
            retry_interval_ms=50,
            max_retry_time_ms=400,
            timeout_s=2,
        )
    )


def test_readings_published_while_the_store_is_down_are_spooled_and_drain_when_it_returns(
    mosquitto: MosquittoBroker, victoria_metrics: VictoriaMetricsServer, tmp_path: Path
) -> None:
    store = _fast_failing_influx(victoria_metrics.url)
    gateway = _gateway(mosquitto.url, store, tmp_path / "spool").start()
    try:
        _publish_all(mosquitto.url, range(200), "pub-before")
        wait_until(lambda: gateway.stats.stored == 200, timeout_s=30, what="200 stored")

        victoria_metrics.stop()
        _publish_all(mosquitto.url, range(200, 500), "pub-during")
        wait_until(lambda: gateway.spooled_readings == 300, timeout_s=60, what="300 spooled")
        assert gateway.stats.dropped == 0

        victoria_metrics.start()
        wait_until(lambda: gateway.spooled_readings == 0, timeout_s=60, what="the spool drained")
        _publish_all(mosquitto.url, range(500, 600), "pub-after")
        wait_until(lambda: gateway.stats.stored >= 600, timeout_s=30, what="600 stored")
    finally:
        gateway.stop()
        store.close()
    series = victoria_metrics.export('{__name__="readings_value"}')
    values = sorted(v for s in series for v in s["values"])
    assert values == [float(i) for i in range(600)]
    assert not (tmp_path / "spool" / "readings.spool.jsonl").exists()


def test_a_full_spool_drops_the_excess_and_reports_the_bound_and_the_count(
    mosquitto: MosquittoBroker, tmp_path: Path
) -> None:
    store = _fast_failing_influx(f"http://127.0.0.1:{free_port()}")  # nothing listens there
    dropped_before = READINGS_DROPPED._value.get()
    gateway = _gateway(mosquitto.url, store, tmp_path / "spool", spool_max_readings=40).start()
    try:
        _publish_all(mosquitto.url, range(100), "pub-full")
        wait_until(
            lambda: gateway.stats.spooled + gateway.stats.dropped == 100,
            timeout_s=60,
            what="every reading spooled or dropped",
        )
    finally:
        gateway.stop()
        store.close()
    assert (gateway.stats.spooled, gateway.stats.dropped) == (40, 60)
    assert READINGS_DROPPED._value.get() - dropped_before == 60
    lines = (tmp_path / "spool" / "readings.spool.jsonl").read_bytes().splitlines()
    assert len(lines) == 40
    exposition = generate_latest().decode()
    assert "facility_gateway_spool_bound 40.0" in exposition
    assert "facility_gateway_readings_dropped_total" in exposition


# -- back-pressure -----------------------------------------------------------------------------
class _GatedStore:
    """A real SQL store behind a gate the test opens: a store that is slow for a while."""

    def __init__(self, inner: SqlReadingStore) -> None:
        self.inner = inner
        self.gate = threading.Event()

    def write(self, readings: Sequence[Reading]) -> None:
        self.gate.wait(timeout=60)
        self.inner.write(readings)

    def query(self, **kwargs: Any) -> ReadingPage:
        return self.inner.query(**kwargs)

    def count(self) -> int:
        return self.inner.count()

    def close(self) -> None:
        self.inner.close()


def test_a_slow_store_fills_the_bounded_queue_pauses_mqtt_and_loses_nothing(
    mosquitto: MosquittoBroker, tmp_path: Path
) -> None:
    # The gateway lets the broker send two batches unacknowledged (MQTT 5 Receive Maximum,
    # here 10); with 5 in the worker's hands, a queue of 4 must fill and make the network
    # thread wait.
    store = _GatedStore(SqlReadingStore(make_engine(f"sqlite:///{tmp_path / 'r.db'}")))
    full_before = QUEUE_FULL._value.get()
    gateway = Gateway(
        GatewayOptions(
            mqtt=MqttOptions(url=mosquitto.url, client_id="gw-slow", clean_start=False),
            batch_size=5,
            queue_size=4,
        ),
        store=store,
    ).start()
    try:
        publisher = threading.Thread(
            target=_publish_all, args=(mosquitto.url, range(300), "pub-slow")
        )
        publisher.start()
        wait_until(lambda: gateway._queue.qsize() == 4, timeout_s=30, what="the queue at its bound")
        wait_until(
            lambda: QUEUE_FULL._value.get() > full_before, timeout_s=10, what="back-pressure"
        )
        store.gate.set()
        publisher.join(timeout=60)
        wait_until(lambda: store.count() == 300, timeout_s=60, what="all 300 stored")
    finally:
        store.gate.set()
        gateway.stop()
        store.close()
    exposition = generate_latest().decode()
    assert "facility_gateway_queue_bound 4.0" in exposition
    assert re.search(r"facility_gateway_store_write_seconds_count [1-9]", exposition)
    assert "facility_gateway_messages_received_total" in exposition


# -- idempotent SQL store ----------------------------------------------------------------------
def test_the_sql_store_keeps_one_point_per_device_metric_and_time_on_redelivery(
    database_url: str,
) -> None:
    engine = make_engine(Settings._normalise_database_url(database_url) or database_url)
    store = SqlReadingStore(engine)
    try:
        batch = [
            Reading("meter-1", "power", float(i), "W", BASE + timedelta(seconds=i))
            for i in range(50)
        ]
        store.write(batch)
        store.write([*batch[10:30], Reading("meter-1", "energy", 1.0, "kWh", BASE)])
        page = store.query(device="meter-1", metric="power", limit=100)
        assert page.total == 50 and [r.value for r in page.items] == [float(i) for i in range(50)]
        assert store.count() == 51
    finally:
        store.close()


def test_a_readings_table_from_before_the_unique_index_gets_it_on_open(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = make_engine(url)
    with old.begin() as conn:
        conn.execute(
            sa.text(
                "CREATE TABLE readings (id INTEGER PRIMARY KEY, device VARCHAR(200) NOT NULL, "
                "metric VARCHAR(64) NOT NULL, ts FLOAT NOT NULL, value FLOAT NOT NULL, "
                "unit VARCHAR(20) NOT NULL, quality VARCHAR(16) NOT NULL DEFAULT 'good')"
            )
        )
    old.dispose()
    store = SqlReadingStore(make_engine(url))
    try:
        reading = Reading("m", "power", 1.0, "W", BASE)
        store.write([reading])
        store.write([reading])
        assert store.count() == 1
    finally:
        store.close()
