"""A small typed layer over paho-mqtt 2: connect from a URL, resubscribe, fall back to 3.1.1.

paho's own network thread reconnects with exponential backoff (``reconnect_delay_set``); we
re-subscribe in ``on_connect`` so a broker restart is invisible to the caller. The first
connection is synchronous and turns paho's failures into :class:`ServiceUnavailable` with words,
not numbers.

Secure transport: ``mqtts://`` verifies the broker against ``ca_file`` (or the system store),
optionally presents a client certificate, and logs in with a username/password taken from the
options, a password file, or the URL. Passwords never appear in logs, reprs or errors. A refusal
(bad credentials, untrusted certificate, a subscription the ACL denies) is one clear line; the
first connection is tried ``connect_attempts`` times with backoff, then given up.
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from facility.core.errors import ConfigError, ServiceUnavailable

__all__ = ["Message", "MqttConnection", "MqttOptions"]

log = logging.getLogger(__name__)

#: How long the broker keeps a persistent session (and queues QoS 1 messages) while we are away.
SESSION_EXPIRY_S = 24 * 3600


@dataclass(frozen=True, slots=True)
class Message:
    """A received message; ``mid``/``qos`` are kept so it can be acknowledged after storage.

    ``received`` is stamped per message on arrival: it becomes the timestamp of readings whose
    payload carries none, so two such messages in one batch stay two points. ``session`` counts
    the connection it came on: a packet id means nothing on a later connection (the broker
    redelivers the message there under its own id), so only messages of the current
    connection are acknowledged.
    """

    topic: str
    payload: bytes
    qos: int
    mid: int
    retain: bool
    received: datetime = field(default_factory=lambda: datetime.now(UTC))
    session: int = 0


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
    #: how long the broker keeps our session (and queues QoS 1 messages) while we are away
    session_expiry_s: int = SESSION_EXPIRY_S
    #: MQTT 5 Receive Maximum: how many QoS 1/2 messages the broker may send us before we
    #: acknowledge any (1-65535); ``None`` leaves it to the broker (Mosquitto: 20)
    receive_maximum: int | None = None
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    password_file: Path | None = None
    connect_attempts: int = 1
    connect_retry_s: float = 1.0
    subscribe_timeout_s: float = 10.0

    def credentials(self) -> tuple[str | None, str | None]:
        """(username, password): explicit options, else the password file, else the URL."""
        _host, _port, url_user, url_password, _tls = _parse_url(self.url)
        password = self.password
        if password is None and self.password_file is not None:
            try:
                password = self.password_file.read_text(encoding="utf-8").splitlines()[0]
            except (OSError, UnicodeDecodeError, IndexError) as exc:
                raise ConfigError(
                    f"FACILITY_MQTT_PASSWORD_FILE={str(self.password_file)!r} cannot be read "
                    f"({getattr(exc, 'strerror', None) or 'empty or not text'}); "
                    "put the password on its first line"
                ) from exc
        return (self.username or url_user, password if password is not None else url_password)


def _parse_url(url: str) -> tuple[str, int, str | None, str | None, bool]:
    parts = urlsplit(url)
    tls = parts.scheme in ("mqtts", "ssl", "wss")
    if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl") or not parts.hostname:
        raise ConfigError(f"MQTT URL {url!r} is not mqtt://[user:pass@]host[:port] or mqtts://")
    port = parts.port or (8883 if tls else 1883)
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    return parts.hostname, port, user, password, tls


def _tls_reason(exc: ssl.SSLError) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"certificate verify failed: {exc.verify_message}"
    return str(exc.reason or exc).lower().replace("_", " ")


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
        self._refused = threading.Event()
        self._refusal: Any = None
        self._last_refusal: str | None = None
        self._pending_subs: dict[int, str] = {}
        self._resubscribing: set[int] = set()
        self.suback: dict[int, list[str]] = {}
        self.refused_subscriptions: dict[str, str] = {}
        self._suback_event = threading.Event()
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
        tls = _parse_url(self.options.url)[4]
        user, password = self.options.credentials()
        if user is not None:
            client.username_pw_set(user, password)
        if tls or self.options.ca_file is not None:
            client.tls_set_context(self._tls_context())
        client.on_subscribe = self._handle_subscribe
        if self.options.will:
            client.will_set(self.options.will[0], self.options.will[1], qos=1, retain=True)
        client.reconnect_delay_set(self.options.reconnect_min_s, self.options.reconnect_max_s)
        client.on_connect = self._handle_connect
        client.on_disconnect = self._handle_disconnect
        client.on_message = self._handle_message
        client.max_queued_messages_set(0)
        client.max_inflight_messages_set(1000)
        return client

    def _tls_context(self) -> ssl.SSLContext:
        """A verifying TLS context; unreadable files are a ConfigError naming the setting."""
        options = self.options
        for path, variable in (
            (options.ca_file, "FACILITY_MQTT_CA_FILE"),
            (options.cert_file, "FACILITY_MQTT_CERT_FILE"),
            (options.key_file, "FACILITY_MQTT_KEY_FILE"),
        ):
            if path is not None and not Path(path).is_file():
                raise ConfigError(f"{variable}={str(path)!r} is not a readable file")
        if (options.cert_file is None) != (options.key_file is None):
            raise ConfigError(
                "FACILITY_MQTT_CERT_FILE and FACILITY_MQTT_KEY_FILE go together; set both"
            )
        try:
            context = ssl.create_default_context(
                cafile=str(options.ca_file) if options.ca_file else None
            )
            if options.cert_file is not None and options.key_file is not None:
                context.load_cert_chain(str(options.cert_file), str(options.key_file))
        except (ssl.SSLError, OSError) as exc:
            raise ConfigError(
                f"cannot load the MQTT TLS files ({exc}); check FACILITY_MQTT_CA_FILE, "
                "FACILITY_MQTT_CERT_FILE and FACILITY_MQTT_KEY_FILE"
            ) from exc
        return context

    def connect(self) -> MqttConnection:
        """Connect, wait for the CONNACK, start paho's network thread.

        Tries ``connect_attempts`` times with doubling delays (one warning line each). Falls
        back from MQTT 5 to 3.1.1 once (logged) when the broker refuses v5.

        Raises:
            ServiceUnavailable: the broker cannot be reached or refused us.
        """
        delay_s = self.options.connect_retry_s
        for attempt in range(1, max(1, self.options.connect_attempts) + 1):
            try:
                return self._connect_with_fallback()
            except ServiceUnavailable as exc:
                if attempt >= self.options.connect_attempts:
                    raise
                log.info(  # the caller prints the final failure as one line
                    "%s; attempt %d of %d, retrying in %gs",
                    exc,
                    attempt,
                    self.options.connect_attempts,
                    delay_s,
                )
                time.sleep(delay_s)
                delay_s *= 2
                self._client = self._make_client(self.protocol)
        raise AssertionError("unreachable")  # pragma: no cover

    def _connect_with_fallback(self) -> MqttConnection:
        try:
            self._connect_once()
        except ServiceUnavailable as exc:
            if self.protocol != "5" or not self._tcp_connected or not self._protocol_refused():
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
            properties.SessionExpiryInterval = (
                0 if self.options.clean_start else self.options.session_expiry_s
            )
            if self.options.receive_maximum is not None:
                properties.ReceiveMaximum = max(1, min(65_535, self.options.receive_maximum))
            clean_start = self.options.clean_start
        self._connected.clear()
        self._refused.clear()
        self._connack = None
        self._refusal = None
        self._tcp_connected = False
        try:
            self._client.connect(
                host,
                port,
                keepalive=self.options.keepalive_s,
                clean_start=clean_start,
                properties=properties,
            )
        except ssl.SSLError as exc:
            raise ServiceUnavailable(
                f"TLS handshake with MQTT broker at {redact(self.options.url)} failed "
                f"({_tls_reason(exc)}); "
                "set FACILITY_MQTT_CA_FILE to the CA that signed the broker's certificate"
            ) from None
        except (OSError, ValueError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            raise ServiceUnavailable(
                f"cannot reach MQTT broker at {redact(self.options.url)} ({reason.lower()}); "
                "start Mosquitto or set FACILITY_MQTT_URL"
            ) from exc
        self._tcp_connected = True
        self._client.loop_start()
        deadline = time.monotonic() + self.options.connect_timeout_s
        while not self._connected.is_set() and not self._refused.is_set():
            if time.monotonic() >= deadline:
                break
            self._connected.wait(0.05)
        if not self._connected.is_set():
            self._client.disconnect()
            self._client.loop_stop()
            detail = self._connack or "no CONNACK"
            hint = ""
            if self._refusal is not None and self._refusal.value in (4, 5, 134, 135):
                hint = "; check the MQTT username and password (FACILITY_MQTT_USERNAME/_PASSWORD)"
            raise ServiceUnavailable(
                f"MQTT broker at {redact(self.options.url)} did not accept the connection "
                f"({detail}) with protocol {self.protocol}{hint}"
            )

    def _protocol_refused(self) -> bool:
        """True when the broker hung up or refused because it does not speak MQTT 5."""
        return self._refusal is None or self._refusal.value in (1, 132)

    # -- paho callbacks (network thread) --------------------------------------------------
    def _handle_connect(
        self, client: paho.Client, userdata: Any, flags: Any, reason: Any, props: Any
    ) -> None:
        if reason.is_failure:
            self._connack = f"refused: {reason}"
            self._refusal = reason
            if self.connects == 0:
                self._refused.set()  # the caller raises one clear error
            elif self._last_refusal != str(reason):
                log.error("MQTT broker refused the reconnection: %s", reason)
            self._last_refusal = str(reason)
            return
        self._last_refusal = None
        self.connects += 1
        with self._lock:
            subscriptions = list(self._subscriptions)
            self._resubscribing.clear()
            for topic, qos in subscriptions:
                _result, mid = client.subscribe(topic, qos=qos)
                self._pending_subs[int(mid or 0)] = topic
                self._resubscribing.add(int(mid or 0))
        if self.connects > 1:
            log.info("reconnected to MQTT broker; resubscribed %d topics", len(subscriptions))
        if not subscriptions:
            self._connected.set()
        # otherwise "connected" waits for the SUBACKs: a caller told we are connected may
        # publish at once and expect us to receive it

    def _handle_subscribe(
        self, client: paho.Client, userdata: Any, mid: int, reasons: Any, props: Any
    ) -> None:
        with self._lock:
            topic = self._pending_subs.pop(mid, "?")
            on_reconnect = mid in self._resubscribing
        refused = [r for r in reasons if getattr(r, "is_failure", False)]
        if refused:
            with self._lock:
                self.refused_subscriptions[topic] = str(refused[0])
            if on_reconnect:  # nobody waits for this SUBACK: say it here, once per reconnect
                log.error(
                    "MQTT broker refused the subscription to %r (%s); check the broker ACL",
                    topic,
                    refused[0],
                )
        with self._lock:
            self.suback[mid] = [str(r) for r in reasons]
            self._suback_event.set()
            if mid in self._resubscribing:
                self._resubscribing.discard(mid)
                if not self._resubscribing:
                    self._connected.set()

    def _handle_disconnect(
        self, client: paho.Client, userdata: Any, flags: Any, reason: Any, props: Any
    ) -> None:
        self._connected.clear()
        if reason.is_failure:
            log.warning("MQTT connection lost (%s); reconnecting with backoff", reason)

    def _handle_message(self, client: paho.Client, userdata: Any, msg: paho.MQTTMessage) -> None:
        if self._on_message is not None:
            self._on_message(
                Message(
                    msg.topic,
                    bytes(msg.payload),
                    msg.qos,
                    msg.mid,
                    msg.retain,
                    session=self.connects,
                )
            )

    # -- use ------------------------------------------------------------------------------
    @property
    def is_connected(self) -> bool:
        return self._connected.is_set()

    def subscribe(self, topic: str, qos: int = 1, *, wait: bool = True) -> None:
        """Subscribe now and after every reconnect.

        Args:
            wait: wait for the SUBACK (so a message published next is received) and raise
                if the broker refused (an ACL denial). Never wait on paho's own thread.

        Raises:
            ServiceUnavailable: with ``wait``, the broker refused or did not answer in time.
        """
        with self._lock:
            self._subscriptions.append((topic, qos))
        if not self.is_connected:
            return
        with self._lock:
            self._suback_event.clear()
            _result, sub_mid = self._client.subscribe(topic, qos=qos)
            mid = int(sub_mid or 0)
            self._pending_subs[mid] = topic
        if not wait:
            return
        deadline = time.monotonic() + self.options.subscribe_timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                reasons = self.suback.pop(mid, None)
            if reasons is not None:
                refused = self.refused_subscriptions.get(topic)
                if refused is not None:
                    user = self.options.credentials()[0] or "anonymous"
                    raise ServiceUnavailable(
                        f"MQTT broker at {redact(self.options.url)} refused the subscription to "
                        f"{topic!r} ({refused}); allow it in the broker ACL for user {user!r}"
                    )
                return
            self._suback_event.wait(0.05)
        raise ServiceUnavailable(
            f"MQTT broker at {redact(self.options.url)} did not confirm the subscription to "
            f"{topic!r} within {self.options.subscribe_timeout_s:g}s"
        )

    def publish(self, topic: str, payload: bytes | str, qos: int = 0, retain: bool = False) -> Any:
        return self._client.publish(topic, payload, qos=qos, retain=retain)

    def ack(self, mid: int, qos: int) -> None:
        """Acknowledge a QoS>0 message once it is safely stored (manual-ack mode)."""
        if qos > 0:
            self._client.ack(mid, qos)

    def ack_all(self, messages: Iterable[Message]) -> None:
        """Acknowledge every QoS>0 message of a stored batch, in order (manual-ack mode).

        Messages from an earlier connection are skipped: their packet ids may now name other,
        not yet stored messages, and the broker redelivers them on this connection anyway.
        """
        ack = self._client.ack
        session = self.connects
        for message in messages:
            if message.qos > 0 and message.session == session:
                ack(message.mid, message.qos)

    def wait_connected(self, timeout_s: float) -> bool:
        return self._connected.wait(timeout_s)

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
