"""Notifications through a transactional outbox: webhooks (HMAC-signed), email, group robots.

Why an outbox: a work-order change and the notification about it must succeed or fail together.
Service code only *adds* an :class:`OutboxMessage` to the session that makes the change, so both
commit in one transaction. :class:`NotificationWorker` later fans each message out into one
:class:`Delivery` per target (a unique constraint makes the fan-out idempotent) and sends each
delivery under a short lease, recording every attempt; failures back off exponentially until
``max_attempts``, then the delivery is ``dead`` with its last error.

Delivery is at-least-once: a crash after the receiver got the message but before the worker
recorded it leads to one resend after the lease ends. Every request therefore carries the
delivery id (``X-Facility-Delivery``) so a receiver can drop the duplicate; nothing is lost.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import smtplib
import string
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

import httpx
import orjson
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from maintenance.notifications import robots
from maintenance.notifications.events import (
    CERTIFICATE_EVENTS,
    EVENTS,
    ORDER_EVENTS,
    STOCK_EVENTS,
)
from maintenance.notifications.models import Delivery, OutboxMessage
from maintenance.notifications.robots import RobotError, RobotTarget
from maintenance.people.models import Team, User
from maintenance.shared.vocabulary import Role

if TYPE_CHECKING:  # the order is only read here; work orders enqueue, so they sit above
    from maintenance.work_orders.models import WorkOrder

__all__ = [
    "CERTIFICATE_EVENTS",
    "EVENTS",
    "ORDER_EVENTS",
    "STOCK_EVENTS",
    "NotificationWorker",
    "NotifyConfig",
    "RobotTarget",
    "SmtpTarget",
    "WebhookTarget",
    "enqueue",
    "sign",
]

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Facility-Signature"
TIMESTAMP_HEADER = "X-Facility-Timestamp"
DELIVERY_HEADER = "X-Facility-Delivery"


def enqueue(
    session: Session,
    *,
    event: str,
    order: WorkOrder,
    recipients: Iterable[str] = (),
    data: dict[str, Any] | None = None,
    now: datetime,
) -> OutboxMessage:
    """Add a message to the outbox in the caller's transaction (the caller commits).

    ``recipients`` are ``user:NAME``, ``role:ROLE`` or ``lead:TEAM`` (the team's lead, or the
    managers when the team has none); email is sent to their addresses, webhooks get everything.
    """
    if event not in ORDER_EVENTS:
        raise ValueError(f"unknown notification event {event!r}")
    message = OutboxMessage(
        created_at=now,
        event=event,
        work_order_id=order.id,
        recipients=sorted(set(recipients)),
        payload={
            "event": event,
            "ts": now.isoformat(),
            "work_order": {
                "id": order.id,
                "title": order.title,
                "status": order.status.value,
                "priority": order.priority.value,
                "type": order.order_type.value,
                "asset": order.asset.code if order.asset else None,
                "location": order.location,
                "assignee": order.assignee,
                "team": order.team,
            },
            "data": data or {},
        },
    )
    session.add(message)
    return message


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>`` over ``timestamp.body``; the timestamp lets receivers refuse replays."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


@dataclass(frozen=True, slots=True)
class WebhookTarget:
    """An HTTP endpoint that receives JSON events, signed with its own secret."""

    url: str
    secret: str
    events: frozenset[str] = frozenset(EVENTS)

    def __post_init__(self) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise ValueError(f"webhook URL {self.url[:80]!r} must start with http:// or https://")
        if len(self.secret) < 16:
            raise ValueError("a webhook secret needs at least 16 characters")


@dataclass(frozen=True, slots=True)
class SmtpTarget:
    """An SMTP relay and the sender address; recipients come from the users' email field."""

    host: str
    port: int
    sender: str
    starttls: bool = False
    username: str | None = None
    password: str | None = None
    events: frozenset[str] = frozenset(EVENTS)


SUBJECTS = {
    "created": "[Facility] New work order #$id: $title",
    "assigned": "[Facility] Work order #$id assigned to $assignee",
    "breached": "[Facility] SLA breached on work order #$id ($priority)",
    "escalated": "[Facility] Escalation: work order #$id still breached",
    "resolved": "[Facility] Please verify work order #$id: $title",
    "verified": "[Facility] Work order #$id verified",
    "reopened": "[Facility] Work order #$id reopened",
    "certificate_expiring": "[Facility] Certificate of $supplier expires in $days_left days",
    "certificate_expired": "[Facility] Certificate of $supplier has expired",
    "stock_low": "[Facility] Low stock: $sku $name ($on_hand $unit left)",
}
BODY = string.Template(
    "Work order #$id ($priority, $type): $title\n"
    "Status: $status\nAsset: $asset\nLocation: $location\nAssignee: $assignee\n\n$details\n"
)
CERTIFICATE_BODY = string.Template(
    "Supplier: $supplier ($supplier_code)\nCertificate: $certificate $number\n"
    "Expires on: $expires_on ($days_left days from the check)\n\n"
    "Ask the supplier for the renewed certificate, or suspend them until it arrives.\n"
)
STOCK_BODY = string.Template(
    "$sku $name: $on_hand $unit on hand in all storerooms, at or below the reorder point of "
    "$reorder_point $unit, after a movement of $quantity in $storeroom by $actor.\n"
    "Suggested order: $suggested_qty $unit from $supplier.\n\n"
    "The reorder list (facility stock reorder, GET /api/v1/inventory/reorder) groups what to buy "
    "by supplier.\n"
)


@dataclass(frozen=True, slots=True)
class NotifyConfig:
    """Where notifications go, and how hard the worker tries."""

    webhooks: tuple[WebhookTarget, ...] = ()
    smtp: SmtpTarget | None = None
    #: WeCom / DingTalk / Feishu group robots (:mod:`maintenance.notifications.robots`).
    robots: tuple[RobotTarget, ...] = ()
    #: Public base URL of the console, for links to the order in robot messages.
    console_base_url: str | None = None
    max_attempts: int = 8
    backoff_s: float = 2.0
    max_backoff_s: float = 600.0
    lease_s: float = 60.0
    timeout_s: float = 10.0
    batch: int = 50

    def __post_init__(self) -> None:
        keys = [(robot.kind, robot.name) for robot in self.robots]
        if len(set(keys)) != len(keys):
            raise ValueError("two robots of the same kind share a name")

    def robot(self, kind: str, name: str) -> RobotTarget | None:
        return next((r for r in self.robots if (r.kind, r.name) == (kind, name)), None)


@dataclass
class NotificationWorker:
    """Fans out the outbox and delivers what is due; ``run_once`` is one pass (tests call it)."""

    sessions: sessionmaker[Session]
    config: NotifyConfig
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def __post_init__(self) -> None:
        robots.protect_logs(self.config.robots)

    def run_once(self) -> int:
        """Fan out new messages and attempt every due delivery; returns deliveries attempted."""
        self.fan_out()
        return self.deliver_due()

    # -- fan-out -------------------------------------------------------------------------------
    def fan_out(self) -> int:
        count = 0
        with self.sessions() as session:
            messages = session.scalars(
                sa.select(OutboxMessage)
                .where(OutboxMessage.dispatched_at.is_(None))
                .order_by(OutboxMessage.id)
                .limit(self.config.batch)
            ).all()
            now = self.clock()
            for message in messages:
                for channel, target in self._targets(session, message):
                    try:
                        with session.begin_nested():
                            session.add(
                                Delivery(
                                    outbox_id=message.id,
                                    channel=channel,
                                    target=target,
                                    next_attempt_at=now,
                                )
                            )
                        count += 1
                    except IntegrityError:
                        pass  # another worker fanned this one out already
                message.dispatched_at = now
            session.commit()
        return count

    def _targets(self, session: Session, message: OutboxMessage) -> list[tuple[str, str]]:
        targets = [
            ("webhook", hook.url) for hook in self.config.webhooks if message.event in hook.events
        ]
        smtp = self.config.smtp
        if smtp is not None and message.event in smtp.events:
            targets += [("email", address) for address in self._emails(session, message)]
        targets += [
            (robot.kind, robot.name)
            for robot in self.config.robots
            if robot.wants(message.event, message.payload)
        ]
        return targets

    @staticmethod
    def _emails(session: Session, message: OutboxMessage) -> list[str]:
        names: set[str] = set()
        roles: set[Role] = set()
        for recipient in message.recipients:
            kind, _, value = recipient.partition(":")
            if kind == "user":
                names.add(value)
            elif kind == "role" and value in {r.value for r in Role}:
                roles.add(Role(value))
            elif kind == "lead":
                lead = session.scalar(sa.select(Team.lead).where(Team.name == value))
                if lead:
                    names.add(lead)
                else:
                    roles.add(Role.MANAGER)
        query = sa.select(User.email).where(
            User.active.is_(True),
            User.email.is_not(None),
            sa.or_(User.username.in_(names), User.role.in_(roles)),
        )
        return sorted({str(e) for e in session.scalars(query) if e})

    # -- delivery ------------------------------------------------------------------------------
    def deliver_due(self) -> int:
        now = self.clock()
        with self.sessions() as session:
            due = session.scalars(
                sa.select(Delivery.id)
                .where(
                    Delivery.status == "pending",
                    Delivery.next_attempt_at <= now,
                    sa.or_(Delivery.leased_until.is_(None), Delivery.leased_until < now),
                )
                .order_by(Delivery.id)
                .limit(self.config.batch)
            ).all()
        attempted = 0
        for delivery_id in due:
            if self._attempt(delivery_id):
                attempted += 1
        return attempted

    def _attempt(self, delivery_id: int) -> bool:
        now = self.clock()
        lease = now + timedelta(seconds=self.config.lease_s)
        with self.sessions() as session:
            # Claim with a conditional UPDATE: only one worker can move the lease forward.
            claimed = session.execute(
                sa.update(Delivery)
                .where(
                    Delivery.id == delivery_id,
                    Delivery.status == "pending",
                    sa.or_(Delivery.leased_until.is_(None), Delivery.leased_until < now),
                )
                .values(leased_until=lease)
            )
            session.commit()
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                return False
            delivery = session.get_one(Delivery, delivery_id)
            message = session.get_one(OutboxMessage, delivery.outbox_id)
            channel, target = delivery.channel, delivery.target
            payload, event = message.payload, message.event
        error = ""
        pause_s = 0.0
        try:
            if channel == "webhook":
                self._send_webhook(delivery_id, target, payload)
            elif channel in robots.KINDS:
                self._send_robot(delivery_id, channel, target, event, payload)
            else:
                self._send_email(target, event, payload)
        except RobotError as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
            pause_s = exc.pause_s or 0.0
        except (httpx.HTTPError, OSError, smtplib.SMTPException, DeliveryRefused) as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        with self.sessions() as session:
            delivery = session.get_one(Delivery, delivery_id)
            delivery.attempts += 1
            delivery.leased_until = None
            finished = self.clock()
            if not error:
                delivery.status = "sent"
                delivery.sent_at = finished
                delivery.last_error = ""
            else:
                delivery.last_error = error
                if delivery.attempts >= self.config.max_attempts:
                    delivery.status = "dead"
                    log.warning("giving up on %s delivery to %s: %s", channel, target, error)
                else:
                    delay = min(
                        self.config.max_backoff_s,
                        self.config.backoff_s * 2 ** (delivery.attempts - 1),
                    )
                    delay = max(delay, pause_s)  # a robot's rate limit: wait out its minute
                    delivery.next_attempt_at = finished + timedelta(seconds=delay)
            session.commit()
        return True

    def _send_webhook(self, delivery_id: int, url: str, payload: dict[str, Any]) -> None:
        hook = next((h for h in self.config.webhooks if h.url == url), None)
        if hook is None:
            raise DeliveryRefused(f"webhook {url} is no longer configured")
        body = orjson.dumps(payload)
        timestamp = str(int(self.clock().timestamp()))
        response = httpx.post(
            url,
            content=body,
            headers={
                "Content-Type": "application/json",
                SIGNATURE_HEADER: sign(hook.secret, timestamp, body),
                TIMESTAMP_HEADER: timestamp,
                DELIVERY_HEADER: str(delivery_id),
            },
            timeout=self.config.timeout_s,
        )
        if response.status_code >= 300:
            raise DeliveryRefused(f"{url} answered HTTP {response.status_code}")

    def _send_robot(
        self, delivery_id: int, kind: str, name: str, event: str, payload: dict[str, Any]
    ) -> None:
        robot = self.config.robot(kind, name)
        if robot is None:
            raise RobotError(f"{kind} robot {name} is no longer configured")
        url, body = robots.build_request(
            robot,
            event,
            payload,
            console_base_url=self.config.console_base_url,
            timestamp_s=self.clock().timestamp(),
        )
        try:
            response = httpx.post(
                url,
                content=body,
                headers={
                    "Content-Type": "application/json; charset=utf-8",
                    DELIVERY_HEADER: str(delivery_id),
                },
                timeout=self.config.timeout_s,
            )
        except httpx.HTTPError as exc:  # the message may quote the URL, and so its token
            raise RobotError(robots.scrub(f"{type(exc).__name__}: {exc}", robot)) from None
        robots.check_answer(robot, response.status_code, response.content)

    def _send_email(self, address: str, event: str, payload: dict[str, Any]) -> None:
        smtp = self.config.smtp
        if smtp is None:
            raise DeliveryRefused("SMTP is no longer configured")
        subject, body = _email_text(event, payload)
        message = EmailMessage()
        message["From"] = smtp.sender
        message["To"] = address
        message["Subject"] = subject
        message.set_content(body)
        with smtplib.SMTP(smtp.host, smtp.port, timeout=self.config.timeout_s) as client:
            if smtp.starttls:
                client.starttls()
            if smtp.username and smtp.password:
                client.login(smtp.username, smtp.password)
            client.send_message(message)


def _email_text(event: str, payload: dict[str, Any]) -> tuple[str, str]:
    """Subject and body of one event's e-mail, from the same payload the webhooks get."""
    if event in STOCK_EVENTS:
        fields = {k: ("" if v is None else str(v)) for k, v in payload.items() if k != "data"}
        body = STOCK_BODY
    elif event in CERTIFICATE_EVENTS:
        supplier = payload.get("supplier", {})
        certificate = payload.get("certificate", {})
        fields = {
            "supplier": str(supplier.get("name", "")),
            "supplier_code": str(supplier.get("code", "")),
            "certificate": str(certificate.get("name", "")),
            "number": str(certificate.get("number", "")),
            "expires_on": str(certificate.get("expires_on", "")),
            "days_left": str(payload.get("days_left", "")),
        }
        body = CERTIFICATE_BODY
    else:
        order = payload.get("work_order", {})
        fields = {k: ("" if v is None else str(v)) for k, v in order.items()}
        fields["details"] = "\n".join(f"{k}: {v}" for k, v in payload.get("data", {}).items())
        body = BODY
    subject = string.Template(SUBJECTS[event]).safe_substitute(fields)
    return subject, body.safe_substitute(fields)


class DeliveryRefused(Exception):
    """The target answered but did not accept the notification (non-2xx, not configured)."""
