"""The Modbus TCP connector: polls devices and hands readings to the gateway's ingest path.

Each device has its own asyncio task on one event loop (one thread for the whole connector):
it reads its points in as few requests as :mod:`gateway.connectors.plan` allows, turns them
into readings (:mod:`gateway.connectors.values`) and calls ``emit(source, items)``, which in
``facility serve`` is :meth:`gateway.ingest.Gateway.submit`: from there on a Modbus reading is
treated exactly like an MQTT one (registry calibration, store, device state, presence, rules).

At most ``max_concurrency`` devices talk at once (a semaphore), so a site with hundreds of
meters does not open hundreds of sockets in the same millisecond. A device that does not
answer (timeout after its ``retries``, connection refused or reset) is marked offline once
(a :class:`Presence`), its connection is dropped, and its next try waits a bounded,
jittered, exponential :class:`~gateway.connectors.backoff.Backoff`; the other devices' tasks
are not involved and keep their pace. When it answers again it is marked online and the
backoff is reset. A device that answers with a Modbus exception (illegal address...) is
online; the points of that request are rejected with ``modbus_exception``.

Read-only by design: only the four read functions (FC1-FC4) are ever sent. A monitoring system
that writes can move real equipment (start a pump, open a valve, change a set point), so
writing is left to the building's control system and its interlocks.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException

from facility.core.types import Presence, Reading
from gateway.connectors.availability import answered, went_offline
from gateway.connectors.backoff import Backoff
from gateway.connectors.config import Function, ModbusConfig, ModbusDevice
from gateway.connectors.plan import ReadRequest, plan_device
from gateway.connectors.values import point_reading
from gateway.metrics import REJECTED
from gateway.normalize import Rejection

__all__ = ["DeviceStats", "Emit", "ModbusConnector"]

log = logging.getLogger(__name__)

#: ``emit(source, items)``: ``source`` is ``modbus/<device>``, items one poll's results
Emit = Callable[[str, Sequence[Reading | Presence]], None]

_READS: dict[Function, str] = {
    Function.COIL: "read_coils",
    Function.DISCRETE: "read_discrete_inputs",
    Function.HOLDING: "read_holding_registers",
    Function.INPUT: "read_input_registers",
}


class _NoAnswer(Exception):
    """The device did not answer (refused, reset, timed out): it is offline."""


@dataclass(slots=True)
class DeviceStats:
    """What one device's poller did; read by tests, the benchmark and the logs."""

    polls: int = 0
    failures: int = 0
    requests: int = 0
    readings: int = 0
    online: bool | None = None
    rejected: collections.Counter[str] = field(default_factory=collections.Counter)
    #: monotonic start times of the last successful polls
    answered_at: collections.deque[float] = field(
        default_factory=lambda: collections.deque(maxlen=1000)
    )


class ModbusConnector:
    """Polls every device of a :class:`ModbusConfig`; see the module docstring."""

    def __init__(self, config: ModbusConfig, *, emit: Emit) -> None:
        self.config = config
        self.emit = emit
        self.stats: dict[str, DeviceStats] = {d.name: DeviceStats() for d in config.devices}
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._main: asyncio.Task[None] | None = None
        self._started = threading.Event()

    # -- life cycle -----------------------------------------------------------------------
    def start(self) -> ModbusConnector:
        """Poll in a thread of its own (``facility serve``); returns at once."""
        self._thread = threading.Thread(target=self._run_thread, name="modbus", daemon=True)
        self._thread.start()
        self._started.wait(10)
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        """Cancel every poller, close the connections, join the thread."""
        loop, main = self._loop, self._main
        if loop is not None and main is not None and not loop.is_closed():
            loop.call_soon_threadsafe(main.cancel)
        if self._thread is not None:
            self._thread.join(timeout_s)

    def _run_thread(self) -> None:
        asyncio.run(self._thread_main())

    async def _thread_main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._main = asyncio.current_task()
        self._started.set()
        with contextlib.suppress(asyncio.CancelledError):  # stop() cancels: the normal end
            await self.run()

    async def run(self) -> None:
        """Poll until cancelled (for callers that own an event loop)."""
        limit = asyncio.Semaphore(self.config.max_concurrency)
        async with asyncio.TaskGroup() as group:
            for device in self.config.devices:
                group.create_task(self._poll_forever(device, limit), name=f"modbus-{device.name}")

    # -- one device -----------------------------------------------------------------------
    async def _poll_forever(self, device: ModbusDevice, limit: asyncio.Semaphore) -> None:
        loop = asyncio.get_running_loop()
        stats = self.stats[device.name]
        requests = plan_device(device)
        backoff = Backoff(device.poll_s, max(device.poll_s, device.backoff_max_s))
        channels = sorted({p.device or device.name for p in device.points})
        source = f"modbus/{device.name}"
        client: AsyncModbusTcpClient | None = None
        due = loop.time()
        try:
            while True:
                await asyncio.sleep(max(0.0, due - loop.time()))
                started = loop.time()
                stats.polls += 1
                try:
                    async with limit:
                        if client is None:
                            client = await _connect(device)
                        readings = await self._read(device, client, requests, stats)
                except _NoAnswer as exc:
                    stats.failures += 1
                    if client is not None:
                        client.close()
                        client = None
                    delay = backoff.next_delay()
                    due = loop.time() + delay
                    what = f"modbus device {device.name} ({device.host}:{device.port})"
                    if gone := went_offline(stats, channels, what, exc, delay):
                        self._emit(source, gone)
                    continue
                stats.answered_at.append(started)
                items: list[Reading | Presence] = [
                    *answered(stats, channels, f"modbus device {device.name}")
                ]
                backoff.reset()
                items.extend(readings)
                self._emit(source, items)
                # the next poll keeps the period; a slow poll is not followed by a burst
                due = max(started + device.poll_s, loop.time())
        finally:
            if client is not None:
                client.close()

    def _emit(self, source: str, items: Sequence[Reading | Presence]) -> None:
        if not items:
            return
        try:
            self.emit(source, items)
        except Exception:
            log.exception("handing %d items from %s to the gateway failed", len(items), source)

    async def _read(
        self,
        device: ModbusDevice,
        client: AsyncModbusTcpClient,
        requests: Sequence[ReadRequest],
        stats: DeviceStats,
    ) -> list[Reading]:
        """One poll: every planned request in turn, decoded; raises ``_NoAnswer``."""
        readings: list[Reading] = []
        for request in requests:
            read = getattr(client, _READS[request.function])
            stats.requests += 1
            try:
                response: Any = await read(
                    request.start, count=request.count, device_id=device.unit
                )
            except (ModbusException, OSError, TimeoutError) as exc:
                raise _NoAnswer(str(exc) or type(exc).__name__) from exc
            ts = datetime.now(UTC)
            if response.isError():
                code = getattr(response, "exception_code", "?")
                for point in request.points:
                    detail = (
                        f"{device.name}: {request.function} {request.start}+{request.count}"
                        f" answered exception {code} for {point.label}"
                    )
                    self._reject(device, stats, "modbus_exception", detail)
                continue
            values = response.bits if request.function.is_bit else response.registers
            for point in request.points:
                offset = point.address - request.start
                raw = values[offset : offset + point.registers]
                try:
                    readings.append(point_reading(device.name, point, raw, ts))
                except Rejection as rejection:
                    self._reject(device, stats, rejection.reason, rejection.detail)
        stats.readings += len(readings)
        return readings

    def _reject(self, device: ModbusDevice, stats: DeviceStats, reason: str, detail: str) -> None:
        """Counted under the same metric and reasons as a bad MQTT payload."""
        stats.rejected[reason] += 1
        REJECTED.labels(reason=reason).inc()
        log.info("rejected modbus/%s: %s (%s)", device.name, reason, detail)


async def _connect(device: ModbusDevice) -> AsyncModbusTcpClient:
    """A connected client for ``device``; pymodbus's own reconnecting is off (we back off)."""
    client = AsyncModbusTcpClient(
        device.host,
        port=device.port,
        timeout=device.timeout_s,
        retries=device.retries,
        reconnect_delay=0,
    )
    started = time.monotonic()
    try:
        connected = await client.connect()
    except (ModbusException, OSError) as exc:
        client.close()
        raise _NoAnswer(f"cannot connect ({exc})") from exc
    if not connected:
        client.close()
        waited = time.monotonic() - started
        raise _NoAnswer(f"cannot connect (refused or no answer in {waited:.1f}s)")
    return client
