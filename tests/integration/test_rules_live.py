"""The rules engine live on a real Mosquitto: hot reload under traffic, restart mid-window."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
import sqlalchemy as sa

from facility.app.stack import Stack, StackOptions
from facility.core.settings import Settings
from facility.core.types import Alert, AlertState
from facility.core.wait import wait_until
from gateway.broker import MosquittoBroker
from gateway.mqtt import MqttConnection
from maintenance.assets.register import ensure_asset
from maintenance.work_orders.models import WorkOrder

from .conftest import publish

HOT = """rules:
  - {name: hot, kind: threshold, select: {device: "room-*", metric: temperature}, above: 30,
     for: 10m}
"""


def write(path: Path, text: str) -> None:
    """Write and push the mtime forward, so the change is seen on coarse file-system clocks."""
    before = path.stat().st_mtime if path.exists() else 0.0
    path.write_text(text, encoding="utf-8")
    stamp = max(path.stat().st_mtime, before + 2)
    os.utime(path, (stamp, stamp))


def firing(stack: Stack, rule: str) -> list[Alert]:
    return [a for a in stack.alerts if a.rule == rule and a.state is AlertState.FIRING]


def test_hot_reload_while_readings_flow(
    make_stack: Callable[..., Stack], publisher: MqttConnection, tmp_path: Path, settings: Settings
) -> None:
    settings.admit_devices = "room-*"  # unknown devices are quarantined; these rooms are admitted
    rules = tmp_path / "rules.yaml"
    write(rules, HOT.replace("for: 10m", "for: 0s"))
    stack = make_stack(rules_file=rules, api=False)
    stop = threading.Event()
    sent = [0]

    def flow() -> None:
        while not stop.is_set():
            publish(publisher, "facility/hq/room-1/temperature", b"25")
            sent[0] += 1
            stop.wait(0.02)

    pump = threading.Thread(target=flow, daemon=True)
    pump.start()
    try:
        wait_until(lambda: stack.readings.count() > 20, timeout_s=10, what="readings flowing")
        assert firing(stack, "warm") == []
        write(
            rules,
            HOT.replace("for: 10m", "for: 0s")
            + (
                '  - {name: warm, kind: threshold, select: {device: "room-*", metric: temperature},'
                " above: 20}\n"
            ),
        )
        wait_until(lambda: firing(stack, "warm"), timeout_s=10, what="the added rule fires")
        assert stack.rules_watcher.reloads == 1

        write(rules, "rules: [{name: broken, kind: threshold, above: lots}]\n")
        wait_until(lambda: stack.rules_watcher.last_errors, timeout_s=10, what="bad file refused")
        count = stack.readings.count()
        wait_until(lambda: stack.readings.count() > count + 20, timeout_s=10, what="still flowing")
    finally:
        stop.set()
        pump.join(timeout=5)
    publish(publisher, "facility/hq/room-2/temperature", b"35")  # the old rules still run
    wait_until(
        lambda: firing(stack, "hot") and len(firing(stack, "warm")) == 2,
        timeout_s=10,
        what="the rules before the bad edit fire for room-2",
    )
    assert sorted(stack.engine.evaluators) == ["hot", "warm"]
    assert stack.gateway.stats.sink_errors == 0
    # one alert per (rule, asset) for the hundreds of warm readings of room-1, not one each
    assert [a.asset for a in firing(stack, "warm")] == ["room-1", "room-2"]


@pytest.fixture
def restartable(
    settings: Settings, mosquitto: MosquittoBroker, tmp_path: Path
) -> Iterator[Callable[[], Stack]]:
    """Start stacks one after another on the same database and broker session, as a restart."""
    rules = tmp_path / "rules.yaml"
    write(rules, HOT)
    settings.admit_devices = "room-*"  # unknown devices are quarantined; these rooms are admitted
    running: list[Stack] = []

    def start() -> Stack:
        for old in running:
            old.stop()
        running.clear()
        stack = Stack(
            settings,
            StackOptions(
                broker_url=mosquitto.url, rules_file=rules, api=False, client_id="gw-restart"
            ),
        )
        running.append(stack.start())
        return stack

    yield start
    for stack in running:
        stack.stop()


def evaluated_up_to(stack: Stack) -> datetime | None:
    """The timestamp of the last reading the ``hot`` rule evaluated for room-1."""
    state = stack.engine.evaluators["hot"].states.get("room-1")
    if state is None or state.last_ts is None:
        return None
    return datetime.fromtimestamp(state.last_ts, UTC)


def test_restart_during_a_pending_for_window_fires_once_at_the_right_time(
    restartable: Callable[[], Stack], publisher: MqttConnection
) -> None:
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)

    def send(minute: float, value: float = 35.0) -> None:
        payload = {"value": value, "ts": (t0 + timedelta(minutes=minute)).isoformat()}
        publish(publisher, "facility/hq/room-1/temperature", orjson.dumps(payload))

    first = restartable()
    send(0)
    send(4)
    wait_until(
        lambda: evaluated_up_to(first) == t0 + timedelta(minutes=4),
        timeout_s=10,
        what="two readings evaluated",
    )
    assert first.alerts == []

    second = restartable()  # the first gateway stops: the window began 4 minutes ago
    send(9)  # 9 minutes into a 10 minute window: not yet
    wait_until(
        lambda: evaluated_up_to(second) == t0 + timedelta(minutes=9),
        timeout_s=10,
        what="the engine evaluated the third reading",
    )
    assert second.alerts == []
    send(10)
    wait_until(lambda: second.alerts, timeout_s=10, what="the alert after the restart")
    (alert,) = second.alerts
    assert (alert.rule, alert.state, alert.ts) == (
        "hot",
        AlertState.FIRING,
        t0 + timedelta(minutes=10),
    )

    third = restartable()  # a restart while firing must not raise it again
    send(11)
    send(22)  # had the firing state been lost, a new 10 minute window would fire here
    wait_until(
        lambda: evaluated_up_to(third) == t0 + timedelta(minutes=22),
        timeout_s=10,
        what="the engine evaluated the readings after the restart",
    )
    assert third.alerts == []
    with third.sessions() as session:
        orders = session.scalars(sa.select(WorkOrder).where(WorkOrder.rule == "hot")).all()
    assert len(orders) == 1


def test_the_sla_clocks_see_the_live_rules_files_maintenance_windows(
    make_stack: Callable[..., Stack], tmp_path: Path
) -> None:
    """The maintenance worker's calendar reads the engine's windows, reloads included."""
    rules = tmp_path / "rules.yaml"
    window = (
        "maintenance:\n"
        "  - {name: roof-works, scope: {asset: AHU-1},"
        " start: '2026-03-02T10:00:00Z', end: '2026-03-02T12:00:00Z'}\n"
    )
    write(rules, HOT + window)
    stack = make_stack(rules_file=rules, api=False)
    calendar = stack.maintenance.calendar
    assert calendar is not None
    day = datetime(2026, 3, 2, tzinfo=UTC)
    with stack.sessions() as session:
        asset = ensure_asset(session, code="AHU-1")
        session.commit()
        spans = calendar.pauses(
            asset=asset, rule=None, device=None, start=day, end=day + timedelta(days=1)
        )
        assert [(p.window, p.start.hour, p.end.hour) for p in spans] == [("roof-works", 10, 12)]
        assert calendar.active_now(
            asset=asset, rule="hot", device=None, now=day + timedelta(hours=11)
        )
        write(rules, HOT)
        wait_until(
            lambda: (
                not calendar.pauses(
                    asset=asset, rule=None, device=None, start=day, end=day + timedelta(days=1)
                )
            ),
            timeout_s=15,
            what="the window gone after the rules file changed",
        )
