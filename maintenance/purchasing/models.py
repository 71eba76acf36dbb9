"""SQLAlchemy models of purchase orders: parts ordered from a supplier, received into stock."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from maintenance.shared.base import Base, Money, Quantity, enum_type, utcnow

__all__ = ["PurchaseOrder", "PurchaseOrderStatus"]


class PurchaseOrderStatus(enum.StrEnum):
    OPEN = "open"
    RECEIVED = "received"
    CANCELLED = "cancelled"


class PurchaseOrder(Base):
    """Parts ordered from a supplier: promised and actual delivery feed its scorecard."""

    __tablename__ = "purchase_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(sa.ForeignKey("suppliers.id"), index=True)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("stock_items.id"))
    storeroom_id: Mapped[int] = mapped_column(sa.ForeignKey("storerooms.id"))
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    unit_cost: Mapped[Decimal] = mapped_column(Money)
    ordered_at: Mapped[datetime] = mapped_column(default=utcnow)
    expected_at: Mapped[datetime] = mapped_column()
    status: Mapped[PurchaseOrderStatus] = mapped_column(
        enum_type(PurchaseOrderStatus, "purchase_order_status"), default=PurchaseOrderStatus.OPEN
    )
    received_at: Mapped[datetime | None] = mapped_column()
    quantity_received: Mapped[Decimal | None] = mapped_column(Quantity)
    created_by: Mapped[str] = mapped_column(sa.String(64))
