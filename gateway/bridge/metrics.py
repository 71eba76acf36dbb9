"""The bridge's ``/metrics``: its counters as Prometheus text, read at scrape time.

A collector of its own registry rather than module-level counters: the numbers live on the
:class:`~gateway.bridge.bridge.Bridge` (the log line and the tests read the same ones), and
two bridges in one process (the tests) do not share a counter.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from facility.core.errors import ConfigError

if TYPE_CHECKING:
    from gateway.bridge.bridge import Bridge

__all__ = ["serve_metrics"]

_COUNTERS = {
    "points_polled": "readings polled from the field bus",
    "presence_changes": "online/offline changes of polled devices",
    "spooled": "messages written to the spool (every polled reading is)",
    "published": "messages the central broker acknowledged (PUBACK)",
    "refused": "messages the broker refused (PUBACK failure, e.g. ACL)",
    "dropped": "oldest messages dropped because the spool reached its bound",
    "spool_write_failures": "polled messages lost because the spool could not be written",
}
_GAUGES = {
    "spool_messages": "messages waiting in the spool",
    "spool_bytes": "bytes the spool holds",
    "in_flight": "messages published and not yet acknowledged",
    "connected": "1 while connected to the central broker",
}


class _BridgeCollector(Collector):
    def __init__(self, bridge: Bridge) -> None:
        self.bridge = bridge

    def collect(self) -> Iterator[Metric]:
        stats = self.bridge.stats()
        for name, text in _COUNTERS.items():
            yield CounterMetricFamily(f"facility_bridge_{name}", text, value=stats[name])
        for name, text in _GAUGES.items():
            yield GaugeMetricFamily(f"facility_bridge_{name}", text, value=stats[name])


def serve_metrics(bridge: Bridge, host: str, port: int) -> Any:
    """Serve ``/metrics`` on ``host:port`` in a daemon thread; returns the server (shutdown())."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_BridgeCollector(bridge))
    try:
        server, _thread = start_http_server(port, addr=host, registry=registry)
    except OSError as exc:
        raise ConfigError(
            f"--metrics-port {port} on {host} cannot be opened ({exc.strerror}); choose a free "
            "port or 0 to turn /metrics off"
        ) from exc
    return server
