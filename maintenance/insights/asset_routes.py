"""``/api/v1/assets/...``: an asset's figures and maintenance history, and the replacement plan.

These read the asset's work orders, labour and stock movements (see
:mod:`maintenance.insights.asset_figures`), so they live on the read side; the register's own
routes (create, edit, status, tree, documents, CSV) are ``maintenance/assets/lifecycle_routes.py``.
Every signed-in user reads. Errors: unknown asset 404, malformed input (a weight, a window start)
422.

The app includes this router *before* the register's: its ``/assets/{code:path}`` catches every
path below ``/assets/``, so these sub-resources must be matched first.
"""

from __future__ import annotations

import math
from typing import Annotated, TypeVar

from fastapi import APIRouter, Path, Query
from sqlalchemy.orm import Session

from maintenance.assets import lifecycle
from maintenance.assets.models import Asset
from maintenance.assets.schemas import AssetStatusChangePublic
from maintenance.insights import asset_figures
from maintenance.insights.schemas import (
    AssetFiguresPublic,
    AssetHistoryPublic,
    MaintenanceLinePublic,
    ReplacementCandidatePublic,
)
from maintenance.people.deps import Caller, ContextDep, CurrentUser, SessionDep, parse_time
from maintenance.shared.vocabulary import Role
from maintenance.work_orders.service import team_of, visible_to

__all__ = ["router"]

router = APIRouter(tags=["assets"])

T = TypeVar("T")
#: ``:path`` because codes may hold "/" (rules name a device's own asset after its topic path,
#: e.g. ``plant/boiler-2``); ``/assets/plant/boiler-2/figures`` then reads as that asset's figures.
CodePath = Annotated[str, Path(min_length=1, max_length=200)]
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=2**31 - 1)]
SiteQuery = Annotated[str | None, Query(min_length=1, max_length=64)]


def _asset(session: Session, code: str) -> Asset:
    return lifecycle.get_asset(session, code=code)


def _visible(session: Session, caller: Caller) -> asset_figures.Visibility:
    """The work-order list's read scope for ``caller`` (None for those who read every order):
    history and figures count only the orders the caller could open."""
    actor = caller.actor
    if actor.role in (Role.ADMIN, Role.MANAGER):
        return None
    return visible_to(actor, team_of(session, actor))


@router.get("/assets/replacement-plan")
def get_replacement_plan(
    session: SessionDep,
    context: ContextDep,
    caller: CurrentUser,
    site: SiteQuery = None,
    limit: Limit = 50,
    weight: Annotated[
        list[Annotated[str, Query(max_length=60)]] | None,
        Query(
            max_length=4, description="NAME=POINTS, e.g. age=70 (defaults 35/30/20/15; repeatable)"
        ),
    ] = None,
) -> list[ReplacementCandidatePublic]:
    """Equipment ranked by the replacement score (formula: docs/assets.md), highest first.

    ``weight=age=70`` weighs a component in points (defaults: age 35, repair 30, failures 20,
    criticality 15); the four are normalised together to a sum of 1."""
    overrides: dict[str, float] = {}
    for item in weight or []:
        name, sep, number = item.partition("=")
        try:
            overrides[name.strip()] = float(number) if sep else math.nan
        except ValueError:
            overrides[name.strip()] = math.nan
    weights = asset_figures.WEIGHTS.with_overrides(overrides)
    plan = asset_figures.replacement_plan(
        session,
        now=context.clock(),
        site=site,
        limit=limit,
        weights=weights,
        visible=_visible(session, caller),
    )
    return [
        ReplacementCandidatePublic.model_validate(
            {
                "rank": c.rank,
                "code": c.code,
                "name": c.name,
                "site": c.site,
                "criticality": c.criticality,
                "status": c.status,
                "score": c.score,
                "components": c.components,
                "missing": c.missing,
                "figures": c.figures,
            }
        )
        for c in plan
    ]


@router.get("/assets/{code:path}/history")
def get_history(
    code: CodePath,
    session: SessionDep,
    context: ContextDep,
    caller: CurrentUser,
    limit: Limit = 100,
    offset: Offset = 0,
) -> AssetHistoryPublic:
    """Status changes (oldest first) and the work orders with their labour and parts cost.

    Only the orders the caller may read appear (the work-order list's scope); a status change
    made by another order keeps its time and statuses but not its reason or order id."""
    asset = _asset(session, code)
    visible = _visible(session, caller)
    lines, total = asset_figures.maintenance_history(
        session,
        asset_id=asset.id,
        now=context.clock(),
        limit=limit,
        offset=offset,
        visible=visible,
    )
    return AssetHistoryPublic(
        code=asset.code,
        status_changes=[
            AssetStatusChangePublic.model_validate(c)
            for c in asset_figures.status_changes_seen(session, asset_id=asset.id, visible=visible)
        ],
        orders=[
            MaintenanceLinePublic.model_validate(
                {**{k: getattr(line, k) for k in MaintenanceLinePublic.model_fields}}
            )
            for line in lines
        ],
        orders_total=total,
        limit=limit,
        offset=offset,
    )


@router.get("/assets/{code:path}/figures")
def get_figures(
    code: CodePath,
    session: SessionDep,
    context: ContextDep,
    caller: CurrentUser,
    availability_from: Annotated[str | None, Query(max_length=40)] = None,
) -> AssetFiguresPublic:
    """Age, TCO, repair cost, availability, MTBF/MTTR (definitions: docs/assets.md), over the
    orders the caller may read."""
    asset = _asset(session, code)
    start = parse_time(availability_from, "availability_from")
    return asset_figures.asset_figures(
        session,
        asset_id=asset.id,
        now=context.clock(),
        window_start=start,
        visible=_visible(session, caller),
    )
