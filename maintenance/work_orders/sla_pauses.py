"""Declared maintenance windows pause the SLA clocks of the work they cover.

A maintenance window (the rules file's ``maintenance:`` list: a chiller swap in building B2 on
Saturday, the kitchen's weekly cleaning) is time the organisation has planned for the equipment
to be out of reach. The rules engine already holds alerts back in it; this module makes the work
orders that are open on the covered assets stop counting it against their SLA, exactly as "on
hold" does for the resolution clock:

* the **response** clock pauses while the order has not been responded to;
* the **resolution** clock pauses too, except for the time the order was on hold anyway (that
  pause is already counted when it resumes), and not after a breach was recorded;
* each (order, window span) is applied once, when the span has ended for the order (the window
  closed, or the order was resolved inside it); the deadline moves by the working time the span
  consumed on the order's SLA calendar (business hours where the target uses them), and an
  ``sla_paused`` event records window, span and seconds, which also makes the pass idempotent;
* while an order's asset is inside an active window, the breach check leaves it alone
  (:meth:`PauseCalendar.active_now` feeds ``check_breaches``), so nobody is alerted about a
  deadline that is about to move.

Which windows cover an order is the rules side's business (scope and rule patterns, see
:mod:`rules.schedule`); this module asks a :class:`PauseCalendar` for the spans and does the
clock arithmetic. Orders without an asset are never paused.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session

from maintenance.assets.models import Asset
from maintenance.shared import sla
from maintenance.work_orders.models import WorkOrder, WorkOrderEvent, WorkOrderStatus
from maintenance.work_orders.service import record_event, site_timezone

__all__ = ["EVENT", "Pause", "PauseCalendar", "apply_window_pauses"]

log = logging.getLogger(__name__)

#: The event kind that records an applied pause (and marks the span as done).
EVENT = "sla_paused"
#: How long after its resolution an order is still looked at (a span closed by the
#: resolution is applied on the next pass; this only bounds the query).
RESOLVED_LOOKBACK = timedelta(days=2)

S = WorkOrderStatus
_OPEN = (S.NEW, S.ASSIGNED, S.IN_PROGRESS, S.ON_HOLD, S.REOPENED)


@dataclass(frozen=True, slots=True)
class Pause:
    """One span of one declared window over one order's asset (UTC instants)."""

    window: str
    start: datetime
    end: datetime

    @property
    def key(self) -> str:
        return f"{self.window}@{self.start.isoformat()}"


class PauseCalendar(Protocol):
    """Where declared maintenance windows come from (the rules engine in ``serve``/``demo``)."""

    def pauses(
        self, *, asset: Asset, rule: str | None, device: str | None, start: datetime, end: datetime
    ) -> list[Pause]:
        """Spans of the windows covering this order's asset and rule within [start, end)."""
        ...

    def active_now(
        self, *, asset: Asset, rule: str | None, device: str | None, now: datetime
    ) -> bool:
        """Whether a covering window is active at ``now``."""
        ...


def _overlap(a: tuple[datetime, datetime], b: tuple[datetime, datetime]) -> float:
    return max(0.0, (min(a[1], b[1]) - max(a[0], b[0])).total_seconds())


def _hold_spans(events: Iterable[WorkOrderEvent], now: datetime) -> list[tuple[datetime, datetime]]:
    """When the order was on hold, from its audit trail (entered → left on_hold)."""
    spans: list[tuple[datetime, datetime]] = []
    since: datetime | None = None
    for event in sorted(events, key=lambda e: (e.ts, e.id or 0)):
        if event.to_state == S.ON_HOLD.value and since is None:
            since = event.ts
        elif event.from_state == S.ON_HOLD.value and since is not None:
            spans.append((since, event.ts))
            since = None
    if since is not None:
        spans.append((since, now))
    return spans


def _working_seconds(
    span: tuple[datetime, datetime], target: sla.SlaTarget, hours: sla.BusinessHours
) -> float:
    return sla.elapsed(span[0], span[1], target, hours) if span[1] > span[0] else 0.0


def _apply(
    order: WorkOrder,
    pause: Pause,
    *,
    now: datetime,
    policy: sla.SlaPolicy,
    holds: list[tuple[datetime, datetime]],
) -> dict[str, float] | None:
    """Move the order's deadlines for one ended span; the seconds moved, or None if nothing."""
    target = policy.targets[order.priority]
    hours = sla.hours_in(policy, site_timezone(order))
    span = (max(pause.start, order.created_at), min(pause.end, order.resolved_at or pause.end))
    if span[1] <= span[0]:
        return None
    moved = {"response_s": 0.0, "resolution_s": 0.0}
    if (
        order.response_due_at is not None
        and order.response_breached_at is None
        and (order.responded_at is None or order.responded_at > span[0])
    ):
        waiting = (span[0], min(span[1], order.responded_at or span[1]))
        seconds = _working_seconds(waiting, target, hours)
        if seconds > 0:
            order.response_due_at = sla.extend(order.response_due_at, seconds, target, hours)
            moved["response_s"] = round(seconds, 3)
    if order.resolution_due_at is not None and order.resolution_breached_at is None:
        seconds = _working_seconds(span, target, hours)
        for hold in holds:  # on hold already paused the resolution clock for these stretches
            inside = (max(span[0], hold[0]), min(span[1], hold[1]))
            seconds -= _working_seconds(inside, target, hours)
        if seconds > 0:
            order.resolution_due_at = sla.extend(order.resolution_due_at, seconds, target, hours)
            moved["resolution_s"] = round(seconds, 3)
    return moved if any(moved.values()) else None


def apply_window_pauses(
    session: Session,
    *,
    calendar: PauseCalendar,
    now: datetime,
    policy: sla.SlaPolicy = sla.DEFAULT_POLICY,
) -> list[tuple[int, str, dict[str, float]]]:
    """Apply every window span that has ended for an open or just-resolved order; commit.

    Returns (order id, window, seconds moved) for what was applied this pass. Safe to run in
    several workers at once: orders are locked with SKIP LOCKED and each span is recorded.
    """
    orders = session.scalars(
        sa.select(WorkOrder)
        .where(
            WorkOrder.asset_id.is_not(None),
            sa.or_(
                WorkOrder.status.in_(_OPEN),
                WorkOrder.resolved_at >= now - RESOLVED_LOOKBACK,
            ),
        )
        .order_by(WorkOrder.id)
        .with_for_update(skip_locked=True)
    ).all()
    applied: list[tuple[int, str, dict[str, float]]] = []
    for order in orders:
        asset = order.asset
        if asset is None:
            continue
        until = min(now, order.resolved_at or now)
        pauses = calendar.pauses(
            asset=asset, rule=order.rule, device=order.device, start=order.created_at, end=until
        )
        if not pauses:
            continue
        done = {(e.data or {}).get("key") for e in order.events if e.kind == EVENT and e.data}
        # a span is final once the window closed before ``until``, or the order was resolved
        # (spans are clipped to [created, until], so one ending at ``until`` may go on)
        resolved = order.resolved_at is not None and order.resolved_at <= now
        holds: list[tuple[datetime, datetime]] | None = None
        for pause in pauses:
            if pause.key in done or not (pause.end < until or resolved):
                continue
            if holds is None:
                holds = _hold_spans(order.events, now)
            moved = _apply(order, pause, now=now, policy=policy, holds=holds)
            record_event(
                order,
                actor="sla",
                kind=EVENT,
                now=now,
                note=f"SLA clocks paused for maintenance window {pause.window}",
                data={
                    "key": pause.key,
                    "window": pause.window,
                    "from": pause.start.isoformat(),
                    "to": pause.end.isoformat(),
                    **(moved or {"response_s": 0.0, "resolution_s": 0.0}),
                },
            )
            done.add(pause.key)
            if moved:
                applied.append((order.id, pause.window, moved))
                log.info("work order %d: SLA paused (%s): %s", order.id, pause.window, moved)
    session.commit()
    return applied
