"""Integration fixtures: a whole stack, an HTTP client with a token, an MQTT publisher."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from facility.app.stack import Stack, StackOptions
from facility.core.settings import Settings
from gateway.broker import MosquittoBroker
from gateway.mqtt import MqttConnection, MqttOptions
from maintenance.people.users import create_user
from maintenance.shared.vocabulary import Role

PASSWORD = "integration-pass-1"


@pytest.fixture
def make_stack(settings: Settings, mosquitto: MosquittoBroker) -> Iterator[Callable[..., Stack]]:
    """Build and start a Stack against the test broker; stopped at teardown."""
    stacks: list[Stack] = []

    def build(database_url: str | None = None, **options: object) -> Stack:
        stack_settings = settings.model_copy(update={"database_url": database_url})
        stack = Stack(
            stack_settings,
            StackOptions(
                broker_url=mosquitto.url,
                api_port=0,  # bound before uvicorn starts: no race for a free port
                client_id=f"gw-{len(stacks)}",
                **options,  # type: ignore[arg-type]
            ),
        )
        with stack.sessions() as session:
            for role in Role:
                create_user(session, username=role.value, password=PASSWORD, role=role)
        stacks.append(stack.start())
        return stack

    yield build
    for stack in stacks:
        stack.stop()


def login(base_url: str, username: str = "admin") -> httpx.Client:
    response = httpx.post(
        f"{base_url}/api/v1/auth/token",
        data={"username": username, "password": PASSWORD},
        timeout=60,
    )
    response.raise_for_status()
    token = response.json()["access_token"]
    return httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=10)


@pytest.fixture
def publisher(mosquitto: MosquittoBroker) -> Iterator[MqttConnection]:
    connection = MqttConnection(
        MqttOptions(url=mosquitto.url, client_id="test-publisher")
    ).connect()
    yield connection
    connection.close()


def publish(connection: MqttConnection, topic: str, payload: bytes | str) -> None:
    info = connection.publish(topic, payload, qos=1)
    info.wait_for_publish(timeout=5)
    assert info.is_published()
