"""The work-order life cycle: creation (from alerts, API clients, people) and transitions.

Every change is one transaction that also appends a :class:`WorkOrderEvent`, so the audit trail
can never disagree with the order.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from prometheus_client import Counter
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from facility.errors import InvalidTransition, WorkOrderError, WorkOrderNotFound
from facility.types import Alert, AlertState, Severity
from maintenance.models import (
    OPEN_STATES,
    Asset,
    Priority,
    Role,
    WorkOrder,
    WorkOrderEvent,
    WorkOrderSource,
    WorkOrderStatus,
)
from maintenance.services.assets import ensure_asset

__all__ = [
    "ACTIONS",
    "WORK_ORDERS_CREATED",
    "AlertOutcome",
    "apply_alert",
    "create_work_order",
    "get_work_order",
    "list_work_orders",
    "transition",
]

log = logging.getLogger(__name__)

WORK_ORDERS_CREATED = Counter(
    "facility_work_orders_created", "Work orders created", labelnames=["source"]
)

SEVERITY_PRIORITY = {
    Severity.CRITICAL: Priority.P1,
    Severity.MAJOR: Priority.P2,
    Severity.MINOR: Priority.P3,
    Severity.INFO: Priority.P4,
}

S = WorkOrderStatus
_MANAGERS = frozenset({Role.ADMIN, Role.MANAGER})
_WORKERS = frozenset({Role.ADMIN, Role.MANAGER, Role.TECH})


@dataclass(frozen=True, slots=True)
class Action:
    """A named transition: from which states, to which state, and who may do it."""

    name: str
    sources: frozenset[WorkOrderStatus]
    target: WorkOrderStatus
    roles: frozenset[Role]


ACTIONS: dict[str, Action] = {
    a.name: a
    for a in (
        Action("assign", frozenset({S.NEW, S.ASSIGNED, S.ON_HOLD}), S.ASSIGNED, _MANAGERS),
        Action("start", frozenset({S.NEW, S.ASSIGNED}), S.IN_PROGRESS, _WORKERS),
        Action("hold", frozenset({S.IN_PROGRESS}), S.ON_HOLD, _WORKERS),
        Action("resume", frozenset({S.ON_HOLD}), S.IN_PROGRESS, _WORKERS),
        Action("resolve", frozenset({S.IN_PROGRESS}), S.RESOLVED, _WORKERS),
        Action("reopen", frozenset({S.RESOLVED}), S.IN_PROGRESS, _MANAGERS),
        Action("close", frozenset({S.RESOLVED}), S.CLOSED, _MANAGERS),
        Action("cancel", frozenset(OPEN_STATES) - {S.RESOLVED}, S.CANCELLED, _MANAGERS),
    )
}


def allowed_actions(status: WorkOrderStatus) -> list[str]:
    return [name for name, action in ACTIONS.items() if status in action.sources]


def _event(
    order: WorkOrder,
    *,
    actor: str,
    kind: str,
    from_state: WorkOrderStatus | None = None,
    to_state: WorkOrderStatus | None = None,
    note: str = "",
    data: dict[str, Any] | None = None,
) -> WorkOrderEvent:
    event = WorkOrderEvent(
        actor=actor,
        kind=kind,
        from_state=from_state.value if from_state else None,
        to_state=to_state.value if to_state else None,
        note=note,
        data=data,
        ts=datetime.now(UTC),
    )
    order.events.append(event)
    return event


@dataclass(frozen=True, slots=True)
class AlertOutcome:
    """What an alert did to the work orders.

    ``action`` is ``created``, ``folded`` (into the open order), ``resolved`` or ``ignored``.
    """

    action: str
    work_order_id: int | None


def apply_alert(session: Session, *, alert: Alert) -> AlertOutcome:
    """Turn an alert into work: a new order, an event on the open one, or nothing.

    Idempotent per (rule, asset): the partial unique index refuses a second open order, and the
    loser of a race appends a ``refired`` event to the winner's order instead.
    """
    asset = ensure_asset(session, code=alert.asset)
    evidence = {
        "rule": alert.rule,
        "device": alert.device,
        "value": alert.value,
        "severity": alert.severity.value,
        "alert_ts": alert.ts.isoformat(),
    }
    if alert.state is AlertState.RESOLVED:
        order = _open_order_for(session, rule=alert.rule, asset=asset)
        if order is None:
            session.commit()
            return AlertOutcome("ignored", None)
        _event(order, actor="rules", kind="alert_resolved", note=alert.message, data=evidence)
        session.commit()
        return AlertOutcome("resolved", order.id)

    order = WorkOrder(
        title=(alert.message or f"{alert.rule} on {alert.asset}")[:200],
        description=alert.message,
        priority=SEVERITY_PRIORITY[alert.severity],
        source=WorkOrderSource.RULE,
        rule=alert.rule,
        device=alert.device,
        asset_id=asset.id,
        created_by="rules",
    )
    try:
        with session.begin_nested():
            session.add(order)
            _event(
                order,
                actor="rules",
                kind="created",
                to_state=S.NEW,
                note=alert.message,
                data=evidence,
            )
            session.flush()
    except IntegrityError:
        existing = _open_order_for(session, rule=alert.rule, asset=asset)
        if existing is None:  # closed between our insert and this read; try once more
            session.rollback()
            return apply_alert(session, alert=alert)
        _event(existing, actor="rules", kind="refired", note=alert.message, data=evidence)
        session.commit()
        return AlertOutcome("folded", existing.id)
    session.commit()
    WORK_ORDERS_CREATED.labels(source=WorkOrderSource.RULE.value).inc()
    log.info("work order %d opened: %s", order.id, order.title)
    return AlertOutcome("created", order.id)


def _open_order_for(session: Session, *, rule: str, asset: Asset) -> WorkOrder | None:
    return session.scalar(
        sa.select(WorkOrder).where(
            WorkOrder.rule == rule,
            WorkOrder.asset_id == asset.id,
            WorkOrder.status.in_(OPEN_STATES),
        )
    )


def create_work_order(
    session: Session,
    *,
    title: str,
    actor: str,
    description: str = "",
    priority: Priority = Priority.P3,
    asset_code: str | None = None,
    source: WorkOrderSource = WorkOrderSource.API,
    idempotency_key: str | None = None,
) -> tuple[WorkOrder, bool]:
    """Create an order; with an idempotency key a retry returns the first order (created=False)."""
    if idempotency_key:
        existing = session.scalar(
            sa.select(WorkOrder).where(WorkOrder.idempotency_key == idempotency_key)
        )
        if existing is not None:
            return existing, False
    asset = ensure_asset(session, code=asset_code) if asset_code else None
    order = WorkOrder(
        title=title,
        description=description,
        priority=priority,
        source=source,
        asset_id=asset.id if asset else None,
        idempotency_key=idempotency_key,
        created_by=actor,
    )
    try:
        with session.begin_nested():
            session.add(order)
            _event(order, actor=actor, kind="created", to_state=S.NEW, note=description[:500])
            session.flush()
    except IntegrityError:
        existing = session.scalar(
            sa.select(WorkOrder).where(WorkOrder.idempotency_key == idempotency_key)
        )
        if existing is None:
            raise
        return existing, False
    session.commit()
    WORK_ORDERS_CREATED.labels(source=source.value).inc()
    return order, True


def get_work_order(session: Session, *, work_order_id: int) -> WorkOrder:
    order = session.scalar(
        sa.select(WorkOrder)
        .where(WorkOrder.id == work_order_id)
        .options(selectinload(WorkOrder.events), selectinload(WorkOrder.asset))
    )
    if order is None:
        raise WorkOrderNotFound(f"work order {work_order_id} does not exist")
    return order


def list_work_orders(
    session: Session,
    *,
    status: Sequence[WorkOrderStatus] = (),
    asset_code: str | None = None,
    rule: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[WorkOrder], int]:
    query = sa.select(WorkOrder)
    if status:
        query = query.where(WorkOrder.status.in_(status))
    if asset_code:
        query = query.join(Asset, WorkOrder.asset_id == Asset.id).where(Asset.code == asset_code)
    if rule:
        query = query.where(WorkOrder.rule == rule)
    total = session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.options(selectinload(WorkOrder.asset))
        .order_by(WorkOrder.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return list(rows), int(total)


def transition(
    session: Session,
    *,
    work_order_id: int,
    action: str,
    actor: str,
    role: Role,
    note: str = "",
    assignee: str | None = None,
) -> WorkOrder:
    """Apply a named action to an order, or raise InvalidTransition / WorkOrderError."""
    spec = ACTIONS.get(action)
    if spec is None:
        raise WorkOrderError(f"unknown action {action!r}; actions: {', '.join(ACTIONS)}")
    order = session.scalar(
        sa.select(WorkOrder).where(WorkOrder.id == work_order_id).with_for_update()
    )
    if order is None:
        raise WorkOrderNotFound(f"work order {work_order_id} does not exist")
    if role not in spec.roles:
        raise PermissionError(
            f"role {role.value!r} may not {action} work orders; "
            f"roles allowed: {', '.join(sorted(r.value for r in spec.roles))}"
        )
    if order.status not in spec.sources:
        raise InvalidTransition(
            order.status.value, spec.target.value, allowed_actions(order.status)
        )
    if action == "assign":
        if not assignee:
            raise WorkOrderError("assign needs an assignee")
        order.assignee = assignee
    elif action == "start" and order.assignee is None:
        order.assignee = actor
    previous = order.status
    order.status = spec.target
    now = datetime.now(UTC)
    if spec.target is S.RESOLVED:
        order.resolved_at = now
    elif spec.target is S.CLOSED:
        order.closed_at = now
    data = {"assignee": assignee} if assignee else None
    _event(
        order,
        actor=actor,
        kind=action,
        from_state=previous,
        to_state=spec.target,
        note=note,
        data=data,
    )
    session.commit()
    return get_work_order(session, work_order_id=work_order_id)
