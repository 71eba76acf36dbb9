"""SQLAlchemy 2 models of the maintenance service: where things are and what is done to them.

The rule "one open work order per (rule, asset)" is the partial unique index
``uq_work_orders_open_rule_asset``: the database refuses a second open order however many
gateway workers race, so the service code never has to check-then-insert.
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

if TYPE_CHECKING:
    from maintenance.models_partners import Supplier

__all__ = [
    "OPEN_STATES",
    "ApiKey",
    "Asset",
    "AssetLevel",
    "AssetStatus",
    "Attachment",
    "Base",
    "ChecklistItem",
    "ChecklistTemplate",
    "Criticality",
    "Delivery",
    "Device",
    "OutboxMessage",
    "Priority",
    "Role",
    "Site",
    "Team",
    "User",
    "WorkOrder",
    "WorkOrderEvent",
    "WorkOrderSource",
    "WorkOrderStatus",
    "WorkOrderType",
]


def _now() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(sa.TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive text)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UtcDateTime()}


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


class Priority(enum.StrEnum):
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"
    P4 = "P4"


class Role(enum.StrEnum):
    ADMIN = "admin"
    MANAGER = "manager"
    TECH = "tech"
    REQUESTER = "requester"
    #: A service contractor's staff: sees and updates only their own company's orders.
    CONTRACTOR = "contractor"


class AssetStatus(enum.StrEnum):
    """Where an asset is in its life; transitions are guarded in ``services.asset_lifecycle``."""

    PLANNED = "planned"
    IN_SERVICE = "in_service"
    UNDER_REPAIR = "under_repair"
    STANDBY = "standby"
    DECOMMISSIONED = "decommissioned"


class AssetLevel(enum.StrEnum):
    """The node kinds of the site → building → floor → zone → equipment tree."""

    BUILDING = "building"
    FLOOR = "floor"
    ZONE = "zone"
    EQUIPMENT = "equipment"


class Criticality(enum.StrEnum):
    """A: failure stops the business or is unsafe; B: degrades it; C: an inconvenience."""

    A = "A"
    B = "B"
    C = "C"


def _enum(cls: type[enum.Enum], name: str) -> sa.Enum:
    # Stored as VARCHAR + CHECK, not a native enum type: new states are a one-line migration.
    return sa.Enum(cls, name=name, native_enum=False, length=20, values_callable=_values)


def _values(cls: type[enum.Enum]) -> list[str]:
    return [str(member.value) for member in cls]


class Site(Base):
    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    timezone: Mapped[str] = mapped_column(sa.String(64), default="UTC")


class Asset(Base):
    """A piece of equipment or a space that can need maintenance (AHU-1, Room 101)."""

    __tablename__ = "assets"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(200), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    asset_type: Mapped[str] = mapped_column(sa.String(64), default="unknown")
    site_id: Mapped[int | None] = mapped_column(sa.ForeignKey("sites.id"), index=True)
    location: Mapped[str] = mapped_column(sa.String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=_now)
    # The tree: a building, floor or zone is an asset too, so one table holds the hierarchy
    # and a piece of equipment's parent is the zone it stands in.
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("assets.id"), index=True)
    level: Mapped[AssetLevel] = mapped_column(
        _enum(AssetLevel, "asset_level"), default=AssetLevel.EQUIPMENT, server_default="equipment"
    )
    category: Mapped[str] = mapped_column(sa.String(64), default="", server_default="")
    manufacturer: Mapped[str] = mapped_column(sa.String(120), default="", server_default="")
    model: Mapped[str] = mapped_column(sa.String(120), default="", server_default="")
    serial_number: Mapped[str] = mapped_column(sa.String(120), default="", server_default="")
    installed_on: Mapped[date | None] = mapped_column()
    commissioned_on: Mapped[date | None] = mapped_column()
    warranty_end: Mapped[date | None] = mapped_column()
    expected_life_years: Mapped[float | None] = mapped_column()
    purchase_cost: Mapped[Decimal | None] = mapped_column(sa.Numeric(14, 2))
    #: What a like-for-like replacement costs today (the denominator of the repair-cost ratio).
    replacement_cost: Mapped[Decimal | None] = mapped_column(sa.Numeric(14, 2))
    criticality: Mapped[Criticality] = mapped_column(
        _enum(Criticality, "asset_criticality"), default=Criticality.C, server_default="C"
    )
    #: Assets that existed before life-cycle tracking (created by rules) are in service.
    status: Mapped[AssetStatus] = mapped_column(
        _enum(AssetStatus, "asset_status"),
        default=AssetStatus.IN_SERVICE,
        server_default="in_service",
    )
    status_since: Mapped[datetime | None] = mapped_column()

    site: Mapped[Site | None] = relationship()
    devices: Mapped[list[Device]] = relationship(back_populates="asset")


class Device(Base):
    """A sensor or controller, identified as its source names it, linked to an asset."""

    __tablename__ = "devices"

    id: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    asset_id: Mapped[int | None] = mapped_column(sa.ForeignKey("assets.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(64), default="unknown")
    created_at: Mapped[datetime] = mapped_column(default=_now)

    asset: Mapped[Asset | None] = relationship(back_populates="devices")


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[Role] = mapped_column(_enum(Role, "role"))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=_now)
    email: Mapped[str | None] = mapped_column(sa.String(254))
    team: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    #: Asset types (``ahu``, ``chiller`` ...) this person is qualified for; used by dispatch.
    skills: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    #: For role ``contractor``: the company (``suppliers.id``) whose orders the user may see.
    supplier_id: Mapped[int | None] = mapped_column(sa.ForeignKey("suppliers.id"))


class ApiKey(Base):
    """A machine's credential: a random key shown once, stored as its SHA-256.

    A fast hash is enough here (unlike passwords): the key is 256 random bits, so there is
    nothing to brute-force, and every API call can check it without an argon2 round.
    """

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(60), unique=True)
    prefix: Mapped[str] = mapped_column(sa.String(12))
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    role: Mapped[Role] = mapped_column(_enum(Role, "role"))
    created_by: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=_now)
    revoked_at: Mapped[datetime | None] = mapped_column()


class Team(Base):
    """A group of technicians with a lead, who is the first to hear about an SLA breach."""

    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(64), unique=True)
    lead: Mapped[str | None] = mapped_column(sa.String(64))


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
        _enum(WorkOrderStatus, "work_order_status"), default=WorkOrderStatus.NEW
    )
    priority: Mapped[Priority] = mapped_column(_enum(Priority, "priority"), default=Priority.P3)
    source: Mapped[WorkOrderSource] = mapped_column(_enum(WorkOrderSource, "work_order_source"))
    rule: Mapped[str | None] = mapped_column(sa.String(100))
    device: Mapped[str | None] = mapped_column(sa.String(200))
    asset_id: Mapped[int | None] = mapped_column(sa.ForeignKey("assets.id"), index=True)
    assignee: Mapped[str | None] = mapped_column(sa.String(64))
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(200), unique=True)
    created_by: Mapped[str] = mapped_column(sa.String(64), default="system")
    created_at: Mapped[datetime] = mapped_column(default=_now)
    updated_at: Mapped[datetime] = mapped_column(default=_now, onupdate=_now)
    resolved_at: Mapped[datetime | None] = mapped_column()
    closed_at: Mapped[datetime | None] = mapped_column()

    order_type: Mapped[WorkOrderType] = mapped_column(
        _enum(WorkOrderType, "work_order_type"),
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
    ts: Mapped[datetime] = mapped_column(default=_now)
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
    created_at: Mapped[datetime] = mapped_column(default=_now)

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
    created_at: Mapped[datetime] = mapped_column(default=_now)


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


class OutboxMessage(Base):
    """A notification-worthy event, written in the same transaction as the change it reports.

    The worker fans each message out into :class:`Delivery` rows (one per channel and target),
    so a crash between the change and the send can neither lose nor invent a notification.
    """

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=_now)
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
    next_attempt_at: Mapped[datetime] = mapped_column(default=_now)
    leased_until: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str] = mapped_column(sa.Text, default="")
    sent_at: Mapped[datetime | None] = mapped_column()
