"""A small typed layer over paho-mqtt 2: connect from a URL, resubscribe, fall back to 3.1.1.

paho's own network thread reconnects with exponential backoff (``reconnect_delay_set``); we
re-subscribe in ``on_connect`` so a broker restart is invisible to the caller. The first
connection is synchronous and turns paho's failures into :class:`ServiceUnavailable` with words,
not numbers.
"""

from __future__ import annotations

import logging
import ssl
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from facility.errors import ConfigError, ServiceUnavailable

__all__ = ["Message", "MqttConnection", "MqttOptions"]

log = logging.getLogger(__name__)

#: How long the broker keeps a persistent session (and queues QoS 1 messages) while we are away.
SESSION_EXPIRY_S = 24 * 3600


@dataclass(frozen=True, slots=True)
class Message:
    """A received message; ``mid``/``qos`` are kept so it can be acknowledged after storage."""

    topic: str
    payload: bytes
    qos: int
    mid: int
    retain: bool


@dataclass(slots=True)
class MqttOptions:
    url: str
    protocol: str = "5"
    client_id: str = field(default_factory=lambda: f"facility-{uuid.uuid4().hex[:8]}")
    clean_start: bool = True
    keepalive_s: int = 30
    connect_timeout_s: float = 10.0
    reconnect_min_s: int = 1
    reconnect_max_s: int = 30
    manual_ack: bool = False
    will: tuple[str, bytes] | None = None


def _parse_url(url: str) -> tuple[str, int, str | None, str | None, bool]:
    parts = urlsplit(url)
    tls = parts.scheme in ("mqtts", "ssl", "wss")
    if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl") or not parts.hostname:
        raise ConfigError(f"MQTT URL {url!r} is not mqtt://[user:pass@]host[:port] or mqtts://")
    port = parts.port or (8883 if tls else 1883)
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    return parts.hostname, port, user, password, tls


def redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return parts._replace(netloc=parts.netloc.replace(parts.password, "****")).geturl()
    return url


class MqttConnection:
    """One paho client with its subscriptions, kept alive across broker restarts."""

    def __init__(
        self, options: MqttOptions, on_message: Callable[[Message], None] | None = None
    ) -> None:
        self.options = options
        self._on_message = on_message
        self._subscriptions: list[tuple[str, int]] = []
        self._connected = threading.Event()
        self._connack: Any = None
        self._lock = threading.Lock()
        self.protocol = options.protocol
        self.connects = 0
        self._tcp_connected = False
        self._client = self._make_client(options.protocol)

    # -- set-up ---------------------------------------------------------------------------
    def _make_client(self, protocol: str) -> paho.Client:
        version = paho.MQTTv5 if protocol == "5" else paho.MQTTv311
        kwargs: dict[str, Any] = {
            "callback_api_version": CallbackAPIVersion.VERSION2,
            "client_id": self.options.client_id,
            "protocol": version,
            "manual_ack": self.options.manual_ack,
            "reconnect_on_failure": True,
        }
        if version == paho.MQTTv311:
            kwargs["clean_session"] = self.options.clean_start
        client = paho.Client(**kwargs)
        _host, _port, user, password, tls = _parse_url(self.options.url)
        if user is not None:
            client.username_pw_set(user, password)
        if tls:
            client.tls_set(cert_reqs=ssl.CERT_REQUIRED)
        if self.options.will:
            client.will_set(self.options.will[0], self.options.will[1], qos=1, retain=True)
        client.reconnect_delay_set(self.options.reconnect_min_s, self.options.reconnect_max_s)
        client.on_connect = self._handle_connect
        client.on_disconnect = self._handle_disconnect
        client.on_message = self._handle_message
        client.max_queued_messages_set(0)
        client.max_inflight_messages_set(1000)
        return client

    def connect(self) -> MqttConnection:
        """Connect, wait for the CONNACK, start paho's network thread.

        Falls back from MQTT 5 to 3.1.1 once (logged) when the broker refuses v5.

        Raises:
            ServiceUnavailable: the broker cannot be reached or refused us.
        """
        try:
            self._connect_once()
        except ServiceUnavailable as exc:
            if self.protocol != "5" or not self._tcp_connected:
                raise
            log.warning(
                "broker at %s refused MQTT 5 (%s); falling back to MQTT 3.1.1",
                redact(self.options.url),
                exc,
            )
            self._client.loop_stop()
            self.protocol = "3.1.1"
            self._client = self._make_client("3.1.1")
            self._connect_once()
        return self

    def _connect_once(self) -> None:
        host, port, *_ = _parse_url(self.options.url)
        properties = None
        clean_start: Any = paho.MQTT_CLEAN_START_FIRST_ONLY
        if self.protocol == "5":
            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            properties.SessionExpiryInterval = 0 if self.options.clean_start else SESSION_EXPIRY_S
            clean_start = self.options.clean_start
        self._connected.clear()
        self._connack = None
        self._tcp_connected = False
        try:
            self._client.connect(
                host,
                port,
                keepalive=self.options.keepalive_s,
                clean_start=clean_start,
                properties=properties,
            )
        except (OSError, ValueError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            raise ServiceUnavailable(
                f"cannot reach MQTT broker at {redact(self.options.url)} ({reason.lower()}); "
                "start Mosquitto or set FACILITY_MQTT_URL"
            ) from exc
        self._tcp_connected = True
        self._client.loop_start()
        if not self._connected.wait(self.options.connect_timeout_s):
            self._client.loop_stop()
            detail = self._connack or "no CONNACK"
            raise ServiceUnavailable(
                f"MQTT broker at {redact(self.options.url)} did not accept the connection "
                f"({detail}) with protocol {self.protocol}"
            )

    # -- paho callbacks (network thread) --------------------------------------------------
    def _handle_connect(
        self, client: paho.Client, userdata: Any, flags: Any, reason: Any, props: Any
    ) -> None:
        if reason.is_failure:
            self._connack = f"refused: {reason}"
            log.error("MQTT connection refused: %s", reason)
            if self.connects == 0:
                client.disconnect()
            return
        self.connects += 1
        with self._lock:
            subscriptions = list(self._subscriptions)
        for topic, qos in subscriptions:
            client.subscribe(topic, qos=qos)
        if self.connects > 1:
            log.info("reconnected to MQTT broker; resubscribed %d topics", len(subscriptions))
        self._connected.set()

    def _handle_disconnect(
        self, client: paho.Client, userdata: Any, flags: Any, reason: Any, props: Any
    ) -> None:
        self._connected.clear()
        if reason.is_failure:
            log.warning("MQTT connection lost (%s); reconnecting with backoff", reason)

    def _handle_message(self, client: paho.Client, userdata: Any, msg: paho.MQTTMessage) -> None:
        if self._on_message is not None:
            self._on_message(Message(msg.topic, bytes(msg.payload), msg.qos, msg.mid, msg.retain))

    # -- use ------------------------------------------------------------------------------
    @property
    def is_connected(self) -> bool:
        return self._connected.is_set()

    def subscribe(self, topic: str, qos: int = 1) -> None:
        with self._lock:
            self._subscriptions.append((topic, qos))
        if self.is_connected:
            self._client.subscribe(topic, qos=qos)

    def publish(self, topic: str, payload: bytes | str, qos: int = 0, retain: bool = False) -> Any:
        return self._client.publish(topic, payload, qos=qos, retain=retain)

    def ack(self, mid: int, qos: int) -> None:
        """Acknowledge a QoS>0 message once it is safely stored (manual-ack mode)."""
        if qos > 0:
            self._client.ack(mid, qos)

    def wait_connected(self, timeout_s: float) -> bool:
        return self._connected.wait(timeout_s)

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
