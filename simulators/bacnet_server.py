"""Simulated BACnet/IP devices on loopback ports, for tests, the benchmark and ``demo``.

Each :class:`LoopbackBacnetDevice` is a real bacpypes3 device (a device object and one
analog-input, analog-value, binary-value or multi-state-value object per point, with units,
status flags and COV support) bound to ``127.0.0.1:<port>`` and run on its own event loop in a
thread, so synchronous code (pytest, the benchmark, the demo) can start it, change its values,
count the requests it served and make it stop answering, as
:class:`~simulators.modbus_server.LoopbackModbusServer` does for Modbus:

* :meth:`LoopbackBacnetDevice.set_value` / :meth:`set_flags` change what it serves (a COV
  subscriber is notified as a real controller would notify it);
* :attr:`requests` counts the confirmed requests it processed by service (``ReadPropertyRequest``,
  ``ReadPropertyMultipleRequest``, ``SubscribeCOVRequest``);
* ``rpm=False`` makes it reject ReadPropertyMultiple (unrecognized-service), ``cov=False``
  refuse SubscribeCOV, as small controllers do;
* :meth:`stop_answering` drops every request before the transaction layer sees it (a device
  that lost power: no reply, no abort) until :meth:`answer_again`.

:class:`BacnetSimulation` serves a scenario's device models (``facility simulate --protocol
bacnet``, ``facility demo --protocol bacnet``): it steps the simulator's physics and writes each
sample into the device's objects. Objects are named after the metrics the model produces, so
``facility bacnet discover`` drafts a connector config whose metrics are already right.

Limits on loopback: every device is unicast on its own port (127.0.0.1 has no broadcast
domain), so who-is discovery there is per address:port; a LAN broadcast needs a real interface.
"""

from __future__ import annotations

import asyncio
import collections
import socket
import threading
from collections.abc import Iterable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from bacpypes3.apdu import Error, RejectPDU
from bacpypes3.app import Application
from bacpypes3.local.analog import AnalogInputObject, AnalogValueObject
from bacpypes3.local.binary import BinaryValueObject
from bacpypes3.local.device import DeviceObject
from bacpypes3.local.multistate import MultiStateValueObject
from bacpypes3.local.networkport import NetworkPortObject

from simulators.fieldbus import sample_once, split_scenario

__all__ = [
    "BacnetObjectSpec",
    "BacnetSimulation",
    "LoopbackBacnetDevice",
    "LoopbackBbmd",
    "free_udp_port",
    "object_specs",
]


def free_udp_port(host: str = "127.0.0.1") -> int:
    """A UDP port that is free now (bacpypes3 cannot report the port of a ``:0`` bind)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True, slots=True)
class BacnetObjectSpec:
    """One object of a simulated device: what discovery shows and the connector reads."""

    name: str
    type: str  # analog-input, analog-value, binary-value, multi-state-value
    instance: int
    units: str = "no-units"
    description: str = ""
    value: float = 0.0
    states: int = 3  # multi-state objects only


#: metric name part → BACnet units (first match wins)
_UNITS = (
    ("temperature", "degrees-celsius"),
    ("pressure", "pascals"),
    ("humidity", "percent-relative-humidity"),
    ("co2", "parts-per-million"),
    ("energy", "kilowatt-hours"),
    ("power", "watts"),
    ("voltage", "volts"),
    ("current", "amperes"),
    ("damper", "percent"),
    ("valve", "percent"),
    ("speed", "percent"),
    ("battery", "percent"),
    ("illuminance", "luxes"),
    ("frequency", "hertz"),
)
_BINARY = ("fan", "occupancy", "state", "contact", "water_leak", "running")


def _kind(metric: str) -> tuple[str, str]:
    if metric in _BINARY or metric.endswith(("_status", "_state")):
        return "binary-value", ""
    units = next((u for part, u in _UNITS if part in metric), "no-units")
    measured = units != "no-units" and "setpoint" not in metric and units != "percent"
    return ("analog-input" if measured else "analog-value"), units


def object_specs(values: Mapping[str, float]) -> list[BacnetObjectSpec]:
    """Objects for one model's sample: measurements as analog inputs (with units), set points
    and commands as analog values, statuses as binary values; instances numbered per type."""
    counters: collections.Counter[str] = collections.Counter()
    specs: list[BacnetObjectSpec] = []
    for metric, value in values.items():
        object_type, units = _kind(metric)
        counters[object_type] += 1
        specs.append(
            BacnetObjectSpec(
                name=metric,
                type=object_type,
                instance=counters[object_type],
                units=units or "no-units",
                description=metric.replace("_", " "),
                value=float(value),
            )
        )
    return specs


def _bacnet_object(spec: BacnetObjectSpec) -> Any:
    common: dict[str, Any] = {
        "objectIdentifier": (spec.type, spec.instance),
        "objectName": spec.name,
        "description": spec.description,
        "outOfService": False,
        "reliability": "no-fault-detected",
    }
    if spec.type == "binary-value":
        return BinaryValueObject(**common, presentValue="active" if spec.value else "inactive")
    if spec.type == "multi-state-value":
        return MultiStateValueObject(
            **common, presentValue=max(1, int(spec.value)), numberOfStates=spec.states
        )
    cls = AnalogInputObject if spec.type == "analog-input" else AnalogValueObject
    return cls(**common, presentValue=float(spec.value), units=spec.units, covIncrement=0.0)


class _SimulatedApplication(Application):  # type: ignore[misc]
    """Counts the requests it serves and refuses what a small controller would not do."""

    rpm: bool = True
    cov: bool = True
    requests: collections.Counter[str]

    async def indication(self, apdu: Any) -> None:
        name = type(apdu).__name__
        self.requests[name] += 1
        if name == "ReadPropertyMultipleRequest" and not self.rpm:
            await self.response(RejectPDU(reason="unrecognizedService", context=apdu))
            return
        if name == "SubscribeCOVRequest" and not self.cov:
            error = Error(
                service_choice=apdu.apduService,
                errorClass="services",
                errorCode="optionalFunctionalityNotSupported",
                context=apdu,
            )
            await self.response(error)
            return
        await super().indication(apdu)


class LoopbackBacnetDevice:
    """One simulated BACnet device on ``127.0.0.1:<port>`` (a free port unless given)."""

    def __init__(
        self,
        objects: Iterable[BacnetObjectSpec],
        *,
        instance: int,
        name: str | None = None,
        port: int | None = None,
        rpm: bool = True,
        cov: bool = True,
    ) -> None:
        self.instance = instance
        self.name = name or f"sim-{instance}"
        self.port = port or free_udp_port()
        self.specs = {spec.name: spec for spec in objects}
        self.rpm = rpm
        self.cov = cov
        self.requests: collections.Counter[str] = collections.Counter()
        self._objects: dict[str, Any] = {}
        self._app: _SimulatedApplication | None = None
        self._answering = True
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"bacnet-{instance}")

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> LoopbackBacnetDevice:
        self._thread.start()
        self._call(self._start())
        return self

    def stop(self) -> None:
        if self._app is not None:
            self._loop.call_soon_threadsafe(self._app.close)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def __enter__(self) -> LoopbackBacnetDevice:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- behaviour --------------------------------------------------------------------------
    def set_value(self, name: str, value: float) -> None:
        """Set an object's present value (a COV subscriber is notified)."""
        spec = self.specs[name]
        if spec.type == "binary-value":
            pv: Any = "active" if value else "inactive"
        elif spec.type == "multi-state-value":
            pv = int(value)
        else:
            pv = float(value)
        self._call(self._set(name, "presentValue", pv))

    def set_values(self, values: Mapping[str, float]) -> None:
        for name, value in values.items():
            if name in self.specs:
                self.set_value(name, value)

    def set_flags(self, name: str, *, fault: bool = False, out_of_service: bool = False) -> None:
        """Raise or clear an object's fault / out-of-service status flags.

        bacpypes3 derives ``statusFlags`` from ``reliability`` and ``outOfService`` (and never
        sets "overridden", which needs a hardware override), so those are what change here.
        """
        reliability = "unreliable-other" if fault else "no-fault-detected"
        self._call(self._set(name, "reliability", reliability))
        self._call(self._set(name, "outOfService", out_of_service))

    def stop_answering(self) -> None:
        """Drop every request unanswered (no reply, no abort) until :meth:`answer_again`."""
        self._answering = False

    def answer_again(self) -> None:
        self._answering = True

    def reset_counts(self) -> None:
        self.requests.clear()

    # -- inside the device's loop -----------------------------------------------------------
    def _call(self, coroutine: Any) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        return future.result(10)

    async def _set(self, name: str, prop: str, value: Any) -> None:
        setattr(self._objects[name], prop, value)

    async def _start(self) -> None:
        device = DeviceObject(
            objectIdentifier=("device", self.instance),
            objectName=self.name,
            vendorIdentifier=999,
            description="Facility simulated device",
        )
        port = NetworkPortObject(
            f"127.0.0.1:{self.port}",
            objectIdentifier=("network-port", 1),
            objectName="NetworkPort-1",
        )
        self._objects = {name: _bacnet_object(spec) for name, spec in self.specs.items()}
        app = _SimulatedApplication.from_object_list([device, port, *self._objects.values()])
        app.requests = self.requests
        app.rpm, app.cov = self.rpm, self.cov
        incoming = app.asap.confirmation

        async def gate(pdu: Any) -> None:  # below the transaction layer: silence, not an abort
            if self._answering:
                await incoming(pdu)

        app.asap.confirmation = gate
        self._app = app


class LoopbackBbmd:
    """A BACnet Broadcast Management Device on ``127.0.0.1:<port>`` that accepts foreign-device
    registrations: what a gateway on another subnet registers with to join the BACnet network."""

    def __init__(self, *, instance: int = 7, port: int | None = None) -> None:
        self.instance = instance
        self.port = port or free_udp_port()
        self._app: Any = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="bbmd")

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def __enter__(self) -> LoopbackBbmd:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._app is not None:
            self._loop.call_soon_threadsafe(self._app.close)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def foreign_devices(self) -> dict[str, int]:
        """The foreign-device table: registered ``address`` → its time-to-live in seconds."""

        async def table() -> dict[str, int]:
            rows: dict[str, int] = {}
            for layer in self._app.link_layers.values():
                for entry in getattr(layer, "bbmdFDT", []):
                    rows[str(entry.fdAddress)] = int(entry.fdTTL)
            return rows

        result: dict[str, int] = asyncio.run_coroutine_threadsafe(table(), self._loop).result(10)
        return result

    async def _start(self) -> None:
        from bacpypes3.basetypes import BDTEntry, IPMode  # noqa: PLC0415

        device = DeviceObject(
            objectIdentifier=("device", self.instance), objectName="bbmd", vendorIdentifier=999
        )
        port = NetworkPortObject(
            self.address, objectIdentifier=("network-port", 1), objectName="NetworkPort-1"
        )
        port.bacnetIPMode = IPMode.bbmd
        port.bbmdAcceptFDRegistrations = True
        port.bbmdForeignDeviceTable = []
        port.bbmdBroadcastDistributionTable = [BDTEntry(self.address)]
        self._app = Application.from_object_list([device, port])


class BacnetSimulation:
    """Serve some of a scenario's devices over BACnet/IP, stepping their physics in real time.

    ``devices`` maps the scenario's device id to a :class:`LoopbackBacnetDevice` built from the
    model's first sample; :meth:`run` steps the simulator each interval (``speed`` compresses
    time) and writes every sample into the objects until ``stop`` is set.
    """

    def __init__(
        self, scenario: Any, *, device_ids: Iterable[str], seed: int = 0, first_instance: int = 1001
    ) -> None:
        from simulators.runner import Simulator  # noqa: PLC0415  (loads paho: only when used)

        ids = list(device_ids)
        self.scenario, _ = split_scenario(scenario, ids)
        self.simulator = Simulator(self.scenario, seed=seed)
        first = self._sample()
        self.devices: dict[str, LoopbackBacnetDevice] = {
            device_id: LoopbackBacnetDevice(
                object_specs(first.get(device_id, {})), instance=first_instance + n, name=device_id
            )
            for n, device_id in enumerate(ids)
        }

    def connectors(self, *, poll_s: float | None = None, bind: str | None = None) -> dict[str, Any]:
        """A ``connectors:`` file reading every served object (COV on, polled as a fallback)."""
        interval_s = self.scenario.interval.total_seconds()
        devices = [
            {
                "name": device_id,
                "address": device.address,
                "instance": device.instance,
                "poll_s": poll_s or max(1.0, interval_s),
                "cov": True,
                "points": [
                    {"metric": spec.name, "type": spec.type, "instance": spec.instance}
                    for spec in device.specs.values()
                ],
            }
            for device_id, device in self.devices.items()
        ]
        section: dict[str, Any] = {"devices": devices}
        section["bind"] = bind or f"127.0.0.1:{free_udp_port()}"
        return {"connectors": {"bacnet": section}}

    def describe(self) -> list[str]:
        """One line per served device, for the console."""
        return [
            f"BACnet device {device.instance} ({device_id}) at {device.address}, "
            f"{len(device.specs)} objects with COV"
            for device_id, device in self.devices.items()
        ]

    def _sample(self) -> dict[str, dict[str, float]]:
        return sample_once(self.simulator)

    def start(self) -> BacnetSimulation:
        for device in self.devices.values():
            device.start()
        return self

    def stop(self) -> None:
        for device in self.devices.values():
            device.stop()

    def run(self, *, speed: float = 1.0, stop: threading.Event) -> int:
        """Step and serve until ``stop``; returns the number of intervals simulated."""
        dt = self.scenario.interval.total_seconds() / max(speed, 1e-6)
        steps = 0
        while not stop.wait(dt):
            for device_id, values in self._sample().items():
                self.devices[device_id].set_values(values)
            steps += 1
        return steps
