"""The BACnet connector against real bacpypes3 devices on loopback UDP ports.

Each simulated device (:class:`simulators.bacnet_server.LoopbackBacnetDevice`) is a bacpypes3
application on ``127.0.0.1:<free port>``; the connector binds its own free port. Loopback has no
broadcast domain, so every device is addressed by unicast (discovery is per address:port).
"""

from __future__ import annotations

import gc
import itertools
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from typer.testing import CliRunner

from facility.app.cli import app
from facility.app.stack import Stack
from facility.core.errors import ConfigError, ServiceUnavailable
from facility.core.settings import Settings
from facility.core.types import Reading
from facility.core.wait import wait_until
from gateway.connectors import load_connectors, parse_connectors
from gateway.connectors.bacnet import BacnetConnector
from simulators.bacnet_server import (
    BacnetObjectSpec,
    BacnetSimulation,
    LoopbackBacnetDevice,
    LoopbackBbmd,
    free_udp_port,
)
from simulators.scenario import load_scenario
from tests.integration.test_modbus_connector import Collected as ModbusCollected

#: one object per kind and unit family, with a known value and the reading it must give
OBJECTS = [
    BacnetObjectSpec("sat", "analog-input", 1, "degrees-fahrenheit", value=55.4),
    BacnetObjectSpec("rat", "analog-input", 2, "degrees-celsius", value=22.5),
    BacnetObjectSpec("dsp", "analog-input", 3, "inches-of-water", value=1.5),
    BacnetObjectSpec("power", "analog-input", 4, "kilowatts", value=12.5),
    BacnetObjectSpec("energy", "analog-value", 1, "kilowatt-hours", value=1234.5),
    BacnetObjectSpec("flow", "analog-value", 2, "cubic-meters-per-hour", value=850.0),
    BacnetObjectSpec("damper", "analog-value", 3, "percent", value=35.0),
    BacnetObjectSpec("odd", "analog-value", 4, "degree-days-celsius", value=3.0),
    BacnetObjectSpec("fan", "binary-value", 1, value=1.0),
    BacnetObjectSpec("mode", "multi-state-value", 1, value=2.0),
]
POINTS: list[dict[str, Any]] = [
    {"metric": "supply_temperature", "type": "analog-input", "instance": 1},
    {"metric": "return_temperature", "type": "analogInput", "instance": 2},
    {"metric": "duct_static_pressure", "type": "analog-input", "instance": 3},
    {"metric": "power", "type": "analog-input", "instance": 4},
    {"metric": "energy", "type": "analog-value", "instance": 1},
    {"metric": "airflow", "type": "analog-value", "instance": 2},
    {"metric": "outdoor_air_damper", "type": "analog-value", "instance": 3},
    {"metric": "state", "type": "binary-value", "instance": 1},
    {"metric": "mode", "type": "multi-state-value", "instance": 1},
]
EXPECTED = {
    "supply_temperature": (13.0, "degC"),
    "return_temperature": (22.5, "degC"),
    "duct_static_pressure": (1.5 * 249.08891, "Pa"),
    "power": (12500.0, "W"),
    "energy": (1234.5, "kWh"),
    "airflow": (850.0, "m^3/h"),
    "outdoor_air_damper": (35.0, "%"),
    "state": (1.0, "bool"),
    "mode": (2.0, ""),
}


class Collected(ModbusCollected):
    """What a connector emitted (the Modbus tests' collector), filtered by metric too."""

    def readings(self, device: str | None = None, metric: str | None = None) -> list[Reading]:
        return [r for r in super().readings(device) if metric is None or r.metric == metric]

    def saw(self, device: str, metric: str, value: float) -> bool:
        return any(r.value == pytest.approx(value, abs=1e-3) for r in self.readings(device, metric))


@pytest.fixture(autouse=True)
def _collect_bacpypes_garbage() -> Iterator[None]:
    """bacpypes3 leaves reference cycles behind; collected here, not in the middle of a later
    ``compile`` (CPython 3.11 then fails with "AST constructor recursion depth mismatch")."""
    yield
    gc.collect()


@pytest.fixture
def device() -> Iterator[LoopbackBacnetDevice]:
    with LoopbackBacnetDevice(OBJECTS, instance=1001) as served:
        yield served


def _device(
    name: str, served: LoopbackBacnetDevice, points: list[dict[str, Any]], **extra: Any
) -> dict[str, Any]:
    return {
        "name": name,
        "address": served.address,
        "instance": served.instance,
        "poll_s": 0.2,
        "timeout_s": 1.0,
        "backoff_max_s": 0.5,
        "points": points,
        **extra,
    }


def _connector(collected: Collected, *devices: dict[str, Any]) -> BacnetConnector:
    config = parse_connectors(
        {"bacnet": {"bind": f"127.0.0.1:{free_udp_port()}", "devices": list(devices)}}
    )
    return BacnetConnector(config.bacnet, emit=collected)


@pytest.fixture
def running() -> Iterator[list[BacnetConnector]]:
    """Connectors a test starts; stopped at teardown even when the test fails."""
    started: list[BacnetConnector] = []
    yield started
    for connector in started:
        connector.stop()


def test_every_point_type_and_unit_round_trips_a_known_value_with_one_rpm_per_poll(
    device: LoopbackBacnetDevice, running: list[BacnetConnector]
) -> None:
    collected = Collected()
    connector = _connector(collected, _device("ahu-1", device, POINTS, poll_s=0.3))
    running.append(connector.start())
    wait_until(
        lambda: {r.metric for r in collected.readings("ahu-1")} >= set(EXPECTED),
        timeout_s=30,
        what="every point read",
    )
    for metric, (value, unit) in EXPECTED.items():
        reading = collected.readings("ahu-1", metric)[0]
        assert reading.value == pytest.approx(value, abs=1e-4), metric
        assert reading.unit == unit, metric
        assert reading.quality == "good"
    stats = connector.stats["ahu-1"]
    assert stats.rpm is True
    assert stats.rp_requests == 0
    # nine points on nine objects: one request per poll at the device, never one per point
    assert device.requests["ReadPropertyRequest"] == 0
    assert 1 <= device.requests["ReadPropertyMultipleRequest"] <= stats.polls


def test_a_device_without_rpm_is_read_property_by_property_and_remembered(
    running: list[BacnetConnector],
) -> None:
    collected = Collected()
    with LoopbackBacnetDevice(OBJECTS, instance=1002, rpm=False) as small:
        connector = _connector(collected, _device("vav-1", small, POINTS[:2]))
        running.append(connector.start())
        wait_until(lambda: connector.stats["vav-1"].polls >= 3, timeout_s=30, what="3 polls")
        wait_until(lambda: len(collected.readings("vav-1")) >= 4, timeout_s=30, what="readings")
        assert small.requests["ReadPropertyMultipleRequest"] == 1  # tried once, remembered
        assert connector.stats["vav-1"].rpm is False
        # two objects: present-value and status-flags each, units once per object
        assert small.requests["ReadPropertyRequest"] >= 2 * 2 * 2
        reading = collected.readings("vav-1", "supply_temperature")[-1]
        assert reading.value == pytest.approx(13.0, abs=1e-4)


def test_status_flags_become_quality(
    device: LoopbackBacnetDevice, running: list[BacnetConnector]
) -> None:
    collected = Collected()
    connector = _connector(collected, _device("ahu-1", device, POINTS[:3]))
    running.append(connector.start())
    wait_until(lambda: collected.readings("ahu-1", "return_temperature"), timeout_s=30, what="read")
    device.set_flags("sat", fault=True)
    device.set_flags("rat", out_of_service=True)

    def qualities() -> dict[str, str]:
        return {r.metric: r.quality for r in collected.readings("ahu-1")}

    wait_until(
        lambda: (
            qualities()
            == {
                "supply_temperature": "bad",
                "return_temperature": "uncertain",
                "duct_static_pressure": "good",
            }
        ),
        timeout_s=30,
        what="qualities from the status flags",
    )


def test_bad_values_are_rejected_with_reasons_and_the_rest_flows(
    device: LoopbackBacnetDevice, running: list[BacnetConnector]
) -> None:
    points = [
        *POINTS[:1],
        {"metric": "odd_value", "type": "analog-value", "instance": 4},  # unit not mapped
        {"metric": "ghost", "type": "analog-value", "instance": 99},  # no such object
        {"metric": "capped", "type": "analog-value", "instance": 3, "max": 10},  # 35 > 10
        {"metric": "declared", "type": "analog-value", "instance": 4, "unit": "h"},
    ]
    collected = Collected()
    connector = _connector(collected, _device("ahu-1", device, points))
    running.append(connector.start())
    stats = connector.stats["ahu-1"]
    wait_until(lambda: stats.polls >= 2, timeout_s=30, what="two polls")
    wait_until(
        lambda: {"bad_unit", "bacnet_error", "out_of_range"} <= set(stats.rejected),
        timeout_s=30,
        what="three reasons counted",
    )
    assert {r.metric for r in collected.readings("ahu-1")} == {"supply_temperature", "declared"}
    declared = collected.readings("ahu-1", "declared")[0]
    assert (declared.value, declared.unit) == (3.0, "h")


def test_a_silent_device_goes_offline_and_returns_without_delaying_the_others(
    running: list[BacnetConnector],
) -> None:
    collected = Collected()
    with (
        LoopbackBacnetDevice(OBJECTS, instance=2001) as quiet,
        LoopbackBacnetDevice(OBJECTS, instance=2002) as steady,
    ):
        connector = _connector(
            collected,
            _device("quiet", quiet, POINTS[:2], timeout_s=1.0),
            _device("steady", steady, POINTS[:2], poll_s=0.2),
        )
        running.append(connector.start())
        wait_until(lambda: collected.readings("quiet"), timeout_s=30, what="quiet read once")
        quiet.stop_answering()
        silenced = time.monotonic()
        wait_until(
            lambda: collected.presence("quiet") == [False], timeout_s=30, what="quiet offline"
        )
        polls_before = len(connector.stats["steady"].answered_at)
        wait_until(
            lambda: len(connector.stats["steady"].answered_at) >= polls_before + 5,
            timeout_s=30,
            what="steady keeps polling",
        )
        during = [t for t in connector.stats["steady"].answered_at if t >= silenced]
        gaps = [b - a for a, b in itertools.pairwise(during)]
        # the quiet device's 1 s timeouts never hold the steady device's 0.2 s polls back
        assert gaps
        assert max(gaps) < 0.9, gaps
        assert collected.presence("steady") == []
        quiet.answer_again()
        wait_until(
            lambda: collected.presence("quiet") == [False, True], timeout_s=30, what="back online"
        )
        count = len(collected.readings("quiet"))
        wait_until(
            lambda: len(collected.readings("quiet")) > count, timeout_s=30, what="reads again"
        )
        assert connector.stats["quiet"].failures >= 1


def test_cov_updates_arrive_and_the_subscription_is_renewed_before_its_lifetime(
    device: LoopbackBacnetDevice, running: list[BacnetConnector]
) -> None:
    collected = Collected()
    # a long poll period: updates within it can only come from COV notifications
    connector = _connector(
        collected,
        _device("ahu-1", device, POINTS[:1], poll_s=30, cov=True, cov_lifetime_s=5),
    )
    running.append(connector.start())
    stats = connector.stats["ahu-1"]
    wait_until(lambda: stats.cov_subscribed >= 1, timeout_s=30, what="subscribed")
    subscribed_at = time.monotonic()
    device.set_value("sat", 68.0)  # °F → 20 °C
    wait_until(
        lambda: collected.saw("ahu-1", "supply_temperature", 20.0),
        timeout_s=10,
        what="the COV notification's reading",
    )
    # bacpypes3 renews at lifetime - 2 s; a second SubscribeCOV before 5 s have passed
    wait_until(
        lambda: device.requests["SubscribeCOVRequest"] >= 2,
        timeout_s=10,
        what="the subscription renewed",
    )
    assert time.monotonic() - subscribed_at < 5.0 + 2.0  # renewed, not re-made after a lapse
    wait_until(lambda: time.monotonic() - subscribed_at > 6, timeout_s=10, what="past a lifetime")
    device.set_value("sat", 77.0)  # 25 °C, after the first lifetime ended
    wait_until(
        lambda: collected.saw("ahu-1", "supply_temperature", 25.0),
        timeout_s=10,
        what="a notification after the first lifetime",
    )
    assert stats.cov_readings >= 2
    assert device.requests["ReadPropertyMultipleRequest"] == 1  # only the first poll


def test_a_refused_cov_subscription_falls_back_to_polling(running: list[BacnetConnector]) -> None:
    collected = Collected()
    with LoopbackBacnetDevice(OBJECTS, instance=3001, cov=False) as plain:
        connector = _connector(collected, _device("ahu-9", plain, POINTS[:1], cov=True))
        running.append(connector.start())
        stats = connector.stats["ahu-9"]
        wait_until(lambda: stats.cov_refused == 1, timeout_s=30, what="COV refused")
        plain.set_value("sat", 68.0)
        wait_until(
            lambda: collected.saw("ahu-9", "supply_temperature", 20.0),
            timeout_s=30,
            what="the change seen by polling",
        )
        assert plain.requests["SubscribeCOVRequest"] == 1  # refused once, not retried per poll


def test_discover_lists_the_simulated_devices_and_writes_a_config_that_loads(
    tmp_path: Path,
) -> None:
    from simulators.bacnet_server import object_specs

    ahu = object_specs({"supply_air_temperature": 13.0, "supply_fan_status": 1.0, "odd": 1.0})
    with (
        LoopbackBacnetDevice(ahu, instance=4001, name="ahu-7") as first,
        LoopbackBacnetDevice(OBJECTS, instance=4002, name="plant room", rpm=False) as second,
    ):
        out = tmp_path / "connectors.yaml"
        result = CliRunner().invoke(
            app,
            [
                "bacnet",
                "discover",
                "--address",
                first.address,
                "--address",
                second.address,
                "--bind",
                f"127.0.0.1:{free_udp_port()}",
                "--timeout",
                "5",
                "--output",
                str(out),
            ],
        )
        assert result.exit_code == 0, result.output
        lines = [orjson.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
        assert {(line["device"], line["name"]) for line in lines} >= {
            (4001, "supply_air_temperature"),
            (4002, "sat"),
        }
        sat = next(line for line in lines if line["name"] == "sat")
        assert (sat["type"], sat["units"]) == ("analog-input", "degrees-fahrenheit")
        config = load_connectors(out)
        names = {device.name: device for device in config.bacnet.devices}
        assert set(names) == {"ahu-7", "plant-room"}
        assert names["plant-room"].address == second.address
        assert "degree-days-celsius" in out.read_text()  # the unmapped unit is pointed out
        metrics = {p.metric for p in names["ahu-7"].points}
        assert {"supply_air_temperature", "supply_fan_status"} <= metrics


def test_discover_says_when_nothing_answered() -> None:
    silent = free_udp_port()
    result = CliRunner().invoke(
        app,
        [
            "bacnet",
            "discover",
            "--address",
            f"127.0.0.1:{silent}",
            "--timeout",
            "0.5",
            "--bind",
            f"127.0.0.1:{free_udp_port()}",
        ],
    )
    assert isinstance(result.exception, ServiceUnavailable)  # `facility` prints it as one line
    assert "no BACnet device answered" in str(result.exception)


def test_discover_refuses_a_broadcast_it_cannot_send_and_a_bad_bind() -> None:
    broadcast = CliRunner().invoke(app, ["bacnet", "discover", "--bind", "127.0.0.1:0"])
    assert isinstance(broadcast.exception, ConfigError)
    assert "--bind ADDRESS/PREFIX" in str(broadcast.exception)
    bad_bind = CliRunner().invoke(
        app, ["bacnet", "discover", "--bind", "no-such-host", "--address", "127.0.0.1"]
    )
    assert isinstance(bad_bind.exception, ConfigError)
    assert "is not usable" in str(bad_bind.exception)


@pytest.mark.parametrize("bad", ["10.0.0.0/33", "not an address", "10.0.0.1:99999"])
def test_discover_refuses_a_bad_address_with_what_to_give(bad: str) -> None:
    result = CliRunner().invoke(app, ["bacnet", "discover", "--address", bad])
    assert isinstance(result.exception, ConfigError)
    assert "--address" in str(result.exception)


def test_simulated_scenario_over_bacnet_is_stored_by_the_serve_stack(
    settings: Settings, tmp_path: Path, make_stack: Callable[..., Stack]
) -> None:
    """``facility simulate --protocol bacnet`` + its connectors file + ``facility serve``."""
    simulation = BacnetSimulation(
        load_scenario("office"), device_ids=["ahu-1", "room-101"], seed=3
    ).start()
    try:
        path = tmp_path / "connectors.yaml"
        path.write_text(yaml.safe_dump(simulation.connectors(poll_s=0.5)))
        settings.connectors_file = path
        stack = make_stack()
        assert stack.bacnet is not None
        wait_until(
            lambda: (
                {"ahu-1", "room-101"} <= {s.device for s in stack.states.list_states() if s.online}
            ),
            timeout_s=30,
            what="both simulated devices heard",
        )
        page = stack.readings.query(
            device="ahu-1", metric="supply_temperature", start=None, end=None, limit=1, cursor=None
        )
        assert page.items
        assert page.items[0].unit == "degC"
        assert 5.0 < page.items[0].value < 40.0
        served = simulation.devices["ahu-1"]
        assert served.requests["ReadPropertyMultipleRequest"] >= 1
        assert served.requests["SubscribeCOVRequest"] >= 1
    finally:
        simulation.stop()


def test_the_connector_registers_as_a_foreign_device_with_a_bbmd(
    device: LoopbackBacnetDevice, running: list[BacnetConnector]
) -> None:
    collected = Collected()
    bind = f"127.0.0.1:{free_udp_port()}"
    with LoopbackBbmd() as bbmd:
        config = parse_connectors(
            {
                "bacnet": {
                    "bind": bind,
                    "foreign": {"bbmd": bbmd.address, "ttl_s": 60},
                    "devices": [_device("ahu-1", device, POINTS[:1])],
                }
            }
        )
        connector = BacnetConnector(config.bacnet, emit=collected)
        running.append(connector.start())
        wait_until(lambda: bind in bbmd.foreign_devices(), timeout_s=30, what="registered")
        assert bbmd.foreign_devices()[bind] == 60
        wait_until(lambda: collected.readings("ahu-1"), timeout_s=30, what="reads as before")


@pytest.mark.parametrize("protocol", ["bacnet", "modbus"])
def test_simulate_serves_the_scenario_and_prints_a_connectors_file_that_loads(
    protocol: str, tmp_path: Path
) -> None:
    result = CliRunner().invoke(
        app,
        ["simulate", "--protocol", protocol, "--devices", "2", "--duration", "2", "--speed", "2"],
    )
    assert result.exit_code == 0, result.output
    path = tmp_path / "connectors.yaml"
    path.write_text(result.stdout[result.stdout.index("connectors:") :])
    config = load_connectors(path)
    section = config.bacnet if protocol == "bacnet" else config.modbus
    assert [d.name for d in section.devices] == ["ahu-1", "room-101"]
    assert any(p.metric == "supply_temperature" for p in section.devices[0].points)


def test_simulate_refuses_an_unknown_protocol() -> None:
    result = CliRunner().invoke(app, ["simulate", "--protocol", "knx"])
    assert isinstance(result.exception, ConfigError)
    assert "choose mqtt, bacnet or modbus" in str(result.exception)
