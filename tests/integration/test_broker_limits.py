"""The embedded Mosquitto enforces the production packet limit: one huge PUBLISH is refused at
the broker and the next reading flows (a 256 MB PUBLISH once froze ingestion for minutes)."""

from __future__ import annotations

from collections.abc import Callable

import paho.mqtt.client as paho
import pytest

from facility.app.stack import Stack
from facility.core.wait import wait_until
from gateway.broker import MAX_PACKET_BYTES, MosquittoBroker
from gateway.mqtt import MqttConnection, MqttOptions
from tests.integration.conftest import publish

pytestmark = pytest.mark.integration


def test_an_oversized_publish_is_refused_by_the_broker_and_the_next_reading_flows(
    make_stack: Callable[..., Stack], mosquitto: MosquittoBroker
) -> None:
    stack = make_stack()
    flooder = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="flooder")
    dropped: list[object] = []
    flooder.on_disconnect = lambda _c, _u, _f, reason, _p: dropped.append(reason)
    flooder.connect(mosquitto.host, mosquitto.port)
    flooder.loop_start()
    try:
        wait_until(flooder.is_connected, timeout_s=10, what="flooder connected")
        flooder.publish("facility/hq/flood/temperature", b"9" * (MAX_PACKET_BYTES * 4), qos=0)
        wait_until(lambda: bool(dropped), timeout_s=30, what="broker drops the oversized client")
    finally:
        flooder.loop_stop()
        flooder.disconnect()
    honest = MqttConnection(MqttOptions(url=mosquitto.url, client_id="honest")).connect()
    try:
        publish(honest, "facility/hq/room-1/temperature", b"21.5")
        wait_until(lambda: stack.readings.count() == 1, timeout_s=30, what="next reading stored")
    finally:
        honest.close()
    assert stack.gateway.mqtt.is_connected
