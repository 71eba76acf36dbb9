"""Ingest: the full gateway pipeline against a bare paho subscriber, same broker, same load.

Both contenders drain the same backlog: each first subscribes with a persistent session and
goes away, the load (campus messages, native JSON, QoS 1) is published and queued by Mosquitto,
and then the contender reconnects and the clock runs until it has handled every reading. So
neither shares the CPU with a publisher, and both see identical bytes.

* bare: paho's callback only parses the JSON (``orjson.loads``) and counts the metrics;
* gateway: :class:`gateway.ingest.Gateway` decodes and validates (codec + units), writes the
  readings to the SQLite reading store, updates device state, runs the rules engine on each
  batch and only then acknowledges, exactly as ``facility serve`` runs it.

Target: ``ratio_vs_bare`` >= 0.6 per worker process.
Run: .venv/bin/python -m benchmarks.bench_ingest [--messages N] [--repeats N]
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
import paho.mqtt.client as paho

from benchmarks._common import Load, broker, campus_load, publish_all, report, session_client
from facility.core.types import Presence, Reading
from gateway.ingest import Gateway, GatewayOptions
from gateway.mqtt import MqttOptions
from gateway.stores.sql import SqlReadingStore, SqlStateStore, make_engine
from rules.engine import RuleEngine
from rules.loader import load_rules

REPO = Path(__file__).resolve().parent.parent
TIMEOUT_S = 180.0


def drain_bare(port: int, load: Load) -> float:
    """Readings/s of a subscriber that only parses JSON."""
    counted = [0]
    done = threading.Event()

    def on_message(client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        body = orjson.loads(message.payload)
        counted[0] += len(body) - ("ts" in body)
        if counted[0] >= load.readings:
            done.set()

    subscriber = session_client("bench-bare", port)
    subscriber.subscribe("facility/#", qos=1)
    time.sleep(0.2)  # SUBACK; a benchmark set-up step, not a measurement
    subscriber.disconnect()
    subscriber.loop_stop()
    publish_all(port, load.messages)
    started = time.perf_counter()
    subscriber = session_client("bench-bare", port, on_message=on_message)
    if not done.wait(TIMEOUT_S):
        raise RuntimeError(f"bare subscriber got {counted[0]} of {load.readings} readings")
    elapsed = time.perf_counter() - started
    subscriber.disconnect()
    subscriber.loop_stop()
    return load.readings / elapsed


def make_gateway(port: int, directory: Path) -> Gateway:
    engine = make_engine(f"sqlite:///{directory / 'readings.db'}")
    rules = RuleEngine(load_rules(REPO / "rules" / "examples" / "office.yaml"))

    def evaluate(readings: Sequence[Reading], presences: Sequence[Presence]) -> None:
        rules.process(readings)
        rules.process_presence(presences)

    return Gateway(
        GatewayOptions(
            mqtt=MqttOptions(
                url=f"mqtt://127.0.0.1:{port}", client_id="bench-gateway", clean_start=False
            ),
            topics=["facility/#"],
        ),
        store=SqlReadingStore(engine),
        state=SqlStateStore(engine),
        sinks=[evaluate],
    )


def drain_gateway(port: int, load: Load) -> float:
    """Readings/s of the whole gateway pipeline."""
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        first = make_gateway(port, Path(tmp)).start()
        time.sleep(0.2)
        first.stop()
        publish_all(port, load.messages)
        gateway = make_gateway(port, Path(tmp))
        started = time.perf_counter()
        gateway.start()
        deadline = started + TIMEOUT_S
        while gateway.stats.stored < load.readings:
            if time.perf_counter() > deadline:
                raise RuntimeError(f"gateway stored {gateway.stats.stored} of {load.readings}")
            time.sleep(0.01)
        elapsed = time.perf_counter() - started
        gateway.stop()
        return load.readings / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=30_000)
    parser.add_argument(
        "--repeats",
        type=int,
        default=1,
        help="run bare and gateway alternately this many times; report the best of each "
        "(a shared machine's load spikes hit one contender's few seconds, not both)",
    )
    args = parser.parse_args()
    load = campus_load(args.messages)
    print(
        f"load: {len(load.messages):,} campus messages, {load.readings:,} readings "
        f"({load.per_message:.2f} per message), QoS 1, queued then drained"
    )
    pairs: list[tuple[float, float]] = []
    for _ in range(max(1, args.repeats)):
        with broker() as mosquitto:
            bare = drain_bare(mosquitto.port, load)
            print(f"bare paho subscriber (JSON parse only): {bare:>10,.0f} readings/s")
        with broker() as mosquitto:
            gateway = drain_gateway(mosquitto.port, load)
            print(f"gateway (decode+store+state+rules):     {gateway:>10,.0f} readings/s")
        pairs.append((bare, gateway))
    bare = max(b for b, _g in pairs)
    gateway = max(g for _b, g in pairs)
    ratio = gateway / bare
    best = " (best of each)" if len(pairs) > 1 else ""
    print(f"ratio_vs_bare = {ratio:.2f}{best} (target >= 0.6 per worker process)")
    report(
        {
            "benchmark": "ingest",
            "messages": len(load.messages),
            "readings": load.readings,
            "bare_readings_per_s": round(bare),
            "gateway_readings_per_s": round(gateway),
            "ratio_vs_bare": round(ratio, 3),
            "target_ratio": 0.6,
            "repeats": len(pairs),
            "pair_ratios": [round(g / b, 3) for b, g in pairs],
        }
    )


if __name__ == "__main__":
    main()
