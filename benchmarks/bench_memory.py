"""Memory: resident set size of a gateway worker that knows 100,000 devices and their state.

A worker process (``Stack`` without the API: gateway, rules, maintenance, SQLite) is started on
its own; this process publishes one reading for each of 100,000 distinct devices. The worker
reports its RSS before the first message and once everything is stored and processed: what
the gateway keeps per known device (rules state, last-seen times, caches). One reading each
keeps the run within a few minutes: a first reading is the expensive one (new rows in the
device-state and rule-state tables), later ones update in place and add no per-device memory.

Target: RSS <= 200 MB with 100,000 devices.
Run: .venv/bin/python -m benchmarks.bench_memory [--devices N]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

from benchmarks._common import broker, publish_all, report, rss_mb

RULES = """
rules:
  - name: room-too-warm
    kind: threshold
    select: {device: "dev-*", metric: temperature}
    above: 27.0
    for: 30m
  - name: device-offline
    kind: offline
    select: {device: "*"}
    after: 1h
"""
TIMEOUT_S = 420.0


def worker(port: int, expected: int) -> None:
    """The measured process: a worker stack; prints its RSS as JSON lines."""
    from facility.app.stack import Stack, StackOptions
    from facility.core.settings import load_settings

    for key in [k for k in os.environ if k.startswith("FACILITY_")]:
        os.environ.pop(key)
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        rules = Path(tmp) / "rules.yaml"
        rules.write_text(RULES, encoding="utf-8")
        settings = load_settings(
            data_dir=Path(tmp) / "data",
            secret_key="bench-secret-key-0123456789abcdef",
            # a site whose devices are all known: admitted, and no bound on new ids
            admit_devices="dev-*",
            new_device_rate="10000000/minute",
        )
        stack = Stack(
            settings,
            StackOptions(
                broker_url=f"mqtt://127.0.0.1:{port}",
                api=False,
                rules_file=rules,
                client_id="bench-mem",
            ),
        ).start()
        gc.collect()
        print(json.dumps({"ready": True, "rss_mb": rss_mb()}), flush=True)
        deadline = time.monotonic() + TIMEOUT_S
        while stack.gateway.stats.stored < expected and time.monotonic() < deadline:
            time.sleep(0.2)
        stack.gateway.wait_idle(30)
        gc.collect()
        print(
            json.dumps(
                {
                    "stored": stack.gateway.stats.stored,
                    "rss_mb": rss_mb(),
                    "tracked_devices": len(stack.engine._last_seen),
                }
            ),
            flush=True,
        )
        stack.stop()


def messages(devices: int, round_: int) -> list[tuple[str, bytes]]:
    return [
        (
            f"facility/mem/dev-{i:06d}",
            orjson.dumps({"temperature": 21.0 + (i % 50) / 10 + round_}),
        )
        for i in range(devices)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--worker-port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--expected", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker_port:
        worker(args.worker_port, args.expected)
        return
    expected = args.devices
    with broker() as mosquitto:
        child = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "benchmarks.bench_memory",
                "--worker-port",
                str(mosquitto.port),
                "--expected",
                str(expected),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdout is not None
        try:
            before = json.loads(child.stdout.readline())
            started = time.perf_counter()
            publish_all(mosquitto.port, messages(args.devices, 0))
            after = json.loads(child.stdout.readline())
            elapsed = time.perf_counter() - started
            child.wait(timeout=90)
        finally:
            if child.poll() is None:
                child.kill()
    if after["stored"] < expected:
        sys.exit(f"worker stored only {after['stored']} of {expected} readings in time")
    per_device_kb = (after["rss_mb"] - before["rss_mb"]) * 1024 / args.devices
    print(f"devices: {args.devices:,} (one reading each, processed in {elapsed:.0f} s)")
    print(f"worker RSS at start: {before['rss_mb']:.0f} MB")
    print(
        f"worker RSS with {args.devices:,} known devices: {after['rss_mb']:.0f} MB "
        f"(target <= 200 MB); {per_device_kb:.2f} KB per device"
    )
    report(
        {
            "benchmark": "memory",
            "devices": args.devices,
            "rss_start_mb": round(before["rss_mb"], 1),
            "rss_mb": round(after["rss_mb"], 1),
            "kb_per_device": round(per_device_kb, 3),
            "target_rss_mb": 200,
        }
    )


if __name__ == "__main__":
    main()
