"""Run a scenario: step every device model and publish its readings over MQTT.

Readings go out in the native multi-metric form on ``facility/<site>/<device>`` with the
simulated timestamp; each device announces itself on ``.../availability``. ``speed`` compresses
simulated time: at 60, one simulated minute passes per real second.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import orjson

from facility.types import Reading
from gateway.mqtt import MqttConnection, MqttOptions
from simulators.devices import MODELS, DeviceModel
from simulators.scenario import Scenario

__all__ = ["SimulatedMessage", "Simulator"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SimulatedMessage:
    topic: str
    payload: bytes
    readings: list[Reading]


class Simulator:
    """Steps a :class:`Scenario` deterministically for a seed."""

    def __init__(self, scenario: Scenario, *, seed: int = 0, start: datetime | None = None) -> None:
        self.scenario = scenario
        self.rng = random.Random(seed)
        self.start = start or datetime.now(UTC)
        self.devices: dict[str, DeviceModel] = {
            spec.id: MODELS[spec.model]() for spec in scenario.devices
        }
        self.elapsed_s = 0.0

    def messages(self, steps: int | None = None) -> Iterator[SimulatedMessage]:
        """Yield one message per device per interval, forever or for ``steps`` intervals."""
        dt = self.scenario.interval.total_seconds()
        step = 0
        while steps is None or step < steps:
            t = self.elapsed_s
            for fault in self.scenario.faults:
                if fault.at.total_seconds() <= t and fault.device in self.devices:
                    self.devices[fault.device].start_fault(fault.kind, t)
            ts = self.start + timedelta(seconds=t)
            for device_id, model in self.devices.items():
                values = model.step(t, dt, self.rng)
                body = {**values, "ts": ts.isoformat()}
                yield SimulatedMessage(
                    topic=f"facility/{self.scenario.site}/{device_id}",
                    payload=orjson.dumps(body),
                    readings=[
                        Reading(device=device_id, metric=m, value=v, unit="", ts=ts)
                        for m, v in values.items()
                    ],
                )
            self.elapsed_s += dt
            step += 1

    def run(
        self,
        broker_url: str,
        *,
        speed: float = 1.0,
        duration_s: float | None = None,
        stop: threading.Event | None = None,
        protocol: str = "5",
        on_publish: Callable[[int], None] | None = None,
    ) -> int:
        """Publish in (scaled) real time until ``stop`` is set or ``duration_s`` simulated."""
        stop = stop or threading.Event()
        options = MqttOptions(
            url=broker_url, protocol=protocol, client_id=f"facility-sim-{id(self):x}"
        )
        connection = MqttConnection(options).connect()
        for device_id in self.devices:
            topic = f"facility/{self.scenario.site}/{device_id}/availability"
            connection.publish(topic, b"online", qos=1, retain=True)
        dt_real = self.scenario.interval.total_seconds() / max(speed, 1e-6)
        per_step = len(self.devices)
        published = 0
        next_at = time.monotonic()
        try:
            batch = 0
            for message in self.messages():
                if stop.is_set() or (duration_s is not None and self.elapsed_s >= duration_s):
                    break
                connection.publish(message.topic, message.payload, qos=1)
                published += 1
                batch += 1
                if on_publish is not None:
                    on_publish(published)
                if batch == per_step:
                    batch = 0
                    next_at += dt_real
                    delay = next_at - time.monotonic()
                    if delay > 0 and stop.wait(delay):
                        break
        finally:
            connection.close()
        return published
