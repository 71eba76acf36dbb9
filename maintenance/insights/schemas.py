"""Pydantic schemas of the read side: KPI reports, supplier scorecards, asset figures."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
)

from maintenance.assets.models import AssetStatus, Criticality
from maintenance.assets.schemas import AssetStatusChangePublic
from maintenance.insights.asset_figures import AssetFigures
from maintenance.shared.base import InputModel, OutputModel
from maintenance.shared.fields import Number
from maintenance.work_orders.models import WorkOrderStatus, WorkOrderType

__all__ = [
    "AssetFiguresPublic",
    "AssetHistoryPublic",
    "KpiReport",
    "MaintenanceLinePublic",
    "ReplacementCandidatePublic",
    "ScoreRequest",
    "ScorecardPublic",
    "ScorecardsPage",
]


class Backlog(BaseModel):
    count: int
    mean_age_s: float | None
    max_age_s: float | None


class RatingSummary(BaseModel):
    count: int
    mean: float | None


class KpiReport(BaseModel):
    """Service KPIs for orders created in ``[from, to)``; durations in seconds."""

    model_config = ConfigDict(populate_by_name=True)

    from_: datetime = Field(alias="from")
    to: datetime
    site: str | None
    asset_type: str | None
    total: int
    by_status: dict[str, int]
    by_priority: dict[str, int]
    by_type: dict[str, int]
    mean_time_to_respond_s: float | None
    mttr_s: float | None
    mtbf_s_by_asset: dict[str, float | None]
    sla_resolution_compliance_pct: float | None
    sla_response_compliance_pct: float | None
    backlog: Backlog
    first_time_fix_pct: float | None
    rating: RatingSummary
    automatic_pct: float | None
    manual_pct: float | None
    auto_assigned_pct: float | None


class ScoreRequest(InputModel):
    """Optional settings of a scorecard run; anything left out takes the documented default."""

    weights: dict[str, Annotated[Number, Field(ge=0, le=1000)]] = Field(
        default_factory=dict, max_length=20
    )
    threshold: Annotated[Number, Field(ge=0, le=100)] = 60.0
    lead_time_cap_days: Annotated[Number, Field(gt=0, le=3650)] = 30.0


class ScorecardPublic(BaseModel):
    supplier: str
    name: str
    period: str
    score: float
    rank: int
    components: dict[str, Any]
    flagged: bool
    computed_at: datetime | None = None


class ScorecardsPage(BaseModel):
    items: list[ScorecardPublic]
    total: int
    limit: int
    offset: int


class MaintenanceLinePublic(OutputModel):
    work_order_id: int
    title: str
    order_type: WorkOrderType
    status: WorkOrderStatus
    created_at: datetime
    detected_at: datetime | None
    resolved_at: datetime | None
    labour_hours: Decimal
    labour_cost: Decimal
    parts_cost: Decimal
    total_cost: Decimal


class AssetHistoryPublic(BaseModel):
    code: str
    status_changes: list[AssetStatusChangePublic]
    orders: list[MaintenanceLinePublic]
    orders_total: int
    limit: int
    offset: int


#: The figures are served as the service computes them: one definition, no mirror to keep in step.
AssetFiguresPublic = AssetFigures


class ReplacementCandidatePublic(BaseModel):
    rank: int
    code: str
    name: str
    site: str | None
    criticality: Criticality
    status: AssetStatus
    score: float
    components: dict[str, float]
    missing: list[str]
    figures: AssetFiguresPublic
