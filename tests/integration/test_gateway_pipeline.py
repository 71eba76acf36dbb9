"""The gateway on a real Mosquitto: store, device state, dead letters, reconnects, the fault."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

import orjson

from facility.app.stack import Stack
from facility.core.wait import wait_until
from gateway.broker import MosquittoBroker
from gateway.mqtt import Message, MqttConnection, MqttOptions
from maintenance.work_orders.models import WorkOrderStatus
from maintenance.work_orders.service import list_work_orders
from simulators.runner import Simulator
from simulators.scenario import load_scenario

from .conftest import login, publish


def test_published_reading_is_stored_and_visible_in_devices(
    make_stack: Callable[..., Stack], publisher: MqttConnection
) -> None:
    stack = make_stack()
    publish(publisher, "facility/hq/room-7/temperature", b"21.5")
    wait_until(lambda: stack.readings.count() == 1, timeout_s=10, what="one reading stored")
    client = login(stack.api_url)
    devices = {d["id"]: d for d in client.get("/api/v1/devices").json()}
    assert devices["room-7"]["online"] is True
    assert devices["room-7"]["values"]["temperature"]["value"] == 21.5
    assert devices["room-7"]["asset"] is None  # unassigned, never dropped
    page = client.get("/api/v1/readings", params={"device": "room-7"}).json()
    assert page["total"] == 1 and page["items"][0]["unit"] == "degC"


def test_malformed_message_is_dead_lettered_and_next_reading_flows(
    make_stack: Callable[..., Stack], publisher: MqttConnection, mosquitto: MosquittoBroker
) -> None:
    stack = make_stack()
    dead: list[Message] = []
    arrived = threading.Event()

    def on_dead(message: Message) -> None:
        dead.append(message)
        arrived.set()

    watcher = MqttConnection(MqttOptions(url=mosquitto.url, client_id="dl-watcher"), on_dead)
    watcher.connect()
    watcher.subscribe("facility/_deadletter/#", qos=1)
    wait_until(lambda: watcher.is_connected, timeout_s=5, what="watcher subscribed")
    try:
        publish(publisher, "facility/hq/room-7/temperature", b"{not json")
        publish(publisher, "facility/hq/room-7/temperature", b"22.0")
        assert arrived.wait(10), "no dead letter arrived"
        wait_until(lambda: stack.readings.count() == 1, timeout_s=10, what="good reading stored")
    finally:
        watcher.close()
    envelope = orjson.loads(dead[0].payload)
    assert dead[0].topic == "facility/_deadletter/facility/hq/room-7/temperature"
    assert (envelope["reason"], envelope["payload"]) == ("malformed_json", "{not json")
    assert stack.gateway.stats.rejected == 1


def test_gateway_reconnects_after_a_broker_restart_and_stores_later_readings(
    make_stack: Callable[..., Stack], mosquitto: MosquittoBroker
) -> None:
    stack = make_stack()
    first = MqttConnection(MqttOptions(url=mosquitto.url, client_id="pub-1")).connect()
    publish(first, "facility/hq/meter/power", b"100")
    first.close()
    wait_until(lambda: stack.readings.count() == 1, timeout_s=10, what="reading before restart")

    mosquitto.stop()
    wait_until(lambda: not stack.gateway.mqtt.is_connected, timeout_s=10, what="gateway sees loss")
    restarted = MosquittoBroker(mosquitto.binary, port=mosquitto.port).start()
    try:
        wait_until(lambda: stack.gateway.mqtt.is_connected, timeout_s=30, what="gateway reconnect")
        second = MqttConnection(MqttOptions(url=restarted.url, client_id="pub-2")).connect()
        for value in (200, 300):
            publish(second, "facility/hq/meter/power", str(value).encode())
        second.close()
        wait_until(lambda: stack.readings.count() == 3, timeout_s=15, what="readings after restart")
    finally:
        restarted.stop()
    values = [r.value for r in stack.readings.query(device="meter", limit=10).items]
    assert values == [100.0, 200.0, 300.0]
    assert stack.gateway.mqtt.connects >= 2


def test_scripted_cooling_failure_opens_exactly_one_work_order(
    make_stack: Callable[..., Stack], mosquitto: MosquittoBroker, database_url: str
) -> None:
    from maintenance.assets.register import ensure_asset, link_device
    from rules import DEMO_RULES

    stack = make_stack(database_url, rules_file=DEMO_RULES)
    scenario = load_scenario("office")
    with stack.sessions() as session:
        for spec in scenario.devices:
            asset = ensure_asset(session, code=spec.asset, asset_type=spec.asset_type)
            link_device(session, device=spec.id, asset=asset, kind=spec.model)
        session.commit()
    simulator = Simulator(scenario, seed=5, start=datetime.now(UTC))
    published = simulator.run(mosquitto.url, speed=40, duration_s=90)
    assert published == 45 * len(scenario.devices)

    def open_orders() -> list[object]:
        with stack.sessions() as session:
            rows, _ = list_work_orders(session, status=[WorkOrderStatus.NEW])
            return list(rows)

    expected = sum(len(m.readings) for m in Simulator(scenario, seed=5).messages(45))
    wait_until(lambda: stack.readings.count() == expected, timeout_s=20, what="all readings stored")
    orders = open_orders()
    assert len(orders) == 1
    order = orders[0]
    assert order.rule == "ahu-supply-air-too-warm"  # type: ignore[attr-defined]
    assert order.asset.code == "AHU-1"  # type: ignore[attr-defined]
