"""The Modbus connector against a real pymodbus server on a loopback port, and in the Stack."""

from __future__ import annotations

import itertools
import math
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from prometheus_client import REGISTRY
from typer.testing import CliRunner

from facility.app.stack import Stack
from facility.core.settings import Settings
from facility.core.types import Presence, Reading
from facility.core.wait import wait_until
from gateway.connectors import ByteOrder, DataType, ModbusConfig, encode_value, parse_connectors
from gateway.connectors.modbus import ModbusConnector
from simulators.modbus_server import LoopbackModbusServer


@pytest.fixture
def server() -> Iterator[LoopbackModbusServer]:
    """A simulated device on a free loopback port; stopped at teardown."""
    with LoopbackModbusServer() as device:
        yield device


@pytest.fixture
def other_server() -> Iterator[LoopbackModbusServer]:
    with LoopbackModbusServer() as device:
        yield device


class Collected:
    """What a connector emitted, with the monotonic time of each emit; thread-safe."""

    def __init__(self) -> None:
        self.items: list[tuple[float, str, Reading | Presence]] = []
        self._lock = threading.Lock()

    def __call__(self, source: str, items: Sequence[Reading | Presence]) -> None:
        now = time.monotonic()
        with self._lock:
            self.items.extend((now, source, item) for item in items)

    def readings(self, device: str | None = None) -> list[Reading]:
        with self._lock:
            found = [i for _, _, i in self.items if isinstance(i, Reading)]
        return [r for r in found if device is None or r.device == device]

    def presence(self, device: str) -> list[bool]:
        with self._lock:
            return [
                i.online for _, _, i in self.items if isinstance(i, Presence) and i.device == device
            ]


def _device(
    name: str, server: LoopbackModbusServer, points: list[dict[str, Any]], **extra: Any
) -> dict[str, Any]:
    return {
        "name": name,
        "host": "127.0.0.1",
        "port": server.port,
        "poll_s": 0.1,
        "timeout_s": 0.5,
        "retries": 0,
        "points": points,
        **extra,
    }


def _config(*devices: dict[str, Any]) -> ModbusConfig:
    return parse_connectors({"connectors": {"modbus": {"devices": list(devices)}}}).modbus


@pytest.fixture
def run_connector() -> Iterator[Callable[[ModbusConfig], tuple[ModbusConnector, Collected]]]:
    started: list[ModbusConnector] = []

    def run(config: ModbusConfig) -> tuple[ModbusConnector, Collected]:
        collected = Collected()
        connector = ModbusConnector(config, emit=collected).start()
        started.append(connector)
        return connector, collected

    yield run
    for connector in started:
        connector.stop()


KNOWN: dict[DataType, float] = {
    DataType.INT16: -12345,
    DataType.UINT16: 54321,
    DataType.INT32: -123_456_789,
    DataType.UINT32: 3_000_000_000,
    DataType.INT64: -(2**40) - 3,
    DataType.FLOAT32: 21.5,
    DataType.FLOAT64: 1234.56789012345,
}


def test_every_type_and_order_round_trips_a_known_value_through_a_real_server(
    server: LoopbackModbusServer, run_connector: Callable[..., tuple[ModbusConnector, Collected]]
) -> None:
    points: list[dict[str, Any]] = []
    expected: dict[str, float] = {}
    address = 0
    for data_type, value in KNOWN.items():
        for byte_order in ByteOrder:
            for word_order in ByteOrder:
                words = encode_value(value, data_type, byte_order=byte_order, word_order=word_order)
                server.set_registers("input", address, words)
                metric = f"{data_type}_{byte_order}_{word_order}"
                points.append(
                    {
                        "metric": metric,
                        "function": "input",
                        "address": address,
                        "type": str(data_type),
                        "byte_order": str(byte_order),
                        "word_order": str(word_order),
                    }
                )
                expected[metric] = value
                address += len(words)
    server.set_registers("holding", 500, [0b1010_0000_0000_0000])
    server.set_registers("holding", 510, encode_value("230.5", DataType.STRING, length=6))
    server.set_bits("coil", 7, [True])
    server.set_bits("discrete", 9, [True])
    points += [
        {"metric": "alarm_high", "address": 500, "type": "bool", "bit": 15},
        {"metric": "alarm_low", "address": 500, "type": "bool", "bit": 14},
        {"metric": "voltage", "address": 510, "type": "string", "length": 6},
        {"metric": "state", "function": "coil", "address": 7},
        {"metric": "contact", "function": "discrete", "address": 9},
    ]
    expected |= {
        "alarm_high": 1.0,
        "alarm_low": 0.0,
        "voltage": 230.5,
        "state": 1.0,
        "contact": 1.0,
    }
    _, collected = run_connector(_config(_device("plant", server, points)))
    wait_until(
        lambda: len({r.metric for r in collected.readings()}) == len(expected),
        timeout_s=10,
        what="one reading of every point",
    )
    got = {r.metric: r.value for r in collected.readings()}
    for metric, value in expected.items():
        assert math.isclose(got[metric], value, rel_tol=1e-15), metric


def test_200_contiguous_registers_are_read_in_two_requests_counted_at_the_server(
    server: LoopbackModbusServer, run_connector: Callable[..., tuple[ModbusConnector, Collected]]
) -> None:
    server.set_registers("holding", 0, list(range(200)))
    points = [{"metric": f"r{a}", "address": a} for a in range(200)]
    connector, collected = run_connector(_config(_device("meter", server, points, poll_s=60)))
    wait_until(lambda: len(collected.readings()) == 200, timeout_s=10, what="200 readings")
    assert server.requests == {"holding": math.ceil(200 / 125)}
    assert server.request_sizes == [("holding", 0, 125), ("holding", 125, 75)]
    assert connector.stats["meter"].requests == 2
    assert {r.metric: r.value for r in collected.readings()}["r199"] == 199.0


def test_a_silent_device_goes_offline_and_back_without_delaying_another(
    server: LoopbackModbusServer,
    other_server: LoopbackModbusServer,
    run_connector: Callable[..., tuple[ModbusConnector, Collected]],
) -> None:
    server.set_registers("holding", 0, [215])
    other_server.set_registers("holding", 0, [42])
    point = [{"metric": "temperature", "address": 0, "scale": 0.1}]
    silent = _device("chiller", server, point, timeout_s=1.0, backoff_max_s=0.4)
    steady = _device("boiler", other_server, point)
    connector, collected = run_connector(_config(silent, steady))
    wait_until(
        lambda: collected.readings("chiller") and collected.readings("boiler"),
        timeout_s=10,
        what="both devices polled",
    )

    server.stop_answering()
    wait_until(
        lambda: collected.presence("chiller") == [False], timeout_s=10, what="chiller offline"
    )
    outage_began = time.monotonic()
    wait_until(
        lambda: connector.stats["chiller"].failures >= 2,
        timeout_s=10,
        what="a second failed try of the chiller (backing off)",
    )
    outage_seen = time.monotonic()
    server.answer_again()
    wait_until(
        lambda: collected.presence("chiller") == [False, True],
        timeout_s=10,
        what="chiller online again",
    )
    wait_until(
        lambda: any(
            t > outage_seen
            for t, _, r in collected.items
            if isinstance(r, Reading) and r.device == "chiller"
        ),
        timeout_s=10,
        what="chiller readings after it came back",
    )

    # the boiler kept its 0.1 s pace while the chiller timed out (1 s a try) and backed off
    polls = [
        t for t in connector.stats["boiler"].answered_at if outage_began - 0.2 <= t <= outage_seen
    ]
    assert len(polls) >= 5
    gaps = [b - a for a, b in itertools.pairwise(polls)]
    assert max(gaps) < 0.6, gaps
    assert connector.stats["boiler"].failures == 0
    assert collected.presence("boiler") == []


def _rejected(reason: str) -> float:
    return REGISTRY.get_sample_value("facility_gateway_rejected_total", {"reason": reason}) or 0.0


def test_bad_values_are_rejected_with_reasons_and_counted_and_good_ones_flow(
    server: LoopbackModbusServer, run_connector: Callable[..., tuple[ModbusConnector, Collected]]
) -> None:
    server.set_registers("holding", 0, encode_value(float("nan"), DataType.FLOAT32))
    server.set_registers("holding", 2, [150])
    server.set_registers("holding", 3, [450])
    before = {
        reason: _rejected(reason) for reason in ("not_finite", "out_of_range", "modbus_exception")
    }
    points = [
        {"metric": "power", "address": 0, "type": "float32"},
        {"metric": "humidity", "address": 2, "max": 100},
        {"metric": "co2", "address": 3},
        {"metric": "pressure", "address": 998, "type": "float64", "unit": "Pa"},  # beyond the map
    ]
    connector, collected = run_connector(_config(_device("room-1", server, points, poll_s=60)))
    wait_until(
        lambda: sum(connector.stats["room-1"].rejected.values()) == 3,
        timeout_s=10,
        what="three rejections",
    )
    assert dict(connector.stats["room-1"].rejected) == {
        "not_finite": 1,
        "out_of_range": 1,
        "modbus_exception": 1,
    }
    for reason, count in before.items():
        assert _rejected(reason) == count + 1, reason
    assert [(r.metric, r.value) for r in collected.readings()] == [("co2", 450.0)]
    assert connector.stats["room-1"].online is True  # an exception answer is still an answer


def test_probe_prints_every_decoding_of_a_range_as_json_lines(server: LoopbackModbusServer) -> None:
    from facility.app.cli import app

    server.set_registers(
        "input", 300, encode_value(230.1, DataType.FLOAT32, word_order=ByteOrder.LITTLE)
    )
    result = CliRunner().invoke(
        app,
        [
            "modbus",
            "probe",
            "127.0.0.1",
            "--port",
            str(server.port),
            "--registers",
            "300-303",
            "--function",
            "input",
        ],
    )
    assert result.exit_code == 0, result.output
    rows = [orjson.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert [row["address"] for row in rows] == [300, 301, 302, 303]
    assert rows[0]["float32"]["CDAB"] == pytest.approx(230.1, rel=1e-6)
    assert server.requests == {"input": 1}


def test_serve_stack_stores_modbus_readings_and_presence_like_mqtt_ones(
    server: LoopbackModbusServer,
    settings: Settings,
    tmp_path: Path,
    make_stack: Callable[..., Stack],
) -> None:
    server.set_registers("input", 0, [224])
    path = tmp_path / "connectors.yaml"
    points = [{"metric": "temperature", "function": "input", "address": 0, "scale": 0.1}]
    path.write_text(
        yaml.safe_dump(
            {
                "connectors": {
                    "modbus": {
                        "devices": [
                            _device("ahu-1", server, points, timeout_s=0.3, backoff_max_s=0.3)
                        ]
                    }
                }
            }
        )
    )
    settings.connectors_file = path
    stack = make_stack()
    assert stack.modbus is not None
    wait_until(lambda: stack.readings.count() >= 1, timeout_s=10, what="a Modbus reading stored")
    page = stack.readings.query(
        device="ahu-1", metric="temperature", start=None, end=None, limit=1, cursor=None
    )
    assert page.items[0].value == pytest.approx(22.4)
    server.stop_answering()
    wait_until(
        lambda: not next(s for s in stack.states.list_states() if s.device == "ahu-1").online,
        timeout_s=10,
        what="ahu-1 recorded offline",
    )
    server.answer_again()
    wait_until(
        lambda: next(s for s in stack.states.list_states() if s.device == "ahu-1").online,
        timeout_s=10,
        what="ahu-1 recorded online again",
    )
