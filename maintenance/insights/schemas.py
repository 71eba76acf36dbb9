"""Pydantic schemas of the read side: KPI reports and supplier scorecards."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
)

from maintenance.shared.base import InputModel

if TYPE_CHECKING:
    from maintenance.suppliers.schemas import Number

__all__ = ["KpiReport", "ScoreRequest", "ScorecardPublic", "ScorecardsPage"]


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
