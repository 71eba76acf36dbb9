"""``/api/v1/work-orders/{id}/contractor`` and ``/api/v1/work-orders/{id}/labour``: outsource an
order to a contractor (or take it back), and book and list the time worked on it.

The API registers this router before the work-order router, whose ``/{id}/{action}`` route
would otherwise take ``contractor`` and ``labour`` for unknown actions.

Who may do what: managers and admins outsource; whoever may book on an order books labour
(:mod:`maintenance.work_orders.labour`); whoever can see an order reads its labour. Errors:
unknown or invisible 404, role 403, not qualified or a move the state refuses 409,
malformed 422.
"""

from __future__ import annotations

from typing import Annotated, TypeVar

from fastapi import APIRouter, Path, status

from maintenance.people.deps import Caller, ContextDep, CurrentUser, SessionDep, require_roles
from maintenance.shared.vocabulary import Role
from maintenance.work_orders import labour, outsourcing
from maintenance.work_orders.routes import to_public
from maintenance.work_orders.schemas import (
    LabourCreate,
    LabourEntryPublic,
    LabourPublic,
    OutsourceRequest,
    WorkOrderPublic,
)
from maintenance.work_orders.service import team_of

__all__ = ["router"]

router = APIRouter(prefix="/work-orders", tags=["work orders", "suppliers"])

T = TypeVar("T")
IdPath = Annotated[int, Path(ge=1, le=2**31 - 1)]
Manager = Annotated[Caller, require_roles(Role.ADMIN, Role.MANAGER)]
Worker = Annotated[Caller, require_roles(Role.ADMIN, Role.MANAGER, Role.TECH, Role.CONTRACTOR)]


@router.post("/{work_order_id}/contractor")
def outsource_work_order(
    work_order_id: IdPath,
    body: OutsourceRequest,
    session: SessionDep,
    context: ContextDep,
    caller: Manager,
) -> WorkOrderPublic:
    """Outsource an open order to a qualified contractor (``null`` takes it back in-house);
    the contract in force sets its SLA targets. Recorded in the order's audit trail."""
    order = outsourcing.outsource_work_order(
        session,
        work_order_id=work_order_id,
        supplier_code=body.contractor,
        actor=caller.actor,
        note=body.note,
        now=context.clock(),
    )
    return to_public(order, caller=caller, team=team_of(session, caller.actor), full=True)


@router.get("/{work_order_id}/labour")
def get_labour(work_order_id: IdPath, session: SessionDep, caller: CurrentUser) -> LabourPublic:
    """Time booked on an order, its total hours and cost (for whoever can see the order)."""
    summary = labour.list_labour(session, work_order_id=work_order_id, actor=caller.actor)
    return LabourPublic(
        work_order_id=work_order_id,
        entries=[LabourEntryPublic.model_validate(e) for e in summary.entries],
        hours=summary.hours,
        cost=summary.cost,
    )


@router.post("/{work_order_id}/labour", status_code=status.HTTP_201_CREATED)
def post_labour(
    work_order_id: IdPath,
    body: LabourCreate,
    session: SessionDep,
    context: ContextDep,
    caller: Worker,
) -> LabourEntryPublic:
    """Book hours on an order: a technician their own on their orders, a contractor's staff on
    their company's orders (naming the worker), managers on any."""
    entry = labour.record_labour(
        session,
        work_order_id=work_order_id,
        actor=caller.actor,
        hours=body.hours,
        worker=body.worker,
        hourly_rate=body.hourly_rate,
        note=body.note,
        now=context.clock(),
    )
    return LabourEntryPublic.model_validate(entry)
