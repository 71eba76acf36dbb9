"""``/api/v1/pm``: preventive-maintenance plans, their approval, the forecast and compliance.

Admins and managers write plans; only managers (and admins) approve them, and only approved
plans generate orders. Everybody signed in may read plans and the forecast.
"""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Annotated, TypeVar

import sqlalchemy as sa
from fastapi import APIRouter, HTTPException, Path, Query, status

from maintenance.people.deps import (
    Caller,
    ContextDep,
    CurrentUser,
    SessionDep,
    parse_time,
    require_roles,
)
from maintenance.pm import service as pm
from maintenance.pm.schemas import (
    CompliancePublic,
    ForecastItemPublic,
    GeneratedOrderPublic,
    PmPlanCreate,
    PmPlanPublic,
    PmPlansPage,
)
from maintenance.shared.vocabulary import Role
from maintenance.sites.models import Site

router = APIRouter(prefix="/pm", tags=["preventive maintenance"])

T = TypeVar("T")
IdPath = Annotated[int, Path(ge=1, le=2**31 - 1)]
_PLANNERS = require_roles(Role.ADMIN, Role.MANAGER)


@router.post("/plans", status_code=status.HTTP_201_CREATED)
def create_plan(
    body: PmPlanCreate,
    session: SessionDep,
    context: ContextDep,
    caller: Annotated[Caller, _PLANNERS],
) -> PmPlanPublic:
    """Add a plan (unapproved: it generates nothing until a manager approves it)."""
    starts_at = body.starts_at
    if starts_at is not None and starts_at.tzinfo is None:
        starts_at = starts_at.replace(tzinfo=UTC)
    plan = pm.create_plan(
        session,
        name=body.name,
        description=body.description,
        trigger=body.trigger,
        interval=float(body.interval),
        actor=caller.username,
        asset_codes=body.asset_codes,
        asset_type=body.asset_type,
        site_code=body.site,
        checklist_template_id=body.checklist_template_id,
        estimated_labour_h=float(body.estimated_labour_h),
        unit=body.unit,
        mode=body.mode,
        anchor_local=body.anchor_local,
        device=body.device,
        metric=body.metric,
        max_gap_s=float(body.max_gap_s),
        lead=float(body.lead),
        grace_h=float(body.grace_h),
        starts_at=starts_at,
        cron=body.cron,
        rule=body.rule,
        parts=[part.model_dump() for part in body.parts],
        now=context.clock(),
    )
    return PmPlanPublic.model_validate(plan)


@router.get("/plans")
def list_plans(
    session: SessionDep,
    caller: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> PmPlansPage:
    """Plans in id order, a page at a time."""
    plans, total = pm.list_plans(session, limit=limit, offset=offset)
    return PmPlansPage(
        items=[PmPlanPublic.model_validate(p) for p in plans],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get("/plans/{plan_id}")
def get_plan(plan_id: IdPath, session: SessionDep, caller: CurrentUser) -> PmPlanPublic:
    return PmPlanPublic.model_validate(pm.get_plan(session, plan_id=plan_id))


@router.post(
    "/plans/{plan_id}/approve",
    dependencies=[require_roles(Role.ADMIN, Role.MANAGER)],  # type: ignore[list-item]
)
def approve_plan(
    plan_id: IdPath, session: SessionDep, context: ContextDep, caller: CurrentUser
) -> PmPlanPublic:
    """A manager's go-ahead: the scheduler orders this plan's work from now on."""
    plan = pm.approve_plan(session, plan_id=plan_id, actor=caller.username, now=context.clock())
    return PmPlanPublic.model_validate(plan)


@router.post(
    "/run",
    dependencies=[require_roles(Role.ADMIN, Role.MANAGER)],  # type: ignore[list-item]
)
def run_scheduler(session: SessionDep, context: ContextDep) -> list[GeneratedOrderPublic]:
    """One scheduler pass now (the worker runs it periodically); returns the orders it made."""
    made = pm.run_pm_scheduler(session, now=context.clock(), readings=context.readings)
    return [GeneratedOrderPublic.model_validate(g, from_attributes=True) for g in made]


@router.get("/forecast")
def get_forecast(
    session: SessionDep,
    context: ContextDep,
    caller: CurrentUser,
    weeks: Annotated[int, Query(ge=1, le=104)] = 8,
) -> list[ForecastItemPublic]:
    """PM due in the next ``weeks`` weeks (telemetry plans: extrapolated, ``estimated``)."""
    items = pm.forecast(session, now=context.clock(), weeks=weeks, readings=context.readings)
    return [ForecastItemPublic.model_validate(i, from_attributes=True) for i in items]


@router.get("/compliance")
def get_compliance(
    session: SessionDep,
    context: ContextDep,
    caller: CurrentUser,
    start: Annotated[str | None, Query(max_length=40)] = None,
    end: Annotated[str | None, Query(max_length=40)] = None,
    site: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
) -> CompliancePublic:
    """PM done on time / PM due in [start, end) (default: the last 30 days), at ``site``."""
    now = context.clock()
    site_id: int | None = None
    if site is not None:
        site_id = session.scalar(sa.select(Site.id).where(Site.code == site))
        if site_id is None:
            raise HTTPException(404, f"no site {site[:64]!r}; site codes are case-sensitive")
    end_at = parse_time(end, "end") or now
    start_at = parse_time(start, "start") or end_at - timedelta(days=30)
    if end_at <= start_at:
        raise HTTPException(422, "end must be after start")
    result = pm.compliance(session, start=start_at, end=end_at, now=now, site_id=site_id)
    return CompliancePublic(
        start=start_at,
        end=end_at,
        due=result.due,
        on_time=result.on_time,
        late=result.late,
        open=result.open,
        ratio=result.ratio,
    )
