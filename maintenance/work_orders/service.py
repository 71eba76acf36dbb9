"""The work-order life cycle: creation (from alerts, API clients, people) and transitions.

```
new ─assign─► assigned ─start─► in_progress ─resolve─► resolved ─verify─► verified ─close─► closed
                 ▲                 │     ▲                 │
                 │               hold  resume            reopen (failed verification)
                 │                 ▼     │                 ▼
                 └──── assign ─── on_hold            reopened ─start─► in_progress
cancel: from new, assigned, in_progress, on_hold, reopened
```

Every change is one transaction that also appends a :class:`WorkOrderEvent` (and, where someone
must hear of it, an outbox message), so the audit trail and the notifications can never disagree
with the order. Transitions lock the order row (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite
transactions take the write lock at ``BEGIN``), so concurrent moves queue up instead of losing an
event. Time comes in as ``now`` so tests drive the SLA clocks."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from prometheus_client import Counter
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session, object_session, selectinload

from facility.core.errors import Forbidden, InvalidTransition, WorkOrderError, WorkOrderNotFound
from facility.core.types import Alert, AlertState, Reading, ReadingStore, Severity
from maintenance.assets.models import Asset
from maintenance.assets.register import ensure_asset
from maintenance.notifications.service import enqueue
from maintenance.people.models import User
from maintenance.shared import sla
from maintenance.shared.actors import Actor
from maintenance.shared.vocabulary import Priority, Role
from maintenance.work_orders.asset_repairs import follow_work_order
from maintenance.work_orders.dispatch import choose_assignee
from maintenance.work_orders.events import (
    OrderMoved,
    OrderOpened,
    order_moved,
    order_opened_by_rule,
)
from maintenance.work_orders.models import (
    OPEN_STATES,
    ChecklistItem,
    ChecklistTemplate,
    WorkOrder,
    WorkOrderEvent,
    WorkOrderSource,
    WorkOrderStatus,
    WorkOrderType,
)

__all__ = [
    "ACTIONS",
    "WORK_ORDERS_CREATED",
    "AlertOutcome",
    "alert_evidence",
    "allowed_actions",
    "apply_alert",
    "check_breaches",
    "create_work_order",
    "get_work_order",
    "list_work_orders",
    "rate_work_order",
    "record_checklist_item",
    "record_event",
    "team_of",
    "transition",
    "visible_to",
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


@dataclass(frozen=True, slots=True)
class Action:
    """A named transition: from which states, to which state, and who may do it.

    ``roles`` may always act (subject to the state); ``owner_roles`` only on orders they own: a
    technician on orders assigned to them or their team, a requester on orders they raised.
    """

    name: str
    sources: frozenset[WorkOrderStatus]
    target: WorkOrderStatus
    roles: frozenset[Role]
    owner_roles: frozenset[Role] = frozenset()


_TECH = frozenset({Role.TECH})
#: Who works orders in the field: technicians on theirs, a contractor's staff on their company's.
_FIELD = frozenset({Role.TECH, Role.CONTRACTOR})
_REQ = frozenset({Role.REQUESTER})

ACTIONS: dict[str, Action] = {
    a.name: a
    for a in (
        Action("assign", frozenset({S.NEW, S.ASSIGNED, S.REOPENED}), S.ASSIGNED, _MANAGERS),
        Action("start", frozenset({S.ASSIGNED, S.REOPENED}), S.IN_PROGRESS, _MANAGERS, _FIELD),
        Action("hold", frozenset({S.IN_PROGRESS}), S.ON_HOLD, _MANAGERS, _FIELD),
        Action("resume", frozenset({S.ON_HOLD}), S.IN_PROGRESS, _MANAGERS, _FIELD),
        Action("resolve", frozenset({S.IN_PROGRESS}), S.RESOLVED, _MANAGERS, _FIELD),
        Action("verify", frozenset({S.RESOLVED}), S.VERIFIED, _MANAGERS, _REQ),
        Action("reopen", frozenset({S.RESOLVED}), S.REOPENED, _MANAGERS, _REQ),
        Action("close", frozenset({S.VERIFIED}), S.CLOSED, _MANAGERS),
        Action(
            "cancel",
            frozenset({S.NEW, S.ASSIGNED, S.IN_PROGRESS, S.ON_HOLD, S.REOPENED}),
            S.CANCELLED,
            _MANAGERS,
            _REQ,
        ),
    )
}


def allowed_actions(status: WorkOrderStatus) -> list[str]:
    """Actions the state allows, whoever asks."""
    return [name for name, action in ACTIONS.items() if status in action.sources]


def _owns(order: WorkOrder, actor: Actor, team: str | None) -> bool:
    if actor.role is Role.TECH:
        return order.assignee == actor.username or (team is not None and order.team == team)
    if actor.role is Role.REQUESTER:
        return order.created_by == actor.username
    if actor.role is Role.CONTRACTOR:
        # A contractor's company comes from their user row, not the token, so moving a
        # person to another company (or removing it) takes effect at once.
        session = object_session(order)
        company = session.scalar(_company_of(actor)) if session is not None else None
        return company is not None and order.contractor_id == company
    return False


def _company_of(actor: Actor) -> sa.Select[int | None]:
    """The supplier (company) a contractor user works for; NULL for anyone else."""
    return sa.select(User.supplier_id).where(User.username == actor.username, User.active.is_(True))


def _may(spec: Action, order: WorkOrder, actor: Actor, team: str | None) -> bool:
    if actor.role in spec.roles:
        return True
    if actor.role not in spec.owner_roles or not _owns(order, actor, team):
        return False
    # A requester may withdraw a request nobody has picked up yet, not one being worked on.
    return not (spec.name == "cancel" and order.status is not S.NEW)


def actions_for(order: WorkOrder, actor: Actor, team: str | None = None) -> list[str]:
    """Actions this caller may take on this order now (what the console shows as buttons)."""
    return [
        name
        for name, spec in ACTIONS.items()
        if order.status in spec.sources and _may(spec, order, actor, team)
    ]


def team_of(session: Session, actor: Actor) -> str | None:
    if actor.role is not Role.TECH:
        return None
    return session.scalar(sa.select(User.team).where(User.username == actor.username))


def visible_to(actor: Actor, team: str | None) -> sa.ColumnElement[bool]:
    """The orders a caller may see: managers all; technicians theirs, their team's and the
    unassigned pool (so nobody has to wait for a manager to learn that the chiller failed; they
    still cannot move an order until it is assigned); requesters those they raised; a
    contractor's staff only the orders outsourced to their company (an outsourced order is not
    in the in-house pool)."""
    if actor.role in _MANAGERS:
        return sa.true()
    if actor.role is Role.CONTRACTOR:
        return sa.and_(
            WorkOrder.contractor_id.is_not(None),
            WorkOrder.contractor_id == _company_of(actor).scalar_subquery(),
        )
    if actor.role is Role.TECH:
        pool = sa.and_(
            WorkOrder.assignee.is_(None),
            WorkOrder.team.is_(None),
            WorkOrder.contractor_id.is_(None),
        )
        mine = WorkOrder.assignee == actor.username
        return sa.or_(mine, WorkOrder.team == team, pool) if team else sa.or_(mine, pool)
    return WorkOrder.created_by == actor.username


def record_event(
    order: WorkOrder,
    *,
    actor: str,
    kind: str,
    now: datetime,
    from_state: WorkOrderStatus | None = None,
    to_state: WorkOrderStatus | None = None,
    note: str = "",
    data: Mapping[str, Any] | None = None,
) -> WorkOrderEvent:
    event = WorkOrderEvent(
        actor=actor,
        kind=kind,
        from_state=from_state.value if from_state else None,
        to_state=to_state.value if to_state else None,
        note=note,
        data=dict(data) if data else None,
        ts=now,
    )
    order.events.append(event)
    return event


def _requester_recipients(order: WorkOrder) -> list[str]:
    if order.source is WorkOrderSource.RULE:
        return [f"role:{Role.MANAGER.value}"]
    return [f"user:{order.created_by}"]


# -- creation -------------------------------------------------------------------------------------
def _open_new(
    session: Session,
    *,
    order: WorkOrder,
    actor: str,
    now: datetime,
    policy: sla.SlaPolicy,
    auto_assign: bool,
    note: str = "",
    evidence: Mapping[str, Any] | None = None,
) -> None:
    """Set the clocks, copy the checklists, record creation and dispatch (no commit)."""
    order.created_at = order.updated_at = now
    order.response_due_at, order.resolution_due_at = sla.due_times(
        now, order.priority, policy, timezone=site_timezone(order)
    )
    record_event(
        order, actor=actor, kind="created", now=now, to_state=S.NEW, note=note, data=evidence
    )
    _copy_checklists(session, order)
    session.flush()
    enqueue(session, event="created", order=order, recipients=["role:manager"], now=now)
    if auto_assign:
        _auto_assign(session, order=order, now=now)


def _auto_assign(session: Session, *, order: WorkOrder, now: datetime) -> None:
    asset_type = order.asset.asset_type if order.asset else None
    choice = choose_assignee(session, asset_type=asset_type, team=order.team)
    if choice.user is None:
        record_event(order, actor="dispatch", kind="dispatch_skipped", now=now, note=choice.reason)
        return
    previous = order.status
    order.assignee = choice.user.username
    order.team = order.team or choice.user.team
    order.assignment_reason = choice.reason
    order.auto_assigned = True
    order.status = S.ASSIGNED
    record_event(
        order,
        actor="dispatch",
        kind="assign",
        now=now,
        from_state=previous,
        to_state=S.ASSIGNED,
        note=choice.reason,
        data={"assignee": order.assignee, "team": order.team, "auto": True},
    )
    session.flush()
    enqueue(
        session,
        event="assigned",
        order=order,
        recipients=[f"user:{order.assignee}"],
        data={"reason": choice.reason},
        now=now,
    )


def _copy_checklists(session: Session, order: WorkOrder) -> None:
    asset_type = order.asset.asset_type if order.asset else None
    templates = session.scalars(
        sa.select(ChecklistTemplate)
        .where(
            sa.or_(
                ChecklistTemplate.order_type.is_(None),
                ChecklistTemplate.order_type == order.order_type.value,
            ),
            sa.or_(
                ChecklistTemplate.asset_type.is_(None),
                ChecklistTemplate.asset_type == asset_type,
            ),
        )
        .order_by(ChecklistTemplate.id)
    ).all()
    position = 0
    for template in templates:
        for item in template.items:
            order.checklist.append(
                ChecklistItem(
                    position=position,
                    template=template.name,
                    label=str(item["label"]),
                    kind=str(item["kind"]),
                    required=bool(item.get("required", True)),
                    min_value=item.get("min"),
                    max_value=item.get("max"),
                )
            )
            position += 1


@dataclass(frozen=True, slots=True)
class AlertOutcome:
    """What an alert did to the work orders.

    ``action`` is ``created``, ``folded`` (into the open order), ``reopened`` (the fault came
    back after the repair), ``resolved``, ``closed`` (the rule has ``auto_resolve`` and nobody
    had started) or ``ignored``.
    """

    action: str
    work_order_id: int | None


def alert_evidence(
    alert: Alert,
    *,
    condition: Mapping[str, Any] | None,
    readings: ReadingStore | None,
    window_s: float = 900.0,
    limit: int = 200,
) -> dict[str, Any]:
    """The triggering value, the rule's condition and the device's readings around the alert.

    Readings come from whichever store is configured; a store that cannot answer leaves the
    snapshot out with the reason rather than losing the work order.
    """
    evidence: dict[str, Any] = {"condition": dict(condition) if condition else None}
    if readings is None:
        return evidence
    start = alert.ts - timedelta(seconds=window_s)
    try:
        page = readings.query(
            device=alert.device, metric=None, start=start, end=alert.ts, limit=limit, cursor=None
        )
    except Exception as exc:  # the store is optional evidence, never a reason to drop an order
        evidence["readings_error"] = f"{type(exc).__name__}: {str(exc)[:200]}"
        return evidence
    items: list[Reading] = page.items[-limit:]
    key = "readings_before" if alert.state is AlertState.FIRING else "readings_until_clear"
    evidence[key] = [
        {"metric": r.metric, "value": r.value, "unit": r.unit, "ts": r.ts.isoformat()}
        for r in items
    ]
    return evidence


def apply_alert(
    session: Session,
    *,
    alert: Alert,
    evidence: Mapping[str, Any] | None = None,
    now: datetime | None = None,
    policy: sla.SlaPolicy = sla.DEFAULT_POLICY,
    auto_assign: bool = False,
) -> AlertOutcome:
    """Turn an alert into work: a new order, an event on the open one, or nothing.

    Idempotent per (rule, asset): the partial unique index refuses a second open order, and the
    loser of a race appends a ``refired`` event to the winner's order instead. A fault that fires
    again after the repair was resolved or verified reopens the order: the data says the repair
    did not hold. ``auto_assign`` dispatches the new order at once; it is off by default so a
    site without technician skills set up sees new orders wait for a manager.
    """
    now = now or datetime.now(UTC)
    if alert.state not in (AlertState.FIRING, AlertState.RESOLVED):
        return AlertOutcome("ignored", None)  # e.g. suppressed in a maintenance window
    asset = ensure_asset(session, code=alert.asset)
    data = {
        "rule": alert.rule,
        "device": alert.device,
        "value": alert.value,
        "severity": alert.severity.value,
        "alert_ts": alert.ts.isoformat(),
        **(evidence or {}),
    }
    if alert.state is AlertState.RESOLVED:
        order = _open_order_for(session, rule=alert.rule, asset=asset)
        if order is None:
            session.commit()
            return AlertOutcome("ignored", None)
        record_event(
            order, actor="rules", kind="alert_resolved", now=now, note=alert.message, data=data
        )
        if getattr(alert, "auto_resolve", False) and order.status in (S.NEW, S.ASSIGNED):
            # The rule says a fault that clears itself before anyone started needs no visit.
            previous = order.status
            order.status, order.closed_at, order.updated_at = S.CLOSED, now, now
            record_event(
                order,
                actor="rules",
                kind="auto_closed",
                now=now,
                from_state=previous,
                to_state=S.CLOSED,
                note="the condition cleared before work started; the rule closes such orders",
            )
            session.commit()
            return AlertOutcome("closed", order.id)
        session.commit()
        return AlertOutcome("resolved", order.id)

    order = WorkOrder(
        title=(alert.message or f"{alert.rule} on {alert.asset}")[:200],
        description=alert.message,
        priority=SEVERITY_PRIORITY[alert.severity],
        source=WorkOrderSource.RULE,
        order_type=WorkOrderType.CORRECTIVE,
        rule=alert.rule,
        device=alert.device,
        asset_id=asset.id,
        location=asset.location,
        created_by="rules",
        detected_at=alert.ts,
    )
    order.asset = asset
    try:
        with session.begin_nested():
            session.add(order)
            session.flush()
    except IntegrityError:
        return _fold(session, alert=alert, data=data, now=now, policy=policy)
    _open_new(
        session,
        order=order,
        actor="rules",
        now=now,
        policy=policy,
        auto_assign=auto_assign,
        note=alert.message,
        evidence=data,
    )
    # a condition PM plan's order, if any (maintenance.pm subscribes)
    order_opened_by_rule.publish(OrderOpened(session, order, now))
    session.commit()
    WORK_ORDERS_CREATED.labels(source=WorkOrderSource.RULE.value).inc()
    log.info("work order %d opened: %s", order.id, order.title)
    return AlertOutcome("created", order.id)


def _fold(
    session: Session,
    *,
    alert: Alert,
    data: dict[str, Any],
    now: datetime,
    policy: sla.SlaPolicy,
) -> AlertOutcome:
    asset = ensure_asset(session, code=alert.asset)
    existing = _open_order_for(session, rule=alert.rule, asset=asset, lock=True)
    if existing is None:  # closed between our insert and this read; try once more
        session.rollback()
        return apply_alert(session, alert=alert, evidence=data, now=now, policy=policy)
    if existing.status in (S.RESOLVED, S.VERIFIED):
        previous = existing.status
        existing.status = S.REOPENED
        existing.reopen_count += 1
        existing.fault_returned_at = now
        existing.resolved_at = existing.verified_at = None
        existing.updated_at = now
        record_event(
            existing,
            actor="rules",
            kind="fault_returned",
            now=now,
            from_state=previous,
            to_state=S.REOPENED,
            note=f"the fault came back after the repair: {alert.message}",
            data=data,
        )
        session.flush()
        enqueue(
            session,
            event="reopened",
            order=existing,
            recipients=[f"user:{existing.assignee}", "role:manager"],
            data={"reason": "fault returned"},
            now=now,
        )
        session.commit()
        return AlertOutcome("reopened", existing.id)
    record_event(existing, actor="rules", kind="refired", now=now, note=alert.message, data=data)
    session.commit()
    return AlertOutcome("folded", existing.id)


def _open_order_for(
    session: Session, *, rule: str, asset: Asset, lock: bool = False
) -> WorkOrder | None:
    query = sa.select(WorkOrder).where(
        WorkOrder.rule == rule,
        WorkOrder.asset_id == asset.id,
        WorkOrder.status.in_(OPEN_STATES),
    )
    if lock:
        query = query.with_for_update()
    return session.scalar(query)


def create_work_order(
    session: Session,
    *,
    title: str,
    actor: str,
    description: str = "",
    priority: Priority = Priority.P3,
    asset_code: str | None = None,
    location: str = "",
    order_type: WorkOrderType = WorkOrderType.CORRECTIVE,
    source: WorkOrderSource = WorkOrderSource.API,
    idempotency_key: str | None = None,
    parent_id: int | None = None,
    create_asset: bool = True,
    auto_assign: bool = False,
    now: datetime | None = None,
    policy: sla.SlaPolicy = sla.DEFAULT_POLICY,
) -> tuple[WorkOrder, bool]:
    """Create an order; with an idempotency key a retry returns the first order (created=False).

    The key is scoped to the caller, so two clients that happen to pick the same key never see
    each other's orders. ``create_asset=False`` refuses an unknown asset code instead of
    creating it (people type asset codes; rules name real ones).
    """
    now = now or datetime.now(UTC)
    scoped_key = f"{actor}:{idempotency_key}" if idempotency_key else None
    if scoped_key:
        existing = session.scalar(
            sa.select(WorkOrder).where(WorkOrder.idempotency_key == scoped_key)
        )
        if existing is not None:
            return existing, False
    asset: Asset | None = None
    if asset_code:
        if create_asset:
            asset = ensure_asset(session, code=asset_code)
        else:
            asset = session.scalar(sa.select(Asset).where(Asset.code == asset_code))
            if asset is None:
                raise WorkOrderError(
                    f"asset {asset_code[:80]!r} does not exist; GET /api/v1/assets lists them"
                )
    order = _new_order(
        session,
        title=title,
        actor=actor,
        description=description,
        priority=priority,
        asset=asset,
        location=location,
        order_type=order_type,
        source=source,
        idempotency_key=scoped_key,
        parent_id=parent_id,
        auto_assign=auto_assign,
        now=now,
        policy=policy,
    )
    if order is None:
        existing = session.scalar(
            sa.select(WorkOrder).where(WorkOrder.idempotency_key == scoped_key)
        )
        if existing is None:
            raise WorkOrderError("the work order could not be stored; retry the request")
        return existing, False
    session.commit()
    WORK_ORDERS_CREATED.labels(source=source.value).inc()
    return order, True


def _new_order(
    session: Session,
    *,
    title: str,
    actor: str,
    description: str,
    priority: Priority,
    asset: Asset | None,
    location: str,
    order_type: WorkOrderType,
    source: WorkOrderSource,
    idempotency_key: str | None,
    parent_id: int | None,
    auto_assign: bool,
    now: datetime,
    policy: sla.SlaPolicy,
    evidence: Mapping[str, Any] | None = None,
) -> WorkOrder | None:
    """Insert an order in the caller's transaction; None when the idempotency key was taken."""
    order = WorkOrder(
        title=title,
        description=description,
        priority=priority,
        source=source,
        order_type=order_type,
        asset_id=asset.id if asset else None,
        location=location or (asset.location if asset else ""),
        idempotency_key=idempotency_key,
        created_by=actor,
        parent_id=parent_id,
    )
    order.asset = asset
    try:
        with session.begin_nested():
            session.add(order)
            session.flush()
    except IntegrityError:
        if idempotency_key is None:
            raise
        return None
    _open_new(
        session,
        order=order,
        actor=actor,
        now=now,
        policy=policy,
        auto_assign=auto_assign,
        note=description[:500],
        evidence=evidence,
    )
    return order


# -- reading --------------------------------------------------------------------------------------
def get_work_order(
    session: Session, *, work_order_id: int, actor: Actor | None = None
) -> WorkOrder:
    """One order with its events; invisible orders look missing (no existence leak)."""
    query = (
        sa.select(WorkOrder)
        .where(WorkOrder.id == work_order_id)
        .options(
            selectinload(WorkOrder.events),
            selectinload(WorkOrder.asset),
            selectinload(WorkOrder.attachments),
            selectinload(WorkOrder.checklist),
        )
        .execution_options(populate_existing=True)
    )
    if actor is not None:
        query = query.where(visible_to(actor, team_of(session, actor)))
    order = session.scalar(query)
    if order is None:
        raise WorkOrderNotFound(f"work order {work_order_id} does not exist")
    return order


SORTABLE: dict[str, InstrumentedAttribute[Any]] = {
    "id": WorkOrder.id,
    "created_at": WorkOrder.created_at,
    "updated_at": WorkOrder.updated_at,
    "priority": WorkOrder.priority,
    "status": WorkOrder.status,
    "resolution_due_at": WorkOrder.resolution_due_at,
    "title": WorkOrder.title,
}


def list_work_orders(
    session: Session,
    *,
    status: Sequence[WorkOrderStatus] = (),
    asset_code: str | None = None,
    rule: str | None = None,
    priority: Sequence[Priority] = (),
    order_type: Sequence[WorkOrderType] = (),
    assignee: str | None = None,
    source: WorkOrderSource | None = None,
    breached: bool | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    search: str | None = None,
    sort: str = "-id",
    actor: Actor | None = None,
    limit: int = 100,
    offset: int = 0,
    contractor_id: int | None = None,
) -> tuple[list[WorkOrder], int]:
    """A filtered, sorted page of orders and the total matching count."""
    query = sa.select(WorkOrder)
    if actor is not None:
        query = query.where(visible_to(actor, team_of(session, actor)))
    if status:
        query = query.where(WorkOrder.status.in_(status))
    if priority:
        query = query.where(WorkOrder.priority.in_(priority))
    if order_type:
        query = query.where(WorkOrder.order_type.in_(order_type))
    if asset_code:
        query = query.join(Asset, WorkOrder.asset_id == Asset.id).where(Asset.code == asset_code)
    if rule:
        query = query.where(WorkOrder.rule == rule)
    if assignee:
        query = query.where(WorkOrder.assignee == assignee)
    if contractor_id is not None:
        query = query.where(WorkOrder.contractor_id == contractor_id)
    if source:
        query = query.where(WorkOrder.source == source)
    if breached is not None:
        flag = sa.or_(
            WorkOrder.response_breached_at.is_not(None),
            WorkOrder.resolution_breached_at.is_not(None),
        )
        query = query.where(flag if breached else sa.not_(flag))
    if created_from:
        query = query.where(WorkOrder.created_at >= created_from)
    if created_to:
        query = query.where(WorkOrder.created_at < created_to)
    if search:
        pattern = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(WorkOrder.title.ilike(pattern, escape="\\"))
    descending = sort.startswith("-")
    column = SORTABLE.get(sort.lstrip("-"))
    if column is None:
        raise ValueError(f"cannot sort by {sort[:40]!r}; use one of {', '.join(SORTABLE)}")
    total = session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    ordering = [column.desc() if descending else column.asc(), WorkOrder.id.desc()]
    rows = session.scalars(
        query.options(selectinload(WorkOrder.asset)).order_by(*ordering).limit(limit).offset(offset)
    ).all()
    return list(rows), int(total)


# -- transitions ----------------------------------------------------------------------------------
def transition(
    session: Session,
    *,
    work_order_id: int,
    action: str,
    actor: str,
    role: Role,
    note: str = "",
    assignee: str | None = None,
    team: str | None = None,
    now: datetime | None = None,
    policy: sla.SlaPolicy = sla.DEFAULT_POLICY,
) -> WorkOrder:
    """Apply a named action to an order, or raise InvalidTransition / WorkOrderError.

    Raises:
        WorkOrderNotFound: no such order, or the caller may not see it.
        Forbidden: the caller's role may not take this action on this order.
        InvalidTransition: the order's state does not allow the action (names those it does).
        WorkOrderError: the action is malformed (unknown assignee, checklist incomplete).
    """
    now = now or datetime.now(UTC)
    who = Actor(actor, role)
    spec = ACTIONS.get(action)
    if spec is None:
        raise WorkOrderError(f"unknown action {action!r}; actions: {', '.join(ACTIONS)}")
    my_team = team_of(session, who)
    order = session.scalar(
        sa.select(WorkOrder)
        .where(WorkOrder.id == work_order_id, visible_to(who, my_team))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if order is None:
        raise WorkOrderNotFound(f"work order {work_order_id} does not exist")
    roles = sorted(r.value for r in spec.roles) + [
        f"{r.value} (own orders)" for r in sorted(spec.owner_roles)
    ]
    if role not in spec.roles | spec.owner_roles:
        raise Forbidden(
            f"role {role.value!r} may not {action} work orders; allowed: {', '.join(roles)}"
        )
    if order.status not in spec.sources:
        raise InvalidTransition(order.status.value, action, actions_for(order, who, my_team))
    if not _may(spec, order, who, my_team):
        raise Forbidden(
            f"{actor!r} may not {action} work order {order.id}: it is not theirs"
            + (" or no longer new" if action == "cancel" else "")
            + f"; allowed: {', '.join(roles)}"
        )
    previous = order.status
    data: dict[str, Any] = {}
    notify: list[tuple[str, list[str]]] = []
    if action == "assign":
        data = _assign(session, order=order, assignee=assignee, team=team)
        notify.append(("assigned", [f"user:{order.assignee}"] if order.assignee else []))
    elif action == "start":
        if order.assignee is None:
            order.assignee = actor
        if order.responded_at is None:
            order.responded_at = now
    elif action == "hold":
        order.on_hold_since = now
    elif action == "resume":
        data = _resume(order, now=now, policy=policy)
    elif action == "resolve":
        missing = [i.label for i in order.checklist if i.required and i.outcome is None]
        if missing:
            raise WorkOrderError(
                "complete the required checklist items before resolving: " + "; ".join(missing)
            )
        order.resolved_at = now
        notify.append(("resolved", _requester_recipients(order)))
    elif action == "verify":
        order.verified_at = now
        notify.append(("verified", [f"user:{order.assignee}"] if order.assignee else []))
    elif action == "reopen":
        order.reopen_count += 1
        order.resolved_at = None
        notify.append(("reopened", [f"user:{order.assignee}"] if order.assignee else []))
    elif action == "close":
        order.closed_at = now
    # planned parts are consumed or released in this transaction (maintenance.inventory subscribes)
    order_moved.publish(OrderMoved(session, order, action, actor, now))
    if action in ("start", "resolve", "cancel"):  # the asset is under repair while worked on
        follow_work_order(session, order=order, action=action, actor=actor, now=now)
    order.status = spec.target
    order.updated_at = now
    record_event(
        order,
        actor=actor,
        kind=action,
        now=now,
        from_state=previous,
        to_state=spec.target,
        note=note,
        data=data or None,
    )
    session.flush()
    for event, recipients in notify:
        enqueue(
            session, event=event, order=order, recipients=recipients, data={"note": note}, now=now
        )
    session.commit()
    return get_work_order(session, work_order_id=work_order_id)


def _assign(
    session: Session, *, order: WorkOrder, assignee: str | None, team: str | None
) -> dict[str, Any]:
    if assignee:
        user = session.scalar(sa.select(User).where(User.username == assignee))
        if user is None or not user.active or user.role not in (Role.TECH, Role.MANAGER):
            raise WorkOrderError(
                f"{assignee[:64]!r} is not an active technician or manager; "
                "assign to an existing technician, a team, or leave both empty for auto-dispatch"
            )
        order.assignee = user.username
        order.team = team or user.team
        order.assignment_reason = "assigned by hand"
        order.auto_assigned = False
    elif team:
        members = session.scalar(
            sa.select(sa.func.count()).where(User.team == team, User.role == Role.TECH)
        )
        if not members:
            raise WorkOrderError(f"team {team[:64]!r} has no technicians")
        order.assignee = None
        order.team = team
        order.assignment_reason = f"assigned to team {team} by hand"
        order.auto_assigned = False
    else:
        asset_type = order.asset.asset_type if order.asset else None
        choice = choose_assignee(session, asset_type=asset_type, team=order.team)
        if choice.user is None:
            raise WorkOrderError(choice.reason)
        order.assignee = choice.user.username
        order.team = order.team or choice.user.team
        order.assignment_reason = choice.reason
        order.auto_assigned = True
    return {
        "assignee": order.assignee,
        "team": order.team,
        "auto": order.auto_assigned,
        "reason": order.assignment_reason,
    }


def site_timezone(order: WorkOrder) -> str | None:
    """The zone of the order's site (its asset's), for business-hours SLA arithmetic."""
    asset = order.asset
    return asset.site.timezone if asset is not None and asset.site is not None else None


def _resume(order: WorkOrder, *, now: datetime, policy: sla.SlaPolicy) -> dict[str, Any]:
    """End a pause: the resolution deadline moves by the clock time the pause consumed."""
    since = order.on_hold_since or now
    target = policy.targets[order.priority]
    hours = sla.hours_in(policy, site_timezone(order))
    paused = sla.elapsed(since, now, target, hours)
    if order.resolution_due_at is not None and order.resolution_breached_at is None:
        order.resolution_due_at = sla.extend(order.resolution_due_at, paused, target, hours)
    order.on_hold_since = None
    return {"paused_s": round(paused, 3)}


# -- checklists, rating ---------------------------------------------------------------------------
def record_checklist_item(
    session: Session,
    *,
    work_order_id: int,
    item_id: int,
    value: str | float | bool,
    actor: str,
    role: Role,
    now: datetime | None = None,
    policy: sla.SlaPolicy = sla.DEFAULT_POLICY,
) -> WorkOrder:
    """Record one item's result; in an inspection a failure opens a linked corrective order."""
    now = now or datetime.now(UTC)
    who = Actor(actor, role)
    my_team = team_of(session, who)
    order = session.scalar(
        sa.select(WorkOrder)
        .where(WorkOrder.id == work_order_id, visible_to(who, my_team))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if order is None:
        raise WorkOrderNotFound(f"work order {work_order_id} does not exist")
    if role not in _MANAGERS and not (role in _FIELD and _owns(order, who, my_team)):
        raise Forbidden(
            "only the assigned technician, the order's contractor or a manager records "
            "checklist items"
        )
    if order.status is not S.IN_PROGRESS:
        raise InvalidTransition(order.status.value, "record a checklist item", ["start"])
    item = next((i for i in order.checklist if i.id == item_id), None)
    if item is None:
        raise WorkOrderNotFound(f"work order {work_order_id} has no checklist item {item_id}")
    stored, outcome = _judge(item, value, order)
    item.value, item.outcome, item.done_by, item.done_at = stored, outcome, actor, now
    order.updated_at = now
    record_event(
        order,
        actor=actor,
        kind="checklist",
        now=now,
        note=item.label,
        data={"item": item.id, "value": stored, "outcome": outcome},
    )
    if (
        outcome == "fail"
        and order.order_type is WorkOrderType.INSPECTION
        and item.followup_id is None
    ):
        followup = _new_order(
            session,
            title=f"Inspection finding: {item.label}"[:200],
            actor=actor,
            description=f"Inspection #{order.id} failed item {item.label!r} with value {stored!r}.",
            priority=order.priority,
            asset=order.asset,
            location=order.location,
            order_type=WorkOrderType.CORRECTIVE,
            source=WorkOrderSource.API,
            idempotency_key=None,
            parent_id=order.id,
            auto_assign=True,
            now=now,
            policy=policy,
            evidence={
                "inspection": order.id,
                "item": item.label,
                "value": stored,
                "min": item.min_value,
                "max": item.max_value,
            },
        )
        assert followup is not None
        item.followup_id = followup.id
        record_event(order, actor=actor, kind="followup", now=now, data={"work_order": followup.id})
    session.commit()
    return get_work_order(session, work_order_id=work_order_id)


def _judge(item: ChecklistItem, value: str | float | bool, order: WorkOrder) -> tuple[str, str]:
    """Validate a value for the item's kind; return (stored text, pass|fail)."""
    if item.kind == "pass_fail":
        if isinstance(value, bool):
            return ("pass" if value else "fail"), ("pass" if value else "fail")
        if isinstance(value, str) and value in ("pass", "fail"):
            return value, value
        raise WorkOrderError(f"item {item.label!r} takes 'pass' or 'fail' (or true/false)")
    if item.kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise WorkOrderError(f"item {item.label!r} takes a number")
        number = float(value)
        if not math.isfinite(number):
            raise WorkOrderError(f"item {item.label!r} takes a finite number")
        low_ok = item.min_value is None or number >= item.min_value
        high_ok = item.max_value is None or number <= item.max_value
        return repr(number), ("pass" if low_ok and high_ok else "fail")
    if item.kind == "text":
        if not isinstance(value, str) or not value.strip():
            raise WorkOrderError(f"item {item.label!r} takes a non-empty text")
        return value, "pass"
    if item.kind == "photo":
        ids = {a.id for a in order.attachments}
        if isinstance(value, bool) or not isinstance(value, int | float) or int(value) not in ids:
            raise WorkOrderError(
                f"item {item.label!r} takes the id of a photo attached to this order; "
                "upload it first with POST .../attachments"
            )
        return str(int(value)), "pass"
    raise WorkOrderError(f"item {item.label!r} has an unknown kind {item.kind!r}")


def rate_work_order(
    session: Session,
    *,
    work_order_id: int,
    rating: int,
    comment: str,
    actor: str,
    role: Role,
    now: datetime | None = None,
) -> WorkOrder:
    """The requester's (or a manager's) 1-5 rating, once, after verification."""
    now = now or datetime.now(UTC)
    who = Actor(actor, role)
    order = session.scalar(
        sa.select(WorkOrder)
        .where(WorkOrder.id == work_order_id, visible_to(who, team_of(session, who)))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if order is None:
        raise WorkOrderNotFound(f"work order {work_order_id} does not exist")
    if role not in _MANAGERS and not (role is Role.REQUESTER and order.created_by == actor):
        raise Forbidden("only the requester who raised the order or a manager rates it")
    if not 1 <= rating <= 5:
        raise WorkOrderError("a rating is 1 to 5")
    if order.status not in (S.VERIFIED, S.CLOSED):
        raise InvalidTransition(order.status.value, "rate", ["verify"])
    if order.rating is not None:
        raise InvalidTransition(order.status.value, "rate again", [])
    order.rating, order.rating_comment, order.rated_by = rating, comment, actor
    order.updated_at = now
    record_event(order, actor=actor, kind="rated", now=now, note=comment, data={"rating": rating})
    session.commit()
    return get_work_order(session, work_order_id=work_order_id)


# -- SLA checker ----------------------------------------------------------------------------------
def check_breaches(
    session: Session,
    *,
    now: datetime | None = None,
    policy: sla.SlaPolicy = sla.DEFAULT_POLICY,
    paused: Callable[[WorkOrder], bool] | None = None,
) -> list[tuple[int, str]]:
    """Mark response and resolution breaches and escalate; returns (order id, what) pairs.

    Level 1 tells the team lead (managers when there is none) at the breach; level 2 tells the
    managers when the order is still not acted on ``escalate_after_s`` later. An order on hold
    does not breach its resolution target (the pause extends the deadline on resume), nor does
    one for which ``paused`` says yes (its asset is in a declared maintenance window; the
    window's pause moves its deadlines when the window ends, see ``sla_pauses``).
    """
    now = now or datetime.now(UTC)
    found: list[tuple[int, str]] = []
    active = (S.NEW, S.ASSIGNED, S.IN_PROGRESS, S.ON_HOLD, S.REOPENED)
    orders = session.scalars(
        sa.select(WorkOrder)
        .where(
            WorkOrder.status.in_(active),
            sa.or_(
                sa.and_(
                    WorkOrder.responded_at.is_(None),
                    WorkOrder.response_due_at < now,
                    WorkOrder.response_breached_at.is_(None),
                ),
                sa.and_(
                    WorkOrder.resolution_due_at < now,
                    WorkOrder.resolution_breached_at.is_(None),
                    WorkOrder.status != S.ON_HOLD,
                ),
                sa.and_(
                    WorkOrder.escalation_level == 1,
                    sa.or_(
                        WorkOrder.response_breached_at.is_not(None),
                        WorkOrder.resolution_breached_at.is_not(None),
                    ),
                ),
            ),
        )
        .order_by(WorkOrder.id)
        .with_for_update(skip_locked=True)
    ).all()
    for order in orders:
        if paused is not None and paused(order):
            continue
        recipients = [f"lead:{order.team}"] if order.team else ["role:manager"]
        if (
            order.responded_at is None
            and order.response_due_at is not None
            and order.response_due_at < now
            and order.response_breached_at is None
        ):
            order.response_breached_at = now
            _breach(session, order, "response", now, recipients)
            found.append((order.id, "response"))
        if (
            order.status is not S.ON_HOLD
            and order.resolution_due_at is not None
            and order.resolution_due_at < now
            and order.resolution_breached_at is None
        ):
            order.resolution_breached_at = now
            _breach(session, order, "resolution", now, recipients)
            found.append((order.id, "resolution"))
        first = min(
            (t for t in (order.response_breached_at, order.resolution_breached_at) if t),
            default=None,
        )
        unacknowledged = order.resolution_breached_at is not None or order.responded_at is None
        if (
            order.escalation_level == 1
            and first is not None
            and unacknowledged
            and now - first >= timedelta(seconds=policy.escalate_after_s)
        ):
            order.escalation_level = 2
            record_event(
                order,
                actor="sla",
                kind="escalated",
                now=now,
                note="still not acted on after the breach; escalated to the managers",
                data={"level": 2},
            )
            session.flush()
            enqueue(
                session,
                event="escalated",
                order=order,
                recipients=["role:manager"],
                data={"level": 2},
                now=now,
            )
            found.append((order.id, "escalated"))
    session.commit()
    return found


def _breach(
    session: Session, order: WorkOrder, what: str, now: datetime, recipients: list[str]
) -> None:
    due = order.response_due_at if what == "response" else order.resolution_due_at
    order.escalation_level = max(order.escalation_level, 1)
    record_event(
        order,
        actor="sla",
        kind=f"{what}_breached",
        now=now,
        note=f"{what} target missed (due {due.isoformat() if due else '?'})",
        data={"level": 1, "due": due.isoformat() if due else None},
    )
    session.flush()
    enqueue(
        session,
        event="breached",
        order=order,
        recipients=recipients,
        data={"target": what, "due": due.isoformat() if due else None},
        now=now,
    )
