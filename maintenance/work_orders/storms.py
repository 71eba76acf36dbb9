"""Alert storms: when one rule opens too many orders at once, the cause is rarely N faults.

A switch that reboots takes 137 devices offline in the same second; a bad rule edit or a shared
outdoor-air sensor makes every air handler fail the same check. One order per asset then buries
the team (issue 17: 20,061 orders in six minutes). So when a rule has opened more than
``threshold`` new orders within the last ``window_s`` seconds, its further alerts fold into one
*incident order* for the rule ("fired on 137 assets in 1 min - likely a common cause"), which
lists every asset, and the storm lasts while alerts keep arriving within the window.

The incident is a rule order with no asset, its ``rule`` set to ``storm:<rule>`` (so it never
collides with the per-(rule, asset) index and a later storm of the same rule finds it); its
idempotency key names the rule and the minute it started, so two workers that detect the same
storm at once open it once. This module holds the look-ups and texts;
:func:`maintenance.work_orders.service.apply_alert` decides and writes.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from prometheus_client import Counter
from sqlalchemy.orm import Session

from maintenance.work_orders.models import (
    OPEN_STATES,
    WorkOrder,
    WorkOrderEvent,
    WorkOrderSource,
    WorkOrderType,
)

__all__ = [
    "STORM_FOLDED",
    "STORM_PREFIX",
    "assets_in",
    "incident_key",
    "open_incident",
    "recent_orders",
    "storm_of",
    "storm_rule",
    "title_for",
]

STORM_PREFIX = "storm:"
STORM_FOLDED = Counter(
    "facility_work_orders_storm_folded",
    "Rule alerts folded into a storm incident order instead of opening an order each",
    labelnames=["rule"],
)


def storm_rule(rule: str) -> str:
    """The ``rule`` column of ``rule``'s incident orders (the column holds 100 characters)."""
    return (STORM_PREFIX + rule)[:100]


def incident_key(rule: str, started: datetime) -> str:
    """Unique per rule and starting minute, so racing workers open one incident."""
    return f"#storm/{started.strftime('%Y%m%dT%H%M')}/{rule}"[:200]


def recent_orders(session: Session, *, rule: str, since: datetime) -> list[WorkOrder]:
    """The corrective orders ``rule``'s alerts opened since ``since``, oldest first."""
    return list(
        session.scalars(
            sa.select(WorkOrder)
            .where(
                WorkOrder.rule == rule,
                WorkOrder.source == WorkOrderSource.RULE,
                WorkOrder.order_type == WorkOrderType.CORRECTIVE,
                WorkOrder.created_at >= since,
            )
            .order_by(WorkOrder.id)
        )
    )


def open_incident(
    session: Session, *, rule: str, active_since: datetime, lock: bool = False
) -> WorkOrder | None:
    """``rule``'s open incident order if it took an alert since ``active_since`` (the storm is
    still blowing); an older open incident is left for people to close."""
    query = (
        sa.select(WorkOrder)
        .where(
            WorkOrder.rule == storm_rule(rule),
            WorkOrder.status.in_(OPEN_STATES),
            WorkOrder.updated_at >= active_since,
        )
        .order_by(WorkOrder.id.desc())
        .limit(1)
    )
    if lock:
        query = query.with_for_update()
    return session.scalar(query)


def assets_in(session: Session, *, order_id: int) -> int:
    """How many distinct assets the incident lists (each fold's event note is the asset code)."""
    return int(
        session.scalar(
            sa.select(sa.func.count(sa.distinct(WorkOrderEvent.note))).where(
                WorkOrderEvent.work_order_id == order_id, WorkOrderEvent.kind == "storm_folded"
            )
        )
        or 0
    )


def storm_of(session: Session, *, order_id: int) -> dict[str, Any]:
    """What the incident's creation recorded: the rule, when the storm began, the orders before."""
    data = session.scalar(
        sa.select(WorkOrderEvent.data)
        .where(WorkOrderEvent.work_order_id == order_id, WorkOrderEvent.kind == "created")
        .order_by(WorkOrderEvent.id)
        .limit(1)
    )
    storm = (data or {}).get("storm")
    return storm if isinstance(storm, dict) else {}


def title_for(rule: str, *, assets: int, span: timedelta) -> str:
    """``rule X fired on 137 assets in 1 min - likely a common cause: ...`` (200 characters)."""
    minutes = max(1, round(span.total_seconds() / 60))
    return (
        f"rule {rule} fired on {assets} assets in {minutes} min"
        " - likely a common cause: network, power, a shared sensor or a bad rule"
    )[:200]
