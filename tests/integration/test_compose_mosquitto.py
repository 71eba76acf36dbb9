"""deploy/mosquitto/mosquitto.conf on a real Mosquitto: credentials work, anonymous does not.

The container runs the same file with ``/mosquitto/data`` as its data directory and port 1883;
here only those two are moved (to a temporary directory and a free port), and the password file
is written with ``mosquitto_passwd`` exactly as the compose service's command does.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from facility.core.errors import FacilityError
from facility.core.wait import wait_until
from gateway.broker import find_mosquitto, free_port, port_open
from gateway.mqtt import MqttConnection, MqttOptions
from tests.conftest import missing_service

ROOT = Path(__file__).resolve().parents[2]
CONF = ROOT / "deploy" / "mosquitto" / "mosquitto.conf"


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
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(text.replace("listener 1883\n", f"listener {port} 127.0.0.1\n"))
    subprocess.run(
        [passwd, "-b", "-c", str(tmp_path / "passwd"), "facility", "broker-pass-1"],
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
