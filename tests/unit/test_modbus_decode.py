"""Modbus decoding, read planning, value checks and configuration errors (no I/O)."""

from __future__ import annotations

import math
import struct
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from facility.core.errors import ConfigError
from gateway.connectors import (
    ByteOrder,
    DataType,
    Function,
    ModbusPoint,
    decode_words,
    encode_value,
    parse_connectors,
    plan_reads,
)
from gateway.connectors.backoff import Backoff
from gateway.connectors.probe import decodings, parse_range
from gateway.connectors.values import point_reading
from gateway.normalize import Rejection

TS = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ORDERS = [(b, w) for b in ByteOrder for w in ByteOrder]
KNOWN: dict[DataType, Any] = {
    DataType.INT16: -12345,
    DataType.UINT16: 54321,
    DataType.INT32: -123_456_789,
    DataType.UINT32: 3_000_000_000,
    DataType.INT64: -(2**50) + 7,
    DataType.FLOAT32: 21.5,
    DataType.FLOAT64: 1234.56789012345,
}


@pytest.mark.parametrize(("byte_order", "word_order"), ORDERS)
@pytest.mark.parametrize("data_type", list(KNOWN))
def test_every_type_and_order_round_trips_a_known_value(
    data_type: DataType, byte_order: ByteOrder, word_order: ByteOrder
) -> None:
    words = encode_value(KNOWN[data_type], data_type, byte_order=byte_order, word_order=word_order)
    got = decode_words(words, data_type, byte_order=byte_order, word_order=word_order)
    assert got == KNOWN[data_type]


def test_float32_orders_match_the_letters_manuals_use() -> None:
    abcd = list(struct.unpack(">HH", struct.pack(">f", 230.1)))  # big byte, big word order
    assert decode_words(abcd, DataType.FLOAT32) == pytest.approx(230.1)
    cdab = abcd[::-1]
    assert decode_words(cdab, DataType.FLOAT32, word_order=ByteOrder.LITTLE) == pytest.approx(230.1)
    badc = [int.from_bytes(w.to_bytes(2, "big")[::-1], "big") for w in abcd]
    assert decode_words(badc, DataType.FLOAT32, byte_order=ByteOrder.LITTLE) == pytest.approx(230.1)


@pytest.mark.parametrize("bit", range(16))
def test_a_bool_is_one_bit_of_a_register(bit: int) -> None:
    assert decode_words([1 << bit], DataType.BOOL, bit=bit) is True
    assert decode_words([0xFFFF ^ (1 << bit)], DataType.BOOL, bit=bit) is False


@pytest.mark.parametrize("byte_order", list(ByteOrder))
def test_strings_round_trip_and_lose_their_padding(byte_order: ByteOrder) -> None:
    words = encode_value("PM5560", DataType.STRING, byte_order=byte_order, length=10)
    assert len(words) == 5
    assert decode_words(words, DataType.STRING, byte_order=byte_order, length=10) == "PM5560"


@given(
    st.sampled_from(list(KNOWN)),
    st.sampled_from(ORDERS),
    st.lists(st.integers(0, 0xFFFF), min_size=4, max_size=4),
)
def test_any_words_decode_and_re_encode_to_the_same_words(
    data_type: DataType, orders: tuple[ByteOrder, ByteOrder], words: list[int]
) -> None:
    byte_order, word_order = orders
    size = {DataType.INT16: 1, DataType.UINT16: 1, DataType.INT64: 4, DataType.FLOAT64: 4}.get(
        data_type, 2
    )
    chunk = words[:size]
    value = decode_words(chunk, data_type, byte_order=byte_order, word_order=word_order)
    if isinstance(value, float) and math.isnan(value):
        return  # NaN payload bits are not guaranteed to survive a float round trip
    again = encode_value(value, data_type, byte_order=byte_order, word_order=word_order)
    assert again == chunk


def test_a_wrong_number_of_words_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="needs 2 registers"):
        decode_words([1], DataType.FLOAT32)


# -- planning ------------------------------------------------------------------------------------
def _point(address: int, **extra: Any) -> ModbusPoint:
    return ModbusPoint(metric=f"p{address}", address=address, **extra)


def test_200_contiguous_registers_are_read_in_two_requests() -> None:
    points = [_point(a) for a in range(200)]
    plan = plan_reads(points, max_gap=8, max_registers=125, max_bits=2000)
    assert [(r.start, r.count) for r in plan] == [(0, 125), (125, 75)]
    assert sum(len(r.points) for r in plan) == 200


def test_small_gaps_are_read_through_and_large_ones_split() -> None:
    points = [_point(0), _point(5), _point(40)]
    plan = plan_reads(points, max_gap=8, max_registers=125, max_bits=2000)
    assert [(r.start, r.count) for r in plan] == [(0, 6), (40, 1)]
    adjacent_only = plan_reads(points, max_gap=0, max_registers=125, max_bits=2000)
    assert len(adjacent_only) == 3


def test_a_multi_register_value_is_never_split_across_requests() -> None:
    points = [_point(a * 2, type="float32") for a in range(100)]  # 200 registers
    plan = plan_reads(points, max_gap=0, max_registers=125, max_bits=2000)
    assert [(r.start, r.count) for r in plan] == [(0, 124), (124, 76)]


def test_functions_are_planned_apart_and_coils_up_to_2000_bits() -> None:
    coils = [ModbusPoint(metric=f"c{a}", function=Function.COIL, address=a) for a in range(2500)]
    plan = plan_reads([*coils, _point(0)], max_gap=8, max_registers=125, max_bits=2000)
    assert [(r.function, r.start, r.count) for r in plan] == [
        (Function.COIL, 0, 2000),
        (Function.COIL, 2000, 500),
        (Function.HOLDING, 0, 1),
    ]


def test_bits_of_one_register_share_one_read() -> None:
    points = [ModbusPoint(metric=f"alarm_{b}", address=7, type="bool", bit=b) for b in range(16)]
    plan = plan_reads(points, max_gap=0, max_registers=125, max_bits=2000)
    assert [(r.start, r.count, len(r.points)) for r in plan] == [(7, 1, 16)]


# -- values --------------------------------------------------------------------------------------
def test_scale_offset_and_unit_conversion_give_a_canonical_reading() -> None:
    point = ModbusPoint(metric="temperature", address=0, type="int16", scale=0.1, unit="degF")
    reading = point_reading("ahu-1", point, [720], TS)
    assert (reading.device, reading.metric, reading.unit) == ("ahu-1", "temperature", "degC")
    assert reading.value == pytest.approx(22.2222, abs=1e-3)


def test_a_device_override_makes_the_point_a_channel() -> None:
    point = ModbusPoint(metric="state", address=3, type="bool", bit=2, device="ahu-1/fan")
    reading = point_reading("ahu-1", point, [0b100], TS)
    assert (reading.device, reading.value, reading.unit) == ("ahu-1/fan", 1.0, "bool")


@pytest.mark.parametrize(
    ("point", "words", "reason"),
    [
        (ModbusPoint(metric="power", address=0, type="float32"), [0x7FC0, 0], "not_finite"),
        (ModbusPoint(metric="power", address=0, type="float32"), [0x7F80, 0], "not_finite"),
        (ModbusPoint(metric="humidity", address=0, max=100), [150], "out_of_range"),
        (
            ModbusPoint(metric="temperature", address=0, type="int16", min=-40),
            [0x8000],
            "out_of_range",
        ),
        (
            ModbusPoint(metric="voltage", address=0, type="string", length=4),
            encode_value("n/a", DataType.STRING, length=4),
            "wrong_type",
        ),
        (ModbusPoint(metric="power", address=0, type="bool"), [1], "wrong_type"),
    ],
)
def test_values_that_cannot_be_readings_are_rejected_with_a_reason(
    point: ModbusPoint, words: list[int], reason: str
) -> None:
    with pytest.raises(Rejection) as info:
        point_reading("meter-1", point, words, TS)
    assert info.value.reason == reason


def test_a_numeric_string_register_is_a_number() -> None:
    point = ModbusPoint(metric="voltage", address=0, type="string", length=6)
    words = encode_value("230.5", DataType.STRING, length=6)
    assert point_reading("meter-1", point, words, TS).value == 230.5


# -- configuration errors ------------------------------------------------------------------------
def _config(point: dict[str, Any], **device: Any) -> dict[str, Any]:
    base = {"name": "ahu-1", "host": "10.0.0.5", "points": [point]}
    return {"connectors": {"modbus": {"devices": [{**base, **device}]}}}


@pytest.mark.parametrize(
    ("config", "words"),
    [
        (
            _config(
                {
                    "name": "supply_temp",
                    "metric": "temperature",
                    "address": 1,
                    "word_order": "middle",
                }
            ),
            ["ahu-1", "supply_temp", "word_order"],
        ),
        (
            _config({"metric": "temperature", "address": 70000}),
            ["ahu-1", "temperature@70000", "address"],
        ),
        (
            _config({"metric": "state", "function": "coil", "address": 1, "type": "float32"}),
            ["ahu-1", "state@1", "'type'"],
        ),
        (
            _config({"metric": "label", "address": 1, "type": "string"}),
            ["ahu-1", "label@1", "'length'"],
        ),
        (_config({"metric": "temperature", "address": 1}, port=0), ["ahu-1", "'port'"]),
        (
            _config({"metric": "temperature", "address": 1, "word_ordre": "big"}),
            ["ahu-1", "temperature@1", "word_ordre"],
        ),
        (
            _config({"metric": "temperature", "address": 1, "bit": 3}),
            ["ahu-1", "temperature@1", "'bit'"],
        ),
    ],
)
def test_config_errors_name_the_device_point_and_field(
    config: dict[str, Any], words: list[str]
) -> None:
    with pytest.raises(ConfigError) as info:
        parse_connectors(config, source="connectors.yaml")
    message = str(info.value)
    assert message.startswith("connectors.yaml: modbus, device 'ahu-1'")
    for word in words:
        assert word in message, message


def test_two_points_giving_the_same_metric_of_one_device_are_refused() -> None:
    config = _config({"metric": "temperature", "address": 1})
    config["connectors"]["modbus"]["devices"][0]["points"].append(
        {"metric": "temperature", "address": 2}
    )
    with pytest.raises(ConfigError, match="both give temperature of ahu-1"):
        parse_connectors(config)


def test_duplicate_device_names_are_refused() -> None:
    device = _config({"metric": "temperature", "address": 1})["connectors"]["modbus"]["devices"][0]
    with pytest.raises(ConfigError, match="unique"):
        parse_connectors({"modbus": {"devices": [device, device]}})


def test_an_empty_connectors_section_polls_nothing() -> None:
    assert parse_connectors({"connectors": None}).modbus.devices == []


# -- backoff and probe ---------------------------------------------------------------------------
def test_backoff_grows_with_jitter_and_stays_bounded() -> None:
    backoff = Backoff(1.0, 30.0)
    delays = [backoff.next_delay() for _ in range(12)]
    nominal = [min(30.0, 2.0**n) for n in range(12)]
    assert all(n / 2 <= d <= n for d, n in zip(delays, nominal, strict=True))
    backoff.reset()
    assert backoff.next_delay() <= 1.0


def test_probe_rows_show_a_known_float_in_the_right_order_only() -> None:
    words = encode_value(230.1, DataType.FLOAT32, word_order=ByteOrder.LITTLE)
    (first, _second) = decodings(words, 3000)
    assert first["address"] == 3000
    assert first["float32"]["CDAB"] == pytest.approx(230.1, rel=1e-6)
    assert first["float32"]["ABCD"] != pytest.approx(230.1, rel=1e-3)
    assert "float64" not in first  # 4 registers do not fit in 2


def test_probe_ranges_are_inclusive() -> None:
    assert parse_range("100-109") == (100, 10)
    assert parse_range("7") == (7, 1)
