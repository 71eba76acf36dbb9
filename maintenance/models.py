"""SQLAlchemy 2 models of the maintenance service: where things are and what is done to them.

The rule "one open work order per (rule, asset)" is the partial unique index
``uq_work_orders_open_rule_asset``: the database refuses a second open order however many
gateway workers race, so the service code never has to check-then-insert.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

__all__ = [
    "OPEN_STATES",
    "Asset",
    "Base",
    "Device",
    "Priority",
    "Role",
    "Site",
    "User",
    "WorkOrder",
    "WorkOrderEvent",
    "WorkOrderSource",
    "WorkOrderStatus",
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
    CLOSED = "closed"
    CANCELLED = "cancelled"


#: States in which an order counts as open for the one-open-order-per-(rule, asset) rule.
OPEN_STATES = (
    WorkOrderStatus.NEW,
    WorkOrderStatus.ASSIGNED,
    WorkOrderStatus.IN_PROGRESS,
    WorkOrderStatus.ON_HOLD,
    WorkOrderStatus.RESOLVED,
)


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

    asset: Mapped[Asset | None] = relationship()
    events: Mapped[list[WorkOrderEvent]] = relationship(
        back_populates="work_order", order_by="WorkOrderEvent.id", cascade="all, delete-orphan"
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
