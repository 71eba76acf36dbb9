"""The embedded amqtt broker (used when no mosquitto is installed) runs the whole pipeline."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from facility.app.stack import Stack, StackOptions
from facility.core.settings import Settings
from facility.core.wait import wait_until
from gateway.broker import AmqttBroker, free_port
from gateway.mqtt import MqttConnection, MqttOptions


@pytest.fixture
def amqtt() -> Iterator[AmqttBroker]:
    broker = AmqttBroker().start()
    yield broker
    broker.stop()


def test_gateway_asking_for_mqtt5_falls_back_to_311_on_amqtt_and_stores_readings(
    amqtt: AmqttBroker, settings: Settings, tmp_path: Path
) -> None:
    stack = Stack(
        settings,
        StackOptions(broker_url=amqtt.url, protocol="5", api=False, api_port=free_port()),
    ).start()
    try:
        assert stack.gateway.mqtt.protocol == "3.1.1"
        publisher = MqttConnection(
            MqttOptions(url=amqtt.url, protocol="3.1.1", client_id="amqtt-pub")
        ).connect()
        info = publisher.publish("facility/hq/room-1/temperature", b"21.5", qos=1)
        info.wait_for_publish(timeout=5)
        publisher.close()
        wait_until(lambda: stack.readings.count() == 1, timeout_s=15, what="reading via amqtt")
    finally:
        stack.stop()
    (reading,) = stack.readings.query(device="room-1", limit=5).items
    assert (reading.metric, reading.value, reading.unit) == ("temperature", 21.5, "degC")
