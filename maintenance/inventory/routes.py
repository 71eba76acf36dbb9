"""``/api/v1/inventory``: items, storerooms, the stock ledger and its reports.

Who may do what: admins configure items and storerooms; admins and managers receive, transfer
and adjust (with a reason); technicians (and managers) issue parts to the orders they can see
and return them. Reading is open to every signed-in user. Errors: unknown order 404, role 403,
not enough stock 409, malformed or unknown item/storeroom 422.
"""

from __future__ import annotations

from typing import Annotated, TypeVar

from fastapi import APIRouter, Path, Query, status
from sqlalchemy.orm import Session

from maintenance.inventory import service as stock
from maintenance.inventory.models import StockMovement
from maintenance.inventory.schemas import (
    AdjustmentCreate,
    DeadStockPublic,
    IssueCreate,
    LowStockPublic,
    MovementPublic,
    MovementsPage,
    ReceiptCreate,
    ReorderGroupPublic,
    StockItemCreate,
    StockItemPublic,
    StockItemsPage,
    StockLevelPublic,
    StockLevelsPage,
    StoreroomCreate,
    StoreroomPublic,
    TransferCreate,
    ValuationPublic,
    WorkOrderPartsPublic,
)
from maintenance.people.deps import (
    ApiContext,
    Caller,
    ContextDep,
    CurrentUser,
    SessionDep,
    require_roles,
)
from maintenance.shared.vocabulary import Role

router = APIRouter(prefix="/inventory", tags=["inventory"])

T = TypeVar("T")
IdPath = Annotated[int, Path(ge=1, le=2**31 - 1)]
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=2**31 - 1)]
SkuQuery = Annotated[str | None, Query(min_length=1, max_length=64)]
Admin = Annotated[Caller, require_roles(Role.ADMIN)]
Manager = Annotated[Caller, require_roles(Role.ADMIN, Role.MANAGER)]
Technician = Annotated[Caller, require_roles(Role.ADMIN, Role.MANAGER, Role.TECH)]
#: Who may look up items and stock levels: staff, and contractors booking parts on their orders.
#: Movements, reorder lists, dead stock and valuation are staff-only (costs and buying plans).
StockReader = Annotated[Caller, require_roles(Role.ADMIN, Role.MANAGER, Role.TECH, Role.CONTRACTOR)]


def _movement(move: StockMovement, sku: str, storeroom: str) -> MovementPublic:
    return MovementPublic(
        id=move.id,
        ts=move.ts,
        kind=move.kind,
        sku=sku,
        storeroom=storeroom,
        quantity=move.quantity,
        unit_cost=move.unit_cost,
        work_order_id=move.work_order_id,
        reason=move.reason,
        transfer_id=move.transfer_id,
        actor=move.actor,
    )


def _book_on_order(
    body: IssueCreate, session: Session, context: ApiContext, caller: Caller, *, back: bool
) -> MovementPublic:
    """Parts out to an order, or (``back``) unused parts back from it: the two take the same
    request, are checked against the same order, and answer with the same ledger line."""
    book = stock.return_from_work_order if back else stock.issue_to_work_order
    move = book(
        session,
        sku=body.sku,
        storeroom=body.storeroom,
        quantity=body.quantity,
        work_order_id=body.work_order_id,
        actor=caller.actor,
        now=context.clock(),
    )
    return _movement(move, body.sku, body.storeroom)


# -- master data ----------------------------------------------------------------------------------
@router.post("/items", status_code=status.HTTP_201_CREATED)
def create_item(body: StockItemCreate, session: SessionDep, caller: Admin) -> StockItemPublic:
    """Add a stocked item (admins)."""
    item = stock.create_item(
        session,
        sku=body.sku,
        name=body.name,
        category=body.category,
        unit=body.unit,
        unit_cost=body.unit_cost,
        reorder_point=body.reorder_point,
        reorder_qty=body.reorder_qty,
    )
    return StockItemPublic.model_validate(item)


@router.get("/items")
def list_items(
    session: SessionDep, caller: StockReader, limit: Limit = 100, offset: Offset = 0
) -> StockItemsPage:
    items, total = stock.list_items(session, limit=limit, offset=offset)
    return StockItemsPage(
        items=[StockItemPublic.model_validate(i) for i in items],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.post("/storerooms", status_code=status.HTTP_201_CREATED)
def create_storeroom(body: StoreroomCreate, session: SessionDep, caller: Admin) -> StoreroomPublic:
    """Add a storeroom (admins)."""
    room = stock.create_storeroom(session, code=body.code, name=body.name)
    return StoreroomPublic.model_validate(room)


# -- movements ------------------------------------------------------------------------------------
@router.post("/receipts", status_code=status.HTTP_201_CREATED)
def post_receipt(
    body: ReceiptCreate, session: SessionDep, context: ContextDep, caller: Manager
) -> MovementPublic:
    """Goods in."""
    move = stock.receive(
        session,
        sku=body.sku,
        storeroom=body.storeroom,
        quantity=body.quantity,
        actor=caller.username,
        reason=body.reason,
        now=context.clock(),
    )
    return _movement(move, body.sku, body.storeroom)


@router.post("/issues", status_code=status.HTTP_201_CREATED)
def post_issue(
    body: IssueCreate, session: SessionDep, context: ContextDep, caller: Technician
) -> MovementPublic:
    """Parts out to a work order the caller can see; the cost lands on the order."""
    return _book_on_order(body, session, context, caller, back=False)


@router.post("/returns", status_code=status.HTTP_201_CREATED)
def post_return(
    body: IssueCreate, session: SessionDep, context: ContextDep, caller: Technician
) -> MovementPublic:
    """Unused parts back from an order (at most what it was issued)."""
    return _book_on_order(body, session, context, caller, back=True)


@router.post("/adjustments", status_code=status.HTTP_201_CREATED)
def post_adjustment(
    body: AdjustmentCreate, session: SessionDep, context: ContextDep, caller: Manager
) -> MovementPublic:
    """A stock-take correction with its reason (managers, admins)."""
    move = stock.adjust(
        session,
        sku=body.sku,
        storeroom=body.storeroom,
        delta=body.delta,
        reason=body.reason,
        actor=caller.actor,
        now=context.clock(),
    )
    return _movement(move, body.sku, body.storeroom)


@router.post("/transfers", status_code=status.HTTP_201_CREATED)
def post_transfer(
    body: TransferCreate, session: SessionDep, context: ContextDep, caller: Manager
) -> list[MovementPublic]:
    """Stock from one storeroom to another: two ledger lines sharing a ``transfer_id``."""
    out, into = stock.transfer(
        session,
        sku=body.sku,
        source=body.source,
        target=body.target,
        quantity=body.quantity,
        actor=caller.username,
        now=context.clock(),
    )
    return [_movement(out, body.sku, body.source), _movement(into, body.sku, body.target)]


@router.get("/movements")
def list_movements(
    session: SessionDep,
    caller: Technician,
    sku: SkuQuery = None,
    work_order_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> MovementsPage:
    """The ledger, oldest first."""
    rows, total = stock.list_movements(
        session, limit=limit, offset=offset, sku=sku, work_order_id=work_order_id
    )
    return MovementsPage(
        items=[_movement(m, s, r) for m, s, r in rows], total=total, limit=limit, offset=offset
    )


# -- reports --------------------------------------------------------------------------------------
@router.get("/stock")
def list_stock(
    session: SessionDep,
    caller: StockReader,
    sku: SkuQuery = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> StockLevelsPage:
    """Stock on hand per item and storeroom."""
    rows, total = stock.list_stock(session, limit=limit, offset=offset, sku=sku)
    return StockLevelsPage(
        items=[
            StockLevelPublic(
                sku=item.sku,
                name=item.name,
                storeroom=room.code,
                on_hand=balance.on_hand,
                unit=item.unit,
                last_movement_at=balance.last_movement_at,
            )
            for item, room, balance in rows
        ],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get("/low-stock")
def get_low_stock(session: SessionDep, caller: Technician) -> list[LowStockPublic]:
    """Items at or below their reorder point, with a suggested order quantity."""
    return [
        LowStockPublic.model_validate(r, from_attributes=True) for r in stock.low_stock(session)
    ]


@router.get("/reorder")
def get_reorder(session: SessionDep, caller: Technician) -> list[ReorderGroupPublic]:
    """What to buy, per preferred supplier: items whose available stock (on hand minus parts
    reserved for planned work) is at or below the reorder point, with min/max quantities."""
    return [
        ReorderGroupPublic.model_validate(g, from_attributes=True)
        for g in stock.reorder_suggestions(session)
    ]


@router.get("/dead-stock")
def get_dead_stock(
    session: SessionDep,
    context: ContextDep,
    caller: Technician,
    days: Annotated[int, Query(ge=1, le=3650)] = 180,
) -> list[DeadStockPublic]:
    """Items in stock that nothing has moved for ``days`` days."""
    rows = stock.dead_stock(session, days=days, now=context.clock())
    return [DeadStockPublic.model_validate(r, from_attributes=True) for r in rows]


@router.get("/valuation")
def get_valuation(session: SessionDep, caller: Technician) -> ValuationPublic:
    """Stock on hand at current unit cost, per category and in total."""
    return ValuationPublic.model_validate(stock.valuation(session), from_attributes=True)


@router.get("/work-orders/{work_order_id}/parts")
def get_work_order_parts(
    work_order_id: IdPath, session: SessionDep, caller: CurrentUser
) -> WorkOrderPartsPublic:
    """The parts an order was issued and returned, and their net cost."""
    rows, cost = stock.work_order_parts(session, work_order_id=work_order_id, actor=caller.actor)
    movements = [_movement(move, sku, room) for move, sku, room in rows]
    return WorkOrderPartsPublic(work_order_id=work_order_id, movements=movements, parts_cost=cost)
