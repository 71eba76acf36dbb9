"""The gateway's Prometheus metrics (names fixed by design.md)."""

from prometheus_client import Counter, Gauge

__all__ = ["MESSAGES_RECEIVED", "QUEUE_DEPTH", "READINGS_STORED", "REJECTED", "SPOOLED"]

MESSAGES_RECEIVED = Counter(
    "facility_gateway_messages_received", "MQTT messages received by the gateway"
)
READINGS_STORED = Counter(
    "facility_gateway_readings_stored", "Readings written to the reading store"
)
REJECTED = Counter(
    "facility_gateway_rejected", "Messages rejected and dead-lettered", labelnames=["reason"]
)
QUEUE_DEPTH = Gauge("facility_gateway_queue_depth", "Messages received but not yet processed")
SPOOLED = Counter(
    "facility_gateway_readings_spooled", "Readings spooled to disk because the store failed"
)
