"""``facility demo --protocol bacnet``: the AHU over BACnet/IP gives the MQTT demo's work order."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx

from facility.core.wait import wait_until
from gateway.broker import free_port
from tests.e2e.test_demo import FACILITY, demo_env, token


def test_demo_over_bacnet_shows_the_same_first_work_order_and_stops_cleanly(
    tmp_path: Path,
) -> None:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    process = subprocess.Popen(
        [FACILITY, "demo", "--protocol", "bacnet"],
        env=demo_env(tmp_path, port),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        wait_until(
            lambda: httpx.get(f"{base_url}/healthz", timeout=10).status_code == 200,
            timeout_s=120,
            what="API up",
        )
        headers = {"Authorization": f"Bearer {token(base_url)}"}

        def work_orders() -> list[dict[str, object]]:
            body = httpx.get(f"{base_url}/api/v1/work-orders", headers=headers, timeout=30).json()
            return list(body["items"])

        wait_until(work_orders, timeout_s=90, interval_s=1, what="first work order")
        elapsed_s = time.monotonic() - started
        (order,) = work_orders()
        assert order["rule"] == "ahu-supply-air-too-warm"
        assert order["asset"] == "AHU-1"
        assert order["device"] == "ahu-1"
        assert order["source"] == "rule"
    finally:
        os.killpg(process.pid, signal.SIGINT)
        _, stderr = process.communicate(timeout=90)
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert "BACnet device 1001 (ahu-1)" in stderr  # the AHU was served over BACnet
    assert "stopped" in stderr
    print(f"first work order over BACnet after {elapsed_s:.1f} s")


def test_demo_refuses_an_unknown_protocol_with_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [FACILITY, "demo", "--protocol", "zigbee"],
        env=demo_env(tmp_path, free_port()),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "--protocol 'zigbee': choose mqtt or bacnet" in result.stderr
    assert "Traceback" not in result.stderr
