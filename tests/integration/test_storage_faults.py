"""Storage faults end by themselves and lose nothing: fault injection on real servers.

Each test breaks storage the way a bad day does, on a filesystem the test controls (a small
tmpfs it mounts, files it makes immutable with ``chattr +i``), a real VictoriaMetrics it stops,
a real SQLite file a second connection locks, a real Mosquitto it restarts. Every test ends with
every QoS 1 reading stored exactly once (the total and the distinct points both equal what was
published, and the values are exactly the published ones) and with ingestion going on without
a restart (readings published after the recovery are stored too).

Needs root (mount, chattr): CI runs as root; elsewhere the tests skip with that reason.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson
import pytest
import sqlalchemy as sa

from facility.app.stack import Stack
from facility.core.settings import Settings
from facility.core.wait import wait_until
from gateway.broker import MosquittoBroker
from gateway.ingest import Gateway, GatewayOptions
from gateway.mqtt import MqttConnection, MqttOptions
from gateway.stores.influx import InfluxOptions, InfluxReadingStore
from gateway.stores.sql import SqlReadingStore, make_engine
from tests.conftest import missing_service, reset_postgres_schema
from tests.fixtures_influx import VictoriaMetricsServer
from tests.integration.conftest import login

pytestmark = pytest.mark.allow_logged_errors  # the faults are logged, with reasons, on purpose

BASE = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
#: generous: the CI machine is shared and loaded
TIMEOUT_S = 120.0


# -- a filesystem the test controls ----------------------------------------------------------------
@dataclass
class SmallDisk:
    """A tmpfs of ``size`` mounted at ``path``; it can be filled up and files made immutable."""

    path: Path
    frozen: list[Path] = field(default_factory=list)

    @property
    def filler(self) -> Path:
        return self.path / "filler.bin"

    def fill(self) -> None:
        """Write a filler file until the disk is full (ENOSPC), then check it is."""
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            for size in (1 << 20, 1 << 16, 1 << 12, 1 << 9):  # big blocks, then the rest
                with contextlib.suppress(OSError):
                    _write_forever(fd, b"\0" * size)
        finally:
            os.close(fd)
        with pytest.raises(OSError, match="No space left"):
            (self.path / "probe").write_bytes(b"x" * 4096)

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)
        (self.path / "probe").unlink(missing_ok=True)

    def freeze(self, *paths: Path) -> None:
        """``chattr +i``: not even root may write or create files there."""
        subprocess.run(["chattr", "+i", *map(str, paths)], check=True, capture_output=True)
        self.frozen.extend(paths)

    def thaw(self) -> None:
        if self.frozen:
            subprocess.run(["chattr", "-i", *map(str, self.frozen)], check=True)
            self.frozen.clear()


def _write_forever(fd: int, chunk: bytes) -> None:
    while True:
        os.write(fd, chunk)


def _mount_small_disk(where: Path, size: str) -> SmallDisk:
    if os.geteuid() != 0 or shutil.which("chattr") is None or shutil.which("mount") is None:
        missing_service(
            "root with mount and chattr (a filesystem the test can fill and freeze)",
            "run the tests as root; apt-get install -y e2fsprogs util-linux",
        )
    where.mkdir(parents=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(where)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        missing_service(f"a tmpfs mount ({done.stderr.strip()})", "run the tests as root")
    return SmallDisk(where)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[SmallDisk]:
    disk = _mount_small_disk(tmp_path / "disk", "4m")
    yield disk
    disk.thaw()
    disk.free()
    if subprocess.run(["umount", str(disk.path)], check=False).returncode != 0:
        subprocess.run(["umount", "-l", str(disk.path)], check=True)  # a file still open


# -- readings --------------------------------------------------------------------------------------
def _message(i: int) -> tuple[str, bytes]:
    """Reading ``i``: its own device and timestamp, value ``i``, so each is identifiable."""
    ts = (BASE + timedelta(milliseconds=i)).isoformat()
    return f"facility/hq/meter-{i % 7}/power", orjson.dumps(
        {"value": float(i), "unit": "W", "ts": ts}
    )


class Publisher:
    """One QoS 1 publisher kept connected; ``publish`` returns once the broker has them all."""

    def __init__(self, url: str, client_id: str) -> None:
        self.connection = MqttConnection(MqttOptions(url=url, client_id=client_id)).connect()

    def publish(self, indices: range) -> None:
        infos = [self.connection.publish(*_message(i), qos=1) for i in indices]
        for info in infos:
            info.wait_for_publish(timeout=TIMEOUT_S)
            assert info.is_published()

    def close(self) -> None:
        self.connection.close()


def _gateway(
    url: str, store: SqlReadingStore | InfluxReadingStore, spool: Path | None, **options: object
) -> Gateway:
    return Gateway(
        GatewayOptions(
            mqtt=MqttOptions(url=url, client_id="gw-faults", clean_start=False),
            spool_dir=spool,
            store_retries=2,
            retry_delay_s=0.05,
            hold_retry_max_s=0.5,
            spool_retry_s=0.2,
            **{"batch_size": 100, **options},  # type: ignore[arg-type]
        ),
        store=store,
    )


def _sql_points(url: str) -> tuple[int, int, list[float]]:
    """(total rows, distinct (device, metric, ts), sorted values) straight from the file."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            total, distinct = conn.execute(
                sa.text(
                    "SELECT COUNT(*), COUNT(DISTINCT device || '|' || metric || '|' || ts) "
                    "FROM readings"
                )
            ).one()
            rows: list[float] = list(conn.execute(sa.text("SELECT value FROM readings")).scalars())
            values = sorted(float(v) for v in rows)
    finally:
        engine.dispose()
    return int(str(total)), int(str(distinct)), values


def _assert_exactly_once_sql(url: str, count: int) -> None:
    total, distinct, values = _sql_points(url)
    assert (total, distinct) == (count, count)
    assert values == [float(i) for i in range(count)]


def _wait_stored_sql(url: str, count: int) -> None:
    wait_until(
        lambda: _sql_points(url)[0] >= count, timeout_s=TIMEOUT_S, what=f"{count} readings stored"
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
            timeout_s=5,
        )
    )


def _vm_values(victoria: VictoriaMetricsServer) -> list[float]:
    series = victoria.export('{__name__="readings_value"}')
    return sorted(v for s in series for v in s["values"])


def _held(gateway: Gateway) -> Callable[[], bool]:
    return lambda: gateway.holding and not gateway.health.summary()[1]


# -- the tests -------------------------------------------------------------------------------------
def test_a_full_disk_under_store_and_spool_holds_then_stores_everything_once_without_restart(
    mosquitto: MosquittoBroker, small_disk: SmallDisk
) -> None:
    url = f"sqlite:///{small_disk.path / 'readings.db'}"
    store = SqlReadingStore(make_engine(url))
    gateway = _gateway(mosquitto.url, store, small_disk.path / "spool").start()
    publisher = Publisher(mosquitto.url, "pub-full-disk")
    try:
        publisher.publish(range(50))
        _wait_stored_sql(url, 50)

        small_disk.fill()
        publisher.publish(range(50, 350))
        wait_until(_held(gateway), timeout_s=TIMEOUT_S, what="the gateway holding, not ready")
        status, ready, components = gateway.health.summary()
        assert (status, ready) == ("degraded", False)
        assert "No space left on device" in str(components["spool"]["reason"])
        assert components["ingest"]["status"] == "degraded"
        spooled = small_disk.path / "spool" / "readings.spool.jsonl"
        torn = spooled.read_bytes() if spooled.exists() else b""
        assert torn == b"" or torn.endswith(b"\n")  # a failed append was cut back

        small_disk.free()
        _wait_stored_sql(url, 350)
        publisher.publish(range(350, 380))  # ingestion goes on: no restart
        _wait_stored_sql(url, 380)
        wait_until(
            lambda: gateway.health.summary()[:2] == ("ok", True),
            timeout_s=TIMEOUT_S,
            what="healthy again",
        )
    finally:
        publisher.close()
        gateway.stop()
        store.close()
    _assert_exactly_once_sql(url, 380)
    assert gateway.stats.holds >= 1 and gateway.stats.dropped == 0


def test_a_store_down_and_an_immutable_spool_hold_then_everything_is_stored_once(
    mosquitto: MosquittoBroker, victoria_metrics: VictoriaMetricsServer, small_disk: SmallDisk
) -> None:
    spool = small_disk.path / "spool"
    spool.mkdir()
    store = _fast_failing_influx(victoria_metrics.url)
    gateway = _gateway(mosquitto.url, store, spool).start()
    publisher = Publisher(mosquitto.url, "pub-immutable")
    try:
        publisher.publish(range(100))
        wait_until(lambda: gateway.stats.stored == 100, timeout_s=TIMEOUT_S, what="100 stored")

        victoria_metrics.stop()
        small_disk.freeze(spool)
        publisher.publish(range(100, 400))
        wait_until(_held(gateway), timeout_s=TIMEOUT_S, what="the gateway holding")
        reason = str(gateway.health.summary()[2]["spool"]["reason"])
        assert "Operation not permitted" in reason and str(spool) in reason
        assert gateway.stats.spooled == 0

        small_disk.thaw()  # the disk first: the held batch goes to the spool, then replays
        wait_until(lambda: not gateway.holding, timeout_s=TIMEOUT_S, what="the hold to end")
        victoria_metrics.start()
        wait_until(
            lambda: gateway.spooled_readings == 0 and gateway.stats.stored >= 400,
            timeout_s=TIMEOUT_S,
            what="all 400 stored, spool drained",
        )
        publisher.publish(range(400, 430))
        wait_until(lambda: gateway.stats.stored >= 430, timeout_s=TIMEOUT_S, what="430 stored")
    finally:
        publisher.close()
        gateway.stop()
        store.close()
    assert _vm_values(victoria_metrics) == [float(i) for i in range(430)]


def test_a_store_down_and_a_full_spool_disk_hold_until_the_store_returns(
    mosquitto: MosquittoBroker, victoria_metrics: VictoriaMetricsServer, small_disk: SmallDisk
) -> None:
    store = _fast_failing_influx(victoria_metrics.url)
    gateway = _gateway(mosquitto.url, store, small_disk.path / "spool").start()
    publisher = Publisher(mosquitto.url, "pub-spool-full")
    try:
        publisher.publish(range(50))
        wait_until(lambda: gateway.stats.stored == 50, timeout_s=TIMEOUT_S, what="50 stored")
        victoria_metrics.stop()
        small_disk.fill()
        publisher.publish(range(50, 300))
        wait_until(_held(gateway), timeout_s=TIMEOUT_S, what="the gateway holding")

        victoria_metrics.start()  # the store returns while the spool disk stays full
        wait_until(lambda: gateway.stats.stored >= 300, timeout_s=TIMEOUT_S, what="300 stored")
        publisher.publish(range(300, 330))
        wait_until(lambda: gateway.stats.stored >= 330, timeout_s=TIMEOUT_S, what="330 stored")
    finally:
        publisher.close()
        gateway.stop()
        store.close()
    assert _vm_values(victoria_metrics) == [float(i) for i in range(330)]
    assert gateway.stats.spooled == 0 and gateway.stats.dropped == 0


def test_a_locked_database_delays_writes_and_loses_nothing(
    mosquitto: MosquittoBroker, tmp_path: Path
) -> None:
    path = tmp_path / "readings.db"
    url = f"sqlite:///{path}"
    store = SqlReadingStore(make_engine(url))
    gateway = _gateway(mosquitto.url, store, None).start()
    publisher = Publisher(mosquitto.url, "pub-locked")
    locker = sqlite3.connect(path, isolation_level=None, timeout=1)
    try:
        publisher.publish(range(20))
        _wait_stored_sql(url, 20)
        locker.execute("BEGIN EXCLUSIVE")  # another process holding the write lock
        publisher.publish(range(20, 220))
        wait_until(
            lambda: gateway.stats.received > 20,
            timeout_s=TIMEOUT_S,
            what="a batch in the worker's hands",
        )
        assert gateway.stats.stored == 20  # it waits on the lock, nothing acknowledged
        locker.execute("ROLLBACK")
        _wait_stored_sql(url, 220)
        publisher.publish(range(220, 250))
        _wait_stored_sql(url, 250)
    finally:
        with contextlib.suppress(sqlite3.Error):
            locker.execute("ROLLBACK")
        locker.close()
        publisher.close()
        gateway.stop()
        store.close()
    _assert_exactly_once_sql(url, 250)


def test_a_broker_restart_while_storage_is_down_loses_nothing_and_acks_no_stale_ids(
    mosquitto: MosquittoBroker, small_disk: SmallDisk
) -> None:
    url = f"sqlite:///{small_disk.path / 'readings.db'}"
    store = SqlReadingStore(make_engine(url))
    gateway = _gateway(mosquitto.url, store, small_disk.path / "spool").start()
    publisher = Publisher(mosquitto.url, "pub-restart-1")
    try:
        publisher.publish(range(30))
        _wait_stored_sql(url, 30)
        small_disk.fill()
        publisher.publish(range(30, 330))
        publisher.close()
        wait_until(_held(gateway), timeout_s=TIMEOUT_S, what="the gateway holding")

        # persistence on: the session and its queue survive the restart
        mosquitto.stop()
        wait_until(
            lambda: not gateway.mqtt.is_connected,
            timeout_s=TIMEOUT_S,
            what="the gateway sees the loss",
        )
        mosquitto.start()
        wait_until(
            lambda: gateway.mqtt.is_connected, timeout_s=TIMEOUT_S, what="the gateway reconnects"
        )
        small_disk.free()
        _wait_stored_sql(url, 330)
        publisher = Publisher(mosquitto.url, "pub-restart-2")
        publisher.publish(range(330, 360))
        _wait_stored_sql(url, 360)
    finally:
        publisher.close()
        gateway.stop()
        store.close()
    _assert_exactly_once_sql(url, 360)
    assert gateway.mqtt.connects >= 2


def test_more_unacknowledged_than_the_receive_window_resumes_after_the_fault(
    mosquitto: MosquittoBroker, small_disk: SmallDisk
) -> None:
    # the finding: 1,200 QoS 1 readings during a fault, the broker stopped delivering at the
    # receive window (about 1,000) and 30 sent after recovery were never stored
    url = f"sqlite:///{small_disk.path / 'readings.db'}"
    store = SqlReadingStore(make_engine(url))
    gateway = _gateway(mosquitto.url, store, small_disk.path / "spool", batch_size=500).start()
    window = gateway.options.mqtt.receive_maximum
    assert window is not None and window < 1200
    publisher = Publisher(mosquitto.url, "pub-window")
    try:
        small_disk.fill()
        publisher.publish(range(1200))  # the broker took them all, for us
        wait_until(_held(gateway), timeout_s=TIMEOUT_S, what="the gateway holding")
        in_hand = gateway.stats.received + gateway._queue.qsize()
        assert in_hand < 1200  # the rest waits at the broker, unacknowledged

        small_disk.free()
        _wait_stored_sql(url, 1200)
        publisher.publish(range(1200, 1230))
        _wait_stored_sql(url, 1230)
    finally:
        publisher.close()
        gateway.stop()
        store.close()
    _assert_exactly_once_sql(url, 1230)


def test_a_stopped_gateway_gives_a_held_batch_back_to_the_broker(
    mosquitto: MosquittoBroker, small_disk: SmallDisk
) -> None:
    url = f"sqlite:///{small_disk.path / 'readings.db'}"
    store = SqlReadingStore(make_engine(url))
    gateway = _gateway(mosquitto.url, store, small_disk.path / "spool").start()
    publisher = Publisher(mosquitto.url, "pub-stop")
    try:
        small_disk.fill()
        publisher.publish(range(150))
        wait_until(_held(gateway), timeout_s=TIMEOUT_S, what="the gateway holding")
        started = time.monotonic()
        gateway.stop()  # does not wait out the backoff, acknowledges nothing
        assert time.monotonic() - started < 30
        small_disk.free()
        successor = _gateway(mosquitto.url, store, small_disk.path / "spool").start()
        try:
            _wait_stored_sql(url, 150)
        finally:
            successor.stop()
    finally:
        publisher.close()
        gateway.stop()
        store.close()
    _assert_exactly_once_sql(url, 150)


def test_postgres_connections_cut_and_a_locked_table_lose_nothing(
    mosquitto: MosquittoBroker, postgres_url: str
) -> None:
    reset_postgres_schema(postgres_url)
    url = Settings._normalise_database_url(postgres_url) or postgres_url
    store = SqlReadingStore(make_engine(url))
    gateway = _gateway(mosquitto.url, store, None).start()
    publisher = Publisher(mosquitto.url, "pub-postgres")
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    locker = sa.create_engine(url)
    try:
        publisher.publish(range(50))
        _wait_stored_sql(url, 50)
        with admin.connect() as conn:  # every pooled connection cut, as a server restart does
            cut: int = conn.execute(
                sa.text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).scalar_one()
        assert cut >= 1
        publisher.publish(range(50, 150))
        _wait_stored_sql(url, 150)

        with locker.connect() as conn, conn.begin():  # another session locks the table
            conn.execute(sa.text("LOCK TABLE readings IN ACCESS EXCLUSIVE MODE"))
            publisher.publish(range(150, 300))
            wait_until(
                lambda: gateway.stats.received > 150,
                timeout_s=TIMEOUT_S,
                what="a batch waiting on the lock",
            )
            assert gateway.stats.stored == 150
        _wait_stored_sql(url, 300)
        publisher.publish(range(300, 330))
        _wait_stored_sql(url, 330)
    finally:
        publisher.close()
        gateway.stop()
        store.close()
        admin.dispose()
        locker.dispose()
    _assert_exactly_once_sql(url, 330)


# -- the whole stack: pools recover, the API answers 503 then works, health and readiness ---------
def test_the_stack_reports_degraded_then_recovers_pools_and_api_writes(
    small_disk: SmallDisk, make_stack: Callable[..., Stack]
) -> None:
    database = small_disk.path / "facility.db"
    stack = make_stack(f"sqlite:///{database}")
    base = stack.api_url
    admin = login(base)
    admin.timeout = httpx.Timeout(60)
    publisher = Publisher(stack.options.broker_url, "pub-stack")
    try:
        assert httpx.get(f"{base}/readyz", timeout=60).status_code == 200
        body = httpx.get(f"{base}/healthz", timeout=60).json()
        assert body["status"] == "ok" and body["ready"] is True
        assert {
            "store",
            "spool",
            "ingest",
            "broker",
            "ingest_worker",
            "backlog",
            "database",
        } <= set(body["components"])

        spool = stack.settings.data_dir / "spool"
        spool.mkdir(parents=True, exist_ok=True)
        small_disk.freeze(database, spool)  # read-only database file, immutable spool
        stack.db_engine.dispose()  # connections opened from now on, as a pool grows or recycles
        stack.readings_engine.dispose()

        publisher.publish(range(40))
        wait_until(
            lambda: httpx.get(f"{base}/readyz", timeout=60).status_code == 503,
            timeout_s=TIMEOUT_S,
            what="/readyz 503",
        )
        health = httpx.get(f"{base}/healthz", timeout=60)
        assert health.status_code == 200 and health.json()["status"] == "degraded"
        components = health.json()["components"]
        assert components["ingest"]["status"] == "degraded"
        assert "readonly" in str(components["store"]["reason"]).lower()
        wait_until(
            lambda: (
                httpx.get(f"{base}/healthz", timeout=60).json()["components"]["database_writes"][
                    "status"
                ]
                == "degraded"
            ),
            timeout_s=TIMEOUT_S,
            what="the read-only database reported",
        )
        metrics = httpx.get(f"{base}/metrics", timeout=60).text
        assert 'facility_component_healthy{component="ingest"} 0.0' in metrics
        ready = httpx.get(f"{base}/readyz", timeout=60)
        assert "ingest" in ready.json()["components"] and ready.headers["Retry-After"]

        during = [
            admin.post(
                "/api/v1/work-orders", json={"title": f"during {i}", "location": "plant room"}
            )
            for i in range(5)
        ]
        assert {r.status_code for r in during} == {503}, [r.text for r in during]
        assert "database" in during[0].json()["detail"].lower() or during[0].json()["title"]
        assert admin.get("/api/v1/work-orders").status_code == 200  # reads go on

        small_disk.thaw()
        wait_until(
            lambda: httpx.get(f"{base}/readyz", timeout=60).status_code == 200,
            timeout_s=TIMEOUT_S,
            what="/readyz 200 again",
        )
        orders = [
            admin.post(
                "/api/v1/work-orders", json={"title": f"after {i}", "location": "plant room"}
            )
            for i in range(30)
        ]
        assert [r.status_code for r in orders] == [201] * 30
        keys = [
            admin.post("/api/v1/api-keys", json={"name": f"key-{i}", "role": "tech"})
            for i in range(10)
        ]
        assert [r.status_code for r in keys] == [201] * 10
        secret = keys[0].json()["key"]
        assert (
            httpx.get(
                f"{base}/api/v1/work-orders", headers={"X-API-Key": secret}, timeout=60
            ).status_code
            == 200
        )
        assert admin.delete("/api/v1/api-keys/key-0").status_code == 204
        assert (
            httpx.get(
                f"{base}/api/v1/work-orders", headers={"X-API-Key": secret}, timeout=60
            ).status_code
            == 401
        )

        wait_until(
            lambda: stack.readings.count() == 40,
            timeout_s=TIMEOUT_S,
            what="the 40 held readings stored",
        )
        publisher.publish(range(40, 50))
        wait_until(lambda: stack.readings.count() == 50, timeout_s=TIMEOUT_S, what="50 stored")
        assert stack.gateway.stats.presence_changes == 0  # nobody went offline for our fault
    finally:
        small_disk.thaw()
        publisher.close()
        admin.close()


def test_health_endpoints_answer_fast_while_the_database_is_locked(
    make_stack: Callable[..., Stack], tmp_path: Path
) -> None:
    # Before, /healthz ran SELECT 1 in a session, which on SQLite begins IMMEDIATE and so
    # waited the 30 s busy timeout behind the lock. Now it reads the board: it answers while a
    # write is still waiting for the lock (a bound far below 30 s, for a loaded machine).
    database = tmp_path / "locked.db"
    stack = make_stack(f"sqlite:///{database}")
    base = stack.api_url
    client = login(base)
    client.timeout = httpx.Timeout(120)
    locker = sqlite3.connect(database, isolation_level=None, timeout=1)
    done = threading.Event()

    def waiting_write() -> None:
        with contextlib.suppress(httpx.HTTPError):
            client.post("/api/v1/work-orders", json={"title": "waits", "location": "plant room"})
        done.set()

    try:
        locker.execute("BEGIN EXCLUSIVE")
        writer = threading.Thread(target=waiting_write, daemon=True)
        writer.start()
        slowest = 0.0
        for _ in range(5):
            started = time.monotonic()
            assert httpx.get(f"{base}/healthz", timeout=60).status_code == 200
            assert httpx.get(f"{base}/readyz", timeout=60).status_code in (200, 503)
            slowest = max(slowest, time.monotonic() - started)
        assert not done.is_set(), "the write should still be waiting for the lock"
        assert slowest < 10.0
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert done.wait(TIMEOUT_S)
    client.close()
