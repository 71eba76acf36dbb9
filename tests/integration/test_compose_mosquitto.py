"""deploy/mosquitto/mosquitto.conf on a real Mosquitto: credentials work, anonymous does not.

The container runs the same file with ``/mosquitto/data`` as its data directory and port 1883;
here only those two are moved (to a temporary directory and a free port), and the password file
is written with ``mosquitto_passwd`` exactly as the compose service's command does.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
import yaml

from facility.core.errors import FacilityError
from facility.core.wait import wait_until
from gateway.broker import find_mosquitto, free_port, port_open
from gateway.mqtt import MqttConnection, MqttOptions
from tests.conftest import missing_service

ROOT = Path(__file__).resolve().parents[2]
CONF = ROOT / "deploy" / "mosquitto" / "mosquitto.conf"
ACL = ROOT / "deploy" / "mosquitto" / "acl"
#: device users written beside the gateway's, as docs/security.md tells an operator to
DEVICES = {"dev-a": "device-pass-a", "dev-b": "device-pass-b"}


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """A directory the broker can reach after dropping root (pytest's tmp dirs are 0700)."""
    path = Path(tempfile.mkdtemp(prefix="facility-compose-mosquitto-"))
    path.chmod(0o777)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def compose_broker(data_dir: Path) -> Iterator[int]:
    binary, passwd = find_mosquitto(), shutil.which("mosquitto_passwd")
    if binary is None or passwd is None:
        missing_service("mosquitto and mosquitto_passwd", "apt-get install -y mosquitto")
    assert binary is not None and passwd is not None
    tmp_path = data_dir
    port = free_port()
    text = CONF.read_text().replace("/mosquitto/data", str(tmp_path))
    assert "listener 1883\n" in text
    assert "acl_file /mosquitto/config/acl\n" in text  # the compose file mounts it there
    shutil.copy(ACL, tmp_path / "acl")
    text = text.replace("/mosquitto/config/acl", str(tmp_path / "acl"))
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(text.replace("listener 1883\n", f"listener {port} 127.0.0.1\n"))
    subprocess.run(
        [passwd, "-b", "-c", str(tmp_path / "passwd"), "facility", "broker-pass-1"],
        check=True,
        capture_output=True,
        timeout=30,
    )
    for user, password in DEVICES.items():
        subprocess.run(
            [passwd, "-b", str(tmp_path / "passwd"), user, password],
            check=True,
            capture_output=True,
            timeout=30,
        )
    try:  # as the compose command does: the broker's own user owns the password file
        shutil.chown(tmp_path / "passwd", "mosquitto", "mosquitto")
    except (LookupError, PermissionError):
        (tmp_path / "passwd").chmod(0o644)
    log = (tmp_path / "mosquitto.log").open("wb")
    proc = subprocess.Popen([binary, "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT)
    log.close()

    def up() -> bool:
        if proc.poll() is not None:
            raise RuntimeError((tmp_path / "mosquitto.log").read_text(errors="replace"))
        return port_open("127.0.0.1", port)

    try:
        wait_until(up, timeout_s=10, what=f"mosquitto with the compose config on {port}")
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert proc.returncode in (0, -15), (tmp_path / "mosquitto.log").read_text(errors="replace")


def _connect(url: str) -> MqttConnection:
    return MqttConnection(MqttOptions(url=url, connect_timeout_s=5)).connect()


def test_the_compose_broker_accepts_the_configured_user(compose_broker: int) -> None:
    connection = _connect(f"mqtt://facility:broker-pass-1@127.0.0.1:{compose_broker}")
    info = connection.publish("facility/hq/t1/temperature", b"21.5", qos=1)
    info.wait_for_publish(timeout=5)
    assert info.is_published()
    connection.close()


@pytest.mark.parametrize(
    "credentials", ["", "facility:wrong-pass@", "intruder:broker-pass-1@"], ids=repr
)
def test_the_compose_broker_refuses_anonymous_and_wrong_credentials(
    compose_broker: int, credentials: str
) -> None:
    with pytest.raises(FacilityError):
        _connect(f"mqtt://{credentials}127.0.0.1:{compose_broker}")


# -- per-device credentials and the ACL ----------------------------------------------------------
class _Client:
    """A raw paho MQTT 5 client that records what it receives and each PUBACK's reason code
    (our MqttConnection does not surface reason codes, and these tests are about them)."""

    def __init__(self, port: int, user: str, password: str) -> None:
        self.received: list[tuple[str, bytes]] = []
        self.acks: dict[int, int] = {}
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=f"acl-{user}", protocol=mqtt.MQTTv5
        )
        self.client.username_pw_set(user, password)
        self.client.on_message = lambda _c, _u, m: self.received.append((m.topic, m.payload))
        self.client.on_publish = lambda _c, _u, mid, rc, _p: self.acks.__setitem__(mid, rc.value)
        self.subscribed = threading.Event()
        self.client.on_subscribe = lambda *_args: self.subscribed.set()
        self.client.connect("127.0.0.1", port, keepalive=30)
        self.client.loop_start()

    def subscribe(self, topic: str) -> None:
        self.subscribed.clear()
        self.client.subscribe(topic, qos=1)
        assert self.subscribed.wait(10), f"no SUBACK for {topic}"

    def publish(self, topic: str, payload: bytes) -> int:
        """Publish at QoS 1 and return the broker's PUBACK reason code (0 = accepted)."""
        info = self.client.publish(topic, payload, qos=1)
        wait_until(lambda: info.mid in self.acks, timeout_s=10, what=f"PUBACK for {topic}")
        return self.acks[info.mid]

    def topics(self) -> list[str]:
        return [topic for topic, _ in self.received]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def clients(compose_broker: int) -> Iterator[dict[str, _Client]]:
    made = {
        "gateway": _Client(compose_broker, "facility", "broker-pass-1"),
        **{user: _Client(compose_broker, user, pw) for user, pw in DEVICES.items()},
    }
    yield made
    for client in made.values():
        client.close()


def test_a_device_publishes_its_own_topic_and_the_gateway_receives_it(
    clients: dict[str, _Client],
) -> None:
    gateway = clients["gateway"]
    gateway.subscribe("facility/#")
    assert clients["dev-a"].publish("facility/hq/dev-a/temperature", b"21.5") == 0
    wait_until(
        lambda: ("facility/hq/dev-a/temperature", b"21.5") in gateway.received,
        timeout_s=10,
        what="the gateway receives dev-a's reading",
    )


@pytest.mark.parametrize(
    "topic",
    [
        "facility/hq/dev-b/temperature",  # another device's topic
        "facility/annex/dev-b/temperature",  # on another site
        "facility/hq/dev-a-fake/temperature",  # a longer name that starts like its own
        "facility/_deadletter/facility/hq/dev-b/temperature",  # forging a dead letter
        "zigbee2mqtt/kitchen",  # another tree altogether
    ],
)
def test_a_device_cannot_publish_as_another_and_the_gateway_never_receives_it(
    clients: dict[str, _Client], topic: str
) -> None:
    gateway, intruder = clients["gateway"], clients["dev-a"]
    gateway.subscribe("#")
    assert intruder.publish(topic, b"99") == 135  # MQTT 5 "not authorized"
    # dev-a's next, allowed message travels the same connection after the forged one, so once
    # the gateway has it the forged one would have arrived first had the broker taken it
    assert intruder.publish("facility/hq/dev-a/temperature", b"20.0") == 0
    wait_until(
        lambda: "facility/hq/dev-a/temperature" in gateway.topics(),
        timeout_s=10,
        what="dev-a's own reading after the forged one",
    )
    assert topic not in gateway.topics()


def test_a_device_cannot_read_other_devices_but_reads_its_own_subtree(
    clients: dict[str, _Client],
) -> None:
    gateway, spy = clients["gateway"], clients["dev-a"]
    gateway.subscribe("facility/#")
    spy.subscribe("facility/#")  # granted by Mosquitto, but only its own topics are delivered
    assert clients["dev-b"].publish("facility/hq/dev-b/temperature", b"22.0") == 0
    wait_until(
        lambda: "facility/hq/dev-b/temperature" in gateway.topics(),
        timeout_s=10,
        what="the gateway receives dev-b's reading",
    )
    # a message dev-a may read, sent after dev-b's: it arrives after dev-b's would have
    assert gateway.publish("facility/hq/dev-a/set", b"ping") == 0
    wait_until(
        lambda: "facility/hq/dev-a/set" in spy.topics(),
        timeout_s=10,
        what="dev-a receives a message on its own subtree",
    )
    assert spy.topics() == ["facility/hq/dev-a/set"]


def test_the_compose_file_mounts_the_acl_the_config_names() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    volumes = compose["services"]["mosquitto"]["volumes"]
    assert "./deploy/mosquitto/acl:/mosquitto/config/acl:ro" in volumes
    command = " ".join(compose["services"]["mosquitto"]["command"])
    assert "-c /mosquitto/data/passwd" not in command, "a restart would drop device passwords"
