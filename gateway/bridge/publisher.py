"""The bridge's MQTT side: drain the spool to the central broker with QoS 1, in order.

The spool is the single source of truth. A drainer thread hands the oldest messages to paho
(at most ``window`` unacknowledged at once, MQTT's own flow control) and deletes each from the
spool when its PUBACK arrives. When the connection drops, whatever was not acknowledged is still
in the spool: on the next CONNACK paho's own copies of the old in-flight messages are discarded
(``drop_out_messages`` inside ``on_connect``, before paho would resend them) and the drainer
starts again from the oldest spooled message. Nothing is lost and the order is the spool's; as
MQTT QoS 1 promises, a message whose PUBACK was lost with the connection can arrive twice.

The session is persistent (a fixed client id, clean start off, a session expiry), so the broker
also keeps what it queued for us; the bridge publishes only, so that matters little, but it
keeps the broker from discarding a half-delivered message when we come back.

Locks: paho calls ``on_publish`` while holding its outgoing-message mutex, which ``publish``
needs too, so the callback only appends to a deque (no lock of ours); ``on_connect`` holds only
paho's callback mutex and takes ``_conn_lock``, the lock the drainer holds while it publishes,
so a reconnection never interleaves with half a batch.
"""

from __future__ import annotations

import collections
import logging
import ssl
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from facility.core.errors import ConfigError
from gateway.bridge.spool import Spool

__all__ = ["BrokerOptions", "SpoolPublisher", "redact"]

log = logging.getLogger(__name__)


def redact(url: str) -> str:
    """The URL with its password masked, for logs and errors."""
    parts = urlsplit(url)
    if parts.password:
        return parts._replace(netloc=parts.netloc.replace(parts.password, "****")).geturl()
    return url


@dataclass(slots=True)
class BrokerOptions:
    """Where and how to connect; ``password`` never appears in a repr or a log."""

    url: str
    client_id: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    insecure: bool = False
    keepalive_s: int = 30
    session_expiry_s: int = 7 * 24 * 3600
    reconnect_min_s: int = 1
    reconnect_max_s: int = 30
    window: int = 100

    def endpoint(self) -> tuple[str, int, bool, str | None, str | None]:
        """(host, port, tls, user, password) from the URL; ConfigError when it is not one."""
        try:
            parts = urlsplit(self.url)
            port = parts.port
        except ValueError as exc:
            raise ConfigError(f"--broker {redact(self.url)!r} is not a URL ({exc})") from None
        if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl") or not parts.hostname:
            raise ConfigError(
                f"--broker {redact(self.url)!r} is not mqtt://[user:pass@]host[:port] "
                "or mqtts://host[:8883]"
            )
        tls = parts.scheme in ("mqtts", "ssl")
        user = self.username or (unquote(parts.username) if parts.username else None)
        password = self.password
        if password is None and parts.password:
            password = unquote(parts.password)
        return parts.hostname, port or (8883 if tls else 1883), tls, user, password


def _tls_context(options: BrokerOptions) -> ssl.SSLContext:
    for path, flag in (
        (options.ca_file, "--ca-file"),
        (options.cert_file, "--cert-file"),
        (options.key_file, "--key-file"),
    ):
        if path is not None and not path.is_file():
            raise ConfigError(f"{flag} {str(path)!r} is not a readable file")
    if (options.cert_file is None) != (options.key_file is None):
        raise ConfigError("--cert-file and --key-file go together; give both or neither")
    try:
        context = ssl.create_default_context(
            cafile=str(options.ca_file) if options.ca_file else None
        )
        if options.cert_file is not None and options.key_file is not None:
            context.load_cert_chain(str(options.cert_file), str(options.key_file))
    except (ssl.SSLError, OSError) as exc:
        raise ConfigError(
            f"cannot load the TLS files ({exc}); check --ca-file/--cert-file"
        ) from exc
    if options.insecure:
        context.check_hostname = False
    return context


class SpoolPublisher:
    """Publishes the spool to one broker; see the module docstring."""

    def __init__(self, spool: Spool, options: BrokerOptions) -> None:
        self.spool = spool
        self.options = options
        self.published = 0  # acknowledged by the broker
        self.refused = 0  # PUBACK with a failure reason (ACL, quota): dropped, logged
        self.connects = 0
        self._host, self._port, tls, user, password = options.endpoint()
        self._connected = threading.Event()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._conn_lock = threading.Lock()
        self._generation = 0  # +1 on every disconnect: in-flight mids of before are void
        self._acks: collections.deque[tuple[int, int, bool]] = collections.deque()
        self._inflight: dict[tuple[int, int], int] = {}  # (generation, mid) -> spool id
        self._cursor = 0  # the highest spool id handed to paho in this generation
        self._seen_generation = 0
        self._refusal_logged: set[str] = set()
        client = paho.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=options.client_id,
            protocol=paho.MQTTv5,
            reconnect_on_failure=True,
        )
        if user is not None:
            client.username_pw_set(user, password)
        if tls or options.ca_file is not None:
            client.tls_set_context(_tls_context(options))
        client.reconnect_delay_set(options.reconnect_min_s, options.reconnect_max_s)
        client.max_inflight_messages_set(options.window)
        client.max_queued_messages_set(0)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        self._client = client
        self._thread = threading.Thread(target=self._drain, name="bridge-publish", daemon=True)

    # -- life cycle -------------------------------------------------------------------------
    def start(self) -> None:
        """Connect in the background (an unreachable broker is retried, never fatal)."""
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = self.options.session_expiry_s
        try:
            self._client.connect_async(
                self._host,
                self._port,
                keepalive=self.options.keepalive_s,
                clean_start=False,
                properties=properties,
            )
        except (OSError, ValueError) as exc:
            raise ConfigError(f"--broker {redact(self.options.url)}: {exc}") from exc
        self._client.loop_start()
        self._thread.start()

    def stop(self, drain_s: float = 5.0) -> None:
        """Give the spool up to ``drain_s`` to empty while connected, then disconnect."""
        if self._connected.is_set() and drain_s > 0:
            deadline = threading.Event()
            timer = threading.Timer(drain_s, deadline.set)
            timer.start()
            while not deadline.is_set() and self.spool.depth and self._connected.is_set():
                deadline.wait(0.05)
            timer.cancel()
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(10)
        self._client.disconnect()
        self._client.loop_stop()

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    @property
    def in_flight(self) -> int:
        return len(self._inflight)

    def wake(self) -> None:
        """New messages are in the spool."""
        self._wake.set()

    # -- paho callbacks (network thread) ----------------------------------------------------
    def _on_connect(
        self, client: paho.Client, userdata: Any, flags: Any, reason: Any, props: Any
    ) -> None:
        if reason.is_failure:
            hint = ""
            if getattr(reason, "value", 0) in (134, 135):
                hint = "; check --username/--password"
            log.error("broker %s refused the bridge: %s%s", redact(self.options.url), reason, hint)
            return
        with self._conn_lock:
            stale = client.drop_out_messages()  # resent from the spool instead, in order
            self.connects += 1
            self._connected.set()
        log.warning(
            "connected to %s (session present: %s); %d messages spooled to publish%s",
            redact(self.options.url),
            getattr(flags, "session_present", "?"),
            self.spool.depth,
            f", {len(stale)} unacknowledged resent" if stale else "",
        )
        self._wake.set()

    def _on_disconnect(
        self, client: paho.Client, userdata: Any, flags: Any, reason: Any, props: Any
    ) -> None:
        was = self._connected.is_set()
        self._connected.clear()
        self._generation += 1
        if was:
            log.warning(
                "lost the broker %s (%s); spooling until it is back",
                redact(self.options.url),
                reason,
            )
        self._wake.set()

    def _on_publish(
        self, client: paho.Client, userdata: Any, mid: int, reason: Any, props: Any
    ) -> None:
        self._acks.append((self._generation, mid, bool(getattr(reason, "is_failure", False))))
        self._wake.set()

    # -- the drainer (its own thread) -------------------------------------------------------
    def _drain(self) -> None:
        # acknowledgements are settled (one spool transaction) and the window refilled in
        # batches of a quarter window, not per PUBACK: a transaction per message would cap
        # the bridge at a few thousand messages a second
        batch = max(1, self.options.window // 4)
        while not self._stop.is_set():
            self._wake.clear()
            try:
                if (
                    len(self._acks) >= min(batch, len(self._inflight))
                    or not self._connected.is_set()
                ):
                    self._settle_acks()
                progressed = self._publish_some()
            except Exception:  # a spool failure must not kill the thread silently
                log.exception("the bridge's publisher failed; retrying")
                progressed = False
            if not progressed:
                self._wake.wait(0.5)

    def _settle_acks(self) -> None:
        done: list[int] = []
        while self._acks:
            generation, mid, refused = self._acks.popleft()
            row = self._inflight.pop((generation, mid), None)
            if row is None:
                continue
            done.append(row)
            if refused:
                self.refused += 1
                if self.refused == 1 or self.refused % 1000 == 0:
                    log.error(
                        "broker %s refused %d published messages (PUBACK failure, usually the "
                        "ACL): check that user may publish to facility/#",
                        redact(self.options.url),
                        self.refused,
                    )
            else:
                self.published += 1
        if done:
            self.spool.remove(done)

    def _publish_some(self) -> bool:
        with self._conn_lock:
            if not self._connected.is_set():
                return False
            generation = self._generation
            if generation != self._seen_generation:  # reconnected: start from the oldest again
                self._settle_acks()
                self._inflight.clear()
                self._cursor = 0
                self._seen_generation = generation
            free = self.options.window - len(self._inflight)
            if free <= 0 or (self._inflight and free < max(1, self.options.window // 4)):
                return False
            rows = self.spool.peek(after=self._cursor, limit=free)
            for row_id, topic, payload in rows:
                info = self._client.publish(topic, payload, qos=1)
                if info.rc != paho.MQTT_ERR_SUCCESS:
                    # not connected after all: the disconnect callback bumps the generation
                    return False
                self._inflight[(generation, info.mid)] = row_id
                self._cursor = row_id
            return bool(rows)
