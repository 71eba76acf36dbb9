"""The gateway's batch step with a registry: calibrated readings flow, broken ones are counted."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from facility.core.types import Reading, ReadingPage
from gateway.ingest import Gateway, GatewayOptions
from gateway.metrics import REJECTED
from gateway.mqtt import Message, MqttOptions
from gateway.registry import parse_registry

RECEIVED = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


class _ListStore:
    """Keeps written readings in a list (the batch logic is under test, not a database)."""

    def __init__(self) -> None:
        self.rows: list[Reading] = []

    def write(self, readings: Sequence[Reading]) -> None:
        self.rows.extend(readings)

    def query(self, **kwargs: object) -> ReadingPage:
        return ReadingPage(items=list(self.rows), total=len(self.rows), next_cursor=None)

    def count(self) -> int:
        return len(self.rows)

    def close(self) -> None:
        return None


def _gateway(store: _ListStore) -> Gateway:
    registry = parse_registry(
        {
            "assets": [
                {
                    "code": "M-1",
                    "devices": [
                        {
                            "match": "meter-*",
                            "metrics": {
                                "power": {"scale": 1000, "unit": "W"},
                                "voltage": {"scale": 1e308},
                            },
                        }
                    ],
                }
            ]
        }
    )
    # never connected: process() is driven directly, QoS 0 needs no acknowledgement
    options = GatewayOptions(mqtt=MqttOptions(url="mqtt://127.0.0.1:1"))
    return Gateway(options, store=store, registry=registry)


def _message(topic: str, payload: bytes) -> Message:
    return Message(topic, payload, qos=0, mid=0, retain=False, received=RECEIVED)


def test_registry_overrides_are_applied_before_the_store_sees_a_reading() -> None:
    store = _ListStore()
    _gateway(store).process([_message("facility/hq/meter-1/power", b"1.5")])
    (reading,) = store.rows
    assert (reading.device, reading.metric, reading.value, reading.unit) == (
        "meter-1",
        "power",
        1500.0,
        "W",
    )


def test_a_calibration_that_overflows_rejects_only_that_reading_and_counts_it() -> None:
    store = _ListStore()
    gateway = _gateway(store)
    before = REJECTED.labels(reason="calibration_failed")._value.get()
    gateway.process(
        [
            _message("facility/hq/meter-2", b'{"power": 2.0, "voltage": 1e10}'),
            _message("facility/hq/meter-3/voltage", b"1e10"),
            _message("facility/hq/meter-3/power", b"3"),
        ]
    )
    assert sorted((r.device, r.value) for r in store.rows) == [
        ("meter-2", 2000.0),
        ("meter-3", 3000.0),
    ]
    assert REJECTED.labels(reason="calibration_failed")._value.get() - before == 2
    assert gateway.stats.rejected == 1  # the message with nothing left was dead-lettered
