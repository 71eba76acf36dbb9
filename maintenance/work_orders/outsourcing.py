"""Outsourcing a work order to a qualified contractor, and taking it back in-house.

Only a *qualified* company of a kind that does service work may receive an outsourced order
(:func:`maintenance.suppliers.service.require_qualified`); the contract in force may set the
order's SLA targets. This lives with the work orders, not the directory: it moves an order
(status, assignee, deadlines, audit trail), and ``WorkOrder.contractor`` already refers to
the supplier, so work orders sit above suppliers.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from facility.core.errors import Forbidden, WorkOrderNotFound
from maintenance.people.models import User
from maintenance.shared.actors import Actor
from maintenance.shared.vocabulary import Role
from maintenance.suppliers.models import Contract, Supplier
from maintenance.suppliers.service import (
    SERVICE_KINDS,
    SupplierError,
    active_contract,
    contract_targets,
    get_supplier,
    require_qualified,
)
from maintenance.work_orders.models import WorkOrder, WorkOrderStatus
from maintenance.work_orders.service import get_work_order, record_event

__all__ = ["outsource_work_order"]

_MANAGERS = frozenset({Role.ADMIN, Role.MANAGER})
_OUTSOURCEABLE = frozenset(
    {
        WorkOrderStatus.NEW,
        WorkOrderStatus.ASSIGNED,
        WorkOrderStatus.IN_PROGRESS,
        WorkOrderStatus.ON_HOLD,
        WorkOrderStatus.REOPENED,
    }
)


def outsource_work_order(
    session: Session,
    *,
    work_order_id: int,
    supplier_code: str | None,
    actor: Actor,
    note: str = "",
    now: datetime | None = None,
) -> WorkOrder:
    """Give an open order to a qualified contractor (or back in-house with ``None``).

    A new order becomes ``assigned`` (to the company; its staff start it). The contract in
    force, if it sets SLA targets, moves the order's deadlines to ``created_at + target`` (in
    clock hours) unless that target was already met or breached. The move is an ``outsourced``
    (or ``insourced``) event in the order's audit trail.
    """
    now = now or datetime.now(UTC)
    if actor.role not in _MANAGERS:
        raise Forbidden("outsourcing work orders needs the manager or admin role")
    order = session.scalar(
        sa.select(WorkOrder)
        .where(WorkOrder.id == work_order_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if order is None:
        raise WorkOrderNotFound(f"work order {work_order_id} does not exist")
    if order.status not in _OUTSOURCEABLE:
        raise SupplierError(
            f"work order {work_order_id} is {order.status.value}; only open orders that are not "
            "yet resolved can be outsourced"
        )
    previous = order.status
    data: dict[str, Any] = {}
    if supplier_code is None:
        if order.contractor_id is None:
            raise SupplierError(f"work order {work_order_id} is not outsourced")
        former = session.get(Supplier, order.contractor_id)
        order.contractor_id = None
        if order.assignee is not None and _is_contractor_user(session, order.assignee):
            order.assignee = None
        kind = "insourced"
        data = {"contractor": former.code if former else None}
    else:
        supplier = require_qualified(
            session,
            supplier=get_supplier(session, code=supplier_code),
            kinds=SERVICE_KINDS,
            purpose="outsourced work orders",
        )
        order.contractor_id = supplier.id
        order.team = None
        if order.assignee is not None and not _works_for(session, order.assignee, supplier.id):
            order.assignee = None  # an in-house technician no longer holds it
        if order.status is WorkOrderStatus.NEW:
            order.status = WorkOrderStatus.ASSIGNED
        contract = active_contract(session, supplier_id=supplier.id, on=now.date())
        data = {"contractor": supplier.code, "contract": contract.code if contract else None}
        data.update(_apply_contract_targets(order, contract))
        kind = "outsourced"
    order.updated_at = now
    record_event(
        order,
        actor=actor.username,
        kind=kind,
        now=now,
        from_state=previous if order.status is not previous else None,
        to_state=order.status if order.status is not previous else None,
        note=note,
        data=data,
    )
    session.commit()
    return get_work_order(session, work_order_id=work_order_id)


def _apply_contract_targets(order: WorkOrder, contract: Contract | None) -> dict[str, Any]:
    response_h, resolution_h = contract_targets(contract)
    changed: dict[str, Any] = {}
    if response_h is not None and order.responded_at is None and order.response_breached_at is None:
        order.response_due_at = order.created_at + timedelta(hours=response_h)
        changed["response_due_at"] = order.response_due_at.isoformat()
    if (
        resolution_h is not None
        and order.resolved_at is None
        and order.resolution_breached_at is None
    ):
        order.resolution_due_at = order.created_at + timedelta(hours=resolution_h)
        changed["resolution_due_at"] = order.resolution_due_at.isoformat()
    return changed


def _is_contractor_user(session: Session, username: str) -> bool:
    role = session.scalar(sa.select(User.role).where(User.username == username))
    return role is Role.CONTRACTOR


def _works_for(session: Session, username: str, supplier_id: int) -> bool:
    found = session.scalar(
        sa.select(User.supplier_id).where(User.username == username, User.role == Role.CONTRACTOR)
    )
    return found == supplier_id
