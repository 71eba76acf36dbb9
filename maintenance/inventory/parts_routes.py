"""``/api/v1/work-orders/{id}/parts``: issue parts from stock to an order by the people who did
the work (:func:`maintenance.inventory.parts.issue_parts`).

The API registers this router before the work-order router, whose ``/{id}/{action}`` route
would otherwise take ``parts`` for an unknown action.

Who may do what: whoever may book on the order (contractors included, on their company's
orders). Errors: unknown or invisible order 404, role 403, not enough stock 409, malformed or
unknown item/storeroom 422.
"""

from __future__ import annotations

from typing import Annotated, TypeVar

from fastapi import APIRouter, Path, status

from maintenance.inventory import parts
from maintenance.inventory.schemas import MovementPublic, PartsCreate
from maintenance.people.deps import Caller, ContextDep, SessionDep, require_roles
from maintenance.shared.vocabulary import Role

__all__ = ["router"]

router = APIRouter(prefix="/work-orders", tags=["work orders", "suppliers"])

T = TypeVar("T")
IdPath = Annotated[int, Path(ge=1, le=2**31 - 1)]
Worker = Annotated[Caller, require_roles(Role.ADMIN, Role.MANAGER, Role.TECH, Role.CONTRACTOR)]


@router.post("/{work_order_id}/parts", status_code=status.HTTP_201_CREATED)
def post_parts(
    work_order_id: IdPath,
    body: PartsCreate,
    session: SessionDep,
    context: ContextDep,
    caller: Worker,
) -> MovementPublic:
    """Issue parts from stock to an order (contractors included, on their company's orders)."""
    move = parts.issue_parts(
        session,
        work_order_id=work_order_id,
        actor=caller.actor,
        sku=body.sku,
        storeroom=body.storeroom,
        quantity=body.quantity,
        now=context.clock(),
    )
    return MovementPublic(
        id=move.id,
        ts=move.ts,
        kind=move.kind,
        sku=body.sku,
        storeroom=body.storeroom,
        quantity=move.quantity,
        unit_cost=move.unit_cost,
        work_order_id=move.work_order_id,
        reason=move.reason,
        transfer_id=move.transfer_id,
        actor=move.actor,
    )
