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

from facility.core.errors import (
    FacilityError,
    Forbidden,
    InvalidTransition,
    WorkOrderError,
    WorkOrderNotFound,
)
from facility.core.types import Alert, AlertState, Reading, ReadingStore, Severity
from maintenance.assets.models import Asset
from maintenance.assets.register import ensure_asset
from maintenance.notifications.service import enqueue
from maintenance.people.models import User
from maintenance.shared import sla
from maintenance.shared.actors import Actor
from maintenance.shared.vocabulary import Priority, Role
from maintenance.work_orders import fdd, storms
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
from rules.diagnoses import Diagnosis, DiagnosisCatalogue, default_catalogue

__all__ = [
    "ACTIONS",
    "DEFAULT_ALERT_POLICY",
    "WORK_ORDERS_CREATED",
    "AlertOutcome",
    "AlertPolicy",
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
    "verify_fdd_orders",
    "visible_to",
]

log = logging.getLogger(__name__)

WORK_ORDERS_CREATED = Counter(
    "facility_work_orders_created", "Work orders created", labelnames=["source"]
)
FDD_ALERTS = Counter(
    "facility_work_orders_fdd_alerts",
    "Diagnosed fault-detection alerts by what they did to the asset's one FDD order",
    labelnames=["outcome"],
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

    ``action`` is ``created``, ``folded`` (into the open order: the rule's, the asset's FDD order
    or the rule's storm incident), ``reopened`` (the fault came back after the repair),
    ``suppressed`` (a downstream FDD symptom recorded on the upstream asset's open order),
    ``resolved``, ``closed`` (the rule has ``auto_resolve`` and nobody had started) or
    ``ignored``.
    """

    action: str
    work_order_id: int | None


@dataclass(frozen=True, slots=True)
class AlertPolicy:
    """How alerts fold into orders (``FACILITY_FDD_*`` and ``FACILITY_ALERT_STORM_*``).

    ``fdd_window_s``: after an FDD order is resolved, a fault condition firing on the asset
    within this time means the repair did not hold (the order is reopened); later, the repair
    is taken as verified by the data and the new fault gets a new order. While the order is
    being worked every fault condition of the asset folds into it, however long that takes.
    ``storm_threshold``: more than this many new orders from one rule within
    ``storm_window_s`` fold the rule's further alerts into one incident order (0 = off).
    ``catalogue``: the diagnosis catalogue; None = the shipped one (``rules/diagnoses``).
    """

    fdd_window_s: float = 24 * 3600.0
    storm_threshold: int = 20
    storm_window_s: float = 60.0
    catalogue: DiagnosisCatalogue | None = None

    def __post_init__(self) -> None:
        if not (self.fdd_window_s > 0 and math.isfinite(self.fdd_window_s)):
            raise ValueError(f"fdd_window_s must be a positive number, not {self.fdd_window_s!r}")
        if self.storm_threshold < 0:
            raise ValueError(f"storm_threshold must be 0 (off) or more, not {self.storm_threshold}")
        if not (self.storm_window_s > 0 and math.isfinite(self.storm_window_s)):
            raise ValueError(f"storm_window_s must be positive, not {self.storm_window_s!r}")

    def diagnoses(self) -> DiagnosisCatalogue:
        return self.catalogue if self.catalogue is not None else default_catalogue()


DEFAULT_ALERT_POLICY = AlertPolicy()


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
    alerts: AlertPolicy = DEFAULT_ALERT_POLICY,
) -> AlertOutcome:
    """Turn an alert into work: a new order, an event on the open one, or nothing.

    Idempotent per (rule, asset): the partial unique index refuses a second open order, and the
    loser of a race appends a ``refired`` event to the winner's order instead. A fault that fires
    again after the repair was resolved or verified reopens the order: the data says the repair
    did not hold. ``auto_assign`` dispatches the new order at once; it is off by default so a
    site without technician skills set up sees new orders wait for a manager.

    A rule the diagnosis catalogue knows (the G36 fault conditions) folds into the asset's one
    diagnosed FDD order instead, or is suppressed onto the open FDD order of an asset that feeds
    this one (:mod:`maintenance.work_orders.fdd`); and a rule that opens more orders than
    ``alerts.storm_threshold`` within a minute folds into its incident order
    (:mod:`maintenance.work_orders.storms`).
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
    diagnosis = alerts.diagnoses().for_rule(alert.rule)
    if diagnosis is not None:
        item = _Diagnosed(
            alert=alert,
            diagnosis=diagnosis,
            asset=asset,
            data={**data, "fdd": fdd.proof(alert, diagnosis, data)},
            now=now,
            policy=policy,
            alerts=alerts,
            auto_assign=auto_assign,
        )
        outcome = _apply_fdd(session, item)
        if outcome is not None:
            return outcome
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

    if _open_order_for(session, rule=alert.rule, asset=asset) is None:
        storm = _fold_into_storm(
            session, alert=alert, asset=asset, data=data, now=now, policy=policy, alerts=alerts
        )
        if storm is not None:
            return storm
    order = _rule_order(
        alert,
        asset,
        title=(alert.message or f"{alert.rule} on {alert.asset}")[:200],
        description=alert.message,
    )
    if not _inserted(session, order):
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


def _rule_order(
    alert: Alert, asset: Asset, *, title: str, description: str, key: str | None = None
) -> WorkOrder:
    """An unsaved corrective order for ``alert`` on ``asset``."""
    order = WorkOrder(
        title=title,
        description=description,
        priority=SEVERITY_PRIORITY[alert.severity],
        source=WorkOrderSource.RULE,
        order_type=WorkOrderType.CORRECTIVE,
        rule=alert.rule,
        device=alert.device,
        asset_id=asset.id,
        location=asset.location,
        created_by="rules",
        detected_at=alert.ts,
        idempotency_key=key,
    )
    order.asset = asset
    return order


def _inserted(session: Session, order: WorkOrder) -> bool:
    """Insert ``order`` in a savepoint; False when a unique index refused it (a racing worker
    opened the order first), leaving the session usable."""
    try:
        with session.begin_nested():
            session.add(order)
            session.flush()
    except IntegrityError:
        return False
    return True


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
        _reopen_returned(session, order=existing, alert=alert, data=data, now=now)
        session.commit()
        return AlertOutcome("reopened", existing.id)
    record_event(existing, actor="rules", kind="refired", now=now, note=alert.message, data=data)
    session.commit()
    return AlertOutcome("folded", existing.id)


def _reopen_returned(
    session: Session, *, order: WorkOrder, alert: Alert, data: dict[str, Any], now: datetime
) -> None:
    """The fault came back after the repair was resolved or verified: reopen, tell people."""
    previous = order.status
    order.status = S.REOPENED
    order.reopen_count += 1
    order.fault_returned_at = now
    order.resolved_at = order.verified_at = None
    order.updated_at = now
    record_event(
        order,
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
        order=order,
        recipients=[f"user:{order.assignee}", "role:manager"],
        data={"reason": "fault returned"},
        now=now,
    )


# -- diagnosed FDD orders (one per asset) and feeds suppression -----------------------------------
def _alert_record(alert: Alert) -> dict[str, Any]:
    """The alert as JSON, enough to apply it again when a suppression is lifted."""
    return {
        "rule": alert.rule,
        "device": alert.device,
        "asset": alert.asset,
        "severity": alert.severity.value,
        "ts": alert.ts.isoformat(),
        "value": alert.value,
        "message": alert.message[:1000],
    }


@dataclass(frozen=True, slots=True)
class _Diagnosed:
    """A diagnosed alert on its way to an order, with what each step of the way needs.

    ``data`` is the event data every step records: the alert, its evidence and, under ``fdd``,
    the proof (:func:`maintenance.work_orders.fdd.proof`)."""

    alert: Alert
    diagnosis: Diagnosis
    asset: Asset
    data: dict[str, Any]
    now: datetime
    policy: sla.SlaPolicy
    alerts: AlertPolicy
    auto_assign: bool


def _apply_fdd(session: Session, item: _Diagnosed, attempt: int = 0) -> AlertOutcome | None:
    """An alert of a diagnosed rule; None hands a resolved alert back to the per-rule path (an
    order opened before diagnoses existed)."""
    if item.alert.state is AlertState.RESOLVED:
        return _fdd_resolved(session, item)
    order = fdd.open_fdd_order(session, asset_id=item.asset.id, lock=True)
    held: int | None = None
    if order is not None and order.status in (S.RESOLVED, S.VERIFIED):
        since = order.resolved_at or order.verified_at or order.updated_at
        if (item.now - since).total_seconds() > item.alerts.fdd_window_s:
            held = _close_held(
                session, order=order, now=item.now, window_s=item.alerts.fdd_window_s
            )
            order = None
    if order is not None:
        return _fold_fdd(session, order, item)
    outcome = _place_fdd_fault(session, item, attempt)
    if held is not None:  # whatever became of the new fault, the old order's symptoms go on
        _lift_suppressions(session, order_id=held, now=item.now, alerts=item.alerts)
    return outcome


def _place_fdd_fault(session: Session, item: _Diagnosed, attempt: int) -> AlertOutcome:
    """A fault on an asset without an open FDD order: suppressed onto an upstream order, folded
    into a pre-FDD order or a storm incident, or a new diagnosed order."""
    alert, asset = item.alert, item.asset
    for upstream in fdd.upstream_orders(session, asset_id=asset.id):
        return _suppress(session, upstream, item)
    if _open_order_for(session, rule=alert.rule, asset=asset) is not None:  # a pre-FDD order
        return _fold(session, alert=alert, data=item.data, now=item.now, policy=item.policy)
    storm = _fold_into_storm(
        session,
        alert=alert,
        asset=asset,
        data=item.data,
        now=item.now,
        policy=item.policy,
        alerts=item.alerts,
    )
    if storm is not None:
        return storm
    return _open_fdd(session, item, attempt)


def _open_fdd(session: Session, item: _Diagnosed, attempt: int) -> AlertOutcome:
    """The asset's first FDD fault: a new diagnosed order holding the asset's FDD key."""
    alert, asset, now = item.alert, item.asset, item.now
    catalogue = item.alerts.diagnoses()
    order = _rule_order(
        alert,
        asset,
        title=fdd.title_for(asset.code, [alert.rule], catalogue),
        description=fdd.describe(asset.code, [item.data["fdd"]], catalogue),
        key=fdd.fdd_key(asset.id),
    )
    if not _inserted(session, order):
        if attempt >= 2:  # refused three times, yet no open order holds the key: a bug
            raise WorkOrderError(
                f"the FDD work order of asset {asset.code[:80]!r} could not be stored; retry"
            )
        holder = fdd.holder_of_key(session, asset_id=asset.id)
        if holder is not None and holder.status not in OPEN_STATES:
            holder.idempotency_key = None  # closed by a path that did not release it
            session.flush()
        # a racing worker opened the asset's FDD order (or the rule's order): fold into it
        outcome = _apply_fdd(session, item, attempt + 1)
        assert outcome is not None  # a firing alert always has an outcome
        return outcome
    _open_new(
        session,
        order=order,
        actor="rules",
        now=now,
        policy=item.policy,
        auto_assign=item.auto_assign,
        note=alert.message,
        evidence=item.data,
    )
    fdd.add_checklist(order, [alert.rule], catalogue)
    order_opened_by_rule.publish(OrderOpened(session, order, now))
    session.commit()
    WORK_ORDERS_CREATED.labels(source=WorkOrderSource.RULE.value).inc()
    FDD_ALERTS.labels(outcome="created").inc()
    log.info("FDD work order %d opened: %s", order.id, order.title)
    return AlertOutcome("created", order.id)


def _fold_fdd(session: Session, order: WorkOrder, item: _Diagnosed) -> AlertOutcome:
    """Another fault condition (or the same again) on an asset whose FDD order is open."""
    alert, now = item.alert, item.now
    before = fdd.fault_rules(order)
    action = "folded"
    if order.status in (S.RESOLVED, S.VERIFIED):  # within the window: the repair did not hold
        _reopen_returned(session, order=order, alert=alert, data=item.data, now=now)
        action = "reopened"
    else:
        kind = "refired" if alert.rule in before else "fdd_fault"
        record_event(order, actor="rules", kind=kind, now=now, note=alert.message, data=item.data)
    if alert.rule not in before:
        catalogue = item.alerts.diagnoses()
        rules = [*before, alert.rule]
        order.title = fdd.title_for(item.asset.code, rules, catalogue)
        order.description = fdd.describe(item.asset.code, fdd.faults_of(order), catalogue)
        fdd.add_checklist(order, rules, catalogue)
        priority = SEVERITY_PRIORITY[alert.severity]
        if priority.value < order.priority.value:  # P1 < P2: the worst fault sets the priority
            order.priority = priority
    order.updated_at = now
    session.commit()
    FDD_ALERTS.labels(outcome=action).inc()
    return AlertOutcome(action, order.id)


def _fdd_resolved(session: Session, item: _Diagnosed) -> AlertOutcome | None:
    """A diagnosed fault condition cleared: note it on the order that lists it, or on the
    upstream order that suppressed it; None when neither knows it."""
    alert, asset, now = item.alert, item.asset, item.now
    order = fdd.open_fdd_order(session, asset_id=asset.id, lock=True)
    if order is not None and alert.rule in fdd.fault_rules(order):
        record_event(
            order, actor="rules", kind="alert_resolved", now=now, note=alert.message, data=item.data
        )
        session.commit()
        return AlertOutcome("resolved", order.id)
    for upstream in fdd.upstream_orders(session, asset_id=asset.id):
        pending = fdd.pending_suppressions(upstream)
        if any(
            p["alert"].get("asset") == asset.code and p["alert"].get("rule") == alert.rule
            for p in pending
        ):
            record_event(
                upstream,
                actor="rules",
                kind="fdd_suppression_cleared",
                now=now,
                note=f"{asset.code} {item.diagnosis.fc} cleared: {alert.message}"[:1000],
                data={**item.data, "alert": _alert_record(alert)},
            )
            session.commit()
            return AlertOutcome("resolved", upstream.id)
    return None


def _suppress(session: Session, upstream: WorkOrder, item: _Diagnosed) -> AlertOutcome:
    """Record a downstream symptom on the upstream order and in the downstream asset's history
    instead of sending a second technician to chase what the first is already fixing."""
    alert, asset, fc = item.alert, item.asset, item.diagnosis.fc
    upstream_code = upstream.asset.code if upstream.asset else "?"
    record_event(
        upstream,
        actor="rules",
        kind="fdd_suppressed",
        now=item.now,
        note=f"suppressed: {asset.code} {fc} — likely caused upstream",
        data={**item.data, "alert": _alert_record(alert)},
    )
    upstream.updated_at = item.now
    fdd.record_on_history(
        session,
        asset=asset,
        reason=(
            f"{fc} ({alert.rule}) suppressed: likely caused upstream by {upstream_code},"
            f" work order #{upstream.id}"
        ),
        order_id=upstream.id,
        now=item.now,
    )
    session.commit()
    FDD_ALERTS.labels(outcome="suppressed").inc()
    log.info("%s on %s suppressed onto work order %d", alert.rule, asset.code, upstream.id)
    return AlertOutcome("suppressed", upstream.id)


def _close_held(session: Session, *, order: WorkOrder, now: datetime, window_s: float) -> int:
    """Close a resolved FDD order whose repair held for the window, releasing the asset's key
    so the new fault opens its own order; its id (its suppressions are lifted afterwards)."""
    previous = order.status
    order.status, order.closed_at, order.updated_at = S.CLOSED, now, now
    order.verified_at = order.verified_at or now
    order.idempotency_key = None
    record_event(
        order,
        actor="rules",
        kind="close",
        now=now,
        from_state=previous,
        to_state=S.CLOSED,
        note=(
            f"the repair held: no fault condition returned within {window_s / 3600:g} h of the"
            " repair; a new fault opens a new order"
        ),
    )
    session.flush()
    return order.id


def _lift_suppressions(
    session: Session, *, order_id: int, now: datetime, alerts: AlertPolicy
) -> list[AlertOutcome]:
    """The upstream order ended: each downstream symptom it suppressed that has not cleared
    gets its own order now (or is suppressed by another upstream order that is still open)."""
    order = session.get(WorkOrder, order_id, populate_existing=True)
    if order is None:
        return []
    pending = fdd.pending_suppressions(order)
    if not pending:
        return []
    for data in pending:
        record_event(
            order,
            actor="rules",
            kind="fdd_suppression_lifted",
            now=now,
            note=f"{data['alert'].get('asset')} {data['alert'].get('rule')}: the upstream order"
            " ended while the symptom is still active; it gets its own order",
            data={"alert": data["alert"]},
        )
    session.commit()
    outcomes = []
    for data in pending:
        record = data["alert"]
        value = record.get("value")
        try:
            alert = Alert(
                rule=str(record["rule"]),
                device=str(record["device"]),
                asset=str(record["asset"]),
                state=AlertState.FIRING,
                severity=Severity(str(record["severity"])),
                ts=datetime.fromisoformat(str(record["ts"])),
                value=float(value) if isinstance(value, int | float) else None,
                message=str(record.get("message", "")),
            )
        except (KeyError, ValueError) as exc:  # an event written by hand or an older version
            log.warning("work order %d: cannot lift a suppression (%s): %r", order_id, exc, record)
            continue
        evidence = {k: v for k, v in data.items() if k in ("condition", "readings_before")}
        evidence["lifted_from"] = order_id
        try:
            outcomes.append(
                apply_alert(session, alert=alert, evidence=evidence, now=now, alerts=alerts)
            )
        except FacilityError as exc:  # e.g. an asset code that is not valid: the others go on
            session.rollback()
            log.warning(
                "work order %d: cannot lift a suppression of %r: %s", order_id, alert.asset, exc
            )
    return outcomes


def verify_fdd_orders(
    session: Session, *, now: datetime | None = None, alerts: AlertPolicy = DEFAULT_ALERT_POLICY
) -> list[int]:
    """Verify from the data: a resolved FDD order none of whose fault conditions fired again for
    ``alerts.fdd_window_s`` after the repair, and all of whose alerts have cleared, becomes
    ``verified`` (a person still closes it); the ids verified.

    The same window reopens the order if a fault returns within it (``apply_alert``), so the
    loop's verify step is the data's, not a guess."""
    now = now or datetime.now(UTC)
    cutoff = now - timedelta(seconds=alerts.fdd_window_s)
    candidates = session.scalars(
        sa.select(WorkOrder)
        .where(
            WorkOrder.status == S.RESOLVED,
            WorkOrder.idempotency_key.like(fdd.FDD_KEY_PREFIX + "%"),
            WorkOrder.resolved_at <= cutoff,
        )
        .order_by(WorkOrder.id)
        .with_for_update()
    ).all()
    verified = []
    for order in candidates:
        if any(fault.get("active") for fault in fdd.faults_of(order)):
            continue  # a fault condition is still firing: the data does not say it is fixed
        order.status, order.verified_at, order.updated_at = S.VERIFIED, now, now
        record_event(
            order,
            actor="rules",
            kind="verify",
            now=now,
            from_state=S.RESOLVED,
            to_state=S.VERIFIED,
            note=(
                f"verified from the data: every fault condition cleared and none returned within"
                f" {alerts.fdd_window_s / 3600:g} h of the repair"
            ),
        )
        session.flush()
        enqueue(
            session,
            event="verified",
            order=order,
            recipients=[f"user:{order.assignee}"] if order.assignee else [],
            now=now,
        )
        verified.append(order.id)
    session.commit()
    return verified


# -- alert storms ---------------------------------------------------------------------------------
def _fold_into_storm(
    session: Session,
    *,
    alert: Alert,
    asset: Asset,
    data: dict[str, Any],
    now: datetime,
    policy: sla.SlaPolicy,
    alerts: AlertPolicy,
) -> AlertOutcome | None:
    """Fold ``alert`` into its rule's storm incident when the rule is storming; else None."""
    if alerts.storm_threshold <= 0:
        return None
    since = now - timedelta(seconds=alerts.storm_window_s)
    incident = storms.open_incident(session, rule=alert.rule, active_since=since, lock=True)
    if incident is None:
        before = storms.recent_orders(session, rule=alert.rule, since=since)
        if len(before) < alerts.storm_threshold:
            return None
        incident = _open_incident(
            session, alert=alert, before=before, now=now, policy=policy, alerts=alerts
        )
        if incident is None:
            return None
    # added beside the relationship, not through it: appending to ``incident.events`` would load
    # every event of an incident that may list thousands of assets, once per alert
    session.add(
        WorkOrderEvent(
            work_order_id=incident.id,
            actor="rules",
            kind="storm_folded",
            note=asset.code,
            data=data,
            ts=now,
        )
    )
    incident.updated_at = now
    session.flush()
    storm = storms.storm_of(session, order_id=incident.id)
    started = datetime.fromisoformat(str(storm.get("since", now.isoformat())))
    if started.tzinfo is None:
        started = started.replace(tzinfo=UTC)
    count = len(storm.get("orders_before", [])) + storms.assets_in(session, order_id=incident.id)
    incident.title = storms.title_for(alert.rule, assets=count, span=now - started)
    session.commit()
    storms.STORM_FOLDED.labels(rule=alert.rule).inc()
    return AlertOutcome("folded", incident.id)


def _open_incident(
    session: Session,
    *,
    alert: Alert,
    before: Sequence[WorkOrder],
    now: datetime,
    policy: sla.SlaPolicy,
    alerts: AlertPolicy,
) -> WorkOrder | None:
    """The rule's storm incident order (or the one a racing worker opened this minute)."""
    key = storms.incident_key(alert.rule, now)
    started = min(o.created_at for o in before)
    listed = ", ".join(f"#{o.id} {o.asset.code if o.asset else '-'}" for o in before[:50])
    order = _new_order(
        session,
        title=storms.title_for(alert.rule, assets=len(before), span=now - started),
        actor="rules",
        description=(
            f"Rule {alert.rule} opened {len(before)} work orders within"
            f" {alerts.storm_window_s:g} s, more than the {alerts.storm_threshold} a single fault"
            " explains. Its further alerts fold into this order, each asset listed in the"
            " history. Look for what the assets share (a network switch, a power feed, a"
            " gateway, a shared sensor) or a recent change to the rule; close this order when"
            f" the cause is fixed. Orders opened before the storm was recognised: {listed}"
        ),
        priority=Priority.P1 if alert.severity is Severity.CRITICAL else Priority.P2,
        asset=None,
        location="",
        order_type=WorkOrderType.CORRECTIVE,
        source=WorkOrderSource.RULE,
        idempotency_key=key,
        parent_id=None,
        auto_assign=False,
        now=now,
        policy=policy,
        evidence={
            "storm": {
                "rule": alert.rule,
                "since": started.isoformat(),
                "threshold": alerts.storm_threshold,
                "window_s": alerts.storm_window_s,
                "orders_before": [
                    {"id": o.id, "asset": o.asset.code if o.asset else None} for o in before
                ],
            }
        },
    )
    if order is None:  # a racing worker opened it this minute
        existing = session.scalar(sa.select(WorkOrder).where(WorkOrder.idempotency_key == key))
        return existing if existing is not None and existing.status in OPEN_STATES else None
    order.rule = storms.storm_rule(alert.rule)
    session.flush()
    WORK_ORDERS_CREATED.labels(source=WorkOrderSource.RULE.value).inc()
    log.warning("alert storm: %s", order.title)
    return order


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
    # an FDD order that ends releases its asset's key and lifts the suppressions it holds
    ended_fdd = spec.target not in OPEN_STATES and fdd.holds_key(order)
    if ended_fdd:
        order.idempotency_key = None
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
    if ended_fdd:
        _lift_suppressions(session, order_id=order.id, now=now, alerts=DEFAULT_ALERT_POLICY)
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
