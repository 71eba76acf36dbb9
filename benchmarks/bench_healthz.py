"""``/healthz`` latency while the API is under a write load of concurrent clients.

The API (``create_app`` with the stack's health board, on uvicorn as ``facility serve`` runs
it, SQLite) serves in this process. A second process (so the load does not share this
interpreter's GIL) runs ``--clients`` threads that each create work orders as fast as they are
answered, optionally ``--hostile`` threads that post 1 MB bodies with 55,000 unknown keys (the
issue-17 finding: four of them stalled ``/healthz`` for 7.4 s), and one probe that asks
``/healthz`` every 20 ms. Each probe's round trip is one sample; the figures are taken idle
first, then under load.

Target: p99 <= 100 ms under load.
Run: .venv/bin/python -m benchmarks.bench_healthz [--clients 8] [--hostile 4] [--seconds 15]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from benchmarks._common import percentile, report

TARGET_P99_MS = 100.0
PROBE_INTERVAL_S = 0.02


# -- the load process ---------------------------------------------------------------------------
def _drive(url: str, token: str, clients: int, hostile: int, seconds: float) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    deadline = time.monotonic() + seconds
    writes: list[float] = []
    statuses: dict[str, int] = {}
    lock = threading.Lock()
    crowded = json.dumps({"title": "x", **{f"k{i:06d}": i for i in range(55_000)}}).encode()

    def writer(n: int) -> None:
        with httpx.Client(base_url=url, headers=headers, timeout=120) as client:
            i = 0
            while time.monotonic() < deadline:
                started = time.perf_counter()
                answer = client.post(
                    "/api/v1/work-orders", json={"title": f"load {n}-{i}", "asset": "AHU-1"}
                )
                with lock:
                    writes.append(time.perf_counter() - started)
                    statuses[str(answer.status_code)] = statuses.get(str(answer.status_code), 0) + 1
                i += 1

    def attacker() -> None:
        with httpx.Client(base_url=url, headers=headers, timeout=120) as client:
            while time.monotonic() < deadline:
                answer = client.post(
                    "/api/v1/work-orders",
                    content=crowded,
                    headers={"content-type": "application/json"},
                )
                with lock:
                    key = f"hostile-{answer.status_code}"
                    statuses[key] = statuses.get(key, 0) + 1

    probes: list[float] = []

    def probe() -> None:
        with httpx.Client(base_url=url, timeout=120) as client:
            while time.monotonic() < deadline:
                started = time.perf_counter()
                client.get("/healthz")
                probes.append(time.perf_counter() - started)
                time.sleep(PROBE_INTERVAL_S)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(clients)]
    threads += [threading.Thread(target=attacker) for _ in range(hostile)]
    threads.append(threading.Thread(target=probe))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(json.dumps({"probes": probes, "writes": writes, "statuses": statuses}), flush=True)


# -- the server ---------------------------------------------------------------------------------
def _serve(tmp: Path) -> tuple[Any, str]:
    import sqlalchemy as sa
    from pwdlib import PasswordHash

    from facility.app.http_server import start_http_server
    from facility.core.health import HealthBoard
    from gateway.stores.sql import SqlReadingStore, SqlStateStore, make_engine
    from maintenance.api.app import create_app
    from maintenance.assets.register import ensure_asset
    from maintenance.people.deps import ApiContext
    from maintenance.people.models import User
    from maintenance.people.users import issue_token
    from maintenance.shared.db import connect, upgrade
    from maintenance.shared.vocabulary import Role

    engine, sessions = connect(f"sqlite:///{tmp / 'facility.db'}")
    upgrade(engine)
    with sessions() as session:
        manager = User(username="manager", role=Role.MANAGER)
        manager.password_hash = PasswordHash.recommended().hash("bench-password-1")
        session.add(manager)
        ensure_asset(session, code="AHU-1", asset_type="ahu")
        session.commit()
        user = session.scalar(sa.select(User).where(User.username == "manager"))
        assert user is not None
        secret = "bench-healthz-secret-0123456789abcdef"
        token = issue_token(user, secret=secret, ttl_s=3600)
    readings = make_engine(f"sqlite:///{tmp / 'readings.db'}")
    context = ApiContext(
        sessions=sessions,
        readings=SqlReadingStore(readings),
        states=SqlStateStore(readings),
        secret=secret,
        auto_assign=False,
    )
    server = start_http_server(create_app(context, health=HealthBoard()), "127.0.0.1", 0)
    return server, token


def _figures(samples: list[float]) -> dict[str, float]:
    ms = [s * 1000 for s in samples]
    return {
        "p50_ms": round(statistics.median(ms), 1),
        "p99_ms": round(percentile(ms, 99), 1),
        "max_ms": round(max(ms), 1),
        "samples": len(ms),
    }


def _load(url: str, token: str, *, clients: int, hostile: int, seconds: float) -> dict[str, Any]:
    command = [
        sys.executable,
        "-m",
        "benchmarks.bench_healthz",
        "--drive",
        url,
        "--token",
        token,
        "--clients",
        str(clients),
        "--hostile",
        str(hostile),
        "--seconds",
        str(seconds),
    ]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + 300, check=True
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8, help="concurrent writers")
    parser.add_argument("--hostile", type=int, default=4, help="clients posting 55k-key bodies")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--drive", help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.drive:
        _drive(args.drive, args.token, args.clients, args.hostile, args.seconds)
        return
    for key in [k for k in os.environ if k.startswith("FACILITY_")]:
        os.environ.pop(key)
    with tempfile.TemporaryDirectory(prefix="bench-healthz-") as tmp:
        server, token = _serve(Path(tmp))
        try:
            idle = _load(server.url, token, clients=0, hostile=0, seconds=3)
            loaded = _load(
                server.url, token, clients=args.clients, hostile=args.hostile, seconds=args.seconds
            )
        finally:
            server.stop()
    idle_figures = _figures(idle["probes"])
    load_figures = _figures(loaded["probes"])
    writes = loaded["writes"]
    print(f"/healthz idle:        p50 {idle_figures['p50_ms']} ms, p99 {idle_figures['p99_ms']} ms")
    print(
        f"/healthz under load:  p50 {load_figures['p50_ms']} ms, p99 {load_figures['p99_ms']} ms, "
        f"max {load_figures['max_ms']} ms ({args.clients} writers, {args.hostile} hostile)"
    )
    print(
        f"writes: {len(writes)} in {args.seconds:.0f} s ({len(writes) / args.seconds:.0f}/s), "
        f"p50 {statistics.median(writes) * 1000:.0f} ms; answers {loaded['statuses']}"
    )
    verdict = "meets" if load_figures["p99_ms"] <= TARGET_P99_MS else "misses"
    print(f"target p99 <= {TARGET_P99_MS:.0f} ms: {verdict}")
    report(
        {
            "benchmark": "healthz",
            "idle": idle_figures,
            "under_load": load_figures,
            "clients": args.clients,
            "hostile": args.hostile,
            "writes_per_s": round(len(writes) / args.seconds, 1),
            "write_p50_ms": round(statistics.median(writes) * 1000, 1),
            "statuses": loaded["statuses"],
            "target_p99_ms": TARGET_P99_MS,
            "meets_target": load_figures["p99_ms"] <= TARGET_P99_MS,
        }
    )


if __name__ == "__main__":
    main()
