"""Pydantic schemas of the supplier and contractor directory (``/api/v1/suppliers``)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, Field

from maintenance.shared.base import InputModel, OutputModel
from maintenance.shared.fields import Code, Money, Number, Period
from maintenance.suppliers.models import QualificationStatus, SupplierKind

__all__ = [
    "CertificateAlertPublic",
    "CertificateCreate",
    "CertificatePublic",
    "ContractCreate",
    "ContractPublic",
    "ReviewCreate",
    "ReviewPublic",
    "StatusChangePublic",
    "StatusChangeRequest",
    "SupplierCreate",
    "SupplierPublic",
    "SupplierUpdate",
    "SuppliersPage",
    "WarningsPublic",
]

Category = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[a-z0-9][a-z0-9_-]*$")]
Email = Annotated[str, Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]


# -- directory ------------------------------------------------------------------------------------
class SupplierCreate(InputModel):
    code: Code
    name: str = Field(min_length=1, max_length=200)
    kind: SupplierKind
    categories: list[Category] = Field(default_factory=list, max_length=50)
    contact_name: str = Field(default="", max_length=120)
    email: Email | None = None
    phone: str = Field(default="", max_length=40)
    notes: str = Field(default="", max_length=10_000)


class SupplierUpdate(InputModel):
    """Only the fields sent change; the status changes through ``POST .../status``."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    kind: SupplierKind | None = None
    categories: list[Category] | None = Field(default=None, max_length=50)
    contact_name: str | None = Field(default=None, max_length=120)
    email: Email | None = None
    phone: str | None = Field(default=None, max_length=40)
    notes: str | None = Field(default=None, max_length=10_000)


class SupplierPublic(OutputModel):
    id: int
    code: str
    name: str
    kind: SupplierKind
    status: QualificationStatus
    categories: list[str]
    contact_name: str
    email: str | None
    phone: str
    notes: str
    flagged_for_review_at: datetime | None
    created_at: datetime


class SuppliersPage(BaseModel):
    items: list[SupplierPublic]
    total: int
    limit: int
    offset: int


class StatusChangeRequest(InputModel):
    status: QualificationStatus
    reason: str = Field(default="", max_length=2000)


class StatusChangePublic(OutputModel):
    ts: datetime
    from_status: str | None
    to_status: str
    actor: str
    reason: str


# -- certificates ---------------------------------------------------------------------------------
class CertificateCreate(InputModel):
    name: str = Field(min_length=1, max_length=200)
    number: str = Field(default="", max_length=100)
    issued_on: date | None = None
    expires_on: date


class CertificatePublic(OutputModel):
    id: int
    name: str
    number: str
    issued_on: date | None
    expires_on: date


class CertificateAlertPublic(BaseModel):
    supplier: str
    supplier_name: str
    certificate: CertificatePublic
    days_left: int
    expired: bool


class WarningsPublic(BaseModel):
    """What a warning run put in the outbox (already-warned certificates are not repeated)."""

    window_days: int
    warned: list[CertificateAlertPublic]


# -- contracts ------------------------------------------------------------------------------------
class ContractCreate(InputModel):
    code: Code
    title: str = Field(min_length=1, max_length=200)
    scope: str = Field(default="", max_length=10_000)
    starts_on: date
    ends_on: date
    annual_value: Money | None = None
    response_target_h: Annotated[Number, Field(gt=0, le=8760)] | None = None
    resolution_target_h: Annotated[Number, Field(gt=0, le=8760)] | None = None


class ContractPublic(OutputModel):
    id: int
    code: str
    title: str
    scope: str
    starts_on: date
    ends_on: date
    annual_value: Decimal | None
    response_target_h: float | None
    resolution_target_h: float | None


# -- reviews and scorecards -----------------------------------------------------------------------
class ReviewCreate(InputModel):
    period: Period
    score: Annotated[Number, Field(ge=0, le=100)]
    comment: str = Field(default="", max_length=5000)


class ReviewPublic(OutputModel):
    period: str
    score: float
    comment: str
    reviewer: str
    created_at: datetime
