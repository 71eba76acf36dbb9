"""``facility simulate`` as a user runs it: piped into ``gateway decode``, and against Mosquitto."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest

from facility.core.wait import wait_until
from gateway.broker import MosquittoBroker, free_port
from gateway.mqtt import Message, MqttConnection, MqttOptions
from simulators.runner import Simulator
from simulators.scenario import FORMATS, SCENARIO_DIR, load_scenario

FACILITY = [sys.executable, "-m", "facility.app.cli"]
TIMESTAMPED = {"native", "zigbee2mqtt", "tasmota", "shelly"}


def facility(
    *args: str, stdin: bytes | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [*FACILITY, *args], input=stdin, capture_output=True, timeout=timeout, check=False
    )


def lines(output: bytes) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in output.splitlines() if line.strip()]


@pytest.mark.parametrize("fmt", FORMATS)
def test_vendor_output_decodes_back_to_the_same_readings_through_gateway_decode(fmt: str) -> None:
    simulated = facility(
        "simulate", "--scenario", "plant", "--format", fmt, "--steps", "3", "--seed", "4", "--jsonl"
    )
    assert simulated.returncode == 0, simulated.stderr
    decoded = facility("gateway", "decode", stdin=simulated.stdout)
    assert decoded.returncode == 0, decoded.stderr
    results = lines(decoded.stdout)
    assert [r for r in results if r["kind"] != "reading"] == []

    expected = [
        r
        for m in Simulator(load_scenario("plant"), seed=4, fmt=fmt).messages(3)
        for r in m.readings
    ]

    def key(device: str, metric: str, value: float) -> tuple[str, str, float]:
        return device, metric, round(value, 6)

    assert Counter(key(r["device"], r["metric"], r["value"]) for r in results) == Counter(
        key(r.device, r.metric, r.value) for r in expected
    )
    if fmt in TIMESTAMPED:
        assert {r["ts"] for r in results} == {r.ts.isoformat() for r in expected}


def test_recorded_scenario_replays_into_its_expected_alerts() -> None:
    plant = load_scenario("plant")
    asset_of = {d.id: d.asset for d in plant.devices}
    rules = SCENARIO_DIR / "rules" / "plant.yaml"
    simulated = facility("simulate", "--scenario", "plant", "--steps", "240", "--jsonl")
    decoded = facility("gateway", "decode", stdin=simulated.stdout)
    replayed = facility("rules", "replay", "--rules", str(rules), stdin=decoded.stdout)
    assert replayed.returncode == 0, replayed.stderr
    fired = {
        (a["rule"], asset_of[a["device"]]) for a in lines(replayed.stdout) if a["state"] == "firing"
    }
    expected = lines(facility("simulate", "--scenario", "plant", "--expected").stdout)
    assert fired == {(e["rule"], e["asset"]) for e in expected}


def test_campus_slice_is_published_at_the_requested_rate_and_every_message_arrives(
    mosquitto: MosquittoBroker,
) -> None:
    received: list[Message] = []
    lock = threading.Lock()

    def on_message(message: Message) -> None:
        with lock:
            received.append(message)

    watcher = MqttConnection(MqttOptions(url=mosquitto.url, client_id="sim-watch"), on_message)
    watcher.connect()
    watcher.subscribe("facility/campus/#", qos=1)
    wait_until(lambda: watcher.is_connected, timeout_s=5, what="watcher connected")
    try:
        run = facility(
            "simulate",
            "--scenario",
            "campus",
            "--devices",
            "500",
            "--rate",
            "2000",
            "--steps",
            "3",
            "--broker",
            mosquitto.url,
        )
        assert run.returncode == 0, run.stderr

        def readings() -> list[Message]:
            with lock:
                return [m for m in received if not m.topic.endswith("/availability")]

        wait_until(lambda: len(readings()) >= 1500, timeout_s=20, what="1,500 readings arrive")
    finally:
        watcher.close()
    assert len(readings()) == 1500
    assert len({m.topic for m in readings()}) == 500
    summary = run.stderr.decode()
    assert "published 1,500 messages from 500 devices" in summary
    assert "msg/s achieved (2,000 msg/s)" in summary


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--scenario", "mall", "--jsonl", "--steps", "1"], "error: no scenario 'mall'"),
        (["--format", "modbus", "--jsonl", "--steps", "1"], "error: unknown --format 'modbus'"),
        (["--jsonl"], "error: --jsonl needs --steps"),
        (
            ["--broker", "mqtt://127.0.0.1:{port}", "--steps", "1"],
            "error: cannot reach MQTT broker",
        ),
        (["--broker", "http://example.invalid", "--steps", "1"], "error: MQTT URL"),
    ],
)
def test_bad_simulate_arguments_end_in_one_clear_error_line(args: list[str], message: str) -> None:
    args = [a.format(port=free_port()) for a in args]
    result = facility("simulate", *args)
    assert result.returncode == 1
    assert message in result.stderr.decode()
    assert "Traceback" not in result.stderr.decode()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rate", "0"], "--rate 0 is out of range"),
        (["--steps", "-1"], "--steps -1: give at least 1"),
        (["--qos", "3"], "--qos 3 is not an MQTT QoS"),
        (["--devices", "0", "--jsonl", "--steps", "1"], "--devices 0: give at least 1"),
    ],
)
def test_out_of_range_options_are_refused_by_name(args: list[str], message: str) -> None:
    result = facility("simulate", *args)
    assert result.returncode == 1
    assert message in result.stderr.decode()
    assert "Traceback" not in result.stderr.decode()


def test_a_hostile_scenario_file_is_refused_quickly(tmp_path: Path) -> None:
    laughs = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for n in range(1, 9):
        prev = chr(ord("a") + n - 1)
        laughs.append(f"{chr(ord('a') + n)}: &{chr(ord('a') + n)} [{', '.join(['*' + prev] * 10)}]")
    laughs.append("devices: *i")
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(laughs) + "\n", encoding="utf-8")
    result = facility("simulate", "--scenario", str(path), "--jsonl", "--steps", "1", timeout=30)
    assert result.returncode == 1
    assert "is invalid" in result.stderr.decode()
