"""``/api/v1/work-orders``: list, read, create and move work orders through their life cycle."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Query, Response, status

from facility.errors import InvalidTransition, WorkOrderError, WorkOrderNotFound
from maintenance.api.deps import CurrentUser, SessionDep
from maintenance.models import WorkOrder, WorkOrderStatus
from maintenance.schemas import (
    TransitionRequest,
    WorkOrderCreate,
    WorkOrderEventPublic,
    WorkOrderPublic,
    WorkOrdersPage,
)
from maintenance.services import work_orders as service

router = APIRouter(prefix="/work-orders", tags=["work orders"])


def to_public(order: WorkOrder, *, with_events: bool = False) -> WorkOrderPublic:
    return WorkOrderPublic(
        id=order.id,
        title=order.title,
        description=order.description,
        status=order.status,
        priority=order.priority,
        source=order.source,
        rule=order.rule,
        device=order.device,
        asset=order.asset.code if order.asset else None,
        assignee=order.assignee,
        created_by=order.created_by,
        created_at=order.created_at,
        updated_at=order.updated_at,
        resolved_at=order.resolved_at,
        closed_at=order.closed_at,
        allowed_actions=service.allowed_actions(order.status),
        events=[WorkOrderEventPublic.model_validate(e) for e in order.events]
        if with_events
        else None,
    )


@router.get("")
def list_work_orders(
    session: SessionDep,
    caller: CurrentUser,
    status_: Annotated[list[WorkOrderStatus] | None, Query(alias="status")] = None,
    asset: Annotated[str | None, Query(max_length=200)] = None,
    rule: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> WorkOrdersPage:
    """Work orders, newest first; filter with ``?status=new&status=assigned&asset=AHU-1``."""
    rows, total = service.list_work_orders(
        session, status=status_ or (), asset_code=asset, rule=rule, limit=limit, offset=offset
    )
    return WorkOrdersPage(items=[to_public(o) for o in rows], total=total)


@router.get("/{work_order_id}")
def get_work_order(work_order_id: int, session: SessionDep, caller: CurrentUser) -> WorkOrderPublic:
    """One work order with its full audit trail."""
    try:
        order = service.get_work_order(session, work_order_id=work_order_id)
    except WorkOrderNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    return to_public(order, with_events=True)


@router.post("", status_code=status.HTTP_201_CREATED)
def create_work_order(
    body: WorkOrderCreate,
    session: SessionDep,
    caller: CurrentUser,
    response: Response,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> WorkOrderPublic:
    """Create a work order. Send ``Idempotency-Key`` so a retried request never makes two."""
    order, created = service.create_work_order(
        session,
        title=body.title,
        description=body.description,
        priority=body.priority,
        asset_code=body.asset,
        actor=caller.username,
        idempotency_key=idempotency_key,
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return to_public(service.get_work_order(session, work_order_id=order.id), with_events=True)


@router.post("/{work_order_id}/{action}")
def transition(
    work_order_id: int,
    action: str,
    session: SessionDep,
    caller: CurrentUser,
    body: TransitionRequest | None = None,
) -> WorkOrderPublic:
    """Apply ``assign`` (needs ``assignee``), ``start``, ``hold``, ``resume``, ``resolve``,
    ``reopen``, ``close`` or ``cancel``. An illegal move is 409 and names the allowed ones."""
    body = body or TransitionRequest()
    if action not in service.ACTIONS:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"unknown action {action[:40]!r}; actions: {', '.join(service.ACTIONS)}",
        )
    try:
        order = service.transition(
            session,
            work_order_id=work_order_id,
            action=action,
            actor=caller.username,
            role=caller.role,
            note=body.note,
            assignee=body.assignee,
        )
    except WorkOrderNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except InvalidTransition as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    except PermissionError as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from exc
    except WorkOrderError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    return to_public(order, with_events=True)
