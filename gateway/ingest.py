"""The ingest loop: MQTT messages in, readings stored, handed on, acknowledged.

paho's network thread only enqueues; one worker thread decodes, batches (as many messages as are
waiting, up to ``batch_size``: low latency when idle, large batches under load), writes the
batch, updates device state, calls the sinks (rules), and only then acknowledges the QoS 1
messages, so a crash before the commit makes the broker redeliver instead of losing data.
A rejected message is counted and published to ``facility/_deadletter/<topic>``; the next one
flows.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import orjson

from facility.errors import PayloadRejected, ServiceUnavailable
from facility.types import Presence, Reading, ReadingStore
from gateway import codecs
from gateway.deadletter import deadletter_topic, envelope
from gateway.metrics import MESSAGES_RECEIVED, QUEUE_DEPTH, READINGS_STORED, REJECTED, SPOOLED
from gateway.mqtt import Message, MqttConnection, MqttOptions
from gateway.stores.sql import SqlStateStore

__all__ = ["Gateway", "GatewayOptions", "Sink"]

log = logging.getLogger(__name__)

Sink = Callable[[Sequence[Reading], Sequence[Presence]], None]
_STOP = object()


@dataclass(slots=True)
class GatewayOptions:
    mqtt: MqttOptions
    topics: list[str] = field(default_factory=lambda: ["facility/#"])
    share_group: str | None = None
    qos: int = 1
    batch_size: int = 500
    max_payload_bytes: int = 64 * 1024
    codec_overrides: dict[str, str] = field(default_factory=dict)
    spool_dir: Path | None = None
    store_retries: int = 3


@dataclass(slots=True)
class GatewayStats:
    received: int = 0
    stored: int = 0
    rejected: int = 0
    batches: int = 0
    sink_errors: int = 0


class Gateway:
    """Subscribes, decodes, stores and hands readings to sinks; see the module docstring."""

    def __init__(
        self,
        options: GatewayOptions,
        *,
        store: ReadingStore,
        state: SqlStateStore | None = None,
        sinks: Sequence[Sink] = (),
    ) -> None:
        self.options = options
        self.store = store
        self.state = state
        self.sinks = list(sinks)
        self.stats = GatewayStats()
        self._queue: queue.Queue[Message | object] = queue.Queue()
        self._worker = threading.Thread(target=self._run, name="gateway-ingest", daemon=True)
        options.mqtt.manual_ack = True
        self.mqtt = MqttConnection(options.mqtt, on_message=self._enqueue)
        self._idle = threading.Event()

    # -- life cycle -----------------------------------------------------------------------
    def start(self) -> Gateway:
        """Connect and subscribe; raises ServiceUnavailable if the broker is unreachable."""
        self.mqtt.connect()
        for topic in self.options.topics:
            shared = self.options.share_group and self.mqtt.protocol == "5"
            filter_ = f"$share/{self.options.share_group}/{topic}" if shared else topic
            self.mqtt.subscribe(filter_, qos=self.options.qos)
        self._worker.start()
        log.info("gateway subscribed to %s", ", ".join(self.options.topics))
        return self

    def stop(self) -> None:
        """Process what is queued, then disconnect."""
        if self._worker.is_alive():
            self._queue.put(_STOP)
            self._worker.join(timeout=30)
        self.mqtt.close()

    # -- network thread -------------------------------------------------------------------
    def _enqueue(self, message: Message) -> None:
        self._queue.put(message)
        MESSAGES_RECEIVED.inc()

    # -- worker thread --------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=0.5)
            except queue.Empty:
                self._idle.set()
                continue
            self._idle.clear()
            batch: list[Message] = []
            stop = first is _STOP
            if not stop:
                batch.append(first)  # type: ignore[arg-type]
            while len(batch) < self.options.batch_size and not stop:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stop = True
                else:
                    batch.append(item)  # type: ignore[arg-type]
            QUEUE_DEPTH.set(self._queue.qsize())
            if batch:
                try:
                    self.process(batch)
                except Exception:
                    log.exception("gateway batch failed; messages stay unacknowledged")
            if stop:
                return

    def process(self, batch: Sequence[Message]) -> None:
        """Decode, store, record state, hand on, acknowledge — one batch."""
        received = datetime.now(UTC)
        readings: list[Reading] = []
        presences: list[Presence] = []
        for message in batch:
            self.stats.received += 1
            try:
                decoded = codecs.decode(
                    message.topic,
                    message.payload,
                    received=received,
                    max_bytes=self.options.max_payload_bytes,
                    overrides=self.options.codec_overrides,
                )
            except PayloadRejected as rejected:
                self._reject(message, rejected.reason, rejected.detail)
                continue
            for item in decoded:
                if isinstance(item, Reading):
                    readings.append(item)
                else:
                    presences.append(item)
        self._store(readings)
        if self.state is not None:
            try:
                self.state.record(readings, presences)
            except ServiceUnavailable as exc:
                log.error("device state not updated: %s", exc)
        for sink in self.sinks:
            try:
                sink(readings, presences)
            except Exception:
                self.stats.sink_errors += 1
                log.exception("a reading sink failed; the gateway goes on")
        for message in batch:
            self.mqtt.ack(message.mid, message.qos)
        self.stats.batches += 1

    def _store(self, readings: list[Reading]) -> None:
        if not readings:
            return
        delay_s = 0.5
        for attempt in range(1, self.options.store_retries + 1):
            try:
                self.store.write(readings)
                self._drain_spool()
                break
            except ServiceUnavailable as exc:
                if attempt == self.options.store_retries:
                    self._spool(readings, exc)
                    return
                log.warning("store write failed (attempt %d): %s; retrying", attempt, exc)
                time.sleep(delay_s)
                delay_s *= 2
        self.stats.stored += len(readings)
        READINGS_STORED.inc(len(readings))

    # -- spool: what the store refused is kept on disk and retried ------------------------
    def _spool_path(self) -> Path | None:
        if self.options.spool_dir is None:
            return None
        self.options.spool_dir.mkdir(parents=True, exist_ok=True)
        return self.options.spool_dir / "readings.spool.jsonl"

    def _spool(self, readings: list[Reading], exc: Exception) -> None:
        path = self._spool_path()
        if path is None:
            raise exc
        with path.open("ab") as spool:
            for r in readings:
                spool.write(
                    orjson.dumps(
                        {
                            "device": r.device,
                            "metric": r.metric,
                            "value": r.value,
                            "unit": r.unit,
                            "ts": r.ts.isoformat(),
                            "quality": r.quality,
                        }
                    )
                    + b"\n"
                )
        SPOOLED.inc(len(readings))
        log.error("store unavailable (%s); spooled %d readings to %s", exc, len(readings), path)

    def _drain_spool(self) -> None:
        path = self._spool_path()
        if path is None or not path.exists():
            return
        lines = path.read_bytes().splitlines()
        spooled = [
            Reading(**{**row, "ts": datetime.fromisoformat(row["ts"])})
            for row in map(orjson.loads, lines)
        ]
        self.store.write(spooled)
        path.unlink()
        self.stats.stored += len(spooled)
        READINGS_STORED.inc(len(spooled))
        log.info("replayed %d spooled readings into the store", len(spooled))

    def _reject(self, message: Message, reason: str, detail: str) -> None:
        self.stats.rejected += 1
        REJECTED.labels(reason=reason).inc()
        log.info("rejected %s: %s (%s)", message.topic, reason, detail)
        self.mqtt.publish(
            deadletter_topic(message.topic),
            envelope(message.topic, message.payload, reason, detail),
            qos=1,
        )

    def wait_idle(self, timeout_s: float) -> bool:
        """True once the queue is empty and the worker has nothing in hand (for tests, demo)."""
        return self._idle.wait(timeout_s)
