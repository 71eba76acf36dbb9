"""End-to-end latency: threshold-crossing reading published → work order committed.

A whole worker (``Stack`` without the API: gateway, rules, maintenance on SQLite, as
``facility serve`` runs on the embedded defaults) runs against Mosquitto while another process
publishes the campus at a steady 1,000 readings/s. Every 100 ms a probe publishes one reading
above a rule's threshold for a fresh device; the time from just before its publish until the
work-order transaction has committed (the stack's alert handler returned) is one sample.

Target: p99 <= 250 ms.
Run: .venv/bin/python -m benchmarks.bench_latency [--probes N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from benchmarks._common import broker, percentile, report, session_client
from facility.app.stack import Stack, StackOptions
from facility.core.settings import load_settings
from facility.core.types import Alert, AlertState

RULES = """
rules:
  - name: probe-too-hot
    kind: threshold
    select: {device: "probe-*", metric: temperature}
    above: 100
    severity: major
  - name: ahu-supply-air-too-warm
    kind: threshold
    select: {device: "ahu-*", metric: supply_temperature}
    above: 16.0
    for: 10m
    severity: major
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--probes", type=int, default=200)
    parser.add_argument("--readings-per-s", type=float, default=1000.0)
    args = parser.parse_args()
    for key in [k for k in os.environ if k.startswith("FACILITY_")]:
        os.environ.pop(key)
    with broker() as mosquitto, tempfile.TemporaryDirectory(prefix="bench-latency-") as tmp:
        rules = Path(tmp) / "rules.yaml"
        rules.write_text(RULES, encoding="utf-8")
        settings = load_settings(
            data_dir=Path(tmp) / "data",
            secret_key="bench-secret-key-0123456789abcdef",
            # a site whose devices are all known: admitted, and no bound on new ids
            admit_devices="*",
            new_device_rate="10000000/minute",
        )
        stack = Stack(
            settings,
            StackOptions(
                broker_url=mosquitto.url, api=False, rules_file=rules, client_id="bench-lat"
            ),
        )
        committed: dict[str, float] = {}
        done = threading.Condition()
        handle = stack._handle

        def timed_handle(alerts: list[Alert]) -> None:
            handle(alerts)  # returns once the work order is committed
            now = time.perf_counter()
            with done:
                for alert in alerts:
                    if alert.state is AlertState.FIRING and alert.device.startswith("probe-"):
                        committed[alert.device] = now
                done.notify_all()

        stack._handle = timed_handle  # type: ignore[method-assign]
        stack.start()
        seconds = args.probes * 0.1 + 10
        load = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "benchmarks._load",
                "--port",
                str(mosquitto.port),
                "--readings-per-s",
                str(args.readings_per_s),
                "--seconds",
                str(seconds),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        probe = session_client("bench-probe", mosquitto.port)
        latencies: list[float] = []
        try:
            time.sleep(3.0)  # let the background load reach its steady rate
            deadline = time.monotonic() + 30
            while stack.gateway._queue.qsize() > 50 and time.monotonic() < deadline:
                time.sleep(0.1)
            stored_before = stack.gateway.stats.stored
            window_start = time.perf_counter()
            for i in range(args.probes):
                device = f"probe-{i}"
                sent = time.perf_counter()
                probe.publish(f"facility/bench/{device}/temperature", b"150.0", qos=1)
                with done:
                    if not done.wait_for(lambda d=device: d in committed, timeout=10):  # type: ignore[misc]
                        raise RuntimeError(f"no work order for {device} within 10 s")
                latencies.append((committed[device] - sent) * 1000.0)
                time.sleep(max(0.0, 0.1 - (time.perf_counter() - sent)))
            background = (stack.gateway.stats.stored - stored_before - args.probes) / (
                time.perf_counter() - window_start
            )
        finally:
            probe.disconnect()
            load.terminate()
            load.wait(timeout=10)
            stack.stop()
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    print(f"background load: {background:,.0f} readings/s stored while probing")
    print(f"probes: {len(latencies)}, one every 100 ms")
    print(
        f"publish -> committed work order: p50 {p50:.1f} ms, p99 {p99:.1f} ms, "
        f"max {max(latencies):.1f} ms, mean {statistics.mean(latencies):.1f} ms "
        "(target p99 <= 250 ms)"
    )
    report(
        {
            "benchmark": "latency",
            "probes": len(latencies),
            "background_readings_per_s": round(background),
            "p50_ms": round(p50, 1),
            "p99_ms": round(p99, 1),
            "max_ms": round(max(latencies), 1),
            "target_p99_ms": 250,
        }
    )


if __name__ == "__main__":
    main()
