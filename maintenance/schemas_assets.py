"""Pydantic schemas of the asset register's HTTP API (life cycle, figures, CSV errors).

Inputs are strict (``extra="forbid"``, bounded strings matching the column sizes, money as
``Decimal`` with two places, dates as ISO dates) so a malformed request is a 422 that names the
field, never a database error.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from maintenance.models import AssetLevel, AssetStatus, Criticality, WorkOrderStatus, WorkOrderType
from maintenance.models_assets import DocumentKind
from maintenance.services.asset_lifecycle import AssetFigures

__all__ = [
    "AssetCreate",
    "AssetDocumentPublic",
    "AssetFiguresPublic",
    "AssetHistoryPublic",
    "AssetLifecyclePublic",
    "AssetStatusChangeCreate",
    "AssetStatusChangePublic",
    "AssetTreeNode",
    "AssetUpdate",
    "ImportErrorPublic",
    "ImportResultPublic",
    "MaintenanceLinePublic",
    "ReplacementCandidatePublic",
]

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


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class AssetCreate(_In):
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


class AssetUpdate(_In):
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


class AssetLifecyclePublic(_Out):
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


class AssetStatusChangeCreate(_In):
    to: AssetStatus
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    work_order_id: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None


class AssetStatusChangePublic(_Out):
    id: int
    ts: datetime
    from_status: AssetStatus | None
    to_status: AssetStatus
    actor: str
    reason: str
    work_order_id: int | None


class MaintenanceLinePublic(_Out):
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


class AssetTreeNode(BaseModel):
    code: str
    name: str
    level: AssetLevel
    status: AssetStatus
    children: list[AssetTreeNode] = []


class AssetDocumentPublic(_Out):
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


class ImportErrorPublic(_Out):
    line: int
    column: str
    reason: str


class ImportResultPublic(BaseModel):
    created: int
    updated: int
    status_changes: int
