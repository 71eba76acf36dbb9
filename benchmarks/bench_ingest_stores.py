"""Reading stores: batch write rate of SQLite, PostgreSQL and InfluxDB (VictoriaMetrics).

Writes the same readings (2,000 devices x 4 metrics, distinct timestamps) in
gateway-sized batches through each store's ``write()`` exactly as the gateway calls it: for the
InfluxDB store that is ``influxdb-client`` in batching mode, waiting for the confirmation of each
batch before the next (the gateway acknowledges MQTT only after that). Then writes the first
batches again, as a broker redelivery would, to show what idempotence costs.

PostgreSQL runs when ``FACILITY_TEST_DATABASE_URL`` is set; VictoriaMetrics when the
``victoria-metrics`` binary is installed (it is started on a free port with a temporary data dir).

Run: .venv/bin/python -m benchmarks.bench_ingest_stores [--readings N] [--batch N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy as sa

from benchmarks._common import report
from facility.core.types import Reading
from facility.core.wait import wait_until
from gateway.broker import free_port
from gateway.stores.influx import InfluxOptions, InfluxReadingStore
from gateway.stores.sql import SqlReadingStore, make_engine

METRICS = [("temperature", "degC"), ("humidity", "%"), ("power", "W"), ("co2", "ppm")]
START = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


class _Store(Protocol):
    def write(self, readings: Sequence[Reading]) -> None: ...
    def close(self) -> None: ...


def make_readings(count: int) -> list[Reading]:
    readings = []
    for i in range(count):
        device = f"dev-{i % 2000:04d}"
        metric, unit = METRICS[(i // 2000) % len(METRICS)]
        ts = START + timedelta(seconds=i // (2000 * len(METRICS)), microseconds=i % 1000)
        readings.append(Reading(device, metric, 20.0 + (i % 97) * 0.1, unit, ts))
    return readings


def measure(store: _Store, readings: list[Reading], batch: int) -> dict[str, float]:
    batches = [readings[i : i + batch] for i in range(0, len(readings), batch)]
    latencies = []
    started = time.perf_counter()
    for chunk in batches:
        t0 = time.perf_counter()
        store.write(chunk)
        latencies.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - started
    redeliver = batches[: max(1, len(batches) // 10)]
    t1 = time.perf_counter()
    for chunk in redeliver:
        store.write(chunk)
    again = time.perf_counter() - t1
    latencies.sort()
    return {
        "readings_per_s": round(len(readings) / elapsed),
        "batch_p50_ms": round(latencies[len(latencies) // 2] * 1000, 2),
        "batch_p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 2),
        "redelivered_per_s": round(sum(map(len, redeliver)) / again),
    }


@contextmanager
def sqlite_store() -> Iterator[SqlReadingStore]:
    with tempfile.TemporaryDirectory() as tmp:
        store = SqlReadingStore(make_engine(f"sqlite:///{Path(tmp) / 'readings.db'}"))
        yield store
        store.close()


@contextmanager
def postgres_store(admin_url: str) -> Iterator[SqlReadingStore]:
    admin_url = admin_url.replace("postgresql://", "postgresql+psycopg://", 1)
    name = f"facility_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    store = SqlReadingStore(make_engine(url))
    try:
        yield store
    finally:
        store.close()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@contextmanager
def victoria_store(binary: str, batch: int) -> Iterator[InfluxReadingStore]:
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        proc = subprocess.Popen(
            [
                binary,
                f"-httpListenAddr=127.0.0.1:{port}",
                f"-storageDataPath={tmp}/vm",
                "-retentionPeriod=100y",
                "-dedup.minScrapeInterval=1ms",
                "-loggerLevel=ERROR",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until(
                lambda: urllib.request.urlopen(f"{url}/health", timeout=1).read() == b"OK",
                timeout_s=30,
                what="victoria-metrics",
            )
            store = InfluxReadingStore(
                InfluxOptions(url=url, batch_size=batch, flush_interval_ms=100)
            )
            yield store
            store.close()
        finally:
            proc.terminate()
            proc.wait(timeout=20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readings", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()
    readings = make_readings(args.readings)
    contenders: dict[str, Callable[[], Any]] = {"sqlite": sqlite_store}
    pg_url = os.environ.get("FACILITY_TEST_DATABASE_URL")
    if pg_url:
        contenders["postgresql"] = lambda: postgres_store(pg_url)
    vm = shutil.which("victoria-metrics")
    if vm:
        contenders["influx_victoria_metrics"] = lambda: victoria_store(vm, args.batch)
    figures: dict[str, Any] = {"readings": args.readings, "batch": args.batch}
    for name, factory in contenders.items():
        with factory() as store:
            result = measure(store, readings, args.batch)
        figures[name] = result
        print(
            f"{name:>24}: {result['readings_per_s']:>9,} readings/s  "
            f"batch p50 {result['batch_p50_ms']} ms  p99 {result['batch_p99_ms']} ms  "
            f"redelivered {result['redelivered_per_s']:,}/s"
        )
    base = figures["sqlite"]["readings_per_s"]
    for name in contenders:
        if name != "sqlite":
            ratio = figures[name]["readings_per_s"] / base
            figures[f"{name}_vs_sqlite"] = round(ratio, 2)
            print(f"{name} / sqlite = {ratio:.2f}")
    report(figures)


if __name__ == "__main__":
    main()
