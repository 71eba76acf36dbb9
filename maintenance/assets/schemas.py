"""Pydantic schemas of the asset register and device API (life cycle, documents, CSV, readings).

An asset's figures, maintenance history and replacement plan are read-side views:
:mod:`maintenance.insights.schemas`.

Inputs are strict (``extra="forbid"``, bounded strings matching the code pattern)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import (
    BaseModel,
    Field,
    StringConstraints,
)

from maintenance.assets.models import AssetLevel, AssetStatus, Criticality, DocumentKind
from maintenance.shared.base import InputModel, OutputModel

__all__ = [
    "AssetCreate",
    "AssetDocumentPublic",
    "AssetLifecyclePublic",
    "AssetPublic",
    "AssetStatusChangeCreate",
    "AssetStatusChangePublic",
    "AssetTreeNode",
    "AssetUpdate",
    "DevicePublic",
    "ImportErrorPublic",
    "ImportResultPublic",
    "ReadingPublic",
    "ReadingsPage",
]


class AssetPublic(OutputModel):
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


Code = Annotated[
    str, StringConstraints(min_length=1, max_length=200, pattern=r"^[\w][\w.:-]{0,199}$")
]
SiteCode = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[\w][\w.:-]{0,63}$")
]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Text64 = Annotated[str, StringConstraints(max_length=64)]
Text120 = Annotated[str, StringConstraints(max_length=120)]
Text200 = Annotated[str, StringConstraints(max_length=200)]
MoneyIn = Annotated[Decimal, Field(ge=0, le=Decimal("999999999999.99"), decimal_places=2)]
Years = Annotated[float, Field(gt=0, le=200, allow_inf_nan=False)]


class AssetCreate(InputModel):
    code: Code
    name: Name
    level: AssetLevel = AssetLevel.EQUIPMENT
    parent: Code | None = None
    site: SiteCode | None = None
    asset_type: Text64 = "unknown"
    location: Text200 = ""
    category: Text64 = ""
    manufacturer: Text120 = ""
    model: Text120 = ""
    serial_number: Text120 = ""
    installed_on: date | None = None
    commissioned_on: date | None = None
    warranty_end: date | None = None
    expected_life_years: Years | None = None
    purchase_cost: MoneyIn | None = None
    replacement_cost: MoneyIn | None = None
    criticality: Criticality = Criticality.C
    status: AssetStatus = AssetStatus.IN_SERVICE


class AssetUpdate(InputModel):
    """Only the fields sent change; ``null`` clears an optional one. Status moves separately."""

    name: Name | None = None
    level: AssetLevel | None = None
    parent: Code | None = None
    site: SiteCode | None = None
    asset_type: Text64 | None = None
    location: Text200 | None = None
    category: Text64 | None = None
    manufacturer: Text120 | None = None
    model: Text120 | None = None
    serial_number: Text120 | None = None
    installed_on: date | None = None
    commissioned_on: date | None = None
    warranty_end: date | None = None
    expected_life_years: Years | None = None
    purchase_cost: MoneyIn | None = None
    replacement_cost: MoneyIn | None = None
    criticality: Criticality | None = None


class AssetLifecyclePublic(OutputModel):
    """An asset with its life-cycle fields (the list's fields plus the register's)."""

    id: int
    code: str
    name: str
    asset_type: str
    location: str
    devices: list[str] = []
    level: AssetLevel
    parent: str | None = None
    site: str | None = None
    category: str
    manufacturer: str
    model: str
    serial_number: str
    installed_on: date | None
    commissioned_on: date | None
    warranty_end: date | None
    expected_life_years: float | None
    purchase_cost: Decimal | None
    replacement_cost: Decimal | None
    criticality: Criticality
    status: AssetStatus
    status_since: datetime | None


class AssetStatusChangeCreate(InputModel):
    to: AssetStatus
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    work_order_id: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None


class AssetStatusChangePublic(OutputModel):
    id: int
    ts: datetime
    from_status: AssetStatus | None
    to_status: AssetStatus
    actor: str
    reason: str
    work_order_id: int | None


class AssetTreeNode(BaseModel):
    code: str
    name: str
    level: AssetLevel
    status: AssetStatus
    children: list[AssetTreeNode] = []


class AssetDocumentPublic(OutputModel):
    id: int
    kind: DocumentKind
    title: str
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    valid_until: date | None
    uploaded_by: str
    created_at: datetime


class ImportErrorPublic(OutputModel):
    line: int
    column: str
    reason: str


class ImportResultPublic(BaseModel):
    created: int
    updated: int
    status_changes: int
