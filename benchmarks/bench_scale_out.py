"""Scale-out: 1 vs 2 gateway worker processes on one MQTT v5 shared subscription.

Each worker is a process of its own running the full gateway pipeline (decode, store, device
state, rules) subscribed to ``$share/bench/facility/#`` with a persistent session, and writing
to its own SQLite file (so the figure is the gateway's, not one SQLite file's writer lock; in
production the workers share InfluxDB/PostgreSQL). The workers subscribe and go away, the load
is queued by Mosquitto, then all reconnect at once and the clock runs until every reading is
stored; Mosquitto deals the backlog out round-robin.

On a two-core machine the broker and two workers share two cores, so the ratio shows what is
left after the broker's share, not a linear-scaling ideal.
Run: .venv/bin/python -m benchmarks.bench_scale_out [--messages N]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa

from benchmarks._common import Load, broker, campus_load, publish_all, report
from facility.core.types import Presence, Reading

REPO = Path(__file__).resolve().parent.parent
TIMEOUT_S = 180.0


def worker(port: int, client_id: str, db: Path, group: str) -> None:
    """One worker process, driven by lines on stdin: ``pause``, ``go``, ``quit``."""
    from gateway.ingest import Gateway, GatewayOptions
    from gateway.mqtt import MqttOptions
    from gateway.stores.sql import SqlReadingStore, SqlStateStore, make_engine
    from rules.engine import RuleEngine
    from rules.loader import load_rules

    engine = make_engine(f"sqlite:///{db}")
    rules = RuleEngine(load_rules(REPO / "rules" / "examples" / "office.yaml"))

    def evaluate(readings: Sequence[Reading], presences: Sequence[Presence]) -> None:
        rules.process(readings)
        rules.process_presence(presences)

    def make() -> Gateway:
        return Gateway(
            GatewayOptions(
                mqtt=MqttOptions(
                    url=f"mqtt://127.0.0.1:{port}", client_id=client_id, clean_start=False
                ),
                topics=["facility/#"],
                share_group=group,
            ),
            store=SqlReadingStore(engine),
            state=SqlStateStore(engine),
            sinks=[evaluate],
        )

    gateway = make().start()
    print("ready", flush=True)
    for line in sys.stdin:
        command = line.strip()
        if command == "pause":
            gateway.stop()
            print("paused", flush=True)
        elif command == "go":
            gateway = make().start()
            print("started", flush=True)
        elif command == "quit":
            break
    gateway.stop()


def count(engine: sa.Engine) -> int:
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text("SELECT max(id) FROM readings")).scalar() or 0)
    except sa.exc.OperationalError:
        return 0


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(workers: int, load: Load) -> tuple[float, list[int]]:
    """Aggregate readings/s of ``workers`` processes draining ``load``; and each one's share."""
    with broker() as mosquitto, tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        dbs = [Path(tmp) / f"worker-{i}.db" for i in range(workers)]
        procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "benchmarks.bench_scale_out",
                    "--worker-port",
                    str(mosquitto.port),
                    "--client-id",
                    f"bench-worker-{i}",
                    "--db",
                    str(db),
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for i, db in enumerate(dbs)
        ]
        try:
            for proc in procs:
                assert proc.stdout is not None
                if proc.stdout.readline().strip() != "ready":
                    raise RuntimeError("a worker did not start; see its stderr above")
            _send(procs, "pause", "paused")
            publish_all(mosquitto.port, load.messages)
            engines = [sa.create_engine(f"sqlite:///{db}") for db in dbs]
            cpu_before = [cpu_s(p.pid) for p in procs]
            started = time.perf_counter()
            _send(procs, "go", None)
            deadline = started + TIMEOUT_S
            while (total := sum(count(e) for e in engines)) < load.readings:
                if time.perf_counter() > deadline:
                    raise RuntimeError(f"{workers} workers stored {total} of {load.readings}")
                time.sleep(0.1)
            elapsed = time.perf_counter() - started
            shares = [count(e) for e in engines]
            cpu = [cpu_s(p.pid) - b for p, b in zip(procs, cpu_before, strict=True)]
            for engine in engines:
                engine.dispose()
        finally:
            for proc in procs:
                if proc.poll() is None and proc.stdin is not None:
                    proc.stdin.write("quit\n")
                    proc.stdin.flush()
            for proc in procs:
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
    print(
        f"{workers} worker(s): drained in {elapsed:.1f} s; worker CPU "
        + ", ".join(f"{c:.1f} s ({c / elapsed:.0%})" for c in cpu)
    )
    return load.readings / elapsed, shares


def _send(procs: list[subprocess.Popen[str]], command: str, reply: str | None) -> None:
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write(command + "\n")
        proc.stdin.flush()
    for proc in procs:
        assert proc.stdout is not None
        answer = proc.stdout.readline().strip()
        if reply is not None and answer != reply:
            raise RuntimeError(f"worker answered {answer!r} to {command!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--worker-port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--client-id", help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker_port:
        worker(args.worker_port, args.client_id, args.db, "bench")
        return
    load = campus_load(args.messages)
    print(
        f"load: {len(load.messages):,} campus messages, {load.readings:,} readings, "
        f"queued then drained; {os.cpu_count()} CPU cores"
    )
    one, _ = run(1, load)
    print(f"1 worker:  {one:>8,.0f} readings/s")
    two, shares = run(2, load)
    print(f"2 workers: {two:>8,.0f} readings/s (shares {shares[0]:,} / {shares[1]:,})")
    print(f"ratio 2/1 = {two / one:.2f}")
    report(
        {
            "benchmark": "scale_out",
            "readings": load.readings,
            "one_worker_readings_per_s": round(one),
            "two_workers_readings_per_s": round(two),
            "ratio": round(two / one, 3),
            "shares": shares,
            "cpu_cores": os.cpu_count(),
        }
    )


if __name__ == "__main__":
    main()
