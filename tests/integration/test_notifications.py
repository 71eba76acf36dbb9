"""Notifications from the outbox to a real HTTP receiver and a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from facility.core.errors import WorkOrderError
from facility.core.wait import wait_until
from gateway.broker import free_port
from maintenance.inventory import service as inventory
from maintenance.inventory.models import StockCategory
from maintenance.notifications.models import Delivery, OutboxMessage
from maintenance.notifications.service import (
    NotificationWorker,
    NotifyConfig,
    SmtpTarget,
    WebhookTarget,
)
from maintenance.shared.actors import Actor
from maintenance.shared.db import connect, upgrade
from maintenance.shared.vocabulary import Role
from maintenance.suppliers import service as suppliers
from maintenance.suppliers.models import SupplierKind
from maintenance.work_orders import service
from maintenance.worker import MaintenanceWorker
from tests.integration._http import serve_http
from tests.integration._work_order_server import HandClock, seed

SECRET = "webhook-secret-0123456789"


@dataclass
class Receiver:
    """A real HTTP server that records requests and fails the first ``fail_first`` of them."""

    fail_first: int = 0
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    url: str = ""

    def handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                failing = len(receiver.requests) <= receiver.fail_first
                self.send_response(500 if failing else 204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()
    with serve_http(state.handler()) as url:
        state.url = f"{url}/hook"
        yield state


@dataclass
class Mailbox:
    host: str
    port: int
    messages: list[Any] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp() -> Iterator[Mailbox]:
    try:
        from aiosmtpd.controller import Controller
    except ImportError:
        from tests.conftest import missing_service

        missing_service("aiosmtpd", ".venv/bin/pip install aiosmtpd")
        raise
    mailbox = Mailbox("127.0.0.1", free_port())
    controller = Controller(mailbox, hostname=mailbox.host, port=mailbox.port)
    controller.start()
    yield mailbox
    controller.stop()


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine, factory = connect(database_url)
    upgrade(engine)
    seed(factory)
    yield factory
    engine.dispose()


def _request(sessions: sessionmaker[Session], clock: HandClock) -> int:
    with sessions() as session:
        order, _ = service.create_work_order(
            session,
            title="Radiator cold",
            actor="requester",
            asset_code="AHU-1",
            auto_assign=True,
            now=clock(),
        )
        return order.id


def test_webhooks_are_signed_and_email_reaches_the_people_concerned(
    sessions: sessionmaker[Session], receiver: Receiver, smtp: Mailbox
) -> None:
    clock = HandClock()
    worker = NotificationWorker(
        sessions,
        NotifyConfig(
            webhooks=(WebhookTarget(receiver.url, SECRET),),
            smtp=SmtpTarget(smtp.host, smtp.port, sender="facility@example.test"),
        ),
        clock,
    )
    order_id = _request(sessions, clock)

    worker.run_once()

    events = [orjson.loads(body)["event"] for _, body in receiver.requests]
    assert events == ["created", "assigned"]
    for headers, body in receiver.requests:
        expected = hmac.new(
            SECRET.encode(),
            headers["X-Facility-Timestamp"].encode() + b"." + body,
            hashlib.sha256,
        ).hexdigest()
        assert hmac.compare_digest(headers["X-Facility-Signature"], f"sha256={expected}")
        assert orjson.loads(body)["work_order"]["id"] == order_id
    wait_until(lambda: len(smtp.messages) == 2, timeout_s=10, what="two emails")
    recipients = sorted(tuple(m.rcpt_tos) for m in smtp.messages)
    assert recipients == [("manager@example.test",), ("tech@example.test",)]
    texts = [m.content.decode() for m in smtp.messages]
    assert any(f"Subject: [Facility] Work order #{order_id} assigned to tech" in t for t in texts)

    assert worker.run_once() == 0  # nothing is sent twice
    assert len(receiver.requests) == 2


def test_a_failing_webhook_is_retried_with_backoff_and_every_attempt_is_recorded(
    sessions: sessionmaker[Session], receiver: Receiver
) -> None:
    receiver.fail_first = 2
    clock = HandClock()
    hook = WebhookTarget(receiver.url, SECRET, events=frozenset({"created"}))
    worker = NotificationWorker(sessions, NotifyConfig(webhooks=(hook,), backoff_s=10), clock)
    _request(sessions, clock)

    assert worker.run_once() == 1  # fails (500)
    assert worker.run_once() == 0  # not due yet: backoff 10 s
    clock.advance(seconds=10)
    assert worker.run_once() == 1  # fails again; next wait 20 s
    clock.advance(seconds=19)
    assert worker.run_once() == 0
    clock.advance(seconds=1)
    assert worker.run_once() == 1  # delivered

    with sessions() as session:
        delivery = session.scalars(sa.select(Delivery)).one()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("sent", 3, "")
    ids = {headers["X-Facility-Delivery"] for headers, _ in receiver.requests}
    assert ids == {str(delivery.id)}  # retries carry the same id, so receivers can dedupe


def test_a_delivery_that_keeps_failing_is_given_up_with_its_last_error(
    sessions: sessionmaker[Session],
) -> None:
    clock = HandClock()
    dead_url = f"http://127.0.0.1:{free_port()}/nobody"
    hook = WebhookTarget(dead_url, SECRET, events=frozenset({"created"}))
    worker = NotificationWorker(
        sessions, NotifyConfig(webhooks=(hook,), max_attempts=3, backoff_s=1, timeout_s=2), clock
    )
    _request(sessions, clock)
    for _ in range(3):
        worker.run_once()
        clock.advance(seconds=60)
    with sessions() as session:
        delivery = session.scalars(sa.select(Delivery)).one()
    assert delivery.status == "dead" and delivery.attempts == 3
    assert "ConnectError" in delivery.last_error


def test_fan_out_after_a_crash_does_not_duplicate_deliveries(
    sessions: sessionmaker[Session], receiver: Receiver
) -> None:
    clock = HandClock()
    hook = WebhookTarget(receiver.url, SECRET)
    worker = NotificationWorker(sessions, NotifyConfig(webhooks=(hook,)), clock)
    with sessions() as session:
        service.create_work_order(session, title="x", actor="manager", location="L", now=clock())
    assert worker.fan_out() == 1
    with sessions() as session:  # as if the worker died before recording the fan-out
        session.execute(sa.update(OutboxMessage).values(dispatched_at=None))
        session.commit()
    assert worker.fan_out() == 0
    worker.deliver_due()
    with sessions() as session:
        deliveries = session.scalar(sa.select(sa.func.count()).select_from(Delivery))
        messages = session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage))
    assert (messages, deliveries, len(receiver.requests)) == (1, 1, 1)


def test_a_transition_that_fails_leaves_no_notification(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        order, _ = service.create_work_order(session, title="x", actor="manager", location="L")
        service.transition(
            session,
            work_order_id=order.id,
            action="assign",
            actor="manager",
            role=Role.MANAGER,
            assignee="tech",
        )
    before = _count_outbox(sessions)
    with sessions() as session, pytest.raises(WorkOrderError):
        service.transition(
            session,
            work_order_id=order.id,
            action="assign",
            actor="manager",
            role=Role.MANAGER,
            assignee="nobody",
        )
    assert _count_outbox(sessions) == before


def _count_outbox(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) or 0)


def test_the_maintenance_worker_thread_checks_clocks_and_delivers_the_breach(
    sessions: sessionmaker[Session], receiver: Receiver
) -> None:
    clock = HandClock()
    hook = WebhookTarget(receiver.url, SECRET, events=frozenset({"breached"}))
    with sessions() as session:
        order, _ = service.create_work_order(
            session, title="boiler", actor="manager", location="Cellar", now=clock()
        )
    clock.advance(days=5)  # far past both default P3 targets
    worker = MaintenanceWorker(
        sessions, notify=NotifyConfig(webhooks=(hook,)), interval_s=0.05, clock=clock
    ).start()
    try:
        wait_until(lambda: len(receiver.requests) >= 2, timeout_s=10, what="two breach webhooks")
    finally:
        worker.stop()
    targets = sorted(orjson.loads(body)["data"]["target"] for _, body in receiver.requests)
    assert targets == ["resolution", "response"]
    assert {orjson.loads(body)["work_order"]["id"] for _, body in receiver.requests} == {order.id}


def test_the_worker_warns_managers_once_of_a_certificate_about_to_expire_then_once_expired(
    sessions: sessionmaker[Session], receiver: Receiver, smtp: Mailbox
) -> None:
    clock = HandClock()
    with sessions() as session:
        suppliers.create_supplier(
            session, code="LIFTCO", name="Lift Co", kind=SupplierKind.CONTRACTOR, actor="admin"
        )
        expires_on = (clock() + timedelta(days=10)).date()
        suppliers.add_certificate(
            session, code="LIFTCO", name="Lift inspection licence", expires_on=expires_on
        )
        session.commit()
    worker = MaintenanceWorker(
        sessions,
        notify=NotifyConfig(
            webhooks=(WebhookTarget(receiver.url, SECRET),),
            smtp=SmtpTarget(smtp.host, smtp.port, sender="facility@example.test"),
        ),
        clock=clock,
        certificate_check_interval_s=3600,
    )

    worker.run_once()
    clock.advance(hours=2)
    worker.run_once()  # the next hourly check finds the warning already written

    events = [orjson.loads(body)["event"] for _, body in receiver.requests]
    assert events == ["certificate_expiring"]
    wait_until(lambda: len(smtp.messages) == 1, timeout_s=10, what="one warning e-mail")
    assert smtp.messages[0].rcpt_tos == ["manager@example.test"]
    text = smtp.messages[0].content.decode()
    assert "Subject: [Facility] Certificate of Lift Co expires in 10 days" in text
    assert f"Expires on: {expires_on.isoformat()}" in text

    clock.advance(days=11)
    worker.run_once()
    worker.run_once()
    events = [orjson.loads(body)["event"] for _, body in receiver.requests]
    assert events == ["certificate_expiring", "certificate_expired"]


def test_stock_falling_to_the_reorder_point_is_delivered_to_the_managers(
    sessions: sessionmaker[Session], receiver: Receiver, smtp: Mailbox
) -> None:
    clock = HandClock()
    with sessions() as session:
        inventory.create_item(
            session,
            sku="BELT-A42",
            name="V-belt A42",
            category=StockCategory.SPARE_PART,
            unit_cost=Decimal("12.00"),
            reorder_point=Decimal(2),
            reorder_qty=Decimal(5),
        )
        inventory.create_storeroom(session, code="MAIN", name="Main store")
        inventory.receive(
            session, sku="BELT-A42", storeroom="MAIN", quantity=Decimal(3), actor="manager"
        )
        inventory.adjust(
            session,
            sku="BELT-A42",
            storeroom="MAIN",
            delta=Decimal(-1),
            reason="found torn at the stock-take",
            actor=Actor("manager", Role.MANAGER),
            now=clock(),
        )
    worker = MaintenanceWorker(
        sessions,
        notify=NotifyConfig(
            webhooks=(WebhookTarget(receiver.url, SECRET),),
            smtp=SmtpTarget(smtp.host, smtp.port, sender="facility@example.test"),
        ),
        clock=clock,
    )
    worker.run_once()
    (body,) = [orjson.loads(body) for _, body in receiver.requests]
    assert (body["event"], body["sku"], body["on_hand"]) == ("stock_low", "BELT-A42", "2")
    wait_until(lambda: len(smtp.messages) == 1, timeout_s=10, what="one low-stock e-mail")
    assert smtp.messages[0].rcpt_tos == ["manager@example.test"]
    text = smtp.messages[0].content.decode()
    assert "Subject: [Facility] Low stock: BELT-A42 V-belt A42 (2 pcs left)" in text
    assert "Suggested order: 5 pcs from no preferred supplier." in text
