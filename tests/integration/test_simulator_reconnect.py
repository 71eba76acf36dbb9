"""The simulator (what ``facility demo`` runs) outlives a broker restart on a real Mosquitto.

Before: the first publish after the broker went away raised ``ServiceUnavailable`` in the
simulator's thread, which died for good while the demo went on reporting healthy.
"""

from __future__ import annotations

import threading

from facility.core.wait import wait_until
from gateway.broker import MosquittoBroker
from gateway.mqtt import Message, MqttConnection, MqttOptions
from simulators.runner import Simulator
from simulators.scenario import load_scenario


def test_the_simulator_waits_for_a_restarted_broker_and_publishes_again(
    mosquitto: MosquittoBroker,
) -> None:
    received: list[str] = []
    lock = threading.Lock()

    def count(message: Message) -> None:
        with lock:
            received.append(message.topic)

    subscriber = MqttConnection(
        MqttOptions(url=mosquitto.url, client_id="sim-restart-watch"), on_message=count
    ).connect()
    subscriber.subscribe("facility/#", qos=0)
    simulator = Simulator(load_scenario("office"), seed=3)
    stop = threading.Event()
    failures: list[BaseException] = []

    def run() -> None:
        try:
            simulator.run(mosquitto.url, rate=200, stop=stop, qos=1, reconnect_timeout_s=60)
        except BaseException as exc:  # the thread's death is what this test is about
            failures.append(exc)

    thread = threading.Thread(target=run, name="sim-under-test", daemon=True)
    thread.start()
    try:
        wait_until(lambda: len(received) >= 50, timeout_s=30, what="the simulator publishes")
        mosquitto.stop()
        wait_until(lambda: not subscriber.is_connected, timeout_s=30, what="the broker is gone")
        mosquitto.start()  # same port
        wait_until(lambda: subscriber.is_connected, timeout_s=60, what="the watcher reconnects")
        with lock:
            before = len(received)
        wait_until(
            lambda: len(received) >= before + 50,
            timeout_s=60,
            what="the simulator publishing again after the restart",
        )
        assert thread.is_alive(), f"the simulator thread died: {failures}"
        assert failures == []
    finally:
        stop.set()
        thread.join(timeout=30)
        subscriber.close()
    assert not thread.is_alive()
