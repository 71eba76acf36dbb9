"""The PM calendar: what falls due each day of a month or a week, ordered or forecast.

A planner thinks in weeks and months ("what does the team have on in March?"), not in the
forecast's flat list. Days before now show the occurrences the scheduler already turned into
orders, with the order's status (done, open, overdue); days from now on show the forecast of
:func:`maintenance.pm.service.forecast`. Both come from the service, so the calendar never
disagrees with the PM page or the API. Dates are UTC, like the PM page's compliance month.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Session

from facility.core.types import ReadingStore
from maintenance.assets.models import Asset
from maintenance.pm import service as pm
from maintenance.pm.models import PmOccurrence, PmPlan
from maintenance.work_orders.models import WorkOrder, WorkOrderStatus

__all__ = [
    "CalendarDay",
    "CalendarEntry",
    "CalendarKind",
    "CalendarView",
    "EntryState",
    "calendar_view",
    "period_of",
]

#: The most occurrences one calendar page lists (a daily plan on 500 assets is 15,000 a month).
MAX_ENTRIES = 2_000
_DONE = {WorkOrderStatus.RESOLVED, WorkOrderStatus.VERIFIED, WorkOrderStatus.CLOSED}


class CalendarKind(StrEnum):
    MONTH = "month"
    WEEK = "week"


class EntryState(StrEnum):
    """How an occurrence stands: the word and colour the calendar shows."""

    FORECAST = "forecast"  # not ordered yet
    OPEN = "open"  # ordered, not done, not yet late
    OVERDUE = "overdue"  # ordered (or due) and past its date without being done
    DONE = "done"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class CalendarEntry:
    due_at: datetime
    plan_id: int
    plan: str
    asset: str | None
    state: EntryState
    work_order_id: int | None = None
    #: Run-hour and meter plans: the date is extrapolated from the usage so far.
    estimated: bool = False


@dataclass(slots=True)
class CalendarDay:
    day: date
    in_period: bool
    is_today: bool
    entries: list[CalendarEntry] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class CalendarView:
    kind: CalendarKind
    start: date
    end: date  # exclusive
    weeks: list[list[CalendarDay]]
    previous: date
    next: date
    total: int
    truncated: bool


def period_of(kind: CalendarKind, anchor: date) -> tuple[date, date]:
    """The month or the Monday-to-Sunday week holding ``anchor`` (ISO 8601 weeks, as in China)."""
    if kind is CalendarKind.WEEK:
        start = anchor - timedelta(days=anchor.weekday())
        return start, start + timedelta(days=7)
    start = anchor.replace(day=1)
    following = (start + timedelta(days=32)).replace(day=1)
    return start, following


def _at(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def _state(status: WorkOrderStatus | None, due_at: datetime, now: datetime) -> EntryState:
    if status is WorkOrderStatus.CANCELLED:
        return EntryState.CANCELLED
    if status in _DONE:
        return EntryState.DONE
    return EntryState.OVERDUE if due_at < now else EntryState.OPEN


def _ordered(
    session: Session, start: datetime, end: datetime, now: datetime
) -> list[CalendarEntry]:
    rows = session.execute(
        sa.select(
            PmOccurrence.due_at,
            PmOccurrence.plan_id,
            PmPlan.name,
            Asset.code,
            PmOccurrence.work_order_id,
            WorkOrder.status,
        )
        .join(PmPlan, PmPlan.id == PmOccurrence.plan_id)
        .outerjoin(Asset, Asset.id == PmOccurrence.asset_id)
        .outerjoin(WorkOrder, WorkOrder.id == PmOccurrence.work_order_id)
        .where(PmOccurrence.due_at >= start, PmOccurrence.due_at < end)
        .order_by(PmOccurrence.due_at, PmOccurrence.plan_id)
        .limit(MAX_ENTRIES + 1)
    )
    entries = []
    for due_at, plan_id, plan, asset, order_id, status in rows:
        due = due_at if due_at.tzinfo else due_at.replace(tzinfo=UTC)
        entries.append(CalendarEntry(due, plan_id, plan, asset, _state(status, due, now), order_id))
    return entries


def _forecast(
    session: Session, start: datetime, end: datetime, now: datetime, readings: ReadingStore
) -> list[CalendarEntry]:
    if end <= now:
        return []
    weeks = max(1, math.ceil((end - now) / timedelta(weeks=1)))
    return [
        CalendarEntry(
            item.due_at,
            item.plan_id,
            item.plan,
            item.asset,
            EntryState.OVERDUE if item.due_at < now else EntryState.FORECAST,
            None,
            item.estimated,
        )
        for item in pm.forecast(session, now=now, weeks=weeks, readings=readings)
        if start <= item.due_at < end and item.work_order_id is None
    ]


def calendar_view(
    session: Session,
    *,
    kind: CalendarKind,
    anchor: date,
    now: datetime,
    readings: ReadingStore,
) -> CalendarView:
    """The calendar page of ``kind`` holding ``anchor``: whole weeks, Monday first."""
    start, end = period_of(kind, anchor)
    begin, finish = _at(start), _at(end)
    entries = _ordered(session, begin, finish, now) + _forecast(
        session, begin, finish, now, readings
    )
    entries.sort(key=lambda e: (e.due_at, e.plan_id, e.asset or ""))
    truncated = len(entries) > MAX_ENTRIES
    shown = entries[:MAX_ENTRIES]
    grid_start = start - timedelta(days=start.weekday())
    grid_end = end + timedelta(days=(7 - end.weekday()) % 7)
    today = now.astimezone(UTC).date()
    days: dict[date, CalendarDay] = {}
    weeks: list[list[CalendarDay]] = []
    cursor = grid_start
    while cursor < grid_end:
        week = []
        for _ in range(7):
            day = CalendarDay(cursor, start <= cursor < end, cursor == today)
            days[cursor] = day
            week.append(day)
            cursor += timedelta(days=1)
        weeks.append(week)
    for entry in shown:
        holder = days.get(entry.due_at.astimezone(UTC).date())
        if holder is not None:
            holder.entries.append(entry)
    previous = period_of(kind, start - timedelta(days=1))[0]
    return CalendarView(
        kind=kind,
        start=start,
        end=end,
        weeks=weeks,
        previous=previous,
        next=end,
        total=len(entries),
        truncated=truncated,
    )
