"""``/api/v1/purchase-orders``: order parts from a qualified supplier, receive and cancel.

Who may do what: admins and managers handle purchase orders; nobody else sees them. Errors:
unknown 404, role 403, a supplier not qualified or a move the PO's state refuses 409,
malformed 422.
"""

from __future__ import annotations

from typing import Annotated, TypeVar

from fastapi import APIRouter, Body, Path, Query, status

from maintenance.inventory.models import StockItem, Storeroom
from maintenance.people.deps import Caller, ContextDep, SessionDep, parse_time, require_roles
from maintenance.purchasing import service as purchasing
from maintenance.purchasing.models import PurchaseOrder, PurchaseOrderStatus
from maintenance.purchasing.schemas import (
    PurchaseOrderCreate,
    PurchaseOrderPublic,
    PurchaseOrderReceive,
    PurchaseOrdersPage,
)
from maintenance.shared.fields import CODE
from maintenance.shared.vocabulary import Role
from maintenance.suppliers.models import Supplier

__all__ = ["router"]

router = APIRouter(tags=["suppliers"])

T = TypeVar("T")
IdPath = Annotated[int, Path(ge=1, le=2**31 - 1)]
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=2**31 - 1)]
SupplierQuery = Annotated[str | None, Query(min_length=1, max_length=64, pattern=CODE)]
Manager = Annotated[Caller, require_roles(Role.ADMIN, Role.MANAGER)]


def _po(session: SessionDep, order: PurchaseOrder) -> PurchaseOrderPublic:
    supplier = session.get_one(Supplier, order.supplier_id)
    item = session.get_one(StockItem, order.item_id)
    room = session.get_one(Storeroom, order.storeroom_id)
    return PurchaseOrderPublic(
        id=order.id,
        supplier=supplier.code,
        sku=item.sku,
        storeroom=room.code,
        quantity=order.quantity,
        unit_cost=order.unit_cost,
        ordered_at=order.ordered_at,
        expected_at=order.expected_at,
        status=order.status,
        received_at=order.received_at,
        quantity_received=order.quantity_received,
        created_by=order.created_by,
    )


@router.get("/purchase-orders")
def list_purchase_orders(
    session: SessionDep,
    caller: Manager,
    supplier: SupplierQuery = None,
    status_: Annotated[PurchaseOrderStatus | None, Query(alias="status")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> PurchaseOrdersPage:
    """Purchase orders, newest first; filter by ``supplier`` and ``status``."""
    rows, total = purchasing.list_purchase_orders(
        session, supplier_code=supplier, status=status_, limit=limit, offset=offset
    )
    return PurchaseOrdersPage(
        items=[_po(session, o) for o in rows], total=total, limit=limit, offset=offset
    )


@router.post("/purchase-orders", status_code=status.HTTP_201_CREATED)
def create_purchase_order(
    body: PurchaseOrderCreate, session: SessionDep, context: ContextDep, caller: Manager
) -> PurchaseOrderPublic:
    """Order parts from a qualified supplier by the promised ``expected_at``."""
    expected_at = parse_time(body.expected_at, "expected_at")
    assert expected_at is not None
    order = purchasing.create_purchase_order(
        session,
        supplier_code=body.supplier,
        sku=body.sku,
        storeroom=body.storeroom,
        quantity=body.quantity,
        unit_cost=body.unit_cost,
        expected_at=expected_at,
        actor=caller.username,
        now=context.clock(),
    )
    return _po(session, order)


@router.get("/purchase-orders/{purchase_order_id}")
def get_purchase_order(
    purchase_order_id: IdPath, session: SessionDep, caller: Manager
) -> PurchaseOrderPublic:
    order = purchasing.get_purchase_order(session, purchase_order_id=purchase_order_id)
    return _po(session, order)


@router.post("/purchase-orders/{purchase_order_id}/receive")
def receive_purchase_order(
    purchase_order_id: IdPath,
    session: SessionDep,
    context: ContextDep,
    caller: Manager,
    body: Annotated[PurchaseOrderReceive | None, Body()] = None,
) -> PurchaseOrderPublic:
    """Book a delivery (the rest of the PO unless ``quantity``; ``final`` closes it short)
    as a stock receipt that names the supplier and the PO."""
    request = body or PurchaseOrderReceive()
    order, _ = purchasing.receive_purchase_order(
        session,
        purchase_order_id=purchase_order_id,
        quantity=request.quantity,
        final=request.final,
        actor=caller.username,
        now=context.clock(),
    )
    return _po(session, order)


@router.post("/purchase-orders/{purchase_order_id}/cancel")
def cancel_purchase_order(
    purchase_order_id: IdPath, session: SessionDep, context: ContextDep, caller: Manager
) -> PurchaseOrderPublic:
    order = purchasing.cancel_purchase_order(
        session, purchase_order_id=purchase_order_id, now=context.clock()
    )
    return _po(session, order)
