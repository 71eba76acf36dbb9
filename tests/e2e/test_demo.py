"""``facility demo`` as a user runs it: a work order appears over HTTP, Ctrl-C stops cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from facility.core.wait import wait_until
from gateway.broker import free_port

PASSWORD = "e2e-demo-pass"
FACILITY = str(Path(sys.executable).with_name("facility"))


def demo_env(tmp_path: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACILITY_")}
    env.update(
        FACILITY_DATA_DIR=str(tmp_path / "data"),
        FACILITY_API_PORT=str(port),
        FACILITY_DEMO_PASSWORD=PASSWORD,
    )
    return env


def token(base_url: str) -> str:
    response = httpx.post(
        f"{base_url}/api/v1/auth/token",
        data={"username": "tech", "password": PASSWORD},
        timeout=60,
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


def test_demo_yields_a_work_order_within_a_minute_and_stops_cleanly_on_sigint(
    tmp_path: Path,
) -> None:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    process = subprocess.Popen(
        [FACILITY, "demo"],
        env=demo_env(tmp_path, port),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a shell gives a foreground job
    )
    try:
        wait_until(
            lambda: httpx.get(f"{base_url}/healthz", timeout=10).status_code == 200,
            timeout_s=120,
            what="API up",
        )
        headers = {"Authorization": f"Bearer {token(base_url)}"}

        def work_orders() -> list[dict[str, object]]:
            body = httpx.get(f"{base_url}/api/v1/work-orders", headers=headers, timeout=60).json()
            return list(body["items"])

        wait_until(work_orders, timeout_s=60, interval_s=1, what="first work order")
        elapsed_s = time.monotonic() - started
        (order,) = work_orders()
        assert order["rule"] == "ahu-supply-air-too-warm"
        assert order["asset"] == "AHU-1"
        assert order["source"] == "rule"
        devices = httpx.get(f"{base_url}/api/v1/devices", headers=headers, timeout=60).json()
        assert {d["id"] for d in devices} >= {"ahu-1", "room-101", "meter-main"}
    finally:
        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C: the whole group, broker included
        _, stderr = process.communicate(timeout=90)
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert "connection lost" not in stderr  # the broker outlived its clients
    assert f"127.0.0.1:{port}" in stderr
    assert "stopped" in stderr
    assert "wiped at every start" in " ".join(stderr.split()), "it says where its data goes"
    print(f"first work order after {elapsed_s:.1f} s")


def test_demo_moves_to_the_next_free_port_when_the_default_is_busy(tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        process = subprocess.Popen(
            [FACILITY, "demo"],
            env=demo_env(tmp_path, port),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:

            def moved() -> bool:
                for candidate in range(port + 1, port + 20):
                    try:
                        url = f"http://127.0.0.1:{candidate}/healthz"
                        if httpx.get(url, timeout=10).status_code == 200:
                            return True
                    except httpx.HTTPError:
                        continue
                return False

            wait_until(moved, timeout_s=120, interval_s=0.5, what="demo API on another port")
        finally:
            process.send_signal(signal.SIGINT)
            _, stderr = process.communicate(timeout=90)
    assert f"port {port} is busy" in stderr
    assert process.returncode == 0


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"FACILITY_API_PORT": "http"}, "FACILITY_API_PORT='http'"),
        ({"FACILITY_MQTT_URL": "mqtt://127.0.0.1:1"}, "cannot reach MQTT broker"),
    ],
)
def test_demo_refuses_bad_configuration_with_one_line(
    tmp_path: Path, env: dict[str, str], needle: str
) -> None:
    full_env = {**demo_env(tmp_path, free_port()), **env}
    result = subprocess.run(
        [FACILITY, "demo"], env=full_env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert needle in result.stderr
    assert "Traceback" not in result.stderr
