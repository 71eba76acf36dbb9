"""The edge bridge on a real Mosquitto and a real pymodbus server, both on loopback ports.

The central claim: across a broker restart the bridge loses nothing and duplicates nothing.
QoS 1 is at-least-once by protocol: a broker killed between receiving a PUBLISH and its PUBACK
reaching the sender (or between delivering to the subscriber and reading the subscriber's
PUBACK) redelivers. The test therefore stops the broker at a quiet instant (everything polled
so far acknowledged and received) while polling goes on, which is what "no loss, no
duplicate from the bridge" means; the spool and its replay do the rest.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from facility.core.errors import ConfigError
from facility.core.types import Presence, Reading
from facility.core.wait import wait_until
from gateway.bridge.bridge import Bridge, BridgeOptions, message_of
from gateway.bridge.metrics import serve_metrics
from gateway.bridge.publisher import BrokerOptions
from gateway.bridge.spool import ROW_OVERHEAD, Spool
from gateway.broker import MosquittoBroker, free_port
from gateway.codecs import decode
from gateway.connectors import ConnectorsConfig, parse_connectors
from gateway.mqtt import Message, MqttConnection, MqttOptions
from simulators.modbus_server import LoopbackModbusServer

pytestmark = pytest.mark.integration


@pytest.fixture
def server() -> Iterator[LoopbackModbusServer]:
    with LoopbackModbusServer() as device:
        device.set_registers("input", 0, [215, 480])  # 21.5 degC, 48.0 %
        device.set_bits("coil", 0, [True])
        yield device


def _connectors(server: LoopbackModbusServer, poll_s: float = 0.2) -> ConnectorsConfig:
    return parse_connectors(
        {
            "connectors": {
                "modbus": {
                    "devices": [
                        {
                            "name": "ahu-7",
                            "host": "127.0.0.1",
                            "port": server.port,
                            "poll_s": poll_s,
                            "timeout_s": 1,
                            "retries": 0,
                            "points": [
                                {
                                    "metric": "temperature",
                                    "function": "input",
                                    "address": 0,
                                    "type": "int16",
                                    "scale": 0.1,
                                    "unit": "degC",
                                },
                                {
                                    "metric": "humidity",
                                    "function": "input",
                                    "address": 1,
                                    "scale": 0.1,
                                },
                                {"metric": "state", "function": "coil", "address": 0},
                            ],
                        }
                    ]
                }
            }
        }
    )


class Subscriber:
    """A persistent-session QoS 1 subscriber at the central site; thread-safe list of what came."""

    def __init__(self, url: str) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self._lock = threading.Lock()
        options = MqttOptions(
            url=url,
            client_id=f"central-{uuid.uuid4().hex[:6]}",
            clean_start=False,
            reconnect_max_s=1,
        )
        self.connection = MqttConnection(options, on_message=self._on_message).connect()
        self.connection.subscribe("facility/#", qos=1)

    def _on_message(self, message: Message) -> None:
        with self._lock:
            self.messages.append((message.topic, message.payload))

    def readings(self) -> list[tuple[str, bytes]]:
        with self._lock:
            return [m for m in self.messages if not m[0].endswith("/availability")]

    def close(self) -> None:
        self.connection.close()


class Polled:
    def __init__(self) -> None:
        self.items: list[Reading | Presence] = []
        self._lock = threading.Lock()

    def __call__(self, item: Reading | Presence) -> None:
        with self._lock:
            self.items.append(item)

    def readings(self) -> list[Reading]:
        with self._lock:
            return [i for i in self.items if isinstance(i, Reading)]


def _broker(url: str, **extra: Any) -> BrokerOptions:
    return BrokerOptions(
        url=url, client_id=f"bridge-{uuid.uuid4().hex[:6]}", reconnect_max_s=1, **extra
    )


def test_the_bridge_loses_nothing_across_a_broker_restart(
    mosquitto: MosquittoBroker, server: LoopbackModbusServer, tmp_path: Path
) -> None:
    subscriber = Subscriber(mosquitto.url)
    polled = Polled()
    bridge = Bridge(
        _connectors(server),
        _broker(mosquitto.url),
        BridgeOptions(site="plant-a", spool_dir=tmp_path / "spool"),
        on_polled=polled,
    ).start()
    try:
        wait_until(lambda: len(subscriber.readings()) >= 9, timeout_s=30, what="readings arrive")
        # a quiet instant: all polled so far acknowledged by the broker and received
        wait_until(
            lambda: (
                bridge.spool.depth == 0
                and len(subscriber.readings()) == bridge.polled == bridge.publisher.published
            ),
            timeout_s=30,
            interval_s=0.005,
            what="a quiet instant to stop the broker",
        )
        mosquitto.stop()
        at_stop = bridge.polled
        wait_until(
            lambda: bridge.polled >= at_stop + 15 and bridge.spool.depth >= 15,
            timeout_s=30,
            what="polling goes on into the spool while the broker is down",
        )
        assert not bridge.publisher.connected
        mosquitto.start()  # same port, same persistence directory
        wait_until(lambda: bridge.publisher.connected, timeout_s=30, what="the bridge reconnects")
        wait_until(
            lambda: len(subscriber.readings()) > at_stop + 15, timeout_s=30, what="the replay"
        )
        bridge.stop_polling()
        wait_until(
            lambda: (
                bridge.spool.depth == 0 and len(subscriber.readings()) >= len(polled.readings())
            ),
            timeout_s=60,
            what="every polled reading received",
        )
    finally:
        bridge.stop()
        subscriber.close()
    received = subscriber.readings()
    expected = [message_of("plant-a", r) for r in polled.readings()]
    assert len(expected) == bridge.polled > at_stop + 15
    assert sorted(received) == sorted(expected), "lost or duplicated readings"
    # replayed in poll order: each point's timestamps only go forward at the subscriber
    last: dict[str, str] = {}
    for topic, payload in received:
        ts = orjson.loads(payload)["ts"]
        assert ts > last.get(topic, ""), f"{topic} arrived out of order"
        last[topic] = ts
    stats = bridge.stats()
    assert stats["dropped"] == 0
    assert stats["published"] == stats["spooled"] - stats["presence_changes"] + bridge.presence


def test_what_the_bridge_publishes_is_what_the_central_gateway_decodes(
    mosquitto: MosquittoBroker, server: LoopbackModbusServer, tmp_path: Path
) -> None:
    subscriber = Subscriber(mosquitto.url)
    bridge = Bridge(
        _connectors(server),
        _broker(mosquitto.url),
        BridgeOptions(site="plant-a", spool_dir=tmp_path / "spool"),
    ).start()
    try:
        wait_until(lambda: len(subscriber.readings()) >= 3, timeout_s=30, what="readings arrive")
    finally:
        bridge.stop()
        subscriber.close()
    decoded: dict[str, Reading] = {}
    for topic, payload in subscriber.readings():
        for item in decode(topic, payload):
            assert isinstance(item, Reading)
            decoded[item.metric] = item
    assert decoded["temperature"].device == "ahu-7"
    assert decoded["temperature"].value == pytest.approx(21.5)
    assert decoded["temperature"].unit == "degC"
    assert decoded["humidity"].value == pytest.approx(48.0)
    assert decoded["state"].value == 1.0
    assert decoded["state"].ts <= datetime.now(UTC)


def test_the_spool_bound_drops_the_oldest_first_and_counts_them(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool", max_bytes=4096)
    messages = [(f"facility/s/d/m{i:04d}", b'{"value": 1}') for i in range(200)]
    size = len(messages[0][0]) + len(messages[0][1]) + ROW_OVERHEAD
    for start in range(0, 200, 10):
        spool.append(messages[start : start + 10])
    kept = spool.peek(after=0, limit=1000)
    assert spool.size_bytes <= 4096
    assert len(kept) == 4096 // size == spool.depth
    assert [t for _, t, _ in kept] == [t for t, _ in messages[-len(kept) :]]  # the newest
    assert spool.dropped == 200 - len(kept)
    spool.close()
    reopened = Spool(tmp_path / "spool", max_bytes=4096)  # the spool survives a restart
    assert [t for _, t, _ in reopened.peek(after=0, limit=1000)] == [t for _, t, _ in kept]
    reopened.close()


def test_a_bridge_cut_off_from_its_broker_spools_within_the_bound_and_reports_drops(
    server: LoopbackModbusServer, tmp_path: Path
) -> None:
    dead = f"mqtt://127.0.0.1:{free_port()}"  # nothing listens there
    bridge = Bridge(
        _connectors(server, poll_s=0.05),
        _broker(dead),
        BridgeOptions(site="plant-a", spool_dir=tmp_path / "spool", spool_max_bytes=4096),
    ).start()
    port = free_port()
    metrics = serve_metrics(bridge, "127.0.0.1", port)
    try:
        wait_until(lambda: bridge.spool.dropped >= 30, timeout_s=60, what="the spool overflows")
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=30).text
    finally:
        metrics.shutdown()
        bridge.stop()
    assert bridge.spool.size_bytes <= 4096
    assert bridge.publisher.published == 0
    values = {
        line.split()[0]: float(line.split()[1])
        for line in text.splitlines()
        if line.startswith("facility_bridge_")
    }
    assert values["facility_bridge_dropped_total"] >= 30
    assert values["facility_bridge_points_polled_total"] >= 30
    assert values["facility_bridge_connected"] == 0


def test_an_unwritable_spool_is_a_clear_error_at_start_up(
    server: LoopbackModbusServer, tmp_path: Path
) -> None:
    # (directory permissions would not stop root, which CI runs as: a database file that is a
    # directory cannot be written by anyone)
    (tmp_path / "spool" / "spool.db").mkdir(parents=True)
    with pytest.raises(ConfigError, match=r"spool directory .* cannot be written .* --spool"):
        Bridge(
            _connectors(server),
            _broker("mqtt://127.0.0.1:1"),
            BridgeOptions(site="a", spool_dir=tmp_path / "spool"),
        )


def test_a_spool_path_under_a_file_is_a_clear_error_naming_the_fix(
    server: LoopbackModbusServer, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(ConfigError, match=r"spool directory .*a-file/spool.* --spool"):
        Bridge(
            _connectors(server),
            _broker("mqtt://127.0.0.1:1"),
            BridgeOptions(site="a", spool_dir=blocker / "spool"),
        )


@pytest.mark.parametrize(
    ("site", "url", "match"),
    [
        ("plant/a", "mqtt://127.0.0.1:1883", "--site"),
        ("#", "mqtt://127.0.0.1:1883", "--site"),
        ("a", "http://127.0.0.1:1883", "--broker"),
        ("a", "mqtt://127.0.0.1:99999", "--broker"),
    ],
)
def test_bad_site_or_broker_is_refused_before_anything_starts(
    server: LoopbackModbusServer, tmp_path: Path, site: str, url: str, match: str
) -> None:
    with pytest.raises(ConfigError, match=match):
        Bridge(_connectors(server), _broker(url), BridgeOptions(site=site, spool_dir=tmp_path))


def _depth(spool_dir: Path) -> int:
    """Messages in a spool another process is writing (read-only, closed at once)."""
    path = spool_dir / "spool.db"
    if not path.exists():
        return 0
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        return int(db.execute("SELECT COUNT(*) FROM spool").fetchone()[0])


def test_the_bridge_command_stops_cleanly_on_sigterm_and_keeps_the_spool(
    server: LoopbackModbusServer, tmp_path: Path
) -> None:
    config = tmp_path / "connectors.yaml"
    config.write_bytes(orjson.dumps({"connectors": _connectors(server).model_dump(mode="json")}))
    dead = f"mqtt://127.0.0.1:{free_port()}"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "facility.app.cli",
            "bridge",
            "--config",
            str(config),
            "--broker",
            dead,
            "--spool",
            str(tmp_path / "spool"),
            "--site",
            "plant-a",
        ],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        assert "bridging" in line, line
        wait_until(
            lambda: _depth(tmp_path / "spool") >= 6,
            timeout_s=60,
            what="readings spooled by the running bridge",
        )
        process.terminate()
        out = process.communicate(timeout=60)[1]
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, out
    assert "bridge stopped" in out
    assert _depth(tmp_path / "spool") >= 6  # kept for the next start
