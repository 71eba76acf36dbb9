"""SQLAlchemy models of the spare-parts ledger: items, storerooms, balances, movements, holds.

``CHECK (on_hand >= 0)`` on the balance row and an append-only movement table carry the
guarantees, so no service code has to."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, mapped_column

from maintenance.shared.base import Base, Money, Quantity, enum_type, utcnow

__all__ = [
    "ReservationStatus",
    "StockBalance",
    "StockCategory",
    "StockItem",
    "StockMovement",
    "StockMovementKind",
    "StockReservation",
    "Storeroom",
]


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
    category: Mapped[StockCategory] = mapped_column(enum_type(StockCategory, "stock_category"))
    unit_cost: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    reorder_point: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(0))
    reorder_qty: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(0))
    #: Reorder ceiling (min/max policy); 0 means "reorder point + reorder quantity".
    max_stock: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(0), server_default="0")
    preferred_supplier_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("suppliers.id"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


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
    ts: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    kind: Mapped[StockMovementKind] = mapped_column(
        enum_type(StockMovementKind, "stock_movement_kind")
    )
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
        enum_type(ReservationStatus, "stock_reservation_status"),
        default=ReservationStatus.RESERVED,
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
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
