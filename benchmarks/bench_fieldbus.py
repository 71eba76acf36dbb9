"""Modbus points per second one connector sustains, batched vs one request per register.

A loopback pymodbus server (in a child process, so its CPU is not counted) serves ``--points``
contiguous holding registers; one :class:`~gateway.connectors.modbus.ModbusConnector` polls
them as fast as it can (``poll_s`` below a poll's duration) for ``--seconds``, first with the
planner's batching (125 registers a request), then with ``max_registers: 1`` (one request per
register, what a naive poller does). Figures: points/s, requests/s, and the connector process's
CPU seconds per 1,000 points (``time.process_time``). Prints a table, then one JSON object as
the last line.

Run: .venv/bin/python -m benchmarks fieldbus   (or -m benchmarks.bench_fieldbus --seconds 5)
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import threading
import time
from collections.abc import Sequence
from multiprocessing.connection import Connection
from typing import Any

from facility.core.types import Presence, Reading
from gateway.connectors import parse_connectors
from gateway.connectors.modbus import ModbusConnector


def _serve(points: int, pipe: Connection) -> None:
    from simulators.modbus_server import LoopbackModbusServer

    with LoopbackModbusServer(size=max(1000, points + 10)) as server:
        server.set_registers("holding", 0, list(range(points)))
        pipe.send(server.port)
        pipe.recv()  # until the parent is done


def measure(port: int, points: int, seconds: float, max_registers: int) -> dict[str, Any]:
    config = parse_connectors(
        {
            "modbus": {
                "devices": [
                    {
                        "name": "bench-meter",
                        "host": "127.0.0.1",
                        "port": port,
                        "poll_s": 0.05,
                        "timeout_s": 5,
                        "max_registers": max_registers,
                        "points": [{"metric": f"r{a}", "address": a} for a in range(points)],
                    }
                ]
            }
        }
    ).modbus
    count = 0
    lock = threading.Lock()

    def emit(_source: str, items: Sequence[Reading | Presence]) -> None:
        nonlocal count
        with lock:
            count += len(items)

    connector = ModbusConnector(config, emit=emit).start()
    while True:  # warm up: the first poll connects
        with lock:
            if count:
                break
        time.sleep(0.01)
    with lock:
        count = 0
    requests0 = connector.stats["bench-meter"].requests
    cpu0, wall0 = time.process_time(), time.monotonic()
    time.sleep(seconds)
    with lock:
        done = count
    cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
    requests = connector.stats["bench-meter"].requests - requests0
    connector.stop()
    return {
        "points_per_s": round(done / wall),
        "requests_per_s": round(requests / wall),
        "cpu_s_per_1000_points": round(1000 * cpu / done, 4) if done else None,
        "cpu_share": round(cpu / wall, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--points", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    parent, child = multiprocessing.Pipe()
    server = multiprocessing.get_context("spawn").Process(target=_serve, args=(args.points, child))
    server.start()
    port = parent.recv()
    try:
        batched = measure(port, args.points, args.seconds, 125)
        single = measure(port, args.points, args.seconds, 1)
    finally:
        parent.send("stop")
        server.join(10)
    ratio = batched["points_per_s"] / max(1, single["points_per_s"])
    print(f"{'mode':<22}{'points/s':>10}{'requests/s':>12}{'CPU s/1k pts':>14}{'CPU share':>11}")
    for name, row in (("batched (125/request)", batched), ("one per register", single)):
        print(
            f"{name:<22}{row['points_per_s']:>10}{row['requests_per_s']:>12}"
            f"{row['cpu_s_per_1000_points']:>14}{row['cpu_share']:>11}"
        )
    print(f"batching: x{ratio:.1f} points/s")
    print(
        json.dumps(
            {
                "benchmark": "fieldbus",
                "points": args.points,
                "seconds": args.seconds,
                "batched": batched,
                "one_per_register": single,
                "points_per_s_ratio": round(ratio, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
