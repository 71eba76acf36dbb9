"""SQLAlchemy models of work orders: the order, its audit trail, photos, checklists, labour.

The rule "one open work order per (rule, asset)" is the partial unique index
``uq_work_orders_open_rule_asset``, enforced by the database, not by luck."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

if TYPE_CHECKING:
    from maintenance.suppliers.models import Supplier
from typing import TYPE_CHECKING

from maintenance.shared.base import Base, Money, Quantity, enum_type, utcnow
from maintenance.shared.vocabulary import Priority

if TYPE_CHECKING:
    from maintenance.assets.models import Asset
    from maintenance.suppliers.models import Supplier

__all__ = [
    "OPEN_STATES",
    "Attachment",
    "ChecklistItem",
    "ChecklistTemplate",
    "LabourEntry",
    "WorkOrder",
    "WorkOrderEvent",
    "WorkOrderSource",
    "WorkOrderStatus",
    "WorkOrderType",
]


class WorkOrderStatus(enum.StrEnum):
    NEW = "new"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    ON_HOLD = "on_hold"
    RESOLVED = "resolved"
    VERIFIED = "verified"
    REOPENED = "reopened"
    CLOSED = "closed"
    CANCELLED = "cancelled"


#: States in which an order counts as open for the one-open-order-per-(rule, asset) rule. This
#: must match the predicate of ``uq_work_orders_open_rule_asset`` (everything but closed and
#: cancelled), or ``apply_alert`` would not find the order the index says is open.
OPEN_STATES = (
    WorkOrderStatus.NEW,
    WorkOrderStatus.ASSIGNED,
    WorkOrderStatus.IN_PROGRESS,
    WorkOrderStatus.ON_HOLD,
    WorkOrderStatus.RESOLVED,
    WorkOrderStatus.VERIFIED,
    WorkOrderStatus.REOPENED,
)


class WorkOrderType(enum.StrEnum):
    CORRECTIVE = "corrective"
    INSPECTION = "inspection"
    PREVENTIVE = "preventive"
    REQUEST = "request"


class WorkOrderSource(enum.StrEnum):
    RULE = "rule"
    API = "api"
    REQUEST = "request"


class WorkOrder(Base):
    __tablename__ = "work_orders"
    __table_args__ = (
        sa.Index(
            "uq_work_orders_open_rule_asset",
            "rule",
            "asset_id",
            unique=True,
            sqlite_where=sa.text("rule IS NOT NULL AND status NOT IN ('closed', 'cancelled')"),
            postgresql_where=sa.text("rule IS NOT NULL AND status NOT IN ('closed', 'cancelled')"),
        ),
        sa.Index("ix_work_orders_status", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[WorkOrderStatus] = mapped_column(
        enum_type(WorkOrderStatus, "work_order_status"), default=WorkOrderStatus.NEW
    )
    priority: Mapped[Priority] = mapped_column(enum_type(Priority, "priority"), default=Priority.P3)
    source: Mapped[WorkOrderSource] = mapped_column(enum_type(WorkOrderSource, "work_order_source"))
    rule: Mapped[str | None] = mapped_column(sa.String(100))
    device: Mapped[str | None] = mapped_column(sa.String(200))
    asset_id: Mapped[int | None] = mapped_column(sa.ForeignKey("assets.id"), index=True)
    assignee: Mapped[str | None] = mapped_column(sa.String(64))
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(200), unique=True)
    created_by: Mapped[str] = mapped_column(sa.String(64), default="system")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column()
    closed_at: Mapped[datetime | None] = mapped_column()

    order_type: Mapped[WorkOrderType] = mapped_column(
        enum_type(WorkOrderType, "work_order_type"),
        default=WorkOrderType.CORRECTIVE,
        server_default=WorkOrderType.CORRECTIVE.value,
    )
    location: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")
    team: Mapped[str | None] = mapped_column(sa.String(64))
    #: Why dispatch chose this assignee (skills matched, workloads compared), for the audit.
    assignment_reason: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    auto_assigned: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    #: For rule orders, when the fault was first detected (MTTR counts from here).
    detected_at: Mapped[datetime | None] = mapped_column()
    responded_at: Mapped[datetime | None] = mapped_column()
    verified_at: Mapped[datetime | None] = mapped_column()
    response_due_at: Mapped[datetime | None] = mapped_column()
    resolution_due_at: Mapped[datetime | None] = mapped_column()
    response_breached_at: Mapped[datetime | None] = mapped_column()
    resolution_breached_at: Mapped[datetime | None] = mapped_column()
    escalation_level: Mapped[int] = mapped_column(default=0, server_default="0")
    on_hold_since: Mapped[datetime | None] = mapped_column()
    reopen_count: Mapped[int] = mapped_column(default=0, server_default="0")
    fault_returned_at: Mapped[datetime | None] = mapped_column()
    rating: Mapped[int | None] = mapped_column()
    rating_comment: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    rated_by: Mapped[str | None] = mapped_column(sa.String(64))
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("work_orders.id"), index=True)
    #: The service contractor the order is outsourced to (``suppliers.id``), if any.
    contractor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("suppliers.id"), index=True)

    asset: Mapped[Asset | None] = relationship()
    #: Loaded on access (only outsourced orders query it; a session caches each company once).
    contractor: Mapped[Supplier | None] = relationship()
    events: Mapped[list[WorkOrderEvent]] = relationship(
        back_populates="work_order", order_by="WorkOrderEvent.id", cascade="all, delete-orphan"
    )
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="work_order", order_by="Attachment.id", cascade="all, delete-orphan"
    )
    checklist: Mapped[list[ChecklistItem]] = relationship(
        back_populates="work_order",
        order_by="ChecklistItem.position",
        cascade="all, delete-orphan",
        foreign_keys="ChecklistItem.work_order_id",
    )


class WorkOrderEvent(Base):
    """Append-only audit trail: who did what to an order, when, from which state to which."""

    __tablename__ = "work_order_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(sa.ForeignKey("work_orders.id"), index=True)
    ts: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(sa.String(64))
    kind: Mapped[str] = mapped_column(sa.String(32))
    from_state: Mapped[str | None] = mapped_column(sa.String(20))
    to_state: Mapped[str | None] = mapped_column(sa.String(20))
    note: Mapped[str] = mapped_column(sa.Text, default="")
    data: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)

    work_order: Mapped[WorkOrder] = relationship(back_populates="events")


class Attachment(Base):
    """A file (a photo of the fault) stored on disk under a generated name, never the user's."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(sa.ForeignKey("work_orders.id"), index=True)
    filename: Mapped[str] = mapped_column(sa.String(120))
    stored_name: Mapped[str] = mapped_column(sa.String(80), unique=True)
    content_type: Mapped[str] = mapped_column(sa.String(64))
    size_bytes: Mapped[int] = mapped_column()
    sha256: Mapped[str] = mapped_column(sa.String(64))
    uploaded_by: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    work_order: Mapped[WorkOrder] = relationship(back_populates="attachments")


class ChecklistTemplate(Base):
    """A standard operating procedure: items copied onto every matching new order.

    A template matches an order when its ``order_type`` and ``asset_type`` are unset or equal
    to the order's; ``items`` is a list of ``{key, label, kind, required, min, max}``.
    """

    __tablename__ = "checklist_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    order_type: Mapped[str | None] = mapped_column(sa.String(20))
    asset_type: Mapped[str | None] = mapped_column(sa.String(64))
    items: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ChecklistItem(Base):
    """One step of an order's checklist, with its result and who recorded it."""

    __tablename__ = "checklist_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(sa.ForeignKey("work_orders.id"), index=True)
    position: Mapped[int] = mapped_column()
    template: Mapped[str] = mapped_column(sa.String(200))
    label: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(16))
    required: Mapped[bool] = mapped_column(default=True)
    min_value: Mapped[float | None] = mapped_column()
    max_value: Mapped[float | None] = mapped_column()
    value: Mapped[str | None] = mapped_column(sa.Text)
    #: ``pass`` or ``fail`` once recorded (a number outside its limits fails).
    outcome: Mapped[str | None] = mapped_column(sa.String(8))
    done_by: Mapped[str | None] = mapped_column(sa.String(64))
    done_at: Mapped[datetime | None] = mapped_column()
    followup_id: Mapped[int | None] = mapped_column(sa.ForeignKey("work_orders.id"))

    work_order: Mapped[WorkOrder] = relationship(
        back_populates="checklist", foreign_keys=[work_order_id]
    )


class LabourEntry(Base):
    """Time worked on an order, by a technician or a contractor's worker, at an hourly rate."""

    __tablename__ = "labour_entries"
    __table_args__ = (sa.CheckConstraint("hours > 0", name="ck_labour_entries_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(sa.ForeignKey("work_orders.id"), index=True)
    worker: Mapped[str] = mapped_column(sa.String(64))
    hours: Mapped[Decimal] = mapped_column(Quantity)
    hourly_rate: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    note: Mapped[str] = mapped_column(sa.Text, default="")
    contractor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("suppliers.id"))
    recorded_by: Mapped[str] = mapped_column(sa.String(64))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
