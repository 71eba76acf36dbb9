"""A scenario's devices served over Modbus TCP (``facility simulate --protocol modbus``).

Each device model gets a :class:`~simulators.modbus_server.LoopbackModbusServer`; its metrics
are float32 holding-register pairs (big-endian, the most common meter layout) from address 0
in the order the model reports them, rewritten every interval from the physics. The register
map is in :meth:`ModbusSimulation.connectors`, the file the Modbus connector loads.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from gateway.connectors.decode import DataType, encode_value
from simulators.fieldbus import sample_once, split_scenario
from simulators.modbus_server import LoopbackModbusServer
from simulators.scenario import Scenario

__all__ = ["ModbusSimulation"]


class ModbusSimulation:
    """Serve some of a scenario's devices over Modbus TCP, stepping their physics in real time."""

    def __init__(self, scenario: Scenario, *, device_ids: Iterable[str], seed: int = 0) -> None:
        from simulators.runner import Simulator  # noqa: PLC0415  (loads paho: only when used)

        ids = list(device_ids)
        self.scenario, _ = split_scenario(scenario, ids)
        self.simulator = Simulator(self.scenario, seed=seed)
        first = self._sample()
        self.maps: dict[str, list[str]] = {d: list(first.get(d, {})) for d in ids}
        self.servers = {
            d: LoopbackModbusServer(size=max(2, 2 * len(m))) for d, m in self.maps.items()
        }
        self._first = first

    def _sample(self) -> dict[str, dict[str, float]]:
        return sample_once(self.simulator)

    def _write(self, samples: dict[str, dict[str, float]]) -> None:
        for device_id, values in samples.items():
            words: list[int] = []
            for metric in self.maps[device_id]:
                words += encode_value(float(values.get(metric, 0.0)), DataType.FLOAT32)
            if words:
                self.servers[device_id].set_registers("holding", 0, words)

    def start(self) -> ModbusSimulation:
        for server in self.servers.values():
            server.start()
        self._write(self._first)
        return self

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()

    def connectors(self, *, poll_s: float | None = None) -> dict[str, Any]:
        interval_s = self.scenario.interval.total_seconds()
        devices = [
            {
                "name": device_id,
                "host": "127.0.0.1",
                "port": self.servers[device_id].port,
                "poll_s": poll_s or max(1.0, interval_s),
                "points": [
                    {"metric": metric, "address": 2 * n, "type": "float32"}
                    for n, metric in enumerate(metrics)
                ],
            }
            for device_id, metrics in self.maps.items()
            if metrics
        ]
        return {"connectors": {"modbus": {"devices": devices}}}

    def describe(self) -> list[str]:
        return [
            f"Modbus TCP device {device_id} at 127.0.0.1:{self.servers[device_id].port} unit 1, "
            f"{len(metrics)} float32 holding-register pairs from 0"
            for device_id, metrics in self.maps.items()
        ]

    def run(self, *, speed: float = 1.0, stop: threading.Event) -> int:
        dt = self.scenario.interval.total_seconds() / max(speed, 1e-6)
        steps = 0
        while not stop.wait(dt):
            self._write(self._sample())
            steps += 1
        return steps
