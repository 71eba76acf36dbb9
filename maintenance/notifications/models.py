"""SQLAlchemy models of the transactional outbox: messages to send and their deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

if TYPE_CHECKING:
    pass
from maintenance.shared.base import Base, utcnow

__all__ = ["Delivery", "OutboxMessage"]


class OutboxMessage(Base):
    """A notification-worthy event, written in the same transaction as the change it reports.

    The worker fans each message out into :class:`Delivery` rows (one per channel and target),
    so a crash between the change and the send can neither lose nor invent a notification.
    """

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    event: Mapped[str] = mapped_column(sa.String(32))
    work_order_id: Mapped[int | None] = mapped_column(sa.ForeignKey("work_orders.id"))
    #: User names the event concerns (assignee, team lead, requester); email goes to them.
    recipients: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    payload: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    dispatched_at: Mapped[datetime | None] = mapped_column(index=True)


class Delivery(Base):
    """One attempt series of one outbox message to one target, with its outcome."""

    __tablename__ = "deliveries"
    __table_args__ = (sa.UniqueConstraint("outbox_id", "channel", "target"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    outbox_id: Mapped[int] = mapped_column(sa.ForeignKey("outbox.id"), index=True)
    channel: Mapped[str] = mapped_column(sa.String(16))
    target: Mapped[str] = mapped_column(sa.String(500))
    status: Mapped[str] = mapped_column(sa.String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    leased_until: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str] = mapped_column(sa.Text, default="")
    sent_at: Mapped[datetime | None] = mapped_column()
