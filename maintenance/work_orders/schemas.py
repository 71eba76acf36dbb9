"""Pydantic schemas of the work-order API, named as the FastAPI template does."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
)

from maintenance.shared.base import InputModel, OutputModel
from maintenance.shared.fields import Code, Money, json_number
from maintenance.shared.vocabulary import Priority
from maintenance.work_orders.models import WorkOrderSource, WorkOrderStatus, WorkOrderType

__all__ = [
    "AttachmentPublic",
    "ChecklistItemPublic",
    "ChecklistItemSpec",
    "ChecklistResult",
    "ChecklistTemplateCreate",
    "ChecklistTemplatePublic",
    "LabourCreate",
    "LabourEntryPublic",
    "LabourPublic",
    "OutsourceRequest",
    "RatingCreate",
    "SlaState",
    "TransitionRequest",
    "WorkOrderCreate",
    "WorkOrderEventPublic",
    "WorkOrderPublic",
    "WorkOrdersPage",
]


class WorkOrderEventPublic(OutputModel):
    id: int
    ts: datetime
    actor: str
    kind: str
    from_state: str | None
    to_state: str | None
    note: str
    data: dict[str, Any] | None


class SlaState(BaseModel):
    """The order's clocks: deadlines, whether each was missed, and whether it is paused."""

    response_due_at: datetime | None
    resolution_due_at: datetime | None
    response_breached: bool
    resolution_breached: bool
    escalation_level: int
    paused: bool


class AttachmentPublic(OutputModel):
    id: int
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    uploaded_by: str
    created_at: datetime


class ChecklistItemPublic(OutputModel):
    id: int
    position: int
    template: str
    label: str
    kind: str
    required: bool
    min_value: float | None
    max_value: float | None
    value: str | None
    outcome: str | None
    done_by: str | None
    done_at: datetime | None
    followup_id: int | None


class WorkOrderPublic(OutputModel):
    id: int
    title: str
    description: str
    status: WorkOrderStatus
    priority: Priority
    source: WorkOrderSource
    order_type: WorkOrderType
    rule: str | None
    device: str | None
    asset: str | None
    location: str
    assignee: str | None
    team: str | None
    #: The contractor (supplier code) the order is outsourced to, if any.
    contractor: str | None = None
    assignment_reason: str
    auto_assigned: bool
    created_by: str
    created_at: datetime
    updated_at: datetime
    detected_at: datetime | None
    responded_at: datetime | None
    resolved_at: datetime | None
    verified_at: datetime | None
    closed_at: datetime | None
    sla: SlaState
    reopen_count: int
    fault_returned_at: datetime | None
    #: For a rule order that was resolved: has the fault stayed away since the repair?
    clear_since_repair: bool | None
    rating: int | None
    rating_comment: str
    parent_id: int | None
    allowed_actions: list[str]
    events: list[WorkOrderEventPublic] | None = None
    attachments: list[AttachmentPublic] | None = None
    checklist: list[ChecklistItemPublic] | None = None


class WorkOrdersPage(BaseModel):
    items: list[WorkOrderPublic]
    total: int
    limit: int = 100
    offset: int = 0


class WorkOrderCreate(BaseModel):
    """A new order; a requester's order is always of type ``request``."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=10_000)
    priority: Priority = Priority.P3
    asset: str | None = Field(default=None, min_length=1, max_length=200)
    location: str = Field(default="", max_length=200)
    order_type: WorkOrderType | None = None


class TransitionRequest(BaseModel):
    """``assign`` takes ``assignee`` or ``team`` (neither = auto-dispatch, with the reason)."""

    model_config = ConfigDict(extra="forbid")

    note: str = Field(default="", max_length=10_000)
    assignee: str | None = Field(default=None, min_length=1, max_length=64)
    team: str | None = Field(default=None, min_length=1, max_length=64)


_ResultText = Annotated[str, Field(min_length=1, max_length=10_000)]


class ChecklistResult(BaseModel):
    """``pass``/``fail`` or a boolean, a number, a text, or a photo's attachment id."""

    model_config = ConfigDict(extra="forbid")

    value: (
        StrictBool
        | StrictInt
        | StrictFloat
        | Annotated[str, Field(min_length=1, max_length=10_000)]
    )


class RatingCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rating: int = Field(ge=1, le=5)
    comment: str = Field(default="", max_length=2000)


class ChecklistItemSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str = Field(min_length=1, max_length=200)
    kind: Literal["pass_fail", "number", "text", "photo"]
    required: bool = True
    min: float | None = Field(default=None, allow_inf_nan=False)
    max: float | None = Field(default=None, allow_inf_nan=False)


class ChecklistTemplateCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    order_type: WorkOrderType | None = None
    asset_type: str | None = Field(default=None, min_length=1, max_length=64)
    items: list[ChecklistItemSpec] = Field(min_length=1, max_length=100)


class ChecklistTemplatePublic(OutputModel):
    id: int
    name: str
    order_type: str | None
    asset_type: str | None
    items: list[dict[str, Any]]


# -- work orders: outsourcing, labour, parts ------------------------------------------------------
class OutsourceRequest(InputModel):
    """``contractor`` = a qualified contractor's code, or null to take the order back in-house."""

    contractor: Code | None
    note: str = Field(default="", max_length=2000)


class LabourCreate(InputModel):
    hours: Annotated[
        Decimal,
        BeforeValidator(json_number),
        Field(gt=0, le=744, max_digits=13, decimal_places=3, allow_inf_nan=False),
    ]
    worker: str | None = Field(default=None, min_length=1, max_length=64)
    hourly_rate: Money = Decimal(0)
    note: str = Field(default="", max_length=2000)


class LabourEntryPublic(OutputModel):
    id: int
    worker: str
    hours: Decimal
    hourly_rate: Decimal
    note: str
    contractor_id: int | None
    recorded_by: str
    recorded_at: datetime


class LabourPublic(BaseModel):
    work_order_id: int
    entries: list[LabourEntryPublic]
    hours: Decimal
    cost: Decimal
