"""Fixtures for the time-series servers: VictoriaMetrics (InfluxDB v2 write API) and InfluxDB 1.6.

Registered from ``tests/conftest.py`` through ``pytest_plugins`` so every test folder (gateway,
dashboards) shares one definition. Each fixture binds free ports, starts the Debian binary with a
data directory under ``tmp_path``, waits until it answers, yields a handle with ``.url``, then
stops the process and checks that it exited cleanly. A missing binary calls
``missing_service`` (skip on a laptop, fail in CI).

The handles can also be stopped and started again on the same port and data directory
(``stop()``/``start()``), which the no-loss tests use to simulate a store outage.
"""

from __future__ import annotations

import shutil
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from facility.core.wait import wait_until
from gateway.broker import free_port

__all__ = ["InfluxServer", "VictoriaMetricsServer", "influxdb16", "victoria_metrics"]


def _http(method: str, url: str, body: bytes | None = None, timeout_s: float = 10) -> bytes:
    request = urllib.request.Request(url, data=body, method=method)
    with urllib.request.urlopen(request, timeout=timeout_s) as response:
        data: bytes = response.read()
        return data


class _Server:
    """A server process on a fixed port with a data directory; restartable."""

    name = "server"

    def __init__(self, binary: str, data_dir: Path) -> None:
        self.binary = binary
        self.data_dir = data_dir
        self.port = free_port()
        self._proc: subprocess.Popen[bytes] | None = None
        self.returncodes: list[int] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _command(self) -> list[str]:
        raise NotImplementedError

    def _ready(self) -> bool:
        raise NotImplementedError

    def start(self) -> _Server:
        """Start; on a first start whose free port was taken meanwhile, retry on new ports."""
        for attempt in range(5):
            try:
                return self._start_once()
            except TimeoutError:
                first_start = not self.returncodes
                if not (first_start and "address already in use" in self.log_tail().lower()):
                    raise
                if attempt == 4:
                    raise
                self._new_ports()
        raise AssertionError("unreachable")

    def _new_ports(self) -> None:
        self.port = free_port()
        (self.data_dir / f"{self.name}.log").unlink(missing_ok=True)

    def _start_once(self) -> _Server:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = (self.data_dir / f"{self.name}.log").open("ab")
        self._proc = subprocess.Popen(self._command(), stdout=log, stderr=subprocess.STDOUT)
        log.close()

        def ready() -> bool:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log_tail()}")
            return self._ready()

        wait_until(ready, timeout_s=30, what=f"{self.name} on port {self.port}")
        return self

    def stop(self) -> None:
        if self._proc is None or self._proc.poll() is not None:
            return
        self._proc.terminate()
        try:
            self._proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(timeout=5)
        self.returncodes.append(self._proc.returncode)

    def log_tail(self) -> str:
        path = self.data_dir / f"{self.name}.log"
        return path.read_text(errors="replace")[-800:] if path.exists() else ""


class VictoriaMetricsServer(_Server):
    """VictoriaMetrics single-node; dedup at 1 ms makes a re-sent point replace itself, as in
    InfluxDB (same series + timestamp = same point)."""

    name = "victoria-metrics"

    def _command(self) -> list[str]:
        return [
            self.binary,
            f"-httpListenAddr=127.0.0.1:{self.port}",
            f"-storageDataPath={self.data_dir / 'storage'}",
            "-retentionPeriod=100y",
            "-dedup.minScrapeInterval=1ms",
            "-loggerLevel=ERROR",
        ]

    def _ready(self) -> bool:
        return _http("GET", f"{self.url}/health", timeout_s=1).strip() == b"OK"

    def flush(self) -> None:
        """Make just-written samples visible to queries (VictoriaMetrics buffers ~1 s)."""
        _http("GET", f"{self.url}/internal/force_flush")

    def export(self, match: str = '{__name__=~".+"}') -> list[dict[str, Any]]:
        """Every stored series matching ``match`` with raw values and millisecond timestamps."""
        self.flush()
        query = urllib.parse.urlencode({"match[]": match, "start": "0"})
        body = _http("GET", f"{self.url}/api/v1/export?{query}")
        return [orjson.loads(line) for line in body.splitlines() if line.strip()]


class InfluxServer(_Server):
    """InfluxDB 1.6 (Debian ``influxdb``): the real InfluxQL engine, loaded through ``/write``."""

    name = "influxd"

    def __init__(self, binary: str, data_dir: Path) -> None:
        super().__init__(binary, data_dir)
        self.rpc_port = free_port()

    def _new_ports(self) -> None:
        super()._new_ports()
        self.rpc_port = free_port()

    def _command(self) -> list[str]:
        conf = self.data_dir / "influxdb.conf"
        conf.write_text(
            "reporting-disabled = true\n"
            f'bind-address = "127.0.0.1:{self.rpc_port}"\n'
            f'[meta]\n  dir = "{self.data_dir}/meta"\n'
            f'[data]\n  dir = "{self.data_dir}/data"\n  wal-dir = "{self.data_dir}/wal"\n'
            "  query-log-enabled = false\n"
            f'[http]\n  bind-address = "127.0.0.1:{self.port}"\n  log-enabled = false\n'
            "[monitor]\n  store-enabled = false\n"
            "[continuous_queries]\n  enabled = false\n"
            '[logging]\n  level = "error"\n'
        )
        return [self.binary, "-config", str(conf)]

    def _ready(self) -> bool:
        try:
            _http("GET", f"{self.url}/ping", timeout_s=1)
        except (OSError, urllib.error.URLError):
            return False
        return True

    def query(self, q: str, db: str | None = None) -> dict[str, Any]:
        params = {"q": q, "epoch": "ns"}
        if db:
            params["db"] = db
        body = urllib.parse.urlencode(params).encode()
        result: dict[str, Any] = orjson.loads(_http("POST", f"{self.url}/query", body))
        return result

    def create_database(self, db: str) -> None:
        self.query(f'CREATE DATABASE "{db}"')

    def write_lines(self, db: str, lines: bytes) -> None:
        """Load line protocol (nanosecond timestamps) through the 1.x ``/write`` endpoint."""
        query = urllib.parse.urlencode({"db": db, "precision": "ns"})
        _http("POST", f"{self.url}/write?{query}", lines)


@pytest.fixture
def victoria_metrics(tmp_path: Path) -> Iterator[VictoriaMetricsServer]:
    """A real VictoriaMetrics on a free port (speaks the InfluxDB v2 write API)."""
    from tests.conftest import missing_service

    binary = shutil.which("victoria-metrics")
    if binary is None:
        missing_service("victoria-metrics", "apt-get install -y victoria-metrics")
    assert binary is not None
    server = VictoriaMetricsServer(binary, tmp_path / "victoria-metrics")
    server.start()
    yield server
    server.stop()
    assert all(code in (0, -15) for code in server.returncodes), server.log_tail()


@pytest.fixture
def influxdb16(tmp_path: Path) -> Iterator[InfluxServer]:
    """A real InfluxDB 1.6 on free ports with an empty database ``facility``."""
    from tests.conftest import missing_service

    binary = shutil.which("influxd") or shutil.which("influxd", path="/usr/sbin:/usr/bin")
    if binary is None:
        missing_service("influxd (InfluxDB 1.6)", "apt-get install -y influxdb")
    assert binary is not None
    server = InfluxServer(binary, tmp_path / "influxd")
    server.start()
    server.create_database("facility")
    yield server
    server.stop()
    assert all(code in (0, -15) for code in server.returncodes), server.log_tail()
