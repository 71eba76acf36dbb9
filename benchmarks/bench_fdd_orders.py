"""What turning alerts into diagnosed work costs: ms per alert for each path of ``apply_alert``.

Paths: a plain rule's new order (the baseline), an asset's first FDD fault (a new diagnosed
order with its checklist), another fault of the same asset (folded), a downstream symptom
(suppressed onto the upstream order), and an alert storm (one rule on many assets: the first
``threshold`` open orders, the rest fold into one incident). Runs on a fresh SQLite file, or
on ``--database-url`` (PostgreSQL: an empty database, it is migrated here). Prints a table and,
last, one JSON line.

    python benchmarks/bench_fdd_orders.py [--alerts 200] [--database-url URL]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from facility.core.types import Alert, AlertState, Severity
from maintenance.assets.models import AssetFeed
from maintenance.assets.register import ensure_asset
from maintenance.shared.db import connect, upgrade
from maintenance.work_orders.service import AlertOutcome, AlertPolicy, apply_alert

FC2 = "ahu-g36-fc2-mixed-air-too-low"
FC10 = "ahu-g36-fc10-mixed-outdoor-differ-full-economizer"
FC13 = "ahu-g36-fc13-supply-high-full-cooling"
T0 = datetime.now(UTC).replace(microsecond=0)


def _alert(rule: str, asset: str, at: datetime) -> Alert:
    return Alert(
        rule=rule,
        device=asset.lower(),
        asset=asset,
        state=AlertState.FIRING,
        severity=Severity.MINOR,
        ts=at,
        value=5.0,
        message=f"{asset}: {rule}",
    )


def _timed(
    sessions: sessionmaker[Session], alerts: list[Alert], policy: AlertPolicy
) -> tuple[float, list[AlertOutcome]]:
    outcomes = []
    started = time.perf_counter()
    with sessions() as session:
        for alert in alerts:
            outcomes.append(apply_alert(session, alert=alert, now=alert.ts, alerts=policy))
    return (time.perf_counter() - started) / len(alerts) * 1000, outcomes


def run(url: str, n: int) -> dict[str, float]:
    engine, sessions = connect(url)
    upgrade(engine)
    quiet = AlertPolicy(storm_threshold=0)
    minute = timedelta(minutes=1)
    figures: dict[str, float] = {}
    paths: list[tuple[str, Callable[[], list[Alert]], AlertPolicy, str]] = [
        # the baseline: a rule without a diagnosis opens its plain per-(rule, asset) order
        (
            "plain",
            lambda: [_alert("too-warm", f"ROOM-{i}", T0) for i in range(n)],
            quiet,
            "created",
        ),
        ("created", lambda: [_alert(FC2, f"AHU-{i}", T0) for i in range(n)], quiet, "created"),
        ("folded", lambda: [_alert(FC10, f"AHU-{i}", T0) for i in range(n)], quiet, "folded"),
    ]
    for name, make, policy, expected in paths:
        ms, outcomes = _timed(sessions, make(), policy)
        assert {o.action for o in outcomes} == {expected}, (name, outcomes[:3])
        figures[f"{name}_ms"] = round(ms, 2)
    with sessions() as session:
        for i in range(n):
            upstream = ensure_asset(session, code=f"AHU-{i}")
            downstream = ensure_asset(session, code=f"VAV-{i}")
            session.add(AssetFeed(upstream_id=upstream.id, downstream_id=downstream.id))
        session.commit()
    ms, outcomes = _timed(sessions, [_alert(FC13, f"VAV-{i}", T0) for i in range(n)], quiet)
    assert {o.action for o in outcomes} == {"suppressed"}
    figures["suppressed_ms"] = round(ms, 2)
    storm = [
        _alert("device-offline", f"SENSOR-{i}", T0 + 2 * minute + timedelta(milliseconds=i))
        for i in range(n * 5)
    ]
    ms, outcomes = _timed(sessions, storm, AlertPolicy(storm_threshold=20))
    actions = [o.action for o in outcomes]
    figures["storm_alerts"] = len(storm)
    figures["storm_orders_created"] = actions.count("created")
    figures["storm_folded"] = actions.count("folded")
    figures["storm_ms"] = round(ms, 2)
    engine.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--alerts", type=int, default=200, help="alerts per path")
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'facility.db'}"
        figures = run(url, args.alerts)
    print(f"{'path':<12} {'ms per alert':>12}")
    for name in ("plain", "created", "folded", "suppressed", "storm"):
        print(f"{name:<12} {figures[f'{name}_ms']:>12.2f}")
    print(
        f"storm: {figures['storm_alerts']:.0f} alerts of one rule -> "
        f"{figures['storm_orders_created']:.0f} orders + 1 incident "
        f"({figures['storm_folded']:.0f} folded)"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
