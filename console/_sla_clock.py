"""The SLA clock a work-order card shows: which deadline runs now, how long is left, and
whether it is at risk.

A dispatcher scans the board for what will breach next. An order that nobody has responded to
is judged by its *response* deadline; once someone is on it, by its *resolution* deadline. The
deadlines come from the work-order service (``response_due_at``/``resolution_due_at``, already
in business time and extended over pauses), so the card never disagrees with the escalation
that will fire. "At risk" is the last quarter of the window (or the last 30 minutes, whichever
is longer): late enough to be news, early enough to act.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from maintenance.work_orders.models import WorkOrder, WorkOrderStatus

__all__ = ["SLA_STOPPED", "ClockKind", "ClockState", "SlaClock", "sla_clock"]

#: The states in which no SLA clock runs any more.
SLA_STOPPED = {
    WorkOrderStatus.RESOLVED,
    WorkOrderStatus.VERIFIED,
    WorkOrderStatus.CLOSED,
    WorkOrderStatus.CANCELLED,
}
AT_RISK_SHARE = 0.25
AT_RISK_MIN = timedelta(minutes=30)


class ClockKind(StrEnum):
    RESPOND = "respond"
    RESOLVE = "resolve"


class ClockState(StrEnum):
    OK = "ok"
    AT_RISK = "at_risk"
    OVERDUE = "overdue"
    PAUSED = "paused"  # on hold: the clock stands still (the service extends the deadline)


@dataclass(frozen=True, slots=True)
class SlaClock:
    kind: ClockKind
    due_at: datetime
    #: Negative once the deadline has passed.
    left: timedelta
    state: ClockState


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def sla_clock(order: WorkOrder, now: datetime) -> SlaClock | None:
    """The deadline that runs for ``order`` at ``now``; ``None`` when none does."""
    if order.status in SLA_STOPPED:
        return None
    if order.responded_at is None and order.response_due_at is not None:
        kind, due = ClockKind.RESPOND, _aware(order.response_due_at)
    elif order.resolution_due_at is not None:
        kind, due = ClockKind.RESOLVE, _aware(order.resolution_due_at)
    else:
        return None
    left = due - now
    if order.on_hold_since is not None:
        state = ClockState.PAUSED
    elif left < timedelta(0):
        state = ClockState.OVERDUE
    else:
        window = due - _aware(order.created_at)
        state = (
            ClockState.AT_RISK
            if left <= max(window * AT_RISK_SHARE, AT_RISK_MIN)
            else ClockState.OK
        )
    return SlaClock(kind, due, left, state)
