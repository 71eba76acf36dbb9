"""The ingest fast path gives exactly what the general path gives.

The native codec decodes a ``facility/<site>/<device>`` object of bare numbers without the
per-reading work of ``normalize`` (cached per field name, readings built without re-validation);
these tests hold it to the reference: a ``RawValue`` per field through ``readings_from``, which
every other codec uses. Also the cached timestamp parse and the worker's batch queue.
"""

from __future__ import annotations

import dataclasses
import math
import queue
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from facility.core.errors import PayloadRejected
from facility.core.types import Reading
from facility.core.wait import wait_until
from gateway.codecs import native
from gateway.codecs._common import readings_from, validated_reading
from gateway.ingest import _BatchQueue
from gateway.normalize import (
    RawValue,
    Rejection,
    normalize,
    parse_timestamp,
    unitless_number,
)

RECEIVED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TOPIC = "facility/hq/ahu-1"


def reference(topic: str, payload: bytes) -> list[Reading] | str:
    """The general path for a native metrics object: the result, or the rejection reason."""
    body = orjson.loads(payload)
    stamp = next((body[k] for k in native._RESERVED_KEYS if k in body), None)
    try:
        ts = parse_timestamp(stamp, RECEIVED)
        fields = [
            RawValue(k, v.get("value"), native._unit(topic, v.get("unit")))
            if isinstance(v, dict)
            else RawValue(k, v)
            for k, v in body.items()
            if k not in native._RESERVED_KEYS
        ]
        return readings_from(topic, topic.split("/")[2], fields, ts)
    except Rejection as rejection:
        return rejection.reason
    except PayloadRejected as rejected:
        return rejected.reason


def fast(topic: str, payload: bytes) -> list[Any] | str:
    try:
        return native.decode(topic, payload, received=RECEIVED)
    except PayloadRejected as rejected:
        return rejected.reason


def test_validated_reading_equals_the_checked_constructor_and_stays_frozen() -> None:
    built = validated_reading("ahu-1", "temperature", 21.5, "degC", RECEIVED)
    assert built == Reading("ahu-1", "temperature", 21.5, "degC", RECEIVED)
    assert built.quality == "good"
    assert hash(built) == hash(Reading("ahu-1", "temperature", 21.5, "degC", RECEIVED))
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.value = 1.0  # type: ignore[misc]


@pytest.mark.parametrize(
    "name",
    [
        "temperature",
        "Temperature",
        "temp",
        "supply_temperature",
        "power",
        "apparent_power",
        "energy",
        "state",
        "occupancy",
        "contact",
        "fault_code",
        "runtime_hours",
        "vibration",
        "co2",
        "9lives",
        "bad name!",
        "",
        "x" * 70,
    ],
)
@pytest.mark.parametrize("value", [0, 1, 1.0, 0.0, 21.5, -3, 2, 1e300])
def test_unitless_number_decides_what_normalize_decides(name: str, value: float) -> None:
    try:
        expected: Reading | str = normalize("dev", RawValue(name, value), RECEIVED)
    except Rejection as rejection:
        expected = rejection.reason
    target = unitless_number(name)
    if target is None:
        assert isinstance(expected, str)  # an unusable name: the general path says why
        return
    metric, unit, boolean = target
    if boolean and value not in (0, 1):
        assert expected == "wrong_type"
        return
    assert expected == Reading("dev", metric, float(value), unit, RECEIVED)


def test_the_campus_shape_decodes_as_the_general_path_does() -> None:
    payload = (
        b'{"supply_temperature":12.95,"state":1.0,"pressure":150075,"runtime_hours":12000.017,'
        b'"occupancy":0,"co2":493,"ts":"2026-03-01T11:00:00+00:00"}'
    )
    assert fast(TOPIC, payload) == reference(TOPIC, payload)
    assert [r.unit for r in fast(TOPIC, payload)] == ["degC", "bool", "Pa", "", "bool", "ppm"]


@pytest.mark.parametrize(
    "body",
    [
        {"state": 2, "temperature": 20},  # a bad boolean among good fields: dropped alone
        {"state": 2},  # every field bad: rejected with the first reason
        {"bad name!": 1, "9x": 2},
        {"temperature": {"value": 70, "unit": "degF"}, "humidity": 40},
        {"temperature": {"value": 1, "unit": 5}},  # a non-string unit rejects the message
        {"fan": "ON", "power": 10, "note": None},
        {"temperature": True, "energy": 12.5},
        {"ts": "2026-03-01T11:00:00Z"},  # no metric at all
        {"temperature": 1, "ts": "1999-01-01T00:00:00Z"},  # implausible time
        {"temperature": 1, "ts": "20260301"},  # ISO basic date, not an epoch
        {"temperature": 1, "ts": 1772362800},
        {"temperature": 1, "time": "2026-03-01T11:30:00+01:00"},
    ],
)
def test_unusual_objects_take_the_general_path_with_the_same_outcome(
    body: dict[str, Any],
) -> None:
    payload = orjson.dumps(body)
    assert fast(TOPIC, payload) == reference(TOPIC, payload)


@pytest.mark.parametrize("device", ["bad#device", " edge", "x" * 201])
def test_an_unusable_device_is_rejected_as_before(device: str) -> None:
    topic = f"facility/hq/{device}"
    payload = b'{"temperature": 20.5, "humidity": 40}'
    assert fast(topic, payload) == reference(topic, payload) == "invalid_reading"


NAMES = st.sampled_from(
    ["temperature", "Temperature", "temp", "state", "occupancy", "power", "energy", "co2",
     "fault_code", "supply_temperature", "vibration", "bad name", "ts", "time", "x" * 90]
)  # fmt: skip
VALUES = st.one_of(
    st.integers(min_value=-(2**53), max_value=2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0, 1, 0.0, 1.0, -0.0, True, False, None, "ON", "off", "12.5", "nan"]),
    st.fixed_dictionaries({"value": st.floats(-1e6, 1e6), "unit": st.sampled_from(["W", "kW"])}),
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(NAMES, VALUES, max_size=6))
def test_any_object_of_metrics_decodes_as_the_general_path_does(body: dict[str, Any]) -> None:
    payload = orjson.dumps(body)
    got, want = fast(TOPIC, payload), reference(TOPIC, payload)
    assert got == want
    if isinstance(got, list):  # equal and also the same types (floats, never ints or bools)
        assert all(type(r.value) is float and math.isfinite(r.value) for r in got)


def test_cached_timestamps_still_get_their_range_checked_against_each_receive_time() -> None:
    text = "2026-03-01T11:00:00Z"
    assert parse_timestamp(text, RECEIVED) == datetime(2026, 3, 1, 11, tzinfo=UTC)
    assert parse_timestamp(text, RECEIVED) == datetime(2026, 3, 1, 11, tzinfo=UTC)
    with pytest.raises(Rejection) as info:  # cached text, but now 2 days ahead of receipt
        parse_timestamp(text, RECEIVED - timedelta(days=2))
    assert info.value.reason == "bad_timestamp"
    for _ in range(2):  # a bad text is refused every time, not cached as good
        with pytest.raises(Rejection):
            parse_timestamp("not a time", RECEIVED)
    assert parse_timestamp(" 1772362800 ", RECEIVED) == datetime(2026, 3, 1, 11, tzinfo=UTC)


def test_batch_queue_hands_over_in_order_up_to_the_limit() -> None:
    q = _BatchQueue(maxsize=10)
    for item in range(7):
        q.put_nowait(item)
    assert q.get_batch(5, timeout=1.0) == [0, 1, 2, 3, 4]
    assert q.get_batch(5, timeout=1.0) == [5, 6]
    assert q.get_batch(5, timeout=0.01) == []  # empty: waits the timeout, returns nothing


def test_batch_queue_wakes_a_producer_blocked_on_a_full_queue() -> None:
    q = _BatchQueue(maxsize=2)
    q.put_nowait("a")
    q.put_nowait("b")
    with pytest.raises(queue.Full):
        q.put_nowait("c")
    done = threading.Event()

    def produce() -> None:
        q.put("c")  # blocks until the consumer makes room
        done.set()

    producer = threading.Thread(target=produce, daemon=True)
    producer.start()
    assert q.get_batch(10, timeout=1.0) == ["a", "b"]
    wait_until(done.is_set, timeout_s=5.0, what="the blocked producer to be woken")
    assert q.get_batch(10, timeout=1.0) == ["c"]
    producer.join(timeout=5.0)


def test_batch_queue_fills_a_batch_only_under_continuous_traffic() -> None:
    q = _BatchQueue(maxsize=100)
    for item in range(5):
        q.put_nowait(item)
    started = time.monotonic()
    assert q.get_batch(5, timeout=1.0, fill_s=30.0) == [0, 1, 2, 3, 4]  # full: no filling
    assert time.monotonic() - started < 30.0
    q.put_nowait("a")
    assert q.get_batch(5, timeout=1.0, fill_s=0.01) == ["a"]  # waited briefly, nothing came

    got: list[list[object]] = []
    consumer = threading.Thread(
        target=lambda: got.append(q.get_batch(5, timeout=30.0, fill_s=30.0)), daemon=True
    )
    started = time.monotonic()
    consumer.start()
    q.put("idle")  # arrives at an idle queue: taken at once, not after fill_s
    wait_until(lambda: got, timeout_s=10.0, what="the idle message to be taken")
    assert got == [["idle"]]
    assert time.monotonic() - started < 30.0
    consumer.join(timeout=5.0)
