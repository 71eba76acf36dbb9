"""Purchase orders: parts ordered from a qualified supplier, received into a storeroom.

A purchase order (PO) promises a quantity by ``expected_at``. Receiving books a stock receipt
through :func:`maintenance.inventory.service.receive` with the supplier and the PO on the
ledger line, in the same transaction as the PO's own update (the PO row is locked first, so two
clerks receiving the same delivery cannot both book it). Receipts may be partial; the PO is
``received`` once the ordered quantity is in, or when the clerk closes it short (``final``).
What was promised and what arrived (when, how much) is what the supplier's scorecard reads.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from facility.core.errors import NotFound
from maintenance.inventory import service as inventory
from maintenance.inventory.models import StockItem, StockMovement, Storeroom
from maintenance.purchasing.models import PurchaseOrder, PurchaseOrderStatus
from maintenance.suppliers.models import Supplier
from maintenance.suppliers.service import (
    PARTS_KINDS,
    SupplierError,
    get_supplier,
    require_qualified,
)

__all__ = [
    "PurchaseOrderError",
    "PurchaseOrderNotFound",
    "cancel_purchase_order",
    "create_purchase_order",
    "get_purchase_order",
    "list_purchase_orders",
    "receive_purchase_order",
]

P = PurchaseOrderStatus
_MAX = Decimal("1e9")


class PurchaseOrderError(SupplierError):
    """A purchase-order request is malformed or not allowed in the PO's state."""


class PurchaseOrderNotFound(PurchaseOrderError, NotFound):
    """No purchase order has the given id."""


def _positive(value: Decimal, label: str) -> Decimal:
    if not value.is_finite() or value <= 0 or value > _MAX:
        raise PurchaseOrderError(f"{label} must be a positive number up to {_MAX:f}, got {value}")
    return value


def create_purchase_order(
    session: Session,
    *,
    supplier_code: str,
    sku: str,
    storeroom: str,
    quantity: Decimal,
    expected_at: datetime,
    actor: str,
    unit_cost: Decimal | None = None,
    now: datetime | None = None,
) -> PurchaseOrder:
    """Order parts from a qualified supplier (kind ``supplier`` or ``both``).

    ``unit_cost`` defaults to the item's current cost.
    """
    now = now or datetime.now(UTC)
    supplier = require_qualified(
        session,
        supplier=get_supplier(session, code=supplier_code),
        kinds=PARTS_KINDS,
        purpose="purchase orders",
    )
    item = session.scalar(sa.select(StockItem).where(StockItem.sku == sku))
    if item is None:
        raise PurchaseOrderError(
            f"item {sku[:64]!r} does not exist; GET /api/v1/inventory/items lists them"
        )
    room = session.scalar(sa.select(Storeroom).where(Storeroom.code == storeroom))
    if room is None:
        raise PurchaseOrderError(f"storeroom {storeroom[:64]!r} does not exist")
    if expected_at < now:
        raise PurchaseOrderError(
            f"expected_at {expected_at.isoformat()} is before the order ({now.isoformat()}); "
            "give the delivery date the supplier promised"
        )
    cost = item.unit_cost if unit_cost is None else unit_cost
    if not cost.is_finite() or cost < 0 or cost > _MAX:
        raise PurchaseOrderError(f"unit_cost must be 0 or more, got {cost}")
    order = PurchaseOrder(
        supplier_id=supplier.id,
        item_id=item.id,
        storeroom_id=room.id,
        quantity=_positive(quantity, "quantity"),
        unit_cost=cost,
        ordered_at=now,
        expected_at=expected_at,
        status=P.OPEN,
        created_by=actor,
    )
    session.add(order)
    session.commit()
    return order


def get_purchase_order(session: Session, *, purchase_order_id: int) -> PurchaseOrder:
    order = session.get(PurchaseOrder, purchase_order_id)
    if order is None:
        raise PurchaseOrderNotFound(f"purchase order {purchase_order_id} does not exist")
    return order


def _locked(session: Session, purchase_order_id: int) -> PurchaseOrder:
    order = session.scalar(
        sa.select(PurchaseOrder)
        .where(PurchaseOrder.id == purchase_order_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if order is None:
        raise PurchaseOrderNotFound(f"purchase order {purchase_order_id} does not exist")
    return order


def receive_purchase_order(
    session: Session,
    *,
    purchase_order_id: int,
    actor: str,
    quantity: Decimal | None = None,
    final: bool = False,
    now: datetime | None = None,
) -> tuple[PurchaseOrder, StockMovement]:
    """Book a delivery against an open PO: the rest of it by default, or ``quantity``.

    The PO becomes ``received`` when everything ordered is in or ``final`` closes it short;
    ``received_at`` is the time of the latest delivery.
    """
    now = now or datetime.now(UTC)
    try:
        order = _locked(session, purchase_order_id)
        if order.status is not P.OPEN:
            raise PurchaseOrderError(
                f"purchase order {purchase_order_id} is {order.status.value}; only open ones "
                "take deliveries"
            )
        already = order.quantity_received or Decimal(0)
        outstanding = order.quantity - already
        amount = _positive(quantity if quantity is not None else outstanding, "quantity")
        order.quantity_received = already + amount
        order.received_at = now
        if final or order.quantity_received >= order.quantity:
            order.status = P.RECEIVED
        item = session.get_one(StockItem, order.item_id)
        room = session.get_one(Storeroom, order.storeroom_id)
        supplier = session.get_one(Supplier, order.supplier_id)
    except Exception:
        session.rollback()
        raise
    # inventory.receive adds the ledger line and commits it together with the PO update
    move = inventory.receive(
        session,
        sku=item.sku,
        storeroom=room.code,
        quantity=amount,
        actor=actor,
        reason=f"PO {order.id} from {supplier.code}",
        now=now,
        supplier_id=supplier.id,
        purchase_order_id=order.id,
    )
    return order, move


def cancel_purchase_order(
    session: Session, *, purchase_order_id: int, now: datetime | None = None
) -> PurchaseOrder:
    """Cancel an open PO with nothing received; a part-delivered one is closed short instead."""
    del now  # the schema keeps no cancellation time; the signature matches the others
    order = _locked(session, purchase_order_id)
    if order.status is not P.OPEN:
        session.rollback()
        raise PurchaseOrderError(
            f"purchase order {purchase_order_id} is {order.status.value}; only open ones cancel"
        )
    if order.quantity_received:
        session.rollback()
        raise PurchaseOrderError(
            f"purchase order {purchase_order_id} is partly delivered; close it short with "
            'POST .../receive and {"final": true} instead'
        )
    order.status = P.CANCELLED
    session.commit()
    return order


def list_purchase_orders(
    session: Session,
    *,
    supplier_code: str | None = None,
    status: PurchaseOrderStatus | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[PurchaseOrder], int]:
    query = sa.select(PurchaseOrder)
    if supplier_code is not None:
        supplier = get_supplier(session, code=supplier_code)
        query = query.where(PurchaseOrder.supplier_id == supplier.id)
    if status is not None:
        query = query.where(PurchaseOrder.status == status)
    total = session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(PurchaseOrder.id.desc()).limit(limit).offset(offset))
    return list(rows), int(total)
