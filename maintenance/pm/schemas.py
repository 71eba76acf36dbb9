"""Pydantic schemas of the PM API (``/api/v1/pm``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    Field,
)

from maintenance.pm.models import PmTriggerKind, ScheduleMode, TimeUnit
from maintenance.shared.base import InputModel, OutputModel
from maintenance.shared.fields import Id, Number, Qty
from maintenance.shared.fields import RecordCode as Code

__all__ = [
    "CompliancePublic",
    "ForecastItemPublic",
    "GeneratedOrderPublic",
    "PlanPart",
    "PmPlanCreate",
    "PmPlanPublic",
    "PmPlansPage",
]


# -- PM -------------------------------------------------------------------------------------------
class PlanPart(InputModel):
    """A part each of the plan's orders needs, reserved when the order is generated."""

    sku: Code
    quantity: Qty
    storeroom: Code


class PmPlanCreate(InputModel):
    """A plan; see docs/pm-and-inventory.md for the fields each trigger needs."""

    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=10_000)
    asset_codes: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=500
    )
    asset_type: str | None = Field(default=None, min_length=1, max_length=64)
    site: str | None = Field(default=None, min_length=1, max_length=64)
    checklist_template_id: Id | None = None
    estimated_labour_h: Annotated[Number, Field(ge=0, le=10_000)] = 0.0
    trigger: PmTriggerKind
    #: Calendar, runtime and meter plans; cron and condition plans ignore it.
    interval: Annotated[Number, Field(gt=0, le=1_000_000)] = 1
    unit: TimeUnit | None = None
    mode: ScheduleMode = ScheduleMode.FIXED
    anchor_local: str | None = Field(default=None, min_length=10, max_length=32)
    device: str | None = Field(default=None, min_length=1, max_length=200)
    metric: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]{0,63}$")
    max_gap_s: Annotated[Number, Field(gt=0, le=30 * 86400)] = 900.0
    lead: Annotated[Number, Field(ge=0, le=1_000_000)] = 0.0
    grace_h: Annotated[Number, Field(ge=0, le=8760)] = 24.0
    starts_at: datetime | None = None
    #: Cron plans: five fields (minute hour day month weekday) in the site's time zone.
    cron: str | None = Field(default=None, min_length=9, max_length=120)
    #: Condition plans: the rule whose alert opens this plan's order.
    rule: str | None = Field(default=None, min_length=1, max_length=100)
    parts: list[PlanPart] = Field(default_factory=list, max_length=100)


class PmPlanPublic(OutputModel):
    id: int
    name: str
    description: str
    asset_codes: list[str]
    asset_type: str | None
    checklist_template_id: int | None
    estimated_labour_h: float
    trigger: PmTriggerKind
    interval: float
    unit: TimeUnit | None
    mode: ScheduleMode
    anchor_local: str | None
    device: str | None
    metric: str | None
    max_gap_s: float
    lead: float
    grace_h: float
    starts_at: datetime
    cron: str | None = None
    rule: str | None = None
    parts: list[dict[str, Any]] = Field(default_factory=list)
    progress_at: datetime | None = None
    progress_value: float | None = None
    active: bool
    approved_by: str | None
    approved_at: datetime | None
    created_by: str
    created_at: datetime


class PmPlansPage(BaseModel):
    items: list[PmPlanPublic]
    total: int
    limit: int
    offset: int


class ForecastItemPublic(OutputModel):
    plan_id: int
    plan: str
    trigger: PmTriggerKind
    asset: str | None
    due_at: datetime
    estimated: bool
    estimated_labour_h: float
    work_order_id: int | None


class GeneratedOrderPublic(OutputModel):
    plan_id: int
    occurrence_key: str
    due_at: datetime
    work_order_id: int


class CompliancePublic(BaseModel):
    start: datetime
    end: datetime
    due: int
    on_time: int
    late: int
    open: int
    ratio: float | None
