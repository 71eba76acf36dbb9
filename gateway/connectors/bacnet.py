"""The BACnet/IP connector: reads devices' objects and hands readings to the gateway's ingest.

One bacpypes3 :class:`~bacpypes3.app.Application` (our own small BACnet device, bound to
``bind``) on one asyncio loop in a thread of its own, and one task per configured device, as
the Modbus connector has (:mod:`gateway.connectors.modbus`); readings go to ``emit(source,
items)``, which in ``facility serve`` is :meth:`gateway.ingest.Gateway.submit`, so a BACnet
reading gets the same registry mapping, store, device state, presence and rules as an MQTT one.

How a device is read:

* **ReadPropertyMultiple** first: the points' objects, ``max_per_request`` objects per request,
  each asking for the point's property and ``status-flags`` (and ``units`` once, for analog
  objects without a declared unit). A device that rejects the service (small controllers do)
  is remembered as such and read with one **ReadProperty** per property from then on.
* **COV**: for points with ``cov`` the connector sends SubscribeCOV (confirmed or not, with the
  configured lifetime) after the first successful poll; bacpypes3 renews each subscription
  before its lifetime ends. A refused subscription (the object does not support COV, or the
  device has no room) leaves the point polled. Notifications feed the same pipeline. While
  every point is on COV, the poller still reads the device object's ``system-status`` each
  ``poll_s`` as a heartbeat, so a silent device is still noticed.
* **Presence and backoff**: a request that is not answered within ``timeout_s`` marks the
  device offline once (a :class:`Presence` per device id), drops its subscriptions and waits a
  bounded, jittered :class:`~gateway.connectors.backoff.Backoff` before the next try; the
  other devices' tasks are not involved. ``max_concurrency`` bounds the devices in flight.
* **Bad values** are rejected with a reason (:mod:`gateway.connectors.bacnet_values`) and
  counted in ``facility_gateway_rejected_total{reason}``, as a bad MQTT payload is.

Read-only by design: the connector sends ReadProperty, ReadPropertyMultiple, SubscribeCOV and
Who-Is, never WriteProperty. A BACnet write lands in a priority array slot that outranks
(or, at a low priority, silently sits under) the building's own control logic, and a wrong or
stale one can run a fan against a closed damper; the monitoring system is not the place for
that, and least privilege means it cannot do it even when misconfigured.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bacpypes3.apdu import ErrorRejectAbortNack
from bacpypes3.app import Application
from bacpypes3.basetypes import HostNPort, IPMode
from bacpypes3.local.device import DeviceObject
from bacpypes3.local.networkport import NetworkPortObject
from bacpypes3.pdu import Address
from bacpypes3.primitivedata import ObjectIdentifier

from facility.core.errors import ConfigError, ServiceUnavailable
from facility.core.types import Presence, Reading
from gateway.connectors.availability import answered, went_offline
from gateway.connectors.backoff import Backoff
from gateway.connectors.bacnet_values import bacnet_reading, is_analog, status_flags
from gateway.connectors.config import BacnetConfig, BacnetDevice, BacnetPoint
from gateway.metrics import REJECTED
from gateway.normalize import Rejection

__all__ = ["BacnetConnector", "BacnetDeviceStats", "Emit", "make_application"]

log = logging.getLogger(__name__)

#: ``emit(source, items)``: ``source`` is ``bacnet/<device>``, items one poll's results
Emit = Callable[[str, Sequence[Reading | Presence]], None]

#: error codes and reject reasons that mean "this device does not do ReadPropertyMultiple"
_UNSUPPORTED = ("unrecognized-service", "service-request-denied", "optional-functionality")


class _NoAnswer(Exception):
    """The device did not answer in time (or is unreachable): it is offline."""


@dataclass(slots=True)
class BacnetDeviceStats:
    """What one device's poller did; read by tests, the benchmark and the logs."""

    polls: int = 0
    failures: int = 0
    rp_requests: int = 0
    rpm_requests: int = 0
    readings: int = 0
    cov_readings: int = 0
    cov_subscribed: int = 0
    cov_refused: int = 0
    online: bool | None = None
    rpm: bool | None = None
    rejected: collections.Counter[str] = field(default_factory=collections.Counter)
    answered_at: collections.deque[float] = field(
        default_factory=lambda: collections.deque(maxlen=1000)
    )


@dataclass(slots=True)
class _DeviceState:
    """What the poller remembers about one device between polls."""

    address: Address | None = None
    units: dict[str, Any] = field(default_factory=dict)  # object id -> BACnet units
    flags: dict[str, tuple[bool, bool, bool, bool] | None] = field(default_factory=dict)
    cov_tasks: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    cov_live: set[str] = field(default_factory=set)
    cov_refused: set[str] = field(default_factory=set)


def make_application(
    bind: str, instance: int, *, foreign: tuple[str, int] | None = None, name: str = "facility"
) -> Application:
    """Our own BACnet device on ``bind`` (``host[/prefix][:port]``), optionally registered as
    a foreign device with a BBMD (``(host:port, ttl_s)``). Must run inside an event loop.

    Raises:
        ServiceUnavailable: the address cannot be bound (in use, not an address of this host).
    """
    device = DeviceObject(
        objectIdentifier=("device", instance),
        objectName=name,
        vendorIdentifier=999,
        maxApduLengthAccepted=1476,
        segmentationSupported="segmented-both",
    )
    try:
        port = NetworkPortObject(
            bind, objectIdentifier=("network-port", 1), objectName="NetworkPort-1"
        )
        if foreign is not None:
            port.bacnetIPMode = IPMode.foreign
            port.fdBBMDAddress = HostNPort(foreign[0])
            port.fdSubscriptionLifetime = foreign[1]
        return Application.from_object_list([device, port])
    except OSError as exc:
        raise ServiceUnavailable(
            f"cannot bind the BACnet connector to {bind} ({exc.strerror or exc}); "
            "set connectors.bacnet.bind to a free address:port of this host"
        ) from exc
    except (ValueError, TypeError, RuntimeError) as exc:  # bacpypes3: "unable to resolve"
        raise ConfigError(
            f"BACnet bind address {bind!r} is not usable ({exc}); give an IPv4 address of this "
            "host, with /prefix for broadcasts and :port (e.g. 10.0.4.9/24:47808)"
        ) from exc


def _reason(exc: BaseException) -> str:
    code = getattr(exc, "errorCode", None) or getattr(exc, "apduAbortRejectReason", None)
    return str(code if code is not None else exc)


class BacnetConnector:
    """Reads every device of a :class:`BacnetConfig`; see the module docstring."""

    def __init__(self, config: BacnetConfig, *, emit: Emit) -> None:
        self.config = config
        self.emit = emit
        self.stats: dict[str, BacnetDeviceStats] = {
            d.name: BacnetDeviceStats() for d in config.devices
        }
        self.app: Application | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._main: asyncio.Task[None] | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None

    # -- life cycle -----------------------------------------------------------------------
    def start(self) -> BacnetConnector:
        """Read in a thread of its own (``facility serve``); returns once bound.

        Raises:
            ServiceUnavailable: the local address cannot be bound.
        """
        self._thread = threading.Thread(target=self._run_thread, name="bacnet", daemon=True)
        self._thread.start()
        self._started.wait(10)
        if self._error is not None:
            raise self._error
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        """Cancel every poller and subscription, close the socket, join the thread."""
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
        try:
            with contextlib.suppress(asyncio.CancelledError):  # stop() cancels: the normal end
                await self.run(started=self._started)
        except BaseException as exc:  # reported to start(), which raises it in its thread
            self._error = exc
            self._started.set()

    async def run(self, *, started: threading.Event | None = None) -> None:
        """Read until cancelled (for callers that own an event loop)."""
        config = self.config
        foreign = (config.foreign.bbmd, config.foreign.ttl_s) if config.foreign else None
        self.app = make_application(config.bind, config.instance, foreign=foreign)
        if started is not None:
            started.set()
        limit = asyncio.Semaphore(config.max_concurrency)
        try:
            async with asyncio.TaskGroup() as group:
                for device in config.devices:
                    group.create_task(self._device_forever(device, limit), name=device.name)
        finally:
            self.app.close()

    # -- one device -----------------------------------------------------------------------
    async def _device_forever(self, device: BacnetDevice, limit: asyncio.Semaphore) -> None:
        loop = asyncio.get_running_loop()
        stats = self.stats[device.name]
        stats.rpm = False if device.rpm is False else None
        state = _DeviceState(address=Address(device.address) if device.address else None)
        backoff = Backoff(device.poll_s, max(device.poll_s, device.backoff_max_s))
        channels = sorted({p.device or device.name for p in device.points})
        source = f"bacnet/{device.name}"
        due = loop.time()
        try:
            while True:
                await asyncio.sleep(max(0.0, due - loop.time()))
                started = loop.time()
                stats.polls += 1
                try:
                    async with limit:
                        readings = await self._poll(device, state, stats)
                except _NoAnswer as exc:
                    stats.failures += 1
                    self._drop_subscriptions(state)
                    state.cov_refused.clear()  # it may have restarted with other support
                    delay = backoff.next_delay()
                    due = loop.time() + delay
                    where = device.address or "by who-is"
                    what = f"bacnet device {device.name} ({where}, instance {device.instance})"
                    if gone := went_offline(stats, channels, what, exc, delay):
                        self._emit(source, gone)
                    continue
                stats.answered_at.append(started)
                items: list[Reading | Presence] = [
                    *answered(stats, channels, f"bacnet device {device.name}")
                ]
                backoff.reset()
                items.extend(readings)
                self._emit(source, items)
                self._subscribe(device, state, stats, source)
                due = max(started + device.poll_s, loop.time())
        finally:
            self._drop_subscriptions(state)

    def _emit(self, source: str, items: Sequence[Reading | Presence]) -> None:
        if not items:
            return
        try:
            self.emit(source, items)
        except Exception:
            log.exception("handing %d items from %s to the gateway failed", len(items), source)

    def _reject(self, device: BacnetDevice, stats: BacnetDeviceStats, rejection: Rejection) -> None:
        """Counted under the same metric and reasons as a bad MQTT payload."""
        stats.rejected[rejection.reason] += 1
        REJECTED.labels(reason=rejection.reason).inc()
        log.info("rejected bacnet/%s: %s (%s)", device.name, rejection.reason, rejection.detail)

    def _readings(
        self,
        device: BacnetDevice,
        state: _DeviceState,
        stats: BacnetDeviceStats,
        object_id: str,
        points: Sequence[BacnetPoint],
        values: dict[str, Any],
        ts: datetime,
    ) -> list[Reading]:
        """Readings of the ``points`` of one object whose property ``values`` came in (a poll's
        answers or a COV notification's), with the object's units and status flags."""
        readings: list[Reading] = []
        for point in points:
            if point.prop not in values:
                continue
            try:
                reading = bacnet_reading(
                    device.name,
                    point,
                    values[point.prop],
                    ts,
                    units=state.units.get(object_id),
                    flags=state.flags.get(object_id),
                )
            except Rejection as rejection:
                self._reject(device, stats, rejection)
                continue
            readings.append(reading)
        return readings

    async def _ask(self, device: BacnetDevice, request: Any) -> Any:
        """Await one request with the device's timeout; a timeout or a socket error is
        ``_NoAnswer``. BACnet errors/rejects/aborts are returned, for the caller to judge."""
        try:
            return await asyncio.wait_for(request, device.timeout_s)
        except ErrorRejectAbortNack as answer:
            return answer
        except (TimeoutError, OSError) as exc:
            raise _NoAnswer(f"no answer in {device.timeout_s:g}s ({type(exc).__name__})") from exc

    async def _locate(self, device: BacnetDevice, state: _DeviceState) -> Address:
        """The device's address: configured, or found by a who-is for its instance."""
        if state.address is not None:
            return state.address
        assert self.app is not None
        found = await self.app.who_is(
            device.instance, device.instance, timeout=self.config.discover_timeout_s
        )
        if not found:
            raise _NoAnswer(f"no I-Am for instance {device.instance} (who-is broadcast)")
        state.address = found[0].pduSource
        log.info("bacnet device %s found at %s", device.name, state.address)
        return state.address

    async def _poll(
        self, device: BacnetDevice, state: _DeviceState, stats: BacnetDeviceStats
    ) -> list[Reading]:
        """One poll of the points not on a live COV subscription; raises ``_NoAnswer``."""
        address = await self._locate(device, state)
        points = [p for p in device.points if p.object_id not in state.cov_live]
        if not points:  # every point on COV: a heartbeat keeps presence honest
            assert self.app is not None
            stats.rp_requests += 1
            answer = await self._ask(
                device,
                self.app.read_property(
                    address, ObjectIdentifier(f"device,{device.instance}"), "system-status"
                ),
            )
            if isinstance(answer, ErrorRejectAbortNack):
                log.debug("bacnet %s heartbeat answered %s", device.name, _reason(answer))
            return []
        by_object: dict[str, list[BacnetPoint]] = {}
        for point in points:
            by_object.setdefault(point.object_id, []).append(point)
        values: dict[tuple[str, str], Any] = {}
        if stats.rpm is not False:
            try:
                values = await self._read_multiple(device, address, by_object, state, stats)
            except _Unsupported as exc:
                stats.rpm = False
                log.info(
                    "bacnet %s: no ReadPropertyMultiple (%s); reading one by one", device.name, exc
                )
        if stats.rpm is False:
            values = await self._read_single(device, address, by_object, state, stats)
        ts = datetime.now(UTC)
        readings: list[Reading] = []
        for object_id, object_points in by_object.items():
            flags = status_flags(values.get((object_id, "status-flags")))
            state.flags[object_id] = flags
            if (object_id, "units") in values:
                state.units[object_id] = values[(object_id, "units")]
            answered = {p.prop: values.get((object_id, p.prop)) for p in object_points}
            readings += self._readings(device, state, stats, object_id, object_points, answered, ts)
        stats.readings += len(readings)
        return readings

    def _properties(
        self, object_id: str, points: Sequence[BacnetPoint], state: _DeviceState
    ) -> list[str]:
        props = list(dict.fromkeys([p.prop for p in points] + ["status-flags"]))
        if object_id not in state.units and any(is_analog(p) and p.unit is None for p in points):
            props.append("units")
        return props

    async def _read_multiple(
        self,
        device: BacnetDevice,
        address: Address,
        by_object: dict[str, list[BacnetPoint]],
        state: _DeviceState,
        stats: BacnetDeviceStats,
    ) -> dict[tuple[str, str], Any]:
        assert self.app is not None
        values: dict[tuple[str, str], Any] = {}
        objects = list(by_object)
        for start in range(0, len(objects), device.max_per_request):
            specs: list[Any] = []
            for object_id in objects[start : start + device.max_per_request]:
                specs += [
                    ObjectIdentifier(object_id),
                    self._properties(object_id, by_object[object_id], state),
                ]
            stats.rpm_requests += 1
            answer = await self._ask(device, self.app.read_property_multiple(address, specs))
            if isinstance(answer, ErrorRejectAbortNack) or answer is None:
                reason = _reason(answer) if answer is not None else "no ReadPropertyMultiple-ACK"
                if answer is None or any(u in reason for u in _UNSUPPORTED):
                    raise _Unsupported(reason)
                # a whole-request error (e.g. one unknown object on some devices): per property
                return await self._read_single(device, address, by_object, state, stats)
            stats.rpm = True
            for object_identifier, property_identifier, _index, value in answer:
                object_id = f"{object_identifier[0]},{object_identifier[1]}"
                values[(object_id, str(property_identifier))] = value
        return values

    async def _read_single(
        self,
        device: BacnetDevice,
        address: Address,
        by_object: dict[str, list[BacnetPoint]],
        state: _DeviceState,
        stats: BacnetDeviceStats,
    ) -> dict[tuple[str, str], Any]:
        assert self.app is not None
        values: dict[tuple[str, str], Any] = {}
        for object_id, points in by_object.items():
            for prop in self._properties(object_id, points, state):
                stats.rp_requests += 1
                values[(object_id, prop)] = await self._ask(
                    device, self.app.read_property(address, ObjectIdentifier(object_id), prop)
                )
        return values

    # -- COV --------------------------------------------------------------------------------
    def _subscribe(
        self, device: BacnetDevice, state: _DeviceState, stats: BacnetDeviceStats, source: str
    ) -> None:
        """Start a subscription task for each COV object not yet subscribed nor refused."""
        for point in device.points:
            object_id = point.object_id
            if not device.wants_cov(point) or point.prop != "present-value":
                continue
            if object_id in state.cov_tasks or object_id in state.cov_refused:
                continue
            points = [p for p in device.points if p.object_id == object_id]
            state.cov_tasks[object_id] = asyncio.create_task(
                self._cov_object(device, state, stats, source, object_id, points),
                name=f"cov-{device.name}-{object_id}",
            )

    def _drop_subscriptions(self, state: _DeviceState) -> None:
        for task in state.cov_tasks.values():
            task.cancel()
        state.cov_tasks.clear()
        state.cov_live.clear()

    async def _cov_object(
        self,
        device: BacnetDevice,
        state: _DeviceState,
        stats: BacnetDeviceStats,
        source: str,
        object_id: str,
        points: Sequence[BacnetPoint],
    ) -> None:
        """One object's subscription: notifications become readings until cancelled."""
        assert self.app is not None
        assert state.address is not None
        context = self.app.change_of_value(
            state.address,
            ObjectIdentifier(object_id),
            None,
            device.cov_confirmed,
            device.cov_lifetime_s,
        )
        try:
            async with asyncio.timeout(device.timeout_s):
                await context.__aenter__()
        except ErrorRejectAbortNack as refused:
            state.cov_refused.add(object_id)
            stats.cov_refused += 1
            log.info(
                "bacnet %s %s: COV refused (%s); polled instead",
                device.name,
                object_id,
                _reason(refused),
            )
            state.cov_tasks.pop(object_id, None)
            return
        except TimeoutError:
            state.cov_tasks.pop(object_id, None)  # tried again after the next good poll
            return
        stats.cov_subscribed += 1
        state.cov_live.add(object_id)
        try:
            while True:
                try:
                    prop, value = await asyncio.wait_for(context.get_value(), device.poll_s)
                except TimeoutError:
                    renewal = context.refresh_subscription_task
                    if renewal is not None and renewal.done() and renewal.exception() is not None:
                        log.warning(
                            "bacnet %s %s: COV renewal failed (%s); polling",
                            device.name,
                            object_id,
                            renewal.exception(),
                        )
                        return
                    continue
                changed = {str(prop): value}
                while not context.queue.empty():  # the rest of the same notification
                    more_prop, more_value = await context.get_value()
                    changed[str(more_prop)] = more_value
                if "status-flags" in changed:
                    state.flags[object_id] = status_flags(changed["status-flags"])
                ts = datetime.now(UTC)
                readings = self._readings(device, state, stats, object_id, points, changed, ts)
                stats.cov_readings += len(readings)
                self._emit(source, readings)
        finally:
            state.cov_live.discard(object_id)
            state.cov_tasks.pop(object_id, None)
            with contextlib.suppress(BaseException):
                # abandon (not cancel) the subscription: the device may be gone; it lapses
                await context.__aexit__(asyncio.CancelledError, None, None)


class _Unsupported(Exception):
    """The device does not do ReadPropertyMultiple."""
