"""What ``facility simulate`` does, kept here so the CLI module only declares its options.

Three modes: publish to a broker with a live progress display (the default), write the messages
as JSON Lines ``{"topic", "payload"}`` to stdout (``--jsonl``, the input of ``facility gateway
decode``), or print the alerts the scenario expects (``--expected``). ``--protocol bacnet`` or
``modbus`` instead serves the devices as field-bus devices on loopback (:func:`serve_fieldbus`).

``--jsonl`` leaves out availability (last-will) messages: their payload carries no time, so
``gateway decode`` would stamp them with the wall clock and a replay would misplace them. An
offline device still shows in the recording as silence, which the offline rules detect.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import IO, Any

import orjson
import yaml
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from facility.core.errors import ConfigError
from simulators.runner import Simulator
from simulators.scenario import FORMATS, Scenario, load_scenario

__all__ = ["limit_devices", "serve_fieldbus", "simulate"]


def limit_devices(scenario: Scenario, count: int) -> Scenario:
    """The scenario with only its first ``count`` devices (faults on the others dropped)."""
    if count < 1:
        raise ConfigError(f"--devices {count}: give at least 1")
    if count >= len(scenario.devices):
        return scenario
    devices = scenario.devices[:count]
    ids = [d.id for d in devices]
    assets = {d.asset for d in devices}
    faults = [f for f in scenario.faults if Scenario.match(f.device, ids)]
    expect = [e for e in scenario.expect if e.asset in assets]
    data = scenario.model_dump(exclude={"generate"})
    data.update(
        devices=[d.model_dump() for d in devices],
        faults=[f.model_dump() for f in faults],
        expect=[e.model_dump() for e in expect],
    )
    return Scenario.model_validate(data)


@contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """Ctrl-C / SIGTERM end the run cleanly (summary printed) instead of a traceback."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def simulate(
    *,
    scenario_name: str,
    broker_url: str,
    console: Console,
    out: IO[bytes],
    stop: threading.Event,
    speed: float = 1.0,
    seed: int = 0,
    duration_s: float | None = None,
    fmt: str | None = None,
    rate: float | None = None,
    devices: int | None = None,
    steps: int | None = None,
    jsonl: bool = False,
    expected: bool = False,
    qos: int = 1,
    protocol: str = "5",
) -> int:
    """Run one ``facility simulate`` invocation; returns the number of messages sent."""
    if fmt is not None and fmt not in FORMATS:
        raise ConfigError(f"unknown --format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if qos not in (0, 1, 2):
        raise ConfigError(f"--qos {qos} is not an MQTT QoS (0, 1 or 2)")
    if rate is not None and not 0.1 <= rate <= 1_000_000:
        raise ConfigError(f"--rate {rate:g} is out of range: give 0.1 to 1000000 messages/s")
    if steps is not None and steps < 1:
        raise ConfigError(f"--steps {steps}: give at least 1 interval")
    if devices is not None and devices < 1:
        raise ConfigError(f"--devices {devices}: give at least 1")
    spec = load_scenario(scenario_name)
    if devices is not None:
        spec = limit_devices(spec, devices)
    if expected:
        for alert in spec.expect:
            out.write(orjson.dumps(alert.model_dump(exclude_none=True)) + b"\n")
        out.flush()
        return len(spec.expect)
    simulator = Simulator(spec, seed=seed, fmt=fmt)
    if steps is not None:
        duration_s = steps * spec.interval.total_seconds()
    if jsonl:
        if duration_s is None:
            raise ConfigError("--jsonl needs --steps N or --duration SECONDS (it never ends)")
        sweeps = max(1, round(duration_s / spec.interval.total_seconds()))
        count = 0
        for message in simulator.messages(sweeps):
            if not message.readings:
                continue  # a last will carries no time: replayed, it would land at "now"
            line = {"topic": message.topic, "payload": message.payload.decode("utf-8")}
            out.write(orjson.dumps(line) + b"\n")
            count += 1
        out.flush()
        console.print(
            f"wrote {count} messages ({len(spec.devices)} devices, {sweeps} intervals)",
            soft_wrap=True,
        )
        return count

    target = f"{rate:,.0f} msg/s" if rate else f"speed x{speed:g}"
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with _stop_on_signals(stop), Progress(*columns, console=console) as progress:
        task = progress.add_task(f"connecting to {broker_url}", total=None)
        last_update = [0.0]

        def on_publish(count: int) -> None:
            now = time.monotonic()
            if now - last_update[0] < 0.2:
                return
            last_update[0] = now
            stats = simulator.stats
            progress.update(
                task,
                description=(
                    f"'{spec.name}': {len(spec.devices):,} devices, {count:,} messages, "
                    f"{stats.rate:,.0f} msg/s ({target}), "
                    f"simulated {simulator.elapsed_s / 3600:.2f} h"
                ),
            )

        count = simulator.run(
            broker_url,
            speed=speed,
            duration_s=duration_s,
            stop=stop,
            protocol=protocol,
            on_publish=on_publish,
            rate=rate,
            qos=qos,
        )
    stats = simulator.stats
    console.print(
        f"published {count:,} messages from {len(spec.devices):,} devices in "
        f"{stats.elapsed_s:.1f} s: {stats.rate:,.0f} msg/s achieved ({target})",
        soft_wrap=True,
    )
    return count


def serve_fieldbus(
    *,
    protocol: str,
    scenario_name: str,
    console: Console,
    out: IO[bytes],
    stop: threading.Event,
    speed: float = 1.0,
    seed: int = 0,
    devices: int | None = None,
    duration_s: float | None = None,
) -> int:
    """``facility simulate --protocol bacnet|modbus``: serve the scenario's devices on loopback.

    Each device becomes a BACnet/IP device (one object per metric, with COV) or a Modbus TCP
    server (one float32 holding-register pair per metric) on a free 127.0.0.1 port, stepped by
    the scenario's physics; a ``connectors:`` file that reads them all is written to stdout, so
    ``FACILITY_CONNECTORS_FILE=<that file> facility serve`` runs the field-bus path end to end.
    Returns the number of intervals simulated.
    """
    if protocol not in ("bacnet", "modbus"):
        raise ConfigError(f"--protocol {protocol!r}: choose mqtt, bacnet or modbus")
    spec = load_scenario(scenario_name)
    if devices is not None:
        spec = limit_devices(spec, devices)
    ids = [d.id for d in spec.devices]
    if protocol == "bacnet":
        from simulators.bacnet_server import BacnetSimulation  # noqa: PLC0415  (bacpypes3)

        served: Any = BacnetSimulation(spec, device_ids=ids, seed=seed)
    else:
        from simulators.modbus_simulation import ModbusSimulation  # noqa: PLC0415  (pymodbus)

        served = ModbusSimulation(spec, device_ids=ids, seed=seed)
    served.start()
    try:
        out.write(yaml.safe_dump(served.connectors(), sort_keys=False).encode())
        out.flush()
        for line in served.describe():
            console.print(f"[green]✓[/] {line}", soft_wrap=True)
        console.print(f"serving {len(ids)} devices over {protocol}; Ctrl-C stops", soft_wrap=True)
        with _stop_on_signals(stop):
            if duration_s is not None:
                timer = threading.Timer(duration_s / max(speed, 1e-6), stop.set)
                timer.daemon = True
                timer.start()
            steps: int = served.run(speed=speed, stop=stop)
    finally:
        served.stop()
    console.print(f"served {steps} intervals of '{spec.name}'", soft_wrap=True)
    return steps
