"""Pydantic schemas of the HTTP API, named as the FastAPI template does."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt

from maintenance.models import Priority, Role, WorkOrderSource, WorkOrderStatus, WorkOrderType

__all__ = [
    "ApiKeyCreate",
    "ApiKeyCreated",
    "ApiKeyPublic",
    "AssetPublic",
    "AttachmentPublic",
    "ChecklistItemPublic",
    "ChecklistItemSpec",
    "ChecklistResult",
    "ChecklistTemplateCreate",
    "ChecklistTemplatePublic",
    "DevicePublic",
    "KpiReport",
    "RatingCreate",
    "ReadingPublic",
    "ReadingsPage",
    "SlaState",
    "Token",
    "TransitionRequest",
    "WorkOrderCreate",
    "WorkOrderEventPublic",
    "WorkOrderPublic",
    "WorkOrdersPage",
]


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    role: str


class AssetPublic(_Out):
    id: int
    code: str
    name: str
    asset_type: str
    location: str
    devices: list[str] = []


class MetricValue(BaseModel):
    value: float
    unit: str
    ts: datetime


class DevicePublic(BaseModel):
    id: str
    asset: str | None
    online: bool
    last_seen: datetime | None
    values: dict[str, MetricValue]


class ReadingPublic(BaseModel):
    device: str
    metric: str
    value: float
    unit: str
    ts: datetime


class ReadingsPage(BaseModel):
    items: list[ReadingPublic]
    total: int
    next: str | None


class WorkOrderEventPublic(_Out):
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


class AttachmentPublic(_Out):
    id: int
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    uploaded_by: str
    created_at: datetime


class ChecklistItemPublic(_Out):
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


class WorkOrderPublic(_Out):
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


class ChecklistTemplatePublic(_Out):
    id: int
    name: str
    order_type: str | None
    asset_type: str | None
    items: list[dict[str, Any]]


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


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=56, pattern=r"^[A-Za-z0-9_.-]+$")
    role: Literal[Role.MANAGER, Role.TECH, Role.REQUESTER]


class ApiKeyPublic(_Out):
    name: str
    prefix: str
    role: Role
    created_by: str
    created_at: datetime
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyPublic):
    key: str
