"""Pydantic schemas of the HTTP API, named as the FastAPI template does."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from maintenance.models import Priority, WorkOrderSource, WorkOrderStatus

__all__ = [
    "AssetPublic",
    "DevicePublic",
    "ReadingPublic",
    "ReadingsPage",
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


class WorkOrderPublic(_Out):
    id: int
    title: str
    description: str
    status: WorkOrderStatus
    priority: Priority
    source: WorkOrderSource
    rule: str | None
    device: str | None
    asset: str | None
    assignee: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    closed_at: datetime | None
    allowed_actions: list[str]
    events: list[WorkOrderEventPublic] | None = None


class WorkOrdersPage(BaseModel):
    items: list[WorkOrderPublic]
    total: int


class WorkOrderCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=10_000)
    priority: Priority = Priority.P3
    asset: str | None = Field(default=None, min_length=1, max_length=200)


class TransitionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(default="", max_length=10_000)
    assignee: str | None = Field(default=None, min_length=1, max_length=64)
