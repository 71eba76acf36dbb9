"""Time and parts booked on a work order by the people who did the work.

Who may book on which order:

* managers and admins on any open order;
* a technician on orders assigned to them or their team (not the unassigned pool they can see),
  and only their own time;
* a contractor's staff on orders outsourced to their company; they may name the worker (a
  crew member without an account), and the entry carries their company.

Labour goes to ``labour_entries``; parts go through the stock ledger
(:func:`maintenance.inventory.parts.issue_parts`, which checks the same rules with
:func:`_bookable`). Each booking is also an event in the order's audit trail.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from facility.core.errors import Forbidden, WorkOrderError
from maintenance.people.models import User
from maintenance.shared.actors import Actor
from maintenance.shared.vocabulary import Role
from maintenance.work_orders.models import OPEN_STATES, LabourEntry, WorkOrder
from maintenance.work_orders.service import get_work_order, record_event, team_of

__all__ = ["LabourSummary", "list_labour", "record_labour"]

_MANAGERS = frozenset({Role.ADMIN, Role.MANAGER})
_MAX_HOURS = Decimal(24 * 31)
_MAX_RATE = Decimal("1e6")


def _company(session: Session, actor: Actor) -> int | None:
    return session.scalar(
        sa.select(User.supplier_id).where(User.username == actor.username, User.active.is_(True))
    )


def _bookable(
    session: Session, *, work_order_id: int, actor: Actor
) -> tuple[WorkOrder, int | None]:
    """The order if the caller may book on it, and the caller's company (contractors).

    Raises WorkOrderNotFound when the caller cannot see the order (no existence leak) and
    Forbidden when they can see it but it is not theirs to book on.
    """
    order = get_work_order(session, work_order_id=work_order_id, actor=actor)
    company: int | None = None
    if actor.role is Role.TECH:
        team = team_of(session, actor)
        if order.assignee != actor.username and (team is None or order.team != team):
            raise Forbidden(
                f"work order {work_order_id} is not assigned to you or your team; "
                "ask a manager to assign it first"
            )
    elif actor.role is Role.CONTRACTOR:
        company = _company(session, actor)
        if company is None or order.contractor_id != company:
            raise Forbidden(f"work order {work_order_id} is not outsourced to your company")
    elif actor.role not in _MANAGERS:
        raise Forbidden("booking on orders needs the tech, contractor, manager or admin role")
    if order.status not in OPEN_STATES:
        raise WorkOrderError(
            f"work order {work_order_id} is {order.status.value}; time and parts go on open orders"
        )
    return order, company


def record_labour(
    session: Session,
    *,
    work_order_id: int,
    actor: Actor,
    hours: Decimal,
    worker: str | None = None,
    hourly_rate: Decimal = Decimal(0),
    note: str = "",
    now: datetime | None = None,
) -> LabourEntry:
    """Book hours worked on an order (see the module docstring for who may)."""
    now = now or datetime.now(UTC)
    if not hours.is_finite() or hours <= 0 or hours > _MAX_HOURS:
        raise WorkOrderError(f"hours must be more than 0 and at most {_MAX_HOURS}, got {hours}")
    if not hourly_rate.is_finite() or hourly_rate < 0 or hourly_rate > _MAX_RATE:
        raise WorkOrderError(f"hourly_rate must be 0 or more, got {hourly_rate}")
    try:
        order, company = _bookable(session, work_order_id=work_order_id, actor=actor)
        who = (worker or actor.username).strip()
        if not who:
            raise WorkOrderError("name the worker (or leave it out to book your own time)")
        if actor.role is Role.TECH and who != actor.username:
            raise Forbidden("technicians book their own time; a manager books for others")
        entry = LabourEntry(
            work_order_id=order.id,
            worker=who,
            hours=hours,
            hourly_rate=hourly_rate,
            note=note,
            contractor_id=company if company is not None else order.contractor_id,
            recorded_by=actor.username,
            recorded_at=now,
        )
        session.add(entry)
        record_event(
            order,
            actor=actor.username,
            kind="labour",
            now=now,
            note=f"{hours.normalize():f} h by {who}",
            data={"worker": who, "hours": str(hours), "hourly_rate": str(hourly_rate)},
        )
        session.commit()
    except Exception:
        session.rollback()
        raise
    return entry


@dataclass(frozen=True, slots=True)
class LabourSummary:
    entries: list[LabourEntry]
    hours: Decimal
    cost: Decimal


def list_labour(session: Session, *, work_order_id: int, actor: Actor) -> LabourSummary:
    """An order's labour entries (oldest first), total hours and cost, for whoever sees it."""
    get_work_order(session, work_order_id=work_order_id, actor=actor)
    entries = list(
        session.scalars(
            sa.select(LabourEntry)
            .where(LabourEntry.work_order_id == work_order_id)
            .order_by(LabourEntry.id)
        )
    )
    hours = sum((e.hours for e in entries), Decimal(0))
    cost = sum((e.hours * e.hourly_rate for e in entries), Decimal(0))
    return LabourSummary(entries, hours, cost.quantize(Decimal("0.01")))
