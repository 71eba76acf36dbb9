"""``/api/v1/kpis``: service KPIs for a period, site and asset type."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from maintenance.insights.kpis import KpiFilter, compute_kpis
from maintenance.insights.schemas import KpiReport
from maintenance.people.deps import ContextDep, SessionDep, parse_time, require_roles
from maintenance.shared.vocabulary import Role

router = APIRouter(tags=["kpis"])

MAX_PERIOD = timedelta(days=3660)


@router.get("/kpis", dependencies=[require_roles(Role.ADMIN, Role.MANAGER)])  # type: ignore[list-item]
def kpis(
    session: SessionDep,
    context: ContextDep,
    from_: Annotated[
        str | None, Query(alias="from", max_length=40, description="ISO 8601 or epoch s")
    ] = None,
    to: Annotated[str | None, Query(max_length=40, description="ISO 8601 or epoch s")] = None,
    site: Annotated[str | None, Query(max_length=64)] = None,
    asset_type: Annotated[str | None, Query(max_length=64)] = None,
) -> KpiReport:
    """Counts, response time, MTTR, MTBF per asset, SLA compliance, backlog, first-time fix,
    ratings and the automatic share, for orders created in ``[from, to)`` (default: 30 days)."""
    now = context.clock()
    end = parse_time(to, "to") or now
    start = parse_time(from_, "from") or end - timedelta(days=30)
    if end <= start:
        raise HTTPException(422, "'to' must be after 'from'")
    if end - start > MAX_PERIOD:
        raise HTTPException(422, "the period is longer than ten years; narrow 'from'/'to'")
    report = compute_kpis(
        session, where=KpiFilter(start=start, end=end, site=site, asset_type=asset_type), now=now
    )
    return KpiReport.model_validate(report)
