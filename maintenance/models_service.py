"""SQLAlchemy models of preventive maintenance (PM) plans and the spare-parts ledger.

Two database rules carry the guarantees, so no service code has to check-then-insert:

* ``uq_pm_occurrences_plan_key``: one row per (plan, occurrence key). The scheduler inserts the
  occurrence before it creates the order, so two schedulers racing for the same due date meet
  at this index and exactly one of them creates the work order.
* ``ck_stock_balances_non_negative``: the per-(item, storeroom) balance row, which every
  movement updates under a row lock in the same transaction as the ledger row, can never go
  below zero. The ledger (``stock_movements``) is append-only; the balance is its running sum.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, mapped_column

from maintenance.models import Base

__all__ = [
    "PmOccurrence",
    "PmPlan",
    "PmTriggerKind",
    "ReservationStatus",
    "ScheduleMode",
    "StockBalance",
    "StockCategory",
    "StockItem",
    "StockMovement",
    "StockMovementKind",
    "StockReservation",
    "Storeroom",
    "TimeUnit",
]


def _now() -> datetime:
    return datetime.now(UTC)


def _values(cls: type[enum.Enum]) -> list[str]:
    return [str(member.value) for member in cls]


def _enum(cls: type[enum.Enum], name: str) -> sa.Enum:
    # VARCHAR + CHECK as in maintenance.models: a new member is a one-line migration.
    return sa.Enum(cls, name=name, native_enum=False, length=20, values_callable=_values)


#: Money and quantities are exact decimals: a ledger summed in floats drifts.
Quantity = sa.Numeric(14, 3)
Money = sa.Numeric(14, 4)


class PmTriggerKind(enum.StrEnum):
    CALENDAR = "calendar"
    #: A cron expression (``cron``) evaluated in the site's time zone.
    CRON = "cron"
    RUNTIME = "runtime"
    METER = "meter"
    #: A rule of the rules engine (``rule``) opens the PM order instead of a corrective one.
    CONDITION = "condition"


class TimeUnit(enum.StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


class ScheduleMode(enum.StrEnum):
    #: Due dates fall on the grid anchor + k * interval, whenever the last one was done.
    FIXED = "fixed"
    #: Next due = last completion + interval.
    FLOATING = "floating"


class PmPlan(Base):
    """A preventive-maintenance plan: what to service, how long it takes, and when it is due.

    One trigger per plan; a piece of equipment serviced both every 3 months and every 500 run
    hours has two plans. ``lead`` is in the trigger's own unit: days for calendar plans, run
    hours for runtime plans, counter units for meter plans.
    """

    __tablename__ = "pm_plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    description: Mapped[str] = mapped_column(sa.Text, default="")
    #: Asset codes the plan names; empty when ``asset_type`` selects them instead.
    asset_codes: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    asset_type: Mapped[str | None] = mapped_column(sa.String(64))
    site_id: Mapped[int | None] = mapped_column(sa.ForeignKey("sites.id"))
    checklist_template_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("checklist_templates.id")
    )
    estimated_labour_h: Mapped[float] = mapped_column(default=0.0)
    trigger: Mapped[PmTriggerKind] = mapped_column(_enum(PmTriggerKind, "pm_trigger_kind"))
    interval: Mapped[float] = mapped_column()
    unit: Mapped[TimeUnit | None] = mapped_column(_enum(TimeUnit, "pm_time_unit"))
    mode: Mapped[ScheduleMode] = mapped_column(
        _enum(ScheduleMode, "pm_schedule_mode"), default=ScheduleMode.FIXED
    )
    #: Calendar plans: the first due date as local wall time in the site's zone (naive ISO).
    anchor_local: Mapped[str | None] = mapped_column(sa.String(32))
    #: Runtime/meter plans: the device whose ``state`` or counter readings drive the plan.
    device: Mapped[str | None] = mapped_column(sa.String(200))
    metric: Mapped[str | None] = mapped_column(sa.String(64))
    #: Runtime plans: a reading vouches for the device's state for at most this long.
    max_gap_s: Mapped[float] = mapped_column(default=900.0)
    lead: Mapped[float] = mapped_column(default=0.0)
    #: Completed within this many hours after the due date still counts as on time.
    grace_h: Mapped[float] = mapped_column(default=24.0)
    #: Telemetry is counted from here (plan creation unless given).
    starts_at: Mapped[datetime] = mapped_column(default=_now)
    #: Cron plans: a five-field cron expression in the site's time zone.
    cron: Mapped[str | None] = mapped_column(sa.String(120))
    #: Condition plans: the rule whose firing alert opens this plan's order.
    rule: Mapped[str | None] = mapped_column(sa.String(100), index=True)
    #: Parts each order needs, reserved when it is generated: ``[{"sku", "quantity",
    #: "storeroom"}]``.
    parts: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    #: Runtime/meter plans: usage accumulated from ``starts_at`` up to ``progress_at`` (a
    #: checkpoint, so a scheduler pass reads only telemetry newer than it).
    progress_at: Mapped[datetime | None] = mapped_column()
    progress_value: Mapped[float | None] = mapped_column()
    #: The checkpoint's carried state (last counter value, last state and its time).
    progress_state: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    active: Mapped[bool] = mapped_column(default=True)
    approved_by: Mapped[str | None] = mapped_column(sa.String(64))
    approved_at: Mapped[datetime | None] = mapped_column()
    created_by: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=_now)


class PmOccurrence(Base):
    """One due occurrence of a plan for one asset, and the order generated for it."""

    __tablename__ = "pm_occurrences"
    __table_args__ = (
        sa.UniqueConstraint("plan_id", "occurrence_key", name="uq_pm_occurrences_plan_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(sa.ForeignKey("pm_plans.id"), index=True)
    occurrence_key: Mapped[str] = mapped_column(sa.String(200))
    asset_id: Mapped[int | None] = mapped_column(sa.ForeignKey("assets.id"))
    due_at: Mapped[datetime] = mapped_column(index=True)
    generated_at: Mapped[datetime] = mapped_column(default=_now)
    work_order_id: Mapped[int | None] = mapped_column(sa.ForeignKey("work_orders.id"), index=True)


class StockCategory(enum.StrEnum):
    SPARE_PART = "spare_part"
    CONSUMABLE = "consumable"
    OFFICE_SUPPLY = "office_supply"


class StockMovementKind(enum.StrEnum):
    RECEIPT = "receipt"
    ISSUE = "issue"
    RETURN = "return"
    ADJUSTMENT = "adjustment"
    TRANSFER_OUT = "transfer_out"
    TRANSFER_IN = "transfer_in"


class StockItem(Base):
    """A stocked article: a V-belt, a filter, a box of printer paper."""

    __tablename__ = "stock_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    unit: Mapped[str] = mapped_column(sa.String(16), default="pcs")
    category: Mapped[StockCategory] = mapped_column(_enum(StockCategory, "stock_category"))
    unit_cost: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    reorder_point: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(0))
    reorder_qty: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(0))
    #: Reorder ceiling (min/max policy); 0 means "reorder point + reorder quantity".
    max_stock: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(0), server_default="0")
    preferred_supplier_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("suppliers.id"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=_now)


class Storeroom(Base):
    __tablename__ = "storerooms"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    site_id: Mapped[int | None] = mapped_column(sa.ForeignKey("sites.id"))


class StockBalance(Base):
    """Stock on hand of one item in one storeroom: the ledger's running sum, and the lock row.

    Every movement locks this row (``SELECT ... FOR UPDATE``), checks, updates it and appends
    the ledger row in one transaction, so concurrent issues of the last unit queue up here and
    the second one sees zero. The CHECK constraint is the last line of defence.
    """

    __tablename__ = "stock_balances"
    __table_args__ = (
        sa.CheckConstraint("on_hand >= 0", name="ck_stock_balances_non_negative"),
        sa.CheckConstraint("reserved >= 0", name="ck_stock_balances_reserved_non_negative"),
    )

    item_id: Mapped[int] = mapped_column(sa.ForeignKey("stock_items.id"), primary_key=True)
    storeroom_id: Mapped[int] = mapped_column(sa.ForeignKey("storerooms.id"), primary_key=True)
    on_hand: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(0))
    #: Held for planned orders (open reservations); available = on_hand - reserved.
    reserved: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(0), server_default="0")
    last_movement_at: Mapped[datetime | None] = mapped_column()


class StockMovement(Base):
    """One append-only ledger line: a signed quantity into (+) or out of (-) a storeroom."""

    __tablename__ = "stock_movements"

    id: Mapped[int] = mapped_column(primary_key=True)
    ts: Mapped[datetime] = mapped_column(default=_now, index=True)
    kind: Mapped[StockMovementKind] = mapped_column(_enum(StockMovementKind, "stock_movement_kind"))
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("stock_items.id"), index=True)
    storeroom_id: Mapped[int] = mapped_column(sa.ForeignKey("storerooms.id"))
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    #: The item's unit cost when the movement happened (what an issue charges the order).
    unit_cost: Mapped[Decimal] = mapped_column(Money)
    work_order_id: Mapped[int | None] = mapped_column(sa.ForeignKey("work_orders.id"), index=True)
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    #: Both legs of a transfer share it.
    transfer_id: Mapped[str | None] = mapped_column(sa.String(36))
    actor: Mapped[str] = mapped_column(sa.String(64))
    #: Receipts: who delivered, and against which purchase order.
    supplier_id: Mapped[int | None] = mapped_column(sa.ForeignKey("suppliers.id"), index=True)
    purchase_order_id: Mapped[int | None] = mapped_column(sa.ForeignKey("purchase_orders.id"))


class ReservationStatus(enum.StrEnum):
    RESERVED = "reserved"
    CONSUMED = "consumed"
    RELEASED = "released"


class StockReservation(Base):
    """Parts held for a planned order; consumed (issued) when the order is resolved.

    ``stock_balances.reserved`` is the sum of open reservations, kept under the same row lock as
    ``on_hand``. A reservation may exceed what is on hand: the shortfall shows in the reorder
    suggestions instead of blocking the plan.
    """

    __tablename__ = "stock_reservations"

    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(sa.ForeignKey("work_orders.id"), index=True)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("stock_items.id"), index=True)
    storeroom_id: Mapped[int] = mapped_column(sa.ForeignKey("storerooms.id"))
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    status: Mapped[ReservationStatus] = mapped_column(
        _enum(ReservationStatus, "stock_reservation_status"), default=ReservationStatus.RESERVED
    )
    created_at: Mapped[datetime] = mapped_column(default=_now)
    settled_at: Mapped[datetime | None] = mapped_column()
    #: The issue movement that consumed it.
    movement_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stock_movements.id"))


@event.listens_for(StockMovement, "before_update")
@event.listens_for(StockMovement, "before_delete")
def _append_only(_mapper: Any, _connection: Any, target: StockMovement) -> None:
    raise ValueError(
        f"stock movement {target.id} is part of the append-only ledger; "
        "correct it with a new adjustment instead"
    )
