"""The edge bridge: run a plant room's field-bus connectors and forward to a central broker.

``facility bridge`` is the shape ThingsBoard's IoT gateway has: a small process next to the
equipment polls it (the connectors of a ``connectors:`` file, the same file ``facility serve``
reads) and publishes every reading in the native MQTT format
(``facility/<site>/<device>/<metric>``, ``{"value", "unit", "ts"}``) and every presence change
as ``facility/<site>/<device>/availability`` (``online``/``offline``), so the central gateway
treats a bridged Modbus meter exactly like one it polls itself.

Data path: connector ``emit`` → :class:`~gateway.bridge.spool.Spool` (on disk, bounded) →
:class:`~gateway.bridge.publisher.SpoolPublisher` (QoS 1, persistent session). Writing to the
spool first means a poll is on disk before anything is sent: the broker being away changes
nothing upstream, polling keeps its pace, and the replay is in poll order.

Connectors plug in through :data:`CONNECTORS`: a name of the connectors file's sections
mapped to a factory ``(section, emit) -> connector`` whose result has ``start()`` and
``stop()``, the interface :class:`~gateway.connectors.modbus.ModbusConnector` has. A section
with devices but no factory (a connector this bridge does not know yet) is refused at start.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import orjson

from facility.core.errors import ConfigError
from facility.core.types import Presence, Reading
from gateway.bridge.publisher import BrokerOptions, SpoolPublisher
from gateway.bridge.spool import Spool
from gateway.connectors.config import ConnectorsConfig

__all__ = ["CONNECTORS", "Bridge", "BridgeOptions", "Connector", "message_of"]

log = logging.getLogger(__name__)

Emit = Callable[[str, Sequence[Reading | Presence]], None]


class Connector(Protocol):
    """What the bridge needs of a connector (ModbusConnector has it)."""

    def start(self) -> Any: ...

    def stop(self, timeout_s: float = ...) -> None: ...


def _modbus(section: Any, emit: Emit) -> Connector:
    from gateway.connectors.modbus import ModbusConnector  # noqa: PLC0415  (loads pymodbus)

    return ModbusConnector(section, emit=emit)


def _bacnet(section: Any, emit: Emit) -> Connector:
    from gateway.connectors.bacnet import BacnetConnector  # noqa: PLC0415  (loads bacpypes3)

    connector: Connector = BacnetConnector(section, emit=emit)
    return connector


#: connectors-file section name -> factory; a new connector registers itself here
CONNECTORS: dict[str, Callable[[Any, Emit], Connector]] = {"modbus": _modbus, "bacnet": _bacnet}


def message_of(site: str, item: Reading | Presence) -> tuple[str, bytes]:
    """The native-format topic and payload of one polled item."""
    if isinstance(item, Reading):
        body = {"value": item.value, "unit": item.unit, "ts": item.ts.isoformat()}
        return f"facility/{site}/{item.device}/{item.metric}", orjson.dumps(body)
    return f"facility/{site}/{item.device}/availability", b"online" if item.online else b"offline"


@dataclass(frozen=True, slots=True)
class BridgeOptions:
    site: str
    spool_dir: Path
    spool_max_bytes: int = 100 * 1024 * 1024
    drain_s: float = 5.0


def _check_site(site: str) -> str:
    if (
        not site
        or any(ch in site for ch in "/#+\x00")
        or site != site.strip()
        or site.startswith("_")
    ):
        raise ConfigError(
            f"--site {site!r} is not usable in a topic; give one level without / # + "
            "(and not starting with _), e.g. --site plant-a"
        )
    return site


def _device_ids(config: ConnectorsConfig) -> Iterator[str]:
    for name in type(config).model_fields:
        section = getattr(config, name)
        for device in getattr(section, "devices", None) or []:
            yield device.name
            for point in getattr(device, "points", None) or []:
                if getattr(point, "device", None):
                    yield point.device


class Bridge:
    """Connectors → spool → broker; see the module docstring."""

    def __init__(
        self,
        config: ConnectorsConfig,
        broker: BrokerOptions,
        options: BridgeOptions,
        *,
        on_polled: Callable[[Reading | Presence], None] | None = None,
    ) -> None:
        self.site = _check_site(options.site)
        self.options = options
        self.on_polled = on_polled
        self.polled = 0
        self.presence = 0
        self.lost = 0  # polled but not spooled: the spool could not be written
        for device in _device_ids(config):
            if "/" in device:
                raise ConfigError(
                    f"device id {device!r}: the native topic facility/<site>/<device>/<metric> "
                    "has one level for the device; name the channel without '/', e.g. "
                    f"{device.replace('/', '.')!r}"
                )
        self._factories: list[tuple[str, Any]] = []
        for name in type(config).model_fields:
            section = getattr(config, name)
            if not getattr(section, "devices", None):
                continue
            if name not in CONNECTORS:
                raise ConfigError(
                    f"the connectors file has {name} devices, which this bridge cannot run yet "
                    f"(it runs {', '.join(sorted(CONNECTORS))})"
                )
            self._factories.append((name, section))
        if not self._factories:
            raise ConfigError("the connectors file names no devices; nothing to bridge")
        self.spool = Spool(options.spool_dir, max_bytes=options.spool_max_bytes)
        try:
            self.publisher = SpoolPublisher(self.spool, broker)
        except BaseException:
            self.spool.close()
            raise
        self._connectors: list[Connector] = []
        self._lock = threading.Lock()
        self.started_at = time.monotonic()

    # -- life cycle -------------------------------------------------------------------------
    def start(self) -> Bridge:
        self.publisher.start()
        for name, section in self._factories:
            connector = CONNECTORS[name](section, self._emit)
            connector.start()
            self._connectors.append(connector)
            log.info("bridge: %s connector started (%d devices)", name, len(section.devices))
        return self

    def stop_polling(self) -> None:
        """Stop the connectors (the spool keeps draining)."""
        for connector in self._connectors:
            connector.stop()
        self._connectors.clear()

    def stop(self) -> None:
        """Graceful stop (SIGTERM): connectors first, a bounded drain, then the broker."""
        self.stop_polling()
        self.publisher.stop(self.options.drain_s)
        self.spool.close()
        log.warning("bridge stopped: %s", self.status_line())

    # -- the data path ----------------------------------------------------------------------
    def _emit(self, source: str, items: Sequence[Reading | Presence]) -> None:
        messages = [message_of(self.site, item) for item in items]
        with self._lock:
            try:
                self.spool.append(messages)
            except sqlite3.Error as exc:  # disk full, file removed under us: count and say so
                self.lost += len(messages)
                log.error(
                    "cannot write %d messages to the spool %s (%s); they are lost: check the "
                    "disk of --spool",
                    len(messages),
                    self.spool.path,
                    exc,
                )
                return
            for item in items:
                if isinstance(item, Reading):
                    self.polled += 1
                else:
                    self.presence += 1
        if self.on_polled is not None:
            for item in items:
                self.on_polled(item)
        self.publisher.wake()

    # -- what it did ------------------------------------------------------------------------
    def stats(self) -> dict[str, float]:
        """Counters and gauges, for /metrics and the periodic log line."""
        return {
            "points_polled": self.polled,
            "presence_changes": self.presence,
            "spooled": self.spool.appended,
            "published": self.publisher.published,
            "refused": self.publisher.refused,
            "dropped": self.spool.dropped,
            "spool_write_failures": self.lost,
            "spool_messages": self.spool.depth,
            "spool_bytes": self.spool.size_bytes,
            "in_flight": self.publisher.in_flight,
            "connected": 1.0 if self.publisher.connected else 0.0,
        }

    def status_line(self) -> str:
        s = self.stats()
        link = "connected" if s["connected"] else "broker unreachable"
        return (
            f"{link}: polled {s['points_polled']:.0f}, published {s['published']:.0f}, "
            f"waiting in spool {s['spool_messages']:.0f} ({s['spool_bytes'] / 1024:.0f} KiB), "
            f"dropped {s['dropped']:.0f}"
        )
