"""Field-bus points per second one connector sustains: Modbus and BACnet/IP, and their CPU.

A loopback pymodbus server (in a child process, so its CPU is not counted) serves ``--points``
contiguous holding registers; one :class:`~gateway.connectors.modbus.ModbusConnector` polls
them as fast as it can (``poll_s`` below a poll's duration) for ``--seconds``, first with the
planner's batching (125 registers a request), then with ``max_registers: 1`` (one request per
register, what a naive poller does). Figures: points/s, requests/s, and the connector process's
CPU seconds per 1,000 points (``time.process_time``). Prints a table, then one JSON object as
the last line.

BACnet (``--bacnet``, on by default; ``--no-bacnet`` skips it): loopback bacpypes3 devices in
a child process serve ``--bacnet-points`` analog objects each; one
:class:`~gateway.connectors.bacnet.BacnetConnector` reads one device as fast as it can with
ReadPropertyMultiple, then with ReadProperty only (``rpm: false``), then takes COV
notifications while the child changes every object's value each 50 ms; finally the target
load: ``--bacnet-devices`` (50) devices x 100 points every ``--bacnet-period`` (10) s, run for
``--target-seconds``, where the figure is the connector's CPU share against the goal of under a
third of one core at 500 points/s without falling behind.

Run: .venv/bin/python -m benchmarks fieldbus   (or -m benchmarks.bench_fieldbus --seconds 5)
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import threading
import time
from collections.abc import Sequence
from multiprocessing.connection import Connection
from typing import Any

from facility.core.types import Presence, Reading
from gateway.connectors import parse_connectors
from gateway.connectors.modbus import ModbusConnector


class _Counted:
    """The connector's ``emit``: counts the items handed over (from the connector's thread)."""

    def __init__(self) -> None:
        self._count = 0
        self._lock = threading.Lock()

    def __call__(self, _source: str, items: Sequence[Reading | Presence]) -> None:
        with self._lock:
            self._count += len(items)

    def take(self, *, reset: bool = True) -> int:
        """The count so far; ``reset`` starts the next count from zero."""
        with self._lock:
            count = self._count
            if reset:
                self._count = 0
        return count


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
    emit = _Counted()
    connector = ModbusConnector(config, emit=emit).start()
    while not emit.take(reset=False):  # warm up: the first poll connects
        time.sleep(0.01)
    emit.take()
    requests0 = connector.stats["bench-meter"].requests
    cpu0, wall0 = time.process_time(), time.monotonic()
    time.sleep(seconds)
    done = emit.take()
    cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
    requests = connector.stats["bench-meter"].requests - requests0
    connector.stop()
    return {
        "points_per_s": round(done / wall),
        "requests_per_s": round(requests / wall),
        "cpu_s_per_1000_points": round(1000 * cpu / done, 4) if done else None,
        "cpu_share": round(cpu / wall, 3),
    }


def _serve_bacnet(devices: int, points: int, pipe: Connection) -> None:
    from simulators.bacnet_server import BacnetObjectSpec, LoopbackBacnetDevice

    specs = [
        BacnetObjectSpec(f"p{n}", "analog-value", n + 1, "percent", value=float(n))
        for n in range(points)
    ]
    served = [LoopbackBacnetDevice(specs, instance=5000 + d).start() for d in range(devices)]
    pipe.send([(device.address, device.instance) for device in served])
    changing = threading.Event()
    done = threading.Event()

    def change() -> None:  # every object of the first device, every 50 ms
        step = 0
        while not done.wait(0.05):
            if changing.is_set():
                step += 1
                served[0].set_values({f"p{n}": float(n + step % 50) for n in range(points)})

    threading.Thread(target=change, daemon=True).start()
    while (command := pipe.recv()) != "stop":
        if command == "change":
            changing.set()
        elif command == "still":
            changing.clear()
    done.set()
    for device in served:
        device.stop()


def measure_bacnet(
    targets: Sequence[tuple[str, int]],
    points: int,
    seconds: float,
    *,
    rpm: bool = True,
    cov: bool = False,
    poll_s: float = 0.05,
    pipe: Connection | None = None,
    server_pid: int | None = None,
) -> dict[str, Any]:
    """Points/s and CPU of one BacnetConnector reading ``targets`` (address, instance); with
    ``server_pid``, also the simulated devices' process CPU (they compete for the same cores)."""
    from gateway.connectors.bacnet import BacnetConnector
    from simulators.bacnet_server import free_udp_port

    devices = [
        {
            "name": f"bench-{instance}",
            "address": address,
            "instance": instance,
            "poll_s": poll_s,
            "timeout_s": 10,
            "rpm": None if rpm else False,
            "cov": cov,
            "cov_lifetime_s": 600,
            "max_per_request": 25,
            "points": [
                {"metric": f"p{n}", "type": "analog-value", "instance": n + 1}
                for n in range(points)
            ],
        }
        for address, instance in targets
    ]
    config = parse_connectors(
        {"bacnet": {"bind": f"127.0.0.1:{free_udp_port()}", "devices": devices}}
    ).bacnet
    emit = _Counted()
    connector = BacnetConnector(config, emit=emit).start()
    first = str(devices[0]["name"])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # warm up: units read, subscriptions made
        ready = emit.take(reset=False) >= points * len(targets)
        if ready and (not cov or connector.stats[first].cov_subscribed >= points):
            break
        time.sleep(0.05)
    if pipe is not None and cov:
        pipe.send("change")
    time.sleep(0.5)
    emit.take()
    stats0 = [(s.rp_requests + s.rpm_requests, s.polls) for s in connector.stats.values()]
    server0 = _cpu_of(server_pid)
    load0 = os.getloadavg()[0]
    cpu0, wall0 = time.process_time(), time.monotonic()
    time.sleep(seconds)
    done = emit.take()
    cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
    server1 = _cpu_of(server_pid)
    stats = list(connector.stats.values())
    requests = sum(s.rp_requests + s.rpm_requests for s in stats) - sum(r for r, _ in stats0)
    polls = sum(s.polls for s in stats) - sum(p for _, p in stats0)
    if pipe is not None and cov:
        pipe.send("still")
    connector.stop()
    return {
        "points_per_s": round(done / wall),
        "requests_per_s": round(requests / wall),
        "polls": polls,
        "cpu_s_per_1000_points": round(1000 * cpu / done, 4) if done else None,
        "cpu_share": round(cpu / wall, 3),
        "devices_cpu_share": (
            round((server1 - server0) / wall, 3)
            if server0 is not None and server1 is not None
            else None
        ),
        "load_average_1min": round(max(load0, os.getloadavg()[0]), 2),
    }


def _cpu_of(pid: int | None) -> float | None:
    """User + system CPU seconds of process ``pid`` (Linux ``/proc``), or None."""
    if pid is None:
        return None
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench_bacnet(args: argparse.Namespace) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    results: dict[str, Any] = {}
    parent, child = multiprocessing.Pipe()
    server = context.Process(target=_serve_bacnet, args=(1, args.bacnet_points, child))
    server.start()
    targets = parent.recv()
    try:
        pid = server.pid
        results["rpm"] = measure_bacnet(targets, args.bacnet_points, args.seconds, server_pid=pid)
        results["read_property"] = measure_bacnet(
            targets, args.bacnet_points, args.seconds, rpm=False, server_pid=pid
        )
        results["cov"] = measure_bacnet(
            targets,
            args.bacnet_points,
            args.seconds,
            cov=True,
            poll_s=60,
            pipe=parent,
            server_pid=pid,
        )
    finally:
        parent.send("stop")
        server.join(30)
    parent, child = multiprocessing.Pipe()
    server = context.Process(target=_serve_bacnet, args=(args.bacnet_devices, 100, child))
    server.start()
    targets = parent.recv()
    try:
        target = measure_bacnet(
            targets, 100, args.target_seconds, poll_s=args.bacnet_period, server_pid=server.pid
        )
    finally:
        parent.send("stop")
        server.join(30)
    wanted = args.bacnet_devices * 100 / args.bacnet_period
    target["wanted_points_per_s"] = round(wanted)
    target["kept_up"] = target["points_per_s"] >= 0.9 * wanted
    results["target"] = target
    print(
        f"{'BACnet mode':<30}{'points/s':>10}{'requests/s':>12}"
        f"{'CPU s/1k pts':>14}{'CPU share':>11}"
    )
    rows = (
        ("ReadPropertyMultiple", results["rpm"]),
        ("ReadProperty only", results["read_property"]),
        ("COV notifications", results["cov"]),
        (f"{args.bacnet_devices} dev x 100 pts / {args.bacnet_period:g} s", target),
    )
    for name, row in rows:
        print(
            f"{name:<30}{row['points_per_s']:>10}{row['requests_per_s']:>12}"
            f"{row['cpu_s_per_1000_points']!s:>14}{row['cpu_share']:>11}"
        )
    print(
        f"target {round(wanted)} points/s: {'kept up' if target['kept_up'] else 'FELL BEHIND'}, "
        f"CPU share {target['cpu_share']:.3f} of one core (goal < 0.333); the simulated "
        f"devices took {target['devices_cpu_share']}, load average {target['load_average_1min']}"
    )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--points", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--bacnet", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--bacnet-points", type=int, default=100)
    parser.add_argument("--bacnet-devices", type=int, default=50)
    parser.add_argument("--bacnet-period", type=float, default=10.0)
    parser.add_argument("--target-seconds", type=float, default=30.0)
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
            f"{row['cpu_s_per_1000_points']!s:>14}{row['cpu_share']:>11}"
        )
    print(f"batching: x{ratio:.1f} points/s")
    bacnet = bench_bacnet(args) if args.bacnet else None
    print(
        json.dumps(
            {
                "benchmark": "fieldbus",
                "points": args.points,
                "seconds": args.seconds,
                "batched": batched,
                "one_per_register": single,
                "points_per_s_ratio": round(ratio, 1),
                "bacnet": bacnet,
            }
        )
    )


if __name__ == "__main__":
    main()
