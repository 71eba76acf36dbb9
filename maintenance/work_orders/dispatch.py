"""Auto-assignment: the qualified technician with the fewest open orders, and why.

The choice is explainable on purpose: the sentence returned with the technician is stored on the
order (``assignment_reason``) and in the audit event, so a manager can see that Bob got the
chiller because he is the only one with the skill, not because of a coin toss.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from maintenance.people.models import User
from maintenance.shared.vocabulary import Role
from maintenance.work_orders.models import WorkOrder, WorkOrderStatus

__all__ = ["ACTIVE_WORK", "Choice", "choose_assignee", "workloads"]

#: States in which an order counts towards its assignee's workload.
ACTIVE_WORK = (
    WorkOrderStatus.ASSIGNED,
    WorkOrderStatus.IN_PROGRESS,
    WorkOrderStatus.ON_HOLD,
    WorkOrderStatus.REOPENED,
)


@dataclass(frozen=True, slots=True)
class Choice:
    """The technician picked (or None when there is nobody) and the reason in words."""

    user: User | None
    reason: str


def workloads(session: Session, usernames: list[str]) -> dict[str, int]:
    """Open orders per technician (zero for those with none)."""
    rows = session.execute(
        sa.select(WorkOrder.assignee, sa.func.count())
        .where(WorkOrder.assignee.in_(usernames), WorkOrder.status.in_(ACTIVE_WORK))
        .group_by(WorkOrder.assignee)
    ).all()
    counts = dict.fromkeys(usernames, 0)
    counts.update({str(name): int(n) for name, n in rows})
    return counts


def choose_assignee(session: Session, *, asset_type: str | None, team: str | None = None) -> Choice:
    """Pick the least-loaded active technician qualified for ``asset_type`` (within ``team``).

    Without anyone holding the skill, every technician is a candidate and the reason says so;
    ties go to the alphabetically first name so the choice is reproducible.
    """
    query = sa.select(User).where(User.role == Role.TECH, User.active.is_(True))
    if team:
        query = query.where(User.team == team)
    technicians = list(session.scalars(query.order_by(User.username)))
    if not technicians:
        where = f" in team {team!r}" if team else ""
        return Choice(None, f"no active technician{where}; assign by hand")
    skilled = [t for t in technicians if asset_type and asset_type in (t.skills or [])]
    if skilled:
        pool = skilled
        basis = f"skilled in asset type {asset_type!r}"
    else:
        pool = technicians
        basis = (
            f"nobody lists asset type {asset_type!r} as a skill, so every technician"
            if asset_type
            else "no asset type on the order, so every technician"
        )
    load = workloads(session, [t.username for t in pool])
    chosen = min(pool, key=lambda t: (load[t.username], t.username))
    shown = ", ".join(f"{name}={n}" for name, n in sorted(load.items()))
    reason = (
        f"candidates {basis}; open orders: {shown}; "
        f"{chosen.username} has the lowest workload ({load[chosen.username]})"
    )
    return Choice(chosen, reason)
