"""Two gateway workers on one MQTT v5 shared subscription, fed a scenario with faults.

Mosquitto hands each message of ``$share/<group>/facility/#`` to one member of the group, so
each worker stores and evaluates about half of every device's readings. What must hold: every
reading is stored once (not zero, not twice), and each alert the scenario expects becomes
exactly one work order although both workers may raise it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from facility.app.stack import Stack, StackOptions
from facility.core.settings import Settings
from facility.core.wait import wait_until
from gateway.broker import MosquittoBroker
from gateway.stores.sql import readings as readings_table
from maintenance.assets.register import ensure_asset, link_device
from maintenance.work_orders.service import list_work_orders
from simulators.command import limit_devices
from simulators.runner import Simulator
from simulators.scenario import SCENARIO_DIR, Scenario, load_scenario

STEPS = 240  # four simulated hours at one reading a minute
#: Mosquitto deals shared messages round-robin; with an odd number of devices per sweep each
#: device's readings alternate between the two workers (with an even number, a device would
#: stick to one worker by coincidence and the test would prove less).
ODD_DEVICES = 11


def plant_without_offline() -> Scenario:
    """The plant scenario's first 11 devices, starting now, minus the offline fault.

    The live stack judges silence by the wall clock while this scenario runs hours of simulated
    time in seconds, so offline rules are out of scope here (they are covered by the replay
    tests); every other fault is kept.
    """
    plant = limit_devices(load_scenario("plant"), ODD_DEVICES)
    data = plant.model_dump()
    data["start"] = datetime.now(UTC)
    data["faults"] = [f for f in data["faults"] if f["kind"] != "offline"]
    data["expect"] = [e for e in data["expect"] if e["rule"] != "device-offline"]
    return Scenario.model_validate(data)


def rules_without_offline(tmp_path: Path) -> Path:
    rules = yaml.safe_load((SCENARIO_DIR / "rules" / "plant.yaml").read_text())
    rules["rules"] = [r for r in rules["rules"] if r["kind"] != "offline"]
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(rules), encoding="utf-8")
    return path


@pytest.fixture
def start_worker(settings: Settings, mosquitto: MosquittoBroker) -> Iterator[Callable[..., Stack]]:
    """Gateway workers (no API) on the test broker and one database; stopped at teardown."""
    workers: list[Stack] = []

    def start(database_url: str, **options: object) -> Stack:
        stack = Stack(
            settings.model_copy(update={"database_url": database_url}),
            StackOptions(
                broker_url=mosquitto.url,
                client_id=f"gw-{len(workers)}",
                api=False,
                **options,  # type: ignore[arg-type]
            ),
        )
        workers.append(stack.start())
        return stack

    yield start
    for stack in workers:
        stack.stop()


def test_two_workers_store_every_reading_once_and_open_one_order_per_expected_alert(
    start_worker: Callable[..., Stack],
    mosquitto: MosquittoBroker,
    database_url: str,
    tmp_path: Path,
) -> None:
    scenario = plant_without_offline()
    rules = rules_without_offline(tmp_path)
    workers = [
        start_worker(database_url, rules_file=rules, share_group="facility") for _ in range(2)
    ]
    with workers[0].sessions() as session:
        for spec in scenario.devices:
            asset = ensure_asset(session, code=spec.asset, asset_type=spec.asset_type)
            link_device(session, device=spec.id, asset=asset, kind=spec.model)
        session.commit()

    simulator = Simulator(scenario, seed=8)
    published = simulator.run(mosquitto.url, rate=1500, duration_s=STEPS * 60)
    expected = sum(len(m.readings) for m in Simulator(scenario, seed=8).messages(STEPS))
    assert published == STEPS * len(scenario.devices)

    store = workers[0].readings
    wait_until(lambda: store.count() >= expected, timeout_s=60, what=f"{expected} readings stored")
    for worker in workers:
        assert worker.gateway.wait_idle(10)
    assert store.count() == expected
    with workers[0].readings_engine.connect() as conn:
        distinct = conn.execute(
            sa.select(sa.func.count()).select_from(
                sa.select(readings_table.c.device, readings_table.c.metric, readings_table.c.ts)
                .distinct()
                .subquery()
            )
        ).scalar_one()
    assert distinct == expected, "a reading was stored twice"
    shares = [w.gateway.stats.received for w in workers]
    assert all(share > published // 4 for share in shares), f"unbalanced shares {shares}"

    with workers[0].sessions() as session:
        orders, _ = list_work_orders(session)
        opened = sorted((o.rule, o.asset.code if o.asset else None) for o in orders)
    assert opened == sorted((e.rule, e.asset) for e in scenario.expect)
    raised = [{(a.rule, a.asset) for a in w.alerts} for w in workers]
    assert raised[0] | raised[1] == set(opened)
    # Readings of each device alternate between the workers, so both saw the faults and both
    # raised alerts: the single work order above is the database's doing, not luck.
    assert raised[0] & raised[1], f"no alert was raised by both workers: {raised}"
