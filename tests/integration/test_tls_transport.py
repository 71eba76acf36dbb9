"""Secure transport on a real Mosquitto: TLS, client certificates, passwords and an ACL.

The fixture generates a CA, a server certificate for 127.0.0.1 and a client certificate with
``cryptography``, a password file with ``mosquitto_passwd`` and an ACL, and starts Mosquitto with
two TLS listeners (password only; password plus a required client certificate).
"""

from __future__ import annotations

import ipaddress
import logging
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from facility.core.errors import ConfigError, ServiceUnavailable
from facility.core.wait import wait_until
from gateway.broker import AmqttBroker, find_mosquitto, free_port, port_open
from gateway.ingest import Gateway, GatewayOptions
from gateway.mqtt import MqttConnection, MqttOptions
from gateway.stores.sql import SqlReadingStore, make_engine

GATEWAY_PASSWORD = "gw-s3cret-Pa55"
PUBLISHER_PASSWORD = "pub-s3cret-Pa55"


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> Path:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


def _cert(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Name | None,
    issuer_key: ec.EllipticCurvePrivateKey,
    *,
    ca: bool = False,
    server: bool = False,
) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer or name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        ).add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    else:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
    return builder.sign(issuer_key, hashes.SHA256())


def _write_cert(cert: x509.Certificate, path: Path) -> Path:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


@dataclass
class SecureBroker:
    port: int
    mtls_port: int
    ca_file: Path
    client_cert: Path
    client_key: Path
    rogue_ca_file: Path
    password_file: Path

    @property
    def url(self) -> str:
        return f"mqtts://127.0.0.1:{self.port}"

    @property
    def mtls_url(self) -> str:
        return f"mqtts://127.0.0.1:{self.mtls_port}"


@pytest.fixture
def secure_mosquitto(tmp_path: Path) -> Iterator[SecureBroker]:
    from tests.conftest import missing_service

    binary = find_mosquitto()
    passwd = shutil.which("mosquitto_passwd")
    if binary is None or passwd is None:
        missing_service("mosquitto and mosquitto_passwd", "apt-get install -y mosquitto")
    assert binary is not None and passwd is not None
    ca_key = _key()
    ca = _cert("facility test CA", ca_key, None, ca_key, ca=True)
    server_key = _key()
    server = _cert("127.0.0.1", server_key, ca.subject, ca_key, server=True)
    client_key = _key()
    client = _cert("gateway", client_key, ca.subject, ca_key)
    rogue_key = _key()
    rogue = _cert("someone else's CA", rogue_key, None, rogue_key, ca=True)
    ca_file = _write_cert(ca, tmp_path / "ca.pem")
    _write_cert(server, tmp_path / "server.pem")
    _write_key(server_key, tmp_path / "server.key")
    client_cert = _write_cert(client, tmp_path / "client.pem")
    client_key_file = _write_key(client_key, tmp_path / "client.key")
    rogue_ca = _write_cert(rogue, tmp_path / "rogue-ca.pem")

    users = tmp_path / "passwd"
    subprocess.run([passwd, "-c", "-b", str(users), "gateway", GATEWAY_PASSWORD], check=True)
    subprocess.run([passwd, "-b", str(users), "publisher", PUBLISHER_PASSWORD], check=True)
    acl = tmp_path / "acl"
    acl.write_text(
        "user gateway\ntopic read facility/#\ntopic write facility/_deadletter/#\n\n"
        "user publisher\ntopic write facility/#\n"
    )
    tls = (
        f"cafile {ca_file}\ncertfile {tmp_path / 'server.pem'}\nkeyfile {tmp_path / 'server.key'}\n"
    )
    conf = tmp_path / "mosquitto.conf"
    log_path = tmp_path / "mosquitto.log"
    for attempt in range(5):  # a free port can be taken by another process before we bind it
        port, mtls_port = free_port(), free_port()
        conf.write_text(
            "user root\nper_listener_settings false\nallow_anonymous false\n"
            f"password_file {users}\nacl_file {acl}\nlog_dest stderr\nlog_type error\n"
            f"listener {port} 127.0.0.1\n{tls}require_certificate false\n"
            f"listener {mtls_port} 127.0.0.1\n{tls}require_certificate true\n"
        )
        log_path.write_bytes(b"")
        log = log_path.open("ab")
        proc = subprocess.Popen([binary, "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT)
        log.close()

        def listening(
            proc: subprocess.Popen[bytes] = proc, port: int = port, mtls_port: int = mtls_port
        ) -> bool:
            if proc.poll() is not None:
                raise RuntimeError(log_path.read_text())
            return port_open("127.0.0.1", port) and port_open("127.0.0.1", mtls_port)

        try:
            wait_until(listening, timeout_s=10, what="TLS mosquitto listening")
            break
        except TimeoutError:
            proc.kill()
            proc.wait(timeout=10)
            if "Address already in use" not in log_path.read_text() or attempt == 4:
                raise
    yield SecureBroker(
        port, mtls_port, ca_file, client_cert, client_key_file, rogue_ca, tmp_path / "pw"
    )
    proc.terminate()
    assert proc.wait(timeout=10) in (0, -15)


def _options(url: str, **kwargs: object) -> MqttOptions:
    values: dict[str, object] = {"client_id": f"tls-{time.monotonic_ns()}", "connect_timeout_s": 5}
    values.update(kwargs)
    return MqttOptions(url=url, **values)  # type: ignore[arg-type]


def test_gateway_over_tls_with_a_password_file_receives_and_stores_readings(
    secure_mosquitto: SecureBroker, tmp_path: Path
) -> None:
    password_file = tmp_path / "gateway.password"
    password_file.write_text(GATEWAY_PASSWORD + "\n")
    store = SqlReadingStore(make_engine(f"sqlite:///{tmp_path / 'readings.db'}"))
    gateway = Gateway(
        GatewayOptions(
            mqtt=_options(
                secure_mosquitto.url,
                ca_file=secure_mosquitto.ca_file,
                username="gateway",
                password_file=password_file,
            )
        ),
        store=store,
    ).start()
    publisher = MqttConnection(
        _options(
            secure_mosquitto.url,
            ca_file=secure_mosquitto.ca_file,
            username="publisher",
            password=PUBLISHER_PASSWORD,
        )
    ).connect()
    try:
        info = publisher.publish("facility/hq/room-1/temperature", b"21.5", qos=1)
        info.wait_for_publish(timeout=5)
        wait_until(lambda: store.count() == 1, timeout_s=10, what="the reading stored over TLS")
    finally:
        publisher.close()
        gateway.stop()
        store.close()
    assert store.query(limit=1).items[0].value == 21.5


def test_a_client_certificate_is_presented_when_the_listener_requires_one(
    secure_mosquitto: SecureBroker,
) -> None:
    connection = MqttConnection(
        _options(
            secure_mosquitto.mtls_url,
            ca_file=secure_mosquitto.ca_file,
            cert_file=secure_mosquitto.client_cert,
            key_file=secure_mosquitto.client_key,
            username="gateway",
            password=GATEWAY_PASSWORD,
        )
    ).connect()
    try:
        assert connection.is_connected
    finally:
        connection.close()
    without = MqttConnection(
        _options(
            secure_mosquitto.mtls_url,
            ca_file=secure_mosquitto.ca_file,
            username="gateway",
            password=GATEWAY_PASSWORD,
        )
    )
    with pytest.raises(ServiceUnavailable, match=str(secure_mosquitto.mtls_port)):
        without.connect()


def test_wrong_credentials_give_one_clear_line_after_bounded_retries_and_never_show_the_password(
    secure_mosquitto: SecureBroker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "wrong-Pa55-do-not-log"
    connection = MqttConnection(
        _options(
            secure_mosquitto.url,
            ca_file=secure_mosquitto.ca_file,
            username="gateway",
            password=wrong,
            connect_attempts=2,
            connect_retry_s=0.1,
        )
    )
    started = time.monotonic()
    with pytest.raises(ServiceUnavailable) as failure:
        connection.connect()
    assert time.monotonic() - started < 15
    message = str(failure.value)
    assert "\n" not in message
    assert "refused" in message and "username and password" in message
    assert wrong not in message and wrong not in caplog.text
    assert wrong not in repr(connection.options)
    retries = [r for r in caplog.records if "attempt 1 of 2" in r.getMessage()]
    assert len(retries) == 1 and retries[0].exc_info is None


def test_an_untrusted_server_certificate_is_refused_with_a_hint_about_the_ca_file(
    secure_mosquitto: SecureBroker,
) -> None:
    connection = MqttConnection(
        _options(
            secure_mosquitto.url,
            ca_file=secure_mosquitto.rogue_ca_file,
            username="gateway",
            password=GATEWAY_PASSWORD,
        )
    )
    with pytest.raises(ServiceUnavailable, match="certificate verify failed") as failure:
        connection.connect()
    assert "FACILITY_MQTT_CA_FILE" in str(failure.value)
    assert failure.value.__cause__ is None  # one line, no chained traceback


class _TabooBroker(AmqttBroker):
    """The embedded amqtt broker with its topic plugin, which refuses (SUBACK 0x80) a
    subscription to ``top-secret``. Mosquitto 2.0's ACL file never refuses a subscription (it
    grants it and filters on delivery), so a real refusal needs this broker."""

    async def _start(self) -> None:
        from amqtt.broker import Broker

        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            "plugins": {
                "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True},
                "amqtt.plugins.topic_checking.TopicTabooPlugin": {},
            },
        }
        broker = Broker(config, loop=self._loop)
        await broker.start()
        self._broker = broker


def test_a_refused_subscription_stops_the_gateway_start_with_one_clear_error(
    tmp_path: Path,
) -> None:
    broker = _TabooBroker().start()
    store = SqlReadingStore(make_engine(f"sqlite:///{tmp_path / 'readings.db'}"))
    gateway = Gateway(
        GatewayOptions(
            mqtt=_options(
                f"mqtt://gateway:{GATEWAY_PASSWORD}@127.0.0.1:{broker.port}", protocol="3.1.1"
            ),
            topics=["facility/#", "top-secret"],
        ),
        store=store,
    )
    try:
        with pytest.raises(ServiceUnavailable) as failure:
            gateway.start()
    finally:
        gateway.stop()
        store.close()
        broker.stop()
    message = str(failure.value)
    assert "refused the subscription to 'top-secret'" in message
    assert "ACL for user 'gateway'" in message
    assert GATEWAY_PASSWORD not in message and "\n" not in message


@pytest.mark.parametrize(
    ("field", "variable"),
    [("ca_file", "FACILITY_MQTT_CA_FILE"), ("password_file", "FACILITY_MQTT_PASSWORD_FILE")],
)
def test_a_missing_tls_or_password_file_is_a_config_error_naming_the_variable(
    field: str, variable: str, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match=variable):
        MqttConnection(_options("mqtts://127.0.0.1:8883", **{field: tmp_path / "absent"}))


def test_a_certificate_without_its_key_is_a_config_error(secure_mosquitto: SecureBroker) -> None:
    with pytest.raises(ConfigError, match="go together"):
        MqttConnection(_options(secure_mosquitto.url, cert_file=secure_mosquitto.client_cert))
