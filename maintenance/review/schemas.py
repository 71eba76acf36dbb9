"""Pydantic schemas of the monthly service review, improvement actions and surveys."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from maintenance.insights.schemas import KpiReport
from maintenance.review.models import ActionStatus

__all__ = [
    "ActionReviewLine",
    "ActionsPage",
    "ActionsSection",
    "BreachLine",
    "DayCount",
    "DeadStockLine",
    "EnergySummary",
    "FaultByAsset",
    "FaultByRule",
    "ImprovementActionCreate",
    "ImprovementActionPublic",
    "ImprovementActionUpdate",
    "KpiLine",
    "KpiPair",
    "LowStockLine",
    "MonthlyReview",
    "PmCompliancePublic",
    "QuestionResult",
    "ReviewSite",
    "StockIssues",
    "SupplierScoreLine",
    "SurveyCreate",
    "SurveyPublic",
    "SurveyResponseCreate",
    "SurveyResponsePublic",
    "SurveyResults",
    "SurveysPage",
    "TechnicianLine",
]

Month = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", min_length=7, max_length=7)
Judgement = Literal["met", "missed", "no data", "no target"]


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True, frozen=True)


# -- improvement actions -------------------------------------------------------------------------
class ImprovementActionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    site: str | None = Field(default=None, min_length=1, max_length=64)
    period: str = Month
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=5000)
    owner: str = Field(min_length=1, max_length=64)
    due_on: date


class ImprovementActionUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=5000)
    owner: str | None = Field(default=None, min_length=1, max_length=64)
    due_on: date | None = None
    status: ActionStatus | None = None
    outcome: str | None = Field(default=None, max_length=5000)


class ImprovementActionPublic(_Out):
    id: int
    site: str | None
    period: str
    title: str
    description: str
    owner: str
    due_on: date
    status: ActionStatus
    outcome: str
    created_by: str
    created_at: datetime
    closed_at: datetime | None


class ActionsPage(BaseModel):
    items: list[ImprovementActionPublic]
    total: int


# -- surveys -------------------------------------------------------------------------------------
class SurveyCreate(BaseModel):
    """Questions are checked by ``maintenance.review.surveys.validate_questions``."""

    model_config = ConfigDict(extra="forbid")

    site: str | None = Field(default=None, min_length=1, max_length=64)
    title: str = Field(min_length=1, max_length=200)
    questions: list[dict[str, Any]] = Field(min_length=1, max_length=20)
    opens_on: date
    closes_on: date
    anonymous: bool = False


class SurveyPublic(_Out):
    id: int
    site: str | None
    title: str
    questions: list[dict[str, Any]]
    opens_on: date
    closes_on: date
    anonymous: bool
    created_by: str
    created_at: datetime


class SurveysPage(BaseModel):
    items: list[SurveyPublic]
    total: int


class SurveyResponseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answers: dict[str, Any] = Field(max_length=20)


class SurveyResponsePublic(_Out):
    id: int
    survey_id: int
    anonymous: bool
    submitted_at: datetime


class QuestionResult(_Out):
    """One question's answers: mean and distribution (rating), counts (choice), texts (text)."""

    key: str
    text: str
    kind: Literal["rating", "choice", "text"]
    count: int
    mean: float | None = None
    distribution: dict[str, int] = Field(default_factory=dict)
    texts: list[str] = Field(default_factory=list)


class SurveyResults(_Out):
    survey_id: int
    title: str
    site: str | None
    opens_on: date
    closes_on: date
    anonymous: bool
    responses: int
    questions: list[QuestionResult]


# -- the monthly review --------------------------------------------------------------------------
class ReviewSite(_Out):
    code: str
    name: str
    timezone: str


class KpiPair(_Out):
    """``compute_kpis`` for this month and the previous one, exactly as ``GET /kpis`` says."""

    current: KpiReport
    previous: KpiReport


class KpiLine(_Out):
    """One headline figure: this month, last month, the change, the target and the verdict."""

    key: str
    label: str
    unit: str
    current: float | None
    previous: float | None
    delta: float | None
    target: float | None
    better: Literal["higher", "lower"] | None
    judgement: Judgement


class PmCompliancePublic(_Out):
    due: int
    on_time: int
    late: int
    open: int
    pct: float | None


class EnergySummary(_Out):
    """Energy of the site's metered devices; ``source`` None means no data (nothing invented)."""

    source: Literal["energy", "power"] | None
    devices: int
    current_kwh: float | None = None
    previous_kwh: float | None = None
    current_mean_power_w: float | None = None
    previous_mean_power_w: float | None = None
    change_pct: float | None = None
    note: str = ""


class DayCount(_Out):
    day: date
    orders: int


class FaultByAsset(_Out):
    asset: str
    name: str
    orders: int
    automatic: int


class FaultByRule(_Out):
    rule: str
    orders: int
    assets: int


class BreachLine(_Out):
    work_order_id: int
    title: str
    asset: str | None
    priority: str
    status: str
    resolution_due_at: datetime
    resolved_at: datetime | None
    overrun_s: float


class SupplierScoreLine(_Out):
    supplier: str
    name: str
    score: float
    rank: int
    components: dict[str, Any]


class TechnicianLine(_Out):
    technician: str
    orders: int
    resolved: int
    mean_time_to_respond_s: float | None
    sla_resolution_compliance_pct: float | None
    rating_count: int
    rating_mean: float | None


class LowStockLine(_Out):
    sku: str
    name: str
    unit: str
    on_hand: Decimal
    reorder_point: Decimal
    suggested_qty: Decimal


class DeadStockLine(_Out):
    sku: str
    name: str
    on_hand: Decimal
    value: Decimal
    last_movement_at: datetime | None


class StockIssues(_Out):
    low: list[LowStockLine]
    dead: list[DeadStockLine]
    dead_after_days: int


class ActionReviewLine(_Out):
    action: ImprovementActionPublic
    state: Literal["done on time", "done late", "open", "overdue", "dropped"]


class ActionsSection(_Out):
    from_previous: list[ActionReviewLine]
    due_this_month: list[ActionReviewLine]
    recorded_this_month: list[ActionReviewLine]


class MonthlyReview(_Out):
    """Everything the monthly service review shows, for one site and one calendar month."""

    site: ReviewSite
    month: str
    previous_month: str
    start: datetime
    end: datetime
    previous_start: datetime
    generated_at: datetime
    kpis: KpiPair
    lines: list[KpiLine]
    pm_compliance: PmCompliancePublic
    pm_compliance_previous: PmCompliancePublic
    energy: EnergySummary
    orders_per_day: list[DayCount]
    top_faults_by_asset: list[FaultByAsset]
    top_faults_by_rule: list[FaultByRule]
    worst_breaches: list[BreachLine]
    suppliers: list[SupplierScoreLine]
    technicians_included: bool
    technicians: list[TechnicianLine]
    stock: StockIssues
    surveys: list[SurveyResults]
    actions: ActionsSection
    notes: list[str]
