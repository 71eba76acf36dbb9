"""Run a scenario: step every device model and publish its readings over MQTT.

Readings go out in the scenario's format (native ``facility/<site>/<device>`` JSON by default,
or a vendor's, see :mod:`simulators.formats`) with the simulated timestamp; each device
announces itself on its availability topic, and a device that goes ``offline`` sends the
payload its last will would (one MQTT connection carries every simulated device, so the
simulator publishes the will itself, retained, as the broker would).

Pacing: ``speed`` compresses simulated time (at 60, one simulated minute per real second); or
``rate`` sets the aggregate messages per second and simulated time advances one ``interval``
per sweep over all devices, which is how one process drives a 10,000-device campus at a chosen
load. :attr:`Simulator.stats` reports the rate achieved.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import paho.mqtt.client as paho

from facility.core.errors import ServiceUnavailable
from gateway.mqtt import MqttConnection, MqttOptions, redact
from simulators.devices import DAY_S, MODELS, Clock, DeviceModel
from simulators.formats import SimulatedMessage, availability, encode
from simulators.scenario import FORMATS, ExpectedAlert, FaultSpec, Scenario

__all__ = ["RunStats", "SimulatedMessage", "Simulator"]

log = logging.getLogger(__name__)

#: How many messages the rate limiter lets through between two looks at the clock.
_PACE_EVERY = 50
#: Unacknowledged QoS 1 publishes at once: MQTT packet ids are 16 bits, and a slow broker
#: must slow the simulator down rather than make it drop messages.
_MAX_OUTSTANDING = 20_000


@dataclass(slots=True)
class RunStats:
    """What a run achieved; ``rate`` is messages per real second."""

    published: int = 0
    sweeps: int = 0
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None

    @property
    def elapsed_s(self) -> float:
        return (self.finished or time.monotonic()) - self.started

    @property
    def rate(self) -> float:
        elapsed = self.elapsed_s
        return self.published / elapsed if elapsed > 0 else 0.0


@dataclass(slots=True)
class _Fault:
    spec: FaultSpec
    devices: list[str]


class Simulator:
    """Steps a :class:`Scenario` deterministically for a seed.

    Args:
        scenario: what to simulate.
        seed: the only source of randomness; the same seed yields the same messages.
        start: the simulated time of the first sweep (now by default).
        fmt: publish every device in this format, overriding the scenario and device settings.
    """

    def __init__(
        self,
        scenario: Scenario,
        *,
        seed: int = 0,
        start: datetime | None = None,
        fmt: str | None = None,
    ) -> None:
        if fmt is not None and fmt not in FORMATS:
            raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
        self.scenario = scenario
        self.rng = random.Random(seed)
        self.start = start or scenario.start or datetime.now(UTC)
        self.devices: dict[str, DeviceModel] = {
            spec.id: MODELS[spec.model]() for spec in scenario.devices
        }
        self.formats: dict[str, str] = {
            spec.id: fmt or spec.format or scenario.format for spec in scenario.devices
        }
        self._faults = [
            _Fault(
                f,
                [
                    d
                    for d in scenario.match(f.device, list(self.devices))
                    if self.devices[d].supports(f.kind)
                ],
            )
            for f in scenario.faults
        ]
        self.elapsed_s = 0.0
        self.stats = RunStats()

    @property
    def expected_alerts(self) -> list[ExpectedAlert]:
        """The alerts this scenario's faults should raise (from its ``expect`` list)."""
        return list(self.scenario.expect)

    # -- simulation -----------------------------------------------------------------------
    def _apply_faults(self, t: float, dt: float) -> list[tuple[str, bool]]:
        """Start and end faults due at ``t``; return (device, online) presence changes."""
        changes: list[tuple[str, bool]] = []
        for fault in self._faults:
            spec = fault.spec
            if spec.at.total_seconds() > t:
                continue
            ended = spec.until is not None and spec.until.total_seconds() <= t
            for device in fault.devices:
                model = self.devices[device]
                active = spec.kind in model.faults
                if ended:
                    if active:
                        model.stop_fault(spec.kind)
                        if spec.kind == "offline":
                            changes.append((device, True))
                    continue
                if active:
                    continue
                if spec.rate is not None and self.rng.random() >= spec.rate * dt / DAY_S:
                    continue
                model.start_fault(spec.kind, t, magnitude=spec.magnitude, metric=spec.metric)
                if spec.kind == "offline":
                    changes.append((device, False))
        return changes

    def messages(self, steps: int | None = None) -> Iterator[SimulatedMessage]:
        """Yield every device's messages per interval, forever or for ``steps`` intervals."""
        dt = self.scenario.interval.total_seconds()
        site = self.scenario.site
        step = 0
        while steps is None or step < steps:
            t = self.elapsed_s
            for device, online in self._apply_faults(t, dt):
                topic, payload = availability(self.formats[device], site, device, online=online)
                yield SimulatedMessage(
                    topic, payload, [], device, self.start + timedelta(seconds=t)
                )
            clock = Clock.at(self.start, t)
            ts = self.start + timedelta(seconds=t)
            for device_id, model in self.devices.items():
                if model.offline:
                    continue
                values = model.sample(clock, dt, self.rng)
                yield from encode(self.formats[device_id], site, device_id, values, ts)
            self.elapsed_s += dt
            step += 1

    def birth_messages(self) -> Iterator[tuple[str, bytes]]:
        """Every device's ``online`` announcement (retained), sent before the first reading."""
        for device in self.devices:
            yield availability(self.formats[device], self.scenario.site, device, online=True)

    # -- publishing -----------------------------------------------------------------------
    def run(
        self,
        broker_url: str,
        *,
        speed: float = 1.0,
        duration_s: float | None = None,
        stop: threading.Event | None = None,
        protocol: str = "5",
        on_publish: Callable[[int], None] | None = None,
        rate: float | None = None,
        qos: int = 1,
        max_messages: int | None = None,
        announce: bool = True,
        reconnect_timeout_s: float = 300.0,
    ) -> int:
        """Publish until ``stop`` is set, ``duration_s`` simulated seconds or ``max_messages``.

        Returns the number of messages published (availability announcements not counted).
        ``on_publish`` is called with the running count every few dozen messages and at the end.
        ``announce=False`` skips the retained ``online`` announcements (a load generator that
        wants a steady rate from its first second). When the broker goes away mid-run (a
        restart), publishing pauses until paho has reconnected, for up to
        ``reconnect_timeout_s``: a demo outlives a broker restart.

        Raises:
            ServiceUnavailable: the broker cannot be reached (at start, or for longer than
                ``reconnect_timeout_s`` later).
        """
        if rate is not None and rate <= 0:
            raise ValueError("rate must be positive (messages per second)")
        stop = stop or threading.Event()
        options = MqttOptions(
            url=broker_url, protocol=protocol, client_id=f"facility-sim-{id(self):x}"
        )
        connection = MqttConnection(options).connect()
        for topic, payload in self.birth_messages() if announce else ():
            connection.publish(topic, payload, qos=qos, retain=True)
        dt_real = self.scenario.interval.total_seconds() / max(speed, 1e-6)
        self.stats = stats = RunStats()
        window: deque[Any] = deque()
        next_at = time.monotonic()
        sweep_at = self.elapsed_s
        try:
            for message in self.messages():
                if self.elapsed_s != sweep_at:  # a sweep ended: pace by simulated time
                    sweep_at = self.elapsed_s
                    stats.sweeps += 1
                    if duration_s is not None and self.elapsed_s >= duration_s:
                        break
                    if rate is None:
                        next_at += dt_real
                        delay = next_at - time.monotonic()
                        if delay > 0 and stop.wait(delay):
                            break
                    if on_publish is not None:
                        on_publish(stats.published)
                if stop.is_set() or (max_messages is not None and stats.published >= max_messages):
                    break
                retain = not message.readings  # availability changes are retained, as wills are
                if qos > 0 and len(window) >= _MAX_OUTSTANDING:
                    _wait_published(window.popleft(), timeout_s=60)  # the broker sets the pace
                info = connection.publish(message.topic, message.payload, qos=qos, retain=retain)
                if info.rc == paho.MQTT_ERR_NO_CONN:
                    # The broker went away (a restart): paho reconnects with backoff and keeps a
                    # QoS 1 message for then; wait for it rather than let the thread die.
                    if not _await_reconnect(connection, stop, reconnect_timeout_s, broker_url):
                        break
                    window.clear()  # acks owed by the old connection will not come
                elif info.rc != 0:
                    raise ServiceUnavailable(
                        f"publishing to {redact(broker_url)} failed ({paho.error_string(info.rc)})"
                    )
                if qos > 0:
                    window.append(info)
                stats.published += 1
                if rate is not None and stats.published % _PACE_EVERY == 0:
                    delay = stats.started + stats.published / rate - time.monotonic()
                    if delay > 0 and stop.wait(delay):
                        break
                    if on_publish is not None:
                        on_publish(stats.published)
            if window:
                _wait_published(window[-1], timeout_s=30)
        finally:
            stats.finished = time.monotonic()
            connection.close()
        if on_publish is not None:
            on_publish(stats.published)
        return stats.published


def _await_reconnect(
    connection: MqttConnection, stop: threading.Event, timeout_s: float, broker_url: str
) -> bool:
    """Wait until paho has reconnected (True) or ``stop`` is set (False); raise past timeout."""
    log.warning("simulator lost the broker at %s; waiting for it to return", redact(broker_url))
    deadline = time.monotonic() + timeout_s
    while not stop.is_set():
        if connection.wait_connected(1.0):
            log.info("simulator reconnected to %s; publishing again", redact(broker_url))
            return True
        if time.monotonic() >= deadline:
            raise ServiceUnavailable(
                f"the broker at {redact(broker_url)} has been gone for {timeout_s:.0f} s; start it "
                "again (or check FACILITY_MQTT_URL) and restart the simulator"
            )
    return False


def _wait_published(info: Any, *, timeout_s: float) -> None:
    """Wait for a QoS 1 acknowledgement; one lost with its connection is not an error."""
    # paho raises RuntimeError/ValueError for a message that was not queued or lost its link
    with contextlib.suppress(RuntimeError, ValueError):
        info.wait_for_publish(timeout=timeout_s)
