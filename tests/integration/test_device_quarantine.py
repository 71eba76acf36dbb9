"""Unknown devices are quarantined: stored and listed, but no asset, alert or order until
admitted (by a person through the API, or by an ``admit`` glob); device lists are paged."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import orjson
import sqlalchemy as sa

from facility.app.stack import Stack
from facility.core.settings import Settings
from facility.core.wait import wait_until
from gateway.broker import MosquittoBroker
from gateway.mqtt import MqttConnection, MqttOptions
from maintenance.assets.models import Asset
from maintenance.notifications.models import OutboxMessage
from maintenance.work_orders.models import WorkOrder

from .conftest import login, publish

RULES = """rules:
  - {name: hot, kind: threshold, select: {device: "*", metric: temperature}, above: 30}
"""


def _count(stack: Stack, model: type[object]) -> int:
    with stack.sessions() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(model)) or 0  # type: ignore[arg-type]


def _orders(stack: Stack) -> list[tuple[str | None, str | None]]:
    with stack.sessions() as session:
        rows = session.execute(
            sa.select(WorkOrder.device, Asset.code).outerjoin(Asset, WorkOrder.asset_id == Asset.id)
        ).all()
    return sorted((device, code) for device, code in rows)


def test_an_unknown_device_is_stored_but_opens_nothing_until_a_manager_admits_it(
    make_stack: Callable[..., Stack],
    publisher: MqttConnection,
    tmp_path: Path,
    database_url: str,
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    stack = make_stack(database_url, rules_file=rules)
    publish(publisher, "facility/hq/stranger/temperature", b"35")
    wait_until(lambda: stack.readings.count() == 1, timeout_s=20, what="the reading stored")
    assert stack.gateway.wait_idle(20)
    admin = login(stack.api_url)
    wait_until(
        lambda: admin.get("/api/v1/devices", params={"status": "unassigned"}).json(),
        timeout_s=20,
        what="the stranger listed as unassigned",
    )
    (listed,) = admin.get("/api/v1/devices", params={"status": "unassigned"}).json()
    assert (listed["id"], listed["asset"]) == ("stranger", None)
    assert listed["values"]["temperature"]["value"] == 35.0  # shown as today
    assert _count(stack, Asset) == 0 and _orders(stack) == [] and _count(stack, OutboxMessage) == 0
    assert [a for a in stack.alerts if a.device == "stranger"] == []

    tech, manager = login(stack.api_url, "tech"), login(stack.api_url, "manager")
    assert tech.post("/api/v1/devices/stranger/admit", json={"asset": "AHU-1"}).status_code == 403
    missing = manager.post("/api/v1/devices/stranger/admit", json={"asset": "AHU-1"})
    assert missing.status_code == 404 and "POST /api/v1/assets" in missing.text
    never = manager.post("/api/v1/devices/nobody/admit", json={"asset": "AHU-1"})
    assert never.status_code == 404 and "status=unassigned" in never.text
    for body in ({}, {"asset": ""}, {"asset": "x" * 201}, {"asset": 7}, {"asset": "A", "x": 1}):
        answer = manager.post("/api/v1/devices/stranger/admit", json=body)
        assert answer.status_code == 422, (body, answer.text)
    created = admin.post("/api/v1/assets", json={"code": "AHU-1", "name": "Air handler 1"})
    assert created.status_code == 201, created.text
    admitted = manager.post("/api/v1/devices/stranger/admit", json={"asset": "AHU-1"})
    assert admitted.status_code == 200, admitted.text
    assert admitted.json()["asset"] == "AHU-1"
    assert admin.get("/api/v1/devices", params={"status": "unassigned"}).json() == []
    summary = admin.get("/api/v1/devices/summary").json()
    assert summary == {"total": 1, "assigned": 1, "unassigned": 0, "online": 1}

    # the stack re-reads links within seconds; keep sending until the order appears
    def order_opened() -> bool:
        publish(publisher, "facility/hq/stranger/temperature", b"36")
        return _orders(stack) == [("stranger", "AHU-1")]

    wait_until(order_opened, timeout_s=30, interval_s=1.0, what="the admitted device's order")
    assert _count(stack, Asset) == 1  # the asset the manager made, nothing auto-created


def test_an_admit_glob_admits_a_fleet_each_as_its_own_validly_coded_asset(
    make_stack: Callable[..., Stack],
    publisher: MqttConnection,
    settings: Settings,
    tmp_path: Path,
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    settings.admit_devices = "zigbee-*, shelly-*"
    stack = make_stack(rules_file=rules)
    publish(publisher, "facility/hq/zigbee-kitchen/temperature", b"35")
    publish(publisher, "facility/hq/intruder/temperature", b"35")
    wait_until(
        lambda: _orders(stack) == [("zigbee-kitchen", "zigbee-kitchen")],
        timeout_s=20,
        what="the admitted device's order on its own asset",
    )
    wait_until(lambda: stack.readings.count() == 2, timeout_s=20, what="both readings stored")
    assert stack.gateway.wait_idle(20)
    assert _orders(stack) == [("zigbee-kitchen", "zigbee-kitchen")]  # not the intruder's
    with stack.sessions() as session:
        assert session.scalars(sa.select(Asset.code)).all() == ["zigbee-kitchen"]


def test_device_lists_are_paged_filtered_and_refuse_bad_parameters(
    make_stack: Callable[..., Stack], publisher: MqttConnection, settings: Settings
) -> None:
    stack = make_stack()
    for n in range(7):
        publish(publisher, f"facility/hq/dev-{n}/temperature", b"20")
    wait_until(lambda: stack.readings.count() == 7, timeout_s=20, what="seven readings stored")
    client = login(stack.api_url)
    wait_until(
        lambda: client.get("/api/v1/devices").headers.get("X-Total-Count") == "7",
        timeout_s=20,
        what="seven devices recorded",
    )
    first = client.get("/api/v1/devices", params={"limit": 3})
    second = client.get("/api/v1/devices", params={"limit": 3, "offset": 3})
    last = client.get("/api/v1/devices", params={"limit": 3, "offset": 6})
    ids = [d["id"] for page in (first, second, last) for d in page.json()]
    assert ids == [f"dev-{n}" for n in range(7)]
    assert {page.headers["X-Total-Count"] for page in (first, second, last)} == {"7"}
    found = client.get("/api/v1/devices", params={"q": "dev-5", "status": "unassigned"})
    assert [d["id"] for d in found.json()] == ["dev-5"] and found.headers["X-Total-Count"] == "1"
    assigned = client.get("/api/v1/devices", params={"status": "assigned"})
    assert assigned.json() == [] and assigned.headers["X-Total-Count"] == "0"
    hostile = client.get("/api/v1/devices", params={"q": "%_\\"})
    assert hostile.status_code == 200 and hostile.json() == []  # wildcards are literal
    for params in (
        {"limit": 0},
        {"limit": 1001},
        {"limit": "many"},
        {"offset": -1},
        {"status": "bogus"},
        {"q": ""},
        {"q": "x" * 201},
    ):
        answer = client.get("/api/v1/devices", params=params)
        assert answer.status_code == 422, (params, answer.text)
    assert httpx.get(f"{stack.api_url}/api/v1/devices/summary", timeout=30).status_code == 401


def test_past_the_unassigned_cap_new_ids_are_dead_lettered_and_admitted_ones_still_pass(
    make_stack: Callable[..., Stack],
    publisher: MqttConnection,
    settings: Settings,
    mosquitto: MosquittoBroker,
) -> None:
    settings.unassigned_device_cap = 2
    settings.admit_devices = "trusted-*"
    stack = make_stack()
    reasons: list[str] = []
    watcher = MqttConnection(
        MqttOptions(url=mosquitto.url, client_id="cap-dl"),
        lambda message: reasons.append(str(orjson.loads(message.payload)["reason"])),
    )
    watcher.connect()
    watcher.subscribe("facility/_deadletter/#", qos=1)
    try:
        for device in ("one", "two", "three", "trusted-1", "one"):
            publish(publisher, f"facility/hq/{device}/temperature", b"20")
        wait_until(lambda: reasons, timeout_s=20, what="a dead letter")
        wait_until(lambda: stack.readings.count() == 4, timeout_s=20, what="four readings stored")
        assert stack.gateway.wait_idle(20)
    finally:
        watcher.close()
    assert reasons == ["unassigned_cap"]
    stored = {r.device for r in stack.readings.query(limit=10).items}
    assert stored == {"one", "two", "trusted-1"}  # "one" again: known, never refused
    assert stack.gate.unassigned == 2
