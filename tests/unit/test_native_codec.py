"""The native codec: what it accepts, how it normalises, and how it refuses bad input."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from facility.core.errors import PayloadRejected
from facility.core.types import Presence, Reading
from gateway.codecs import decode

RECEIVED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def one(topic: str, payload: bytes) -> Reading:
    (item,) = decode(topic, payload, received=RECEIVED)
    assert isinstance(item, Reading)
    return item


def rejected(topic: str, payload: bytes, **kwargs: object) -> str:
    with pytest.raises(PayloadRejected) as info:
        decode(topic, payload, received=RECEIVED, **kwargs)  # type: ignore[arg-type]
    return info.value.reason


def test_bare_number_becomes_a_reading_at_receive_time() -> None:
    reading = one("facility/hq/room-1/temperature", b" 21.5 ")
    assert (reading.device, reading.metric, reading.value, reading.unit) == (
        "room-1",
        "temperature",
        21.5,
        "degC",
    )
    assert reading.ts == RECEIVED


def test_json_value_with_unit_and_timestamp_is_converted() -> None:
    reading = one(
        "facility/hq/room-1/temperature",
        b'{"value": 212, "unit": "\xc2\xb0F", "ts": "2026-03-01T11:00:00Z"}',
    )
    assert reading.value == pytest.approx(100.0)
    assert reading.ts == datetime(2026, 3, 1, 11, tzinfo=UTC)


@pytest.mark.parametrize(
    ("ts", "expected"),
    [
        (1772362800, datetime(2026, 3, 1, 11, tzinfo=UTC)),
        (1772362800000, datetime(2026, 3, 1, 11, tzinfo=UTC)),
        ('"2026-03-01T11:00:00"', datetime(2026, 3, 1, 11, tzinfo=UTC)),
        ('"2026-03-01T12:00:00+01:00"', datetime(2026, 3, 1, 11, tzinfo=UTC)),
    ],
)
def test_timestamps_in_epoch_seconds_milliseconds_and_iso_forms_are_understood(
    ts: object, expected: datetime
) -> None:
    reading = one("facility/hq/m/energy", f'{{"value": 1500, "unit": "Wh", "ts": {ts}}}'.encode())
    assert reading.ts == expected
    assert (reading.value, reading.unit) == (1.5, "kWh")


def test_object_of_several_metrics_gives_one_reading_each() -> None:
    items = decode(
        "facility/hq/ahu-1",
        b'{"supply_temperature": 13.2, "fan": "ON", "pressure": {"value": 1.2, "unit": "kPa"}}',
        received=RECEIVED,
    )
    by_metric = {r.metric: r for r in items if isinstance(r, Reading)}
    assert by_metric["supply_temperature"].unit == "degC"
    assert by_metric["fan"].value == 1.0
    assert by_metric["pressure"].value == pytest.approx(1200.0)


@pytest.mark.parametrize(("word", "value"), [("ON", 1.0), ("off", 0.0), ("true", 1.0), ("0", 0.0)])
def test_boolean_words_become_one_and_zero(word: str, value: float) -> None:
    assert one("facility/hq/relay-1/state", word.encode()).value == value


def test_availability_topic_gives_presence() -> None:
    (item,) = decode("facility/hq/room-1/availability", b"offline", received=RECEIVED)
    assert item == Presence(device="room-1", online=False, ts=RECEIVED)


def test_deadletter_topics_are_ignored_so_rejections_never_loop() -> None:
    assert decode("facility/_deadletter/facility/hq/x/temperature", b"{bad") == []


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"{not json", "malformed_json"),
        (b'{"value": NaN}', "not_finite"),
        (b"Infinity", "not_finite"),
        (b"nan", "not_finite"),
        (b'{"value": "warm"}', "wrong_type"),
        (b'{"value": null}', "wrong_type"),
        (b"[1, 2]", "wrong_type"),
        (b'"21.5"', "wrong_type"),
        (b"", "wrong_type"),
        (b"\xff\xfe\x00", "not_utf8"),
        (b'{"value": 1, "unit": "kg"}', "bad_unit"),
        (b'{"value": 1, "ts": "yesterday"}', "bad_timestamp"),
        (b'{"value": 1, "ts": 99999999999999}', "bad_timestamp"),
        (b'{"value": 1, "unit": {"$gt": ""}}', "bad_unit"),
    ],
)
def test_bad_payloads_are_rejected_with_a_reason(payload: bytes, reason: str) -> None:
    assert rejected("facility/hq/room-1/temperature", payload) == reason


def test_oversized_payload_is_rejected_before_parsing() -> None:
    assert rejected("facility/hq/room-1/temperature", b"1" * 2000, max_bytes=1024) == "oversized"


@pytest.mark.parametrize("metric", ["Temp Erature!", "9lives", "x" * 80, "über"])
def test_unusable_metric_names_are_rejected(metric: str) -> None:
    assert rejected(f"facility/hq/room-1/{metric}", b"1") == "invalid_metric"


def test_unknown_but_well_formed_metric_passes_through_under_its_own_name() -> None:
    reading = one("facility/hq/pump-1/vibration_rms", b"0.42")
    assert (reading.metric, reading.value) == ("vibration_rms", 0.42)


@pytest.mark.parametrize(
    "topic", ["facility/hq", "facility/hq/a/b/c", "facility//dev/temperature", "other/topic"]
)
def test_topics_outside_the_native_scheme_are_rejected(topic: str) -> None:
    assert rejected(topic, b"1") in {"bad_topic", "unknown_format"}


def test_one_bad_field_among_good_ones_is_dropped_not_the_message() -> None:
    items = decode("facility/hq/r", b'{"temperature": 20, "humidity": "wet"}', received=RECEIVED)
    assert [r.metric for r in items if isinstance(r, Reading)] == ["temperature"]
