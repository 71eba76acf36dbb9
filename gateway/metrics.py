"""The gateway's Prometheus metrics (the first four names are fixed by design.md).

They live in the default registry, so the API's ``/metrics`` shows them without wiring. Counters
are process-wide: several gateways in one process (tests) add up.
"""

from prometheus_client import Counter, Gauge, Histogram

__all__ = [
    "MESSAGES_RECEIVED",
    "PRESENCE_CHANGES",
    "QUEUE_BOUND",
    "QUEUE_DEPTH",
    "QUEUE_FULL",
    "READINGS_DROPPED",
    "READINGS_STORED",
    "REJECTED",
    "SPOOLED",
    "SPOOL_BOUND",
    "SPOOL_READINGS",
    "STORE_WRITE_FAILURES",
    "STORE_WRITE_SECONDS",
]

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
QUEUE_BOUND = Gauge(
    "facility_gateway_queue_bound", "How many messages the queue holds before MQTT is paused"
)
QUEUE_FULL = Counter(
    "facility_gateway_queue_full",
    "Times the network thread waited because the processing queue was full (back-pressure)",
)
SPOOLED = Counter(
    "facility_gateway_readings_spooled", "Readings spooled to disk because the store failed"
)
SPOOL_READINGS = Gauge("facility_gateway_spool_readings", "Readings waiting in the disk spool")
SPOOL_BOUND = Gauge("facility_gateway_spool_bound", "The most readings the disk spool may hold")
READINGS_DROPPED = Counter(
    "facility_gateway_readings_dropped",
    "Readings lost because the store was down and the spool was full",
)
STORE_WRITE_SECONDS = Histogram(
    "facility_gateway_store_write_seconds",
    "Time to write one batch to the reading store (successful writes)",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
STORE_WRITE_FAILURES = Counter(
    "facility_gateway_store_write_failures", "Store writes that failed (each attempt)"
)
PRESENCE_CHANGES = Counter(
    "facility_gateway_presence_changes",
    "Devices going online or offline (availability topics and heartbeat timeouts)",
    labelnames=["state", "source"],
)
