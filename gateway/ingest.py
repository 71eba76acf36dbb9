"""The ingest loop: MQTT messages in, readings stored, handed on, acknowledged.

paho's network thread only enqueues; one worker thread decodes, batches (as many messages as are
waiting, up to ``batch_size``: low latency when idle, large batches under load), writes the
batch, updates device state, calls the sinks (rules), and only then acknowledges the QoS 1
messages, so a crash before the commit makes the broker redeliver instead of losing data.
A rejected message is counted and published to ``facility/_deadletter/<topic>``; the next one
flows.

Back-pressure: the queue between paho's network thread and the worker is bounded. When it is
full the network thread waits, so paho stops reading the socket and the broker holds the rest
(QoS 1 messages stay queued in our persistent session); nothing is dropped in memory.

When the store fails, a batch is retried with exponential backoff and jitter, then appended to a
disk spool (bounded: what exceeds the bound is dropped and counted) and the messages are
acknowledged; the spool is replayed in batches once a write succeeds again, or when idle.
Replays and redeliveries may write a point twice: both stores keep one point per
(device, metric, time), so that is harmless.

When the spool cannot be written either (disk full, read-only, immutable, no spool configured)
the worker *holds* the batch: it does not acknowledge it, takes nothing new, and keeps retrying
store-then-spool with bounded, jittered backoff until one of them works. Not acknowledging is the
back-pressure: the broker may send at most Receive Maximum unacknowledged messages, so it stops
delivering and queues the rest in our persistent session; once the disk returns, the held batch
is stored, acknowledged, and the broker delivers what it queued, without a restart. Nothing is
dropped in memory and nothing is acknowledged before it is durable. The component states
(store, spool, ingest, broker, worker, backlog) go to a :class:`~facility.core.health.HealthBoard`
that ``/healthz`` and ``/readyz`` read; presence does not expire devices while we could not
listen to them (see :meth:`Gateway.pipeline_healthy_since`).
"""

from __future__ import annotations

import gc
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import orjson
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from facility.core.errors import PayloadRejected, ServiceUnavailable
from facility.core.health import HealthBoard
from facility.core.types import Presence, Reading, ReadingStore
from gateway import codecs
from gateway.admission import DeviceGate
from gateway.deadletter import deadletter_topic, envelope
from gateway.metrics import (
    MESSAGES_RECEIVED,
    PRESENCE_CHANGES,
    QUEUE_BOUND,
    QUEUE_DEPTH,
    QUEUE_FULL,
    READINGS_DROPPED,
    READINGS_STORED,
    REJECTED,
    SPOOL_BOUND,
    SPOOL_READINGS,
    SPOOLED,
    STORE_WRITE_FAILURES,
    STORE_WRITE_SECONDS,
)
from gateway.mqtt import Message, MqttConnection, MqttOptions
from gateway.presence import PresenceChange, PresenceTracker
from gateway.registry import DeviceRegistry
from gateway.stores.sql import SqlStateStore

__all__ = ["Gateway", "GatewayOptions", "NotDurable", "Sink", "Submitted"]

log = logging.getLogger(__name__)

Sink = Callable[[Sequence[Reading], Sequence[Presence]], None]
_STOP = object()


class NotDurable(ServiceUnavailable):
    """Neither the store nor the spool took a batch: it stays unacknowledged and is retried."""


@dataclass(frozen=True, slots=True)
class Submitted(Message):
    """Readings and presence a connector (Modbus, BACnet) decoded itself, queued as a message.

    It rides the same queue and the same :meth:`Gateway.process` as an MQTT message, so a
    connector's readings get the registry's calibration, the store's retries and spool, device
    state, presence and the rules exactly as MQTT's do. ``qos`` is 0: there is nothing to
    acknowledge, and a crash loses at most the poll in hand (the next poll reads it again).
    """

    items: tuple[Reading | Presence, ...] = ()


_MAX_CACHED_DEVICES = 100_000


_collector_tuned = threading.Event()
#: young-generation collections happen after this many net allocations (CPython's default: 700)
_GC_YOUNG_THRESHOLD = 10_000


def _tune_collector() -> None:
    """Once per process: collect, ``gc.freeze()`` what exists, collect the young less often.

    Under load the gateway keeps objects alive across collections (queued messages, a batch's
    readings, device state waiting to be written), so the cyclic collector keeps promoting them
    and runs full collections, and each of those walked every object the process had from
    start-up: modules, SQLAlchemy, pydantic models, the rules. In bench_ingest the collector
    took a third of the worker's time while freeing nothing (reference counting frees all of
    the gateway's garbage). Freezing takes the start-up objects out of every later collection;
    a young threshold of 10,000 instead of 700 lets a batch's short-lived objects die before
    a collection sees them. Frozen objects are still freed by reference counting; only a
    reference cycle among them would stay until exit. Process-wide, so it is done only by the
    first gateway of a process, and ``GatewayOptions.tune_gc`` switches it off.
    """
    if _collector_tuned.is_set():
        return
    _collector_tuned.set()
    gc.collect()
    gc.freeze()
    young, middle, old = gc.get_threshold()
    if young and young < _GC_YOUNG_THRESHOLD:  # 0 means the collector is off: leave it off
        gc.set_threshold(_GC_YOUNG_THRESHOLD, middle, old)


class _BatchQueue(queue.Queue[object]):
    """A bounded queue whose consumer takes up to a whole batch under one lock.

    ``get_nowait`` per message costs a lock round trip each, paid on the worker thread for every
    message under load; this is the same hand-over (same lock, same wake-ups of a blocked
    producer) once per batch.
    """

    def get_batch(self, limit: int, timeout: float, fill_s: float = 0.0) -> list[object]:
        """Wait up to ``timeout`` seconds for an item, then take up to ``limit`` in order.

        ``fill_s``: when items were already waiting (traffic is continuous) but fewer than
        ``limit``, sleep that long first, outside the lock, so that the producer fills the
        batch. Without it, a worker that keeps up takes a few messages at a time, and paying
        the per-batch costs (a commit, the sinks, the acks' wake-ups) and a GIL hand-over with
        the network thread for every few messages halved the rate in bench_ingest. A message
        that arrives at an idle gateway is taken at once.
        """
        with self.not_empty:
            busy = self._qsize() > 0
            deadline = time.monotonic() + timeout
            while not self._qsize():
                remaining = deadline - time.monotonic()
                if remaining <= 0.0:
                    return []
                self.not_empty.wait(remaining)
            if not (busy and fill_s > 0.0 and self._qsize() < limit):
                return self._take(limit)
        time.sleep(fill_s)
        with self.not_empty:
            return self._take(limit)

    def _take(self, limit: int) -> list[object]:
        """Up to ``limit`` items, oldest first; the caller holds the lock."""
        take = min(limit, self._qsize())
        pending = self.queue
        items = [pending.popleft() for _ in range(take)]
        self.not_full.notify(take)
        return items


@dataclass(slots=True)
class GatewayOptions:
    mqtt: MqttOptions
    topics: list[str] = field(default_factory=lambda: ["facility/#"])
    share_group: str | None = None
    qos: int = 1
    batch_size: int = 500
    #: under continuous traffic, let a batch fill this long before taking it (see get_batch)
    batch_fill_s: float = 0.005
    max_payload_bytes: int = 64 * 1024
    codec_overrides: dict[str, str] = field(default_factory=dict)
    spool_dir: Path | None = None
    store_retries: int = 3
    retry_delay_s: float = 0.5
    #: messages held between the network thread and the worker before MQTT reading pauses
    queue_size: int = 10_000
    #: readings the disk spool may hold; beyond it readings are dropped and counted
    spool_max_readings: int = 1_000_000
    #: how often the spool is retried while no traffic arrives
    spool_retry_s: float = 2.0
    #: while neither the store nor the spool takes a batch, the longest wait between two tries
    #: (the waits grow from ``retry_delay_s``, doubling, with jitter)
    hold_retry_max_s: float = 30.0
    #: silence after which a device goes offline when its class has no timeout of its own
    heartbeat_timeout_s: float = 300.0
    presence_check_s: float = 1.0
    #: tune the cyclic garbage collector at the first start of a process (freeze what exists,
    #: collect the young less often); see :func:`_tune_collector`
    tune_gc: bool = True
    #: under load (messages still coming) device state is written at most this often; once no
    #: message has arrived for ``state_idle_s`` it is written at once, so an idle gateway is
    #: always current
    state_flush_interval_s: float = 1.0
    state_idle_s: float = 0.05


@dataclass(slots=True)
class GatewayStats:
    received: int = 0
    stored: int = 0
    rejected: int = 0
    batches: int = 0
    sink_errors: int = 0
    spooled: int = 0
    dropped: int = 0
    replayed: int = 0
    presence_changes: int = 0
    #: times the gateway held a batch because neither the store nor the spool took it
    holds: int = 0


class Gateway:
    """Subscribes, decodes, stores and hands readings to sinks; see the module docstring."""

    def __init__(
        self,
        options: GatewayOptions,
        *,
        store: ReadingStore,
        state: SqlStateStore | None = None,
        sinks: Sequence[Sink] = (),
        registry: DeviceRegistry | None = None,
        health: HealthBoard | None = None,
        gate: DeviceGate | None = None,
    ) -> None:
        self.options = options
        self.store = store
        self.state = state
        self.sinks = list(sinks)
        self.registry = registry or DeviceRegistry()
        #: bounds new device ids (rate, unassigned cap); None lets every id in (tests, tools)
        self.gate = gate
        self.stats = GatewayStats()
        self._queue = _BatchQueue(maxsize=options.queue_size)
        QUEUE_BOUND.set(options.queue_size)
        QUEUE_DEPTH.set_function(self._queue.qsize)  # the newest gateway of the process
        SPOOL_BOUND.set(options.spool_max_readings)
        self._worker = threading.Thread(target=self._run, name="gateway-ingest", daemon=True)
        options.mqtt.manual_ack = True
        if options.mqtt.receive_maximum is None:
            # Acknowledged only after a batch is stored, so the broker must be allowed to send
            # a whole batch unacknowledged: with Mosquitto's default window of 20 the worker
            # starved between batches, waiting for its own acks. Two batches (one being stored,
            # one filling) and no more: a window as large as the queue (10,500) let the broker
            # pile thousands of messages on each worker, and one worker ran at 0.49 of the
            # bare subscriber and two together 14 % slower than before (bench_ingest and
            # bench_scale_out side by side), against 0.60 and x 1.6-1.9 with this window.
            options.mqtt.receive_maximum = 2 * options.batch_size
        self.mqtt = MqttConnection(options.mqtt, on_message=self._enqueue)
        self._idle = threading.Event()
        self.presence = PresenceTracker(timeout_of=self._presence_timeout_s)
        self._next_presence_check = 0.0
        self._pending_state: dict[tuple[str, str], Reading] = {}
        self._calibrated: dict[str, bool] = {}
        self._calibrated_for: DeviceRegistry | None = None
        self._timeouts: dict[str, float] = {}
        self._timeouts_for: DeviceRegistry | None = None
        self._state_flushed_at = float("-inf")
        self._next_spool_retry = 0.0
        self._spooled_count = self._count_spool()
        SPOOL_READINGS.set(self._spooled_count)
        self._stopping = threading.Event()
        self._started = False
        self._holding_since: float | None = None  # monotonic, while a batch is held
        self._healthy_since = time.time()  # epoch; see pipeline_healthy_since
        self._connects_seen = 0
        self._spool_failing = False
        #: the waits between store tries and between tries of a held batch: doubling from
        #: ``retry_delay_s``, plus up to as much jitter, at most ``hold_retry_max_s``
        self._backoff = wait_exponential_jitter(
            multiplier=options.retry_delay_s,
            max=options.hold_retry_max_s,
            jitter=options.retry_delay_s,
        )
        self.health = health if health is not None else HealthBoard()
        self.health.report("store", True, "no write yet")
        self.health.report("spool", True, "not needed")
        self.health.report("ingest", True, "readings are stored", critical=True)
        self.health.watch("broker", self._broker_health)
        self.health.watch("ingest_worker", self._worker_health, critical=True)
        self.health.watch("backlog", self._backlog_health)

    def _pause(self, seconds: float) -> None:
        """Retry waits end early when the gateway stops, so ``stop`` never waits a backoff."""
        self._stopping.wait(seconds)

    # -- health ---------------------------------------------------------------------------
    def _broker_health(self) -> tuple[bool, str]:
        if not self._started or self.mqtt.is_connected:
            return True, "connected" if self._started else "not started"
        return False, "not connected to the MQTT broker; reconnecting with backoff"

    def _worker_health(self) -> tuple[bool, str]:
        if not self._started or self._worker.is_alive():
            return True, "running" if self._started else "not started"
        return False, "the ingest worker thread has stopped; restart the gateway"

    def _backlog_health(self) -> tuple[bool, str]:
        queued, spooled = self._queue.qsize(), self._spooled_count
        held = self._holding_since is not None
        text = f"{queued} queued, {spooled} spooled" + (", a batch held" if held else "")
        return not (held or spooled), text

    @property
    def holding(self) -> bool:
        """True while a batch waits because neither the store nor the spool takes it."""
        return self._holding_since is not None

    @property
    def pipeline_healthy_since(self) -> datetime:
        """Since when we could hear every device: the last recovery from a hold, or the last
        (re)connection to the broker; now while a batch is held or the broker is away.

        Silence before it is ours, not the devices': presence counts a device's silence from
        ``max(last heard, pipeline_healthy_since)``, so our own storage fault or a lost broker
        never marks a device offline nor raises a missed-heartbeat order.
        """
        if self._holding_since is not None or (self._started and not self.mqtt.is_connected):
            return datetime.now(UTC)
        return datetime.fromtimestamp(self._healthy_since, UTC)

    def _presence_timeout_s(self, device: str) -> float:
        """The timeout presence applies: the device's own, or none while the silence may be
        ours (equivalent to counting silence from :attr:`pipeline_healthy_since`)."""
        seconds = self._heartbeat_timeout_s(device)
        ours = (datetime.now(UTC) - self.pipeline_healthy_since).total_seconds()
        return float("inf") if ours <= seconds else seconds

    def _heartbeat_timeout_s(self, device: str) -> float:
        """The device's silence limit, cached: presence checks ask it for every known device
        every ``presence_check_s``, and the registry answers under a lock."""
        if self._timeouts_for is not self.registry:  # a new registry: forget its predecessor's
            self._timeouts = {}
            self._timeouts_for = self.registry
        seconds = self._timeouts.get(device)
        if seconds is None:
            seconds = self.registry.heartbeat_timeout_s(
                self.registry.device_class(device), self.options.heartbeat_timeout_s
            )
            if len(self._timeouts) < _MAX_CACHED_DEVICES:
                self._timeouts[device] = seconds
        return seconds

    # -- life cycle -----------------------------------------------------------------------
    def start(self) -> Gateway:
        """Connect and subscribe; raises ServiceUnavailable if the broker is unreachable."""
        if self.state is not None:
            try:
                self.presence.load(
                    (s.device, s.last_seen, s.online) for s in self.state.list_states()
                )
            except ServiceUnavailable as exc:
                log.warning("presence starts empty; device state unreadable: %s", exc)
        if self.options.tune_gc:
            _tune_collector()
        self.mqtt.connect()
        self._started = True
        self._connects_seen = self.mqtt.connects
        # The worker runs before we subscribe: a resumed session's backlog (up to the receive
        # window) arrives right after CONNACK, and if nothing drained the queue the network
        # thread would block on it and never read the SUBACK queued behind the backlog.
        self._worker.start()
        try:
            for topic in self.options.topics:
                shared = self.options.share_group and self.mqtt.protocol == "5"
                filter_ = f"$share/{self.options.share_group}/{topic}" if shared else topic
                self.mqtt.subscribe(filter_, qos=self.options.qos)
        except BaseException:
            self.stop()
            raise
        log.info("gateway subscribed to %s", ", ".join(self.options.topics))
        return self

    def stop(self) -> None:
        """Process what is queued, then disconnect.

        A batch held because storage is down is given up unacknowledged: with a persistent
        session the broker delivers it again to the next gateway.
        """
        self._stopping.set()
        if self._worker.is_alive():
            self._queue.put(_STOP)
            self._worker.join(timeout=30)
        self.mqtt.close()

    # -- network thread -------------------------------------------------------------------
    def _enqueue(self, message: Message) -> None:
        """Runs on paho's thread: blocks while the queue is full (back-pressure, see above).

        Nothing else happens here: this thread also parses every MQTT packet, and the worker
        cannot go faster than it feeds the queue. Messages are counted per batch by the worker;
        the queue depth gauge reads the queue when scraped.
        """
        try:
            self._queue.put_nowait(message)
        except queue.Full:
            QUEUE_FULL.inc()
            self._queue.put(message)

    def submit(self, source: str, items: Sequence[Reading | Presence]) -> None:
        """Queue a connector's decoded items (``source`` names it, e.g. ``modbus/ahu-1``).

        Thread-safe; blocks while the queue is full, as MQTT's network thread does, so a
        connector that outpaces the store slows down instead of growing memory.
        """
        if items:
            self._enqueue(Submitted(source, b"", 0, 0, False, items=tuple(items)))

    # -- worker thread --------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            wait_s = min(0.5, self.options.presence_check_s)
            if self._pending_state:  # state to write once traffic pauses
                wait_s = min(wait_s, self.options.state_idle_s)
            items = self._queue.get_batch(
                self.options.batch_size, timeout=wait_s, fill_s=self.options.batch_fill_s
            )
            if not items:
                if self._pending_state:
                    self._record_state((), (), force=True)
                self._housekeeping()
                self._idle.set()
                continue
            self._idle.clear()
            stop = _STOP in items
            batch: list[Message] = items[: items.index(_STOP)] if stop else items  # type: ignore[assignment]
            if batch:
                try:
                    self.process(batch)
                except NotDurable as exc:  # only when stopping: the broker delivers it again
                    log.warning(
                        "gateway stopped while storage was down (%s); %d messages stay "
                        "unacknowledged for the broker to deliver again",
                        exc,
                        len(batch),
                    )
                except Exception:
                    log.exception("gateway batch failed; messages stay unacknowledged")
            self._housekeeping()
            if stop:
                if self._pending_state:
                    self._record_state((), (), force=True)
                return

    def _housekeeping(self) -> None:
        """Heartbeat timeouts and spool replay, each at its own pace; never raises."""
        now = time.monotonic()
        if self.mqtt.connects != self._connects_seen:  # a reconnection: we were deaf meanwhile
            self._connects_seen = self.mqtt.connects
            self._healthy_since = time.time()
        if now >= self._next_presence_check:
            self._next_presence_check = now + self.options.presence_check_s
            try:
                self._emit_presence(self.presence.expire(datetime.now(UTC)))
            except Exception:
                log.exception("presence check failed; will try again")
        if self._spooled_count and now >= self._next_spool_retry:
            self._next_spool_retry = now + self.options.spool_retry_s
            self._drain_spool()

    def _emit_presence(self, changes: Sequence[PresenceChange]) -> None:
        """Store presence changes (with history) and hand them to the sinks as events."""
        if not changes:
            return
        presences = [change.presence for change in changes]
        for change in changes:
            self.stats.presence_changes += 1
            state = "online" if change.presence.online else "offline"
            PRESENCE_CHANGES.labels(state=state, source=change.source).inc()
            log.info("device %s is %s (%s)", change.presence.device, state, change.source)
        if self.state is not None:
            try:
                self.state.record((), presences)
            except ServiceUnavailable as exc:
                log.error("presence not stored: %s", exc)
        self._call_sinks([], presences)

    def _call_sinks(self, readings: Sequence[Reading], presences: Sequence[Presence]) -> None:
        for sink in self.sinks:
            try:
                sink(readings, presences)
            except Exception:
                self.stats.sink_errors += 1
                log.exception("a reading sink failed; the gateway goes on")

    def process(self, batch: Sequence[Message]) -> None:
        """Decode, store, record state, hand on, acknowledge — one batch.

        This is the ingest hot path: the per-message work is the decode and one look-up of the
        device's calibration; everything else (presence, counters, state, store, sinks) is done
        once per batch.
        """
        now = datetime.now(UTC)
        readings: list[Reading] = []
        changes: list[PresenceChange] = []
        options = self.options
        decode = codecs.decode
        if self._calibrated_for is not self.registry:  # a new registry: forget its predecessor's
            self._calibrated = {}
            self._calibrated_for = self.registry
        calibrated = self._calibrated
        self.stats.received += len(batch)
        MESSAGES_RECEIVED.inc(len(batch))
        for message in batch:
            if type(message) is Submitted:
                decoded: Sequence[Reading | Presence] = message.items
            else:
                try:
                    decoded = decode(
                        message.topic,
                        message.payload,
                        received=message.received,
                        max_bytes=options.max_payload_bytes,
                        overrides=options.codec_overrides,
                    )
                except PayloadRejected as rejected:
                    self._reject(message, rejected.reason, rejected.detail)
                    continue
            if self.gate is not None:
                decoded, refusal = self.gate.filter(decoded)
                if refusal is not None:
                    self._reject(message, *refusal)
            found: list[Reading] = []
            for item in decoded:
                if isinstance(item, Reading):
                    found.append(item)
                else:
                    change = self.presence.observe(item, now)
                    if change is not None:
                        changes.append(change)
            if not found:
                continue
            for reading in found:
                flag = calibrated.get(reading.device)
                if flag is None:
                    flag = self._needs_calibration(reading.device)
                if flag:
                    break
            else:  # the common case: no override for these devices, readings pass unchanged
                readings.extend(found)
                continue
            mapped, refused = self.registry.apply(found)
            if refused and not mapped:
                self._reject(message, "calibration_failed", refused[0][1])
                continue
            if refused:  # the message's other readings flow; these are counted, not lost quietly
                REJECTED.labels(reason="calibration_failed").inc(len(refused))
                log.warning(
                    "%s: %d readings refused: %s", message.topic, len(refused), refused[0][1]
                )
            readings.extend(mapped)
        for device in dict.fromkeys([r.device for r in readings]):
            heard = self.presence.heard(device, now)
            if heard is not None:
                changes.append(heard)
        self._persist(readings)
        presences = [change.presence for change in changes]
        for change in changes:
            self.stats.presence_changes += 1
            state = "online" if change.presence.online else "offline"
            PRESENCE_CHANGES.labels(state=state, source=change.source).inc()
        self._record_state(readings, presences)
        self._call_sinks(readings, presences)
        self.mqtt.ack_all(batch)
        self.stats.batches += 1

    def _needs_calibration(self, device: str) -> bool:
        """Whether the registry has metric overrides for ``device``; cached per device.

        A registry is immutable once built (reloading builds a new one), so the answer only
        changes when ``self.registry`` is replaced; :meth:`process` then empties the cache.
        """
        rule = self.registry.resolve(device).rule
        flag = rule is not None and bool(rule.metrics)
        if len(self._calibrated) < _MAX_CACHED_DEVICES:  # a flood of bogus names cannot grow it
            self._calibrated[device] = flag
        return flag

    def _record_state(
        self, readings: Sequence[Reading], presences: Sequence[Presence], *, force: bool = False
    ) -> None:
        """Fold readings into the latest-state tables, throttled while a backlog drains.

        Device state is derived data (the readings are already stored), so under load it is
        written at most every ``state_flush_interval_s``: one upsert of the newest value per
        (device, metric) instead of one per batch. Presence changes flush at once, and so does
        :meth:`_run` when no message arrived for ``state_idle_s``. (An empty queue after a
        batch is no pause: while a backlog drains, the worker often empties the queue faster
        than the network thread refills it, and a flush after each such batch cost more than
        the batch.)
        """
        if self.state is None:
            return
        pending = self._pending_state
        for reading in readings:
            key = (reading.device, reading.metric)
            held = pending.get(key)
            if held is None or reading.ts >= held.ts:
                pending[key] = reading
        now = time.monotonic()
        due = now - self._state_flushed_at >= self.options.state_flush_interval_s
        if not (force or presences or due):
            return
        self._pending_state = {}
        self._state_flushed_at = now
        try:
            self.state.record(list(pending.values()), presences)
        except ServiceUnavailable as exc:
            log.error("device state not updated: %s", exc)

    def _write(self, readings: Sequence[Reading]) -> None:
        started = time.monotonic()
        try:
            self.store.write(readings)
        except ServiceUnavailable:
            STORE_WRITE_FAILURES.inc()
            raise
        STORE_WRITE_SECONDS.observe(time.monotonic() - started)

    def _persist(self, readings: list[Reading]) -> None:
        """Store or spool ``readings``; while neither works, hold them and keep trying.

        Returns once they are durable. Raises :class:`NotDurable` only when the gateway is
        stopping: the caller then leaves the batch unacknowledged.
        """
        try:
            self._store(readings)
            return
        except NotDurable as exc:
            if self._stopping.is_set():
                raise
            first = exc
        self._holding_since = time.monotonic()
        self.stats.holds += 1
        self.health.report(
            "ingest", False, f"holding {len(readings)} readings: {first}", critical=True
        )
        log.error(
            "%s; holding %d readings unacknowledged (the broker queues the rest) and retrying "
            "until the store or the spool takes them",
            first,
            len(readings),
        )

        def stopping(_state: RetryCallState) -> bool:
            return self._stopping.is_set()

        retrying = Retrying(
            retry=retry_if_exception_type(NotDurable),
            stop=stopping,
            wait=self._backoff,
            sleep=self._pause,
            reraise=True,
        )
        try:
            retrying(self._store, readings)
        finally:
            held_s = time.monotonic() - self._holding_since
            self._holding_since = None
        self._healthy_since = time.time()
        self.health.report("ingest", True, "readings are stored", critical=True)
        log.warning(
            "storage is back after %.1f s; the %d held readings are safe", held_s, len(readings)
        )

    def _store(self, readings: list[Reading]) -> None:
        """Write with bounded retries (exponential backoff, jitter), else spool.

        Raises:
            NotDurable: the store refused every try and the spool could not take them.
        """
        if not readings:
            return
        options = self.options

        def warn(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome is not None else None
            log.warning("store write failed (attempt %d): %s; retrying", state.attempt_number, exc)

        retrying = Retrying(
            retry=retry_if_exception_type(ServiceUnavailable),
            stop=stop_after_attempt(max(1, options.store_retries)),
            wait=self._backoff,
            sleep=self._pause,
            before_sleep=warn,
            reraise=True,
        )
        try:
            retrying(self._write, readings)
        except ServiceUnavailable as exc:
            self.health.report("store", False, str(exc))
            self._spool(readings, exc)
            return
        self.health.report("store", True, "writes succeed")
        if self._spool_failing:  # unknown until needed again; nothing waits on it now
            self._spool_failing = False
            self.health.report("spool", True, "not needed while the store takes writes")
        self.stats.stored += len(readings)
        READINGS_STORED.inc(len(readings))
        if self._spooled_count:
            self._drain_spool()

    # -- spool: what the store refused is kept on disk and retried ------------------------
    def _spool_path(self) -> Path | None:
        if self.options.spool_dir is None:
            return None
        self.options.spool_dir.mkdir(parents=True, exist_ok=True)
        return self.options.spool_dir / "readings.spool.jsonl"

    def _count_spool(self) -> int:
        try:
            path = self._spool_path()
            if path is None or not path.exists():
                return 0
            with path.open("rb") as spool:
                return sum(1 for line in spool if line.strip())
        except OSError as exc:  # a disk fault at start-up: spooling fails later, and says so
            log.warning("cannot open the spool in %s (%s)", self.options.spool_dir, exc)
            return 0

    def _spool(self, readings: list[Reading], exc: Exception) -> None:
        """Append ``readings`` to the spool, fsynced; :class:`NotDurable` if it cannot.

        A write that fails half-way (disk full) is cut back to where it began, so the spool
        never holds a torn line that the next append would glue to a good one.
        """
        if self.options.spool_dir is None:
            self._spool_failing = True
            self.health.report("spool", False, "no spool configured (FACILITY_DATA_DIR/spool)")
            raise NotDurable(f"{exc}; and no spool is configured") from exc
        room = max(0, self.options.spool_max_readings - self._spooled_count)
        kept, dropped = readings[:room], len(readings) - min(room, len(readings))
        try:
            path = self._spool_path()
            assert path is not None
            if kept:
                _append_durably(path, b"".join(_spool_line(r) for r in kept))
        except OSError as spool_exc:
            why = spool_exc.strerror or spool_exc
            reason = f"cannot write the spool in {self.options.spool_dir} ({why})"
            self._spool_failing = True
            self.health.report("spool", False, f"{reason}; free space or make it writable")
            raise NotDurable(f"{exc}; and {reason}") from spool_exc
        self._spool_failing = bool(dropped)
        if dropped:
            bound = self.options.spool_max_readings
            self.health.report(
                "spool",
                False,
                f"full: {bound} readings (FACILITY_SPOOL_MAX_READINGS); readings beyond are "
                "dropped until the store takes writes again",
            )
        else:
            self.health.report("spool", True, "writable")
        if kept:
            self._spooled_count += len(kept)
            self.stats.spooled += len(kept)
            SPOOLED.inc(len(kept))
            SPOOL_READINGS.set(self._spooled_count)
            log.error("store unavailable (%s); spooled %d readings to %s", exc, len(kept), path)
        if dropped:
            self.stats.dropped += dropped
            READINGS_DROPPED.inc(dropped)
            log.error(
                "spool full (%d readings, the bound set by FACILITY_SPOOL_MAX_READINGS); "
                "dropped %d readings",
                self.options.spool_max_readings,
                dropped,
            )

    def _drain_spool(self) -> None:
        """Replay the spool in batches; on failure keep it (a replayed duplicate is harmless)."""
        try:
            path = self._spool_path()
            content = path.read_bytes() if path is not None and path.exists() else None
        except OSError as exc:
            log.warning("cannot read the spool (%s); it is retried later", exc)
            return
        if path is None or content is None:
            self._spooled_count = 0
            SPOOL_READINGS.set(0)
            return
        spooled: list[Reading] = []
        for line in content.splitlines():
            try:
                row = orjson.loads(line)
                spooled.append(Reading(**{**row, "ts": datetime.fromisoformat(row["ts"])}))
            except (orjson.JSONDecodeError, TypeError, ValueError, KeyError) as exc:
                log.warning("skipping a damaged spool line (%s)", exc)
        size = self.options.batch_size
        try:
            for begin in range(0, len(spooled), size):
                self._write(spooled[begin : begin + size])
        except ServiceUnavailable as exc:
            log.warning("spool replay failed (%s); %d readings stay spooled", exc, len(spooled))
            return
        try:
            path.unlink()
        except OSError as exc:  # replayed again later: harmless, the store keeps one point
            log.warning(
                "replayed the spool but cannot remove %s (%s); it is replayed again", path, exc
            )
            return
        self._spooled_count = 0
        SPOOL_READINGS.set(0)
        self.stats.stored += len(spooled)
        self.stats.replayed += len(spooled)
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

    @property
    def spooled_readings(self) -> int:
        """Readings waiting in the disk spool now."""
        return self._spooled_count

    def wait_idle(self, timeout_s: float) -> bool:
        """True once the queue is empty and the worker has nothing in hand (for tests, demo)."""
        return self._idle.wait(timeout_s)


def _append_durably(path: Path, data: bytes) -> None:
    """Append and fsync; on failure truncate back to the old end, then re-raise.

    Unbuffered, so that nothing is left in a buffer to be flushed (torn) after the truncate.
    """
    with path.open("ab", buffering=0) as spool:
        start = spool.seek(0, os.SEEK_END)
        try:
            view = memoryview(data)
            while view:
                view = view[spool.write(view) or 0 :]
            os.fsync(spool.fileno())
        except OSError:
            try:
                os.ftruncate(spool.fileno(), start)
            except OSError:
                log.warning("could not cut a torn spool write back to %d bytes in %s", start, path)
            raise


def _spool_line(r: Reading) -> bytes:
    row = {
        "device": r.device,
        "metric": r.metric,
        "value": r.value,
        "unit": r.unit,
        "ts": r.ts.isoformat(),
        "quality": r.quality,
    }
    return orjson.dumps(row) + b"\n"
