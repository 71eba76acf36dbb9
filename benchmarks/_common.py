"""What the benchmarks share: a broker, a load, a fast publisher, a clock for RSS, the report.

The load is the campus scenario in the native format (10,000 devices, about 2.4 readings per
message): the same bytes for every contender in one benchmark, generated once from a seed.
"""

from __future__ import annotations

import json
import math
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from gateway.broker import MosquittoBroker, find_mosquitto
from simulators.runner import Simulator
from simulators.scenario import load_scenario

__all__ = [
    "Load",
    "broker",
    "campus_load",
    "percentile",
    "publish_all",
    "report",
    "rss_mb",
    "session_client",
]


#: Unacknowledged publishes allowed at once; below the 65,535 MQTT packet ids.
MAX_OUTSTANDING = 20_000


@dataclass(frozen=True, slots=True)
class Load:
    messages: list[tuple[str, bytes]]
    readings: int

    @property
    def per_message(self) -> float:
        return self.readings / len(self.messages)


def campus_load(count: int, *, seed: int = 1, start: datetime | None = None) -> Load:
    """``count`` native messages of the campus scenario (availability changes left out)."""
    simulator = Simulator(
        load_scenario("campus"), seed=seed, start=start or datetime(2026, 1, 5, 9, tzinfo=UTC)
    )
    messages: list[tuple[str, bytes]] = []
    readings = 0
    for message in simulator.messages():
        if not message.readings:
            continue
        messages.append((message.topic, message.payload))
        readings += len(message.readings)
        if len(messages) == count:
            break
    return Load(messages, readings)


@contextmanager
def broker() -> Iterator[MosquittoBroker]:
    """A Mosquitto on a free port of 127.0.0.1, as the embedded default and the tests use."""
    if find_mosquitto() is None:
        sys.exit("mosquitto is not installed: apt-get install -y mosquitto")
    instance = MosquittoBroker().start()
    try:
        yield instance
    finally:
        instance.stop()


def session_client(client_id: str, port: int, *, on_message: Any = None) -> paho.Client:
    """A paho MQTT v5 client with a persistent session (so messages queue while it is away)."""
    client = paho.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=paho.MQTTv5,
    )
    client.max_queued_messages_set(0)
    client.max_inflight_messages_set(1000)
    if on_message is not None:
        client.on_message = on_message
    connected = threading.Event()
    client.on_connect = lambda *args: connected.set()
    properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    properties.SessionExpiryInterval = 3600
    client.connect("127.0.0.1", port, clean_start=False, properties=properties)
    client.loop_start()
    if not connected.wait(10):
        raise RuntimeError(f"no CONNACK from 127.0.0.1:{port}")
    return client


def publish_all(port: int, messages: Sequence[tuple[str, bytes]], *, qos: int = 1) -> float:
    """Publish every message as fast as the broker acknowledges; return the seconds it took."""
    client = session_client(f"bench-pub-{os.getpid()}", port)
    started = time.perf_counter()
    window: deque[Any] = deque()
    for topic, payload in messages:
        if len(window) >= MAX_OUTSTANDING:  # MQTT packet ids are 16 bits: never reuse one
            window.popleft().wait_for_publish(timeout=120)
        window.append(client.publish(topic, payload, qos=qos))
    if window:
        window[-1].wait_for_publish(timeout=120)
    elapsed = time.perf_counter() - started
    client.disconnect()
    client.loop_stop()
    return elapsed


def rss_mb(pid: int | str = "self") -> float:
    """Resident set size in MB, from /proc (Linux)."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    raise RuntimeError("no VmRSS in /proc/<pid>/status")


def percentile(values: Sequence[float], p: float) -> float:
    """The nearest-rank percentile (p in 0..100) of ``values``."""
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100.0 * len(ordered)))
    return ordered[rank - 1]


def report(figures: dict[str, Any]) -> None:
    """The last line of every benchmark: one JSON object, picked up by ``python -m benchmarks``."""
    sys.stdout.flush()
    print(json.dumps(figures, sort_keys=True), flush=True)
