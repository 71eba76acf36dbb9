"""The device flood (issue 17, finding 1) on a real Mosquitto, SQLite and PostgreSQL.

20,000 QoS 1 messages from 20,000 unknown ids used to create 20,000 devices, and the ``device:
"*"`` heartbeat rule then one asset, one work order and one notification per id. Now at most
``FACILITY_NEW_DEVICE_RATE`` new ids are recorded (quarantined: stored, listed, never alerting),
the rest are dead-lettered with reason ``new_device_rate``, and the API stays responsive while a
known device's readings still arrive and still alert.
"""

from __future__ import annotations

import statistics
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import orjson
import sqlalchemy as sa
from prometheus_client import REGISTRY

from facility.app.stack import Stack
from facility.core.settings import Settings
from facility.core.wait import wait_until
from gateway.broker import MosquittoBroker
from gateway.mqtt import Message, MqttConnection, MqttOptions
from maintenance.assets.models import Asset, Device
from maintenance.notifications.models import OutboxMessage
from maintenance.work_orders.models import WorkOrder

from .conftest import login

FLOOD = 20_000
RATE = 100  # new ids per hour: the whole test runs inside one window, so exactly 100 pass
RULES = """rules:
  - {name: hot, kind: threshold, select: {device: "*", metric: temperature}, above: 30}
  - {name: silent, kind: heartbeat, select: {device: "*"}, after: 6s}
"""
REGISTRY_FILE = """assets:
  - code: KNOWN-1
    devices: [{match: known-1}]
"""


def _rejected(reason: str) -> float:
    return REGISTRY.get_sample_value("facility_gateway_rejected_total", {"reason": reason}) or 0.0


class _Latency:
    """Samples ``/healthz`` and ``GET /api/v1/work-orders`` until stopped (bounded in count)."""

    def __init__(self, base_url: str, token_headers: dict[str, str]) -> None:
        self.samples: dict[str, list[float]] = {"healthz": [], "work-orders": []}
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._client = httpx.Client(base_url=base_url, headers=token_headers, timeout=60)
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> _Latency:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=120)
        self._client.close()

    def _run(self) -> None:
        for _ in range(2000):  # bounded; the flood takes far fewer rounds
            if self._stop.is_set():
                return
            for name, path in (("healthz", "/healthz"), ("work-orders", "/api/v1/work-orders")):
                started = time.perf_counter()
                answer = self._client.get(path)
                self.samples[name].append(time.perf_counter() - started)
                if answer.status_code != 200:
                    self.failures.append(f"{path}: {answer.status_code}")
            self._stop.wait(0.25)

    def summary(self) -> dict[str, tuple[int, float, float]]:
        """(samples, median ms, max ms) per endpoint."""
        return {
            name: (len(s), 1000 * statistics.median(s), 1000 * max(s))
            for name, s in self.samples.items()
            if s
        }


def test_a_flood_of_unknown_devices_creates_nothing_and_the_api_stays_responsive(
    make_stack: Callable[..., Stack],
    mosquitto: MosquittoBroker,
    settings: Settings,
    tmp_path: Path,
    database_url: str,
) -> None:
    (tmp_path / "rules.yaml").write_text(RULES)
    (tmp_path / "registry.yaml").write_text(REGISTRY_FILE)
    settings.registry_file = tmp_path / "registry.yaml"
    settings.new_device_rate = f"{RATE}/hour"
    stack = make_stack(database_url, rules_file=tmp_path / "rules.yaml")
    admin = login(stack.api_url)

    def count(model: type[object]) -> int:
        with stack.sessions() as session:
            return session.scalar(sa.select(sa.func.count()).select_from(model)) or 0  # type: ignore[arg-type]

    assets_before, orders_before, outbox_before = (
        count(Asset),
        count(WorkOrder),
        count(OutboxMessage),
    )
    assert (assets_before, orders_before, outbox_before) == (1, 0, 0)  # KNOWN-1, from the file
    rejected_before = _rejected("new_device_rate")

    reasons: dict[str, int] = {}
    lock = threading.Lock()

    def on_dead(message: Message) -> None:
        reason = str(orjson.loads(message.payload)["reason"])
        with lock:
            reasons[reason] = reasons.get(reason, 0) + 1

    watcher = MqttConnection(MqttOptions(url=mosquitto.url, client_id="flood-dl"), on_dead)
    watcher.connect()
    watcher.subscribe("facility/_deadletter/#", qos=1)
    publisher = MqttConnection(MqttOptions(url=mosquitto.url, client_id="flood-pub")).connect()
    started = time.perf_counter()
    try:
        with _Latency(stack.api_url, dict(admin.headers)) as latency:
            infos = []
            for n in range(FLOOD):
                topic = f"facility/hq/flood-{uuid.uuid4().hex[:12]}/temperature"
                infos.append(publisher.publish(topic, b"21.5", qos=1))
                if n == FLOOD // 2:  # a known device in the middle of the flood
                    infos.append(publisher.publish("facility/hq/known-1/temperature", b"35", qos=1))
            for info in infos:
                info.wait_for_publish(timeout=120)
                assert info.is_published()
            wait_until(
                lambda: stack.gateway.stats.received >= FLOOD + 1,
                timeout_s=300,
                what=f"{FLOOD + 1} messages received by the gateway",
            )
            assert stack.gateway.wait_idle(120)
            took_s = time.perf_counter() - started
            wait_until(
                lambda: sum(reasons.values()) >= FLOOD - RATE,
                timeout_s=120,
                what=f"{FLOOD - RATE} dead letters",
            )
        # the known device's reading arrived and alerted while the flood was on
        assert stack.readings.query(device="known-1", limit=5).total == 1
        with stack.sessions() as session:
            hot = session.scalars(sa.select(WorkOrder).where(WorkOrder.rule == "hot")).all()
            assert [(o.device, o.asset.code if o.asset else None) for o in hot] == [
                ("known-1", "KNOWN-1")
            ]
        # and its silence is noticed, while the flood's recorded ids, silent longer, are not
        wait_until(
            lambda: count(WorkOrder) >= 2, timeout_s=60, what="known-1's missed heartbeat order"
        )
    finally:
        publisher.close()
        watcher.close()

    assert reasons == {"new_device_rate": FLOOD - RATE}, reasons
    assert _rejected("new_device_rate") - rejected_before == FLOOD - RATE
    assert stack.gateway.stats.stored == RATE + 1  # the recorded flood ids' and known-1's
    with stack.sessions() as session:
        orders = session.execute(sa.select(WorkOrder.id, WorkOrder.rule, WorkOrder.device)).all()
        assert sorted((rule, device) for _, rule, device in orders) == [
            ("hot", "known-1"),
            ("silent", "known-1"),
        ]
        outbox_orders = set(session.scalars(sa.select(OutboxMessage.work_order_id)).all())
        assert outbox_orders <= {order_id for order_id, _, _ in orders}
        flooded = session.scalar(
            sa.select(sa.func.count()).select_from(Device).where(Device.id.like("flood-%"))
        )
        assert flooded == RATE
    assert count(Asset) == assets_before
    assert stack.engine.last_seen("known-1") is not None
    assert not any(device.startswith("flood-") for device in stack.engine._last_seen)
    # per-id state grows only with the ids let in: presence, the gate, device state
    assert len(stack.gateway.presence._last_heard) == RATE + 1
    assert stack.gate.unassigned == RATE
    assert len(stack.states.list_states()) == RATE + 1

    client = httpx.Client(base_url=stack.api_url, headers=dict(admin.headers), timeout=60)
    page = client.get("/api/v1/devices", params={"status": "unassigned", "limit": 10})
    assert page.status_code == 200 and page.headers["X-Total-Count"] == str(RATE)
    assert len(page.json()) == 10
    assert client.get("/healthz").status_code == 200
    assert latency.failures == []
    print(  # the figures the report quotes (pytest -s shows them)
        f"\nflood of {FLOOD} on {database_url.partition(':')[0]}: {took_s:.1f} s to drain; "
        f"latency (samples, median ms, max ms) during it: {latency.summary()}"
    )
