"""Service KPIs over a period: the numbers a facility manager improves month after month.

Computed in Python over the orders created in the period (a site's orders in a month are
thousands, not millions); every duration is in seconds and every mean is ``None`` when there is
nothing to average, so a dashboard never shows a made-up zero.

Definitions:
- response time: creation (or, for rule orders, the fault's first detection) → first ``start``.
- MTTR: the same start → ``resolved``.
- MTBF per asset: mean time from one fault episode's repair to the next episode's detection, over
  the asset's automatic (rule) orders in the period; needs two episodes.
- SLA compliance: share of orders with a resolution due time whose resolution was on time
  (orders still open and already late count as misses).
- first-time fix: share of resolved orders that were never reopened.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from statistics import fmean
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from maintenance.assets.models import Asset
from maintenance.sites.models import Site
from maintenance.work_orders.models import WorkOrder, WorkOrderSource, WorkOrderStatus

__all__ = ["KpiFilter", "SlaFacts", "compute_kpis", "resolution_sla"]

S = WorkOrderStatus
_DONE = (S.RESOLVED, S.VERIFIED, S.CLOSED)
_OPEN = (S.NEW, S.ASSIGNED, S.IN_PROGRESS, S.ON_HOLD, S.REOPENED)


@dataclass(frozen=True, slots=True)
class KpiFilter:
    start: datetime
    end: datetime
    site: str | None = None
    asset_type: str | None = None


class SlaFacts(Protocol):
    """What the resolution-SLA judgement reads of an order (a model row or a plain record)."""

    @property
    def status(self) -> WorkOrderStatus: ...
    @property
    def resolution_due_at(self) -> datetime | None: ...
    @property
    def resolved_at(self) -> datetime | None: ...
    @property
    def resolution_breached_at(self) -> datetime | None: ...


def resolution_sla(orders: Iterable[SlaFacts], *, now: datetime) -> tuple[int, int]:
    """(judged, on time) for the resolution SLA: the one definition the KPIs, the monthly
    review's technicians and the supplier scorecards share.

    An order is judged once it has a due time (and was not cancelled) and is either resolved,
    marked breached or past due; it is on time when resolved by its due time without a breach.
    """
    judged = on_time = 0
    for o in orders:
        due = o.resolution_due_at
        if due is None or o.status is S.CANCELLED:
            continue
        if o.resolved_at is not None or o.resolution_breached_at is not None or due < now:
            judged += 1
            if (
                o.resolved_at is not None
                and o.resolved_at <= due
                and o.resolution_breached_at is None
            ):
                on_time += 1
    return judged, on_time


def _mean(values: list[float]) -> float | None:
    return round(fmean(values), 3) if values else None


def _share(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 2) if whole else None


def compute_kpis(session: Session, *, where: KpiFilter, now: datetime) -> dict[str, Any]:
    """Every KPI for the orders created in ``[start, end)`` matching the filter."""
    query = (
        sa.select(WorkOrder)
        .where(WorkOrder.created_at >= where.start, WorkOrder.created_at < where.end)
        .options(selectinload(WorkOrder.asset))
    )
    if where.site or where.asset_type:
        query = query.join(Asset, WorkOrder.asset_id == Asset.id)
        if where.asset_type:
            query = query.where(Asset.asset_type == where.asset_type)
        if where.site:
            query = query.join(Site, Asset.site_id == Site.id).where(Site.code == where.site)
    orders = list(session.scalars(query))

    def origin(order: WorkOrder) -> datetime:
        return order.detected_at or order.created_at

    response = [
        (o.responded_at - origin(o)).total_seconds() for o in orders if o.responded_at is not None
    ]
    repair = [
        (o.resolved_at - origin(o)).total_seconds() for o in orders if o.resolved_at is not None
    ]
    judged, on_time = resolution_sla(orders, now=now)
    responded_due = [o for o in orders if o.response_due_at is not None and o.responded_at]
    response_on_time = sum(
        1
        for o in responded_due
        if o.responded_at is not None
        and o.response_due_at is not None
        and o.responded_at <= o.response_due_at
    )
    done = [o for o in orders if o.status in _DONE]
    backlog = [o for o in orders if o.status in _OPEN]
    ages = [(now - o.created_at).total_seconds() for o in backlog]
    ratings = [o.rating for o in orders if o.rating is not None]
    automatic = sum(1 for o in orders if o.source is WorkOrderSource.RULE)

    episodes: dict[str, list[WorkOrder]] = defaultdict(list)
    for order in orders:
        if order.source is WorkOrderSource.RULE and order.asset is not None:
            episodes[order.asset.code].append(order)
    mtbf: dict[str, float | None] = {}
    for code, items in sorted(episodes.items()):
        items.sort(key=origin)
        gaps = [
            (origin(nxt) - prev.resolved_at).total_seconds()
            for prev, nxt in pairwise(items)
            if prev.resolved_at is not None and origin(nxt) > prev.resolved_at
        ]
        mtbf[code] = _mean(gaps)

    return {
        "from": where.start,
        "to": where.end,
        "site": where.site,
        "asset_type": where.asset_type,
        "total": len(orders),
        "by_status": dict(sorted(Counter(o.status.value for o in orders).items())),
        "by_priority": dict(sorted(Counter(o.priority.value for o in orders).items())),
        "by_type": dict(sorted(Counter(o.order_type.value for o in orders).items())),
        "mean_time_to_respond_s": _mean(response),
        "mttr_s": _mean(repair),
        "mtbf_s_by_asset": mtbf,
        "sla_resolution_compliance_pct": _share(on_time, judged),
        "sla_response_compliance_pct": _share(response_on_time, len(responded_due)),
        "backlog": {
            "count": len(backlog),
            "mean_age_s": _mean(ages),
            "max_age_s": round(max(ages), 3) if ages else None,
        },
        "first_time_fix_pct": _share(sum(1 for o in done if o.reopen_count == 0), len(done)),
        "rating": {"count": len(ratings), "mean": _mean([float(r) for r in ratings])},
        "automatic_pct": _share(automatic, len(orders)),
        "manual_pct": _share(len(orders) - automatic, len(orders)),
        "auto_assigned_pct": _share(sum(1 for o in orders if o.auto_assigned), len(orders)),
    }
