"""Pydantic schemas of the supplier and contractor API (``/api/v1/suppliers``, purchase orders,
labour on work orders).

As in :mod:`maintenance.schemas_service`, input models forbid unknown fields and take numbers
only as JSON numbers; money, hours and quantities are decimals returned as JSON strings.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictFloat, StrictInt

from maintenance.models_partners import PurchaseOrderStatus, QualificationStatus, SupplierKind

__all__ = [
    "CertificateAlertPublic",
    "CertificateCreate",
    "CertificatePublic",
    "ContractCreate",
    "ContractPublic",
    "LabourCreate",
    "LabourEntryPublic",
    "LabourPublic",
    "OutsourceRequest",
    "PartsCreate",
    "PurchaseOrderCreate",
    "PurchaseOrderPublic",
    "PurchaseOrderReceive",
    "PurchaseOrdersPage",
    "ReviewCreate",
    "ReviewPublic",
    "ScoreRequest",
    "ScorecardPublic",
    "ScorecardsPage",
    "StatusChangePublic",
    "StatusChangeRequest",
    "SupplierCreate",
    "SupplierPublic",
    "SupplierUpdate",
    "SuppliersPage",
    "WarningsPublic",
]

_MAX = Decimal("1e9")
#: Supplier and contract codes appear in URL paths: no slashes, no spaces.
CODE = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
PERIOD = r"^\d{4}-(0[1-9]|1[0-2])$"


def _json_number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValueError("must be a JSON number")
    return value


Code = Annotated[str, Field(min_length=1, max_length=64, pattern=CODE)]
Period = Annotated[str, Field(pattern=PERIOD, description="a month, YYYY-MM")]
Number = Annotated[StrictFloat | StrictInt, Field(allow_inf_nan=False)]
Qty = Annotated[
    Decimal,
    BeforeValidator(_json_number),
    Field(gt=0, le=_MAX, max_digits=13, decimal_places=3, allow_inf_nan=False),
]
Money = Annotated[
    Decimal,
    BeforeValidator(_json_number),
    Field(ge=0, le=_MAX, max_digits=14, decimal_places=4, allow_inf_nan=False),
]
Category = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[a-z0-9][a-z0-9_-]*$")]
Email = Annotated[str, Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
Id = Annotated[StrictInt, Field(ge=1, le=2**31 - 1)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# -- directory ------------------------------------------------------------------------------------
class SupplierCreate(_In):
    code: Code
    name: str = Field(min_length=1, max_length=200)
    kind: SupplierKind
    categories: list[Category] = Field(default_factory=list, max_length=50)
    contact_name: str = Field(default="", max_length=120)
    email: Email | None = None
    phone: str = Field(default="", max_length=40)
    notes: str = Field(default="", max_length=10_000)


class SupplierUpdate(_In):
    """Only the fields sent change; the status changes through ``POST .../status``."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    kind: SupplierKind | None = None
    categories: list[Category] | None = Field(default=None, max_length=50)
    contact_name: str | None = Field(default=None, max_length=120)
    email: Email | None = None
    phone: str | None = Field(default=None, max_length=40)
    notes: str | None = Field(default=None, max_length=10_000)


class SupplierPublic(_Out):
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


class StatusChangeRequest(_In):
    status: QualificationStatus
    reason: str = Field(default="", max_length=2000)


class StatusChangePublic(_Out):
    ts: datetime
    from_status: str | None
    to_status: str
    actor: str
    reason: str


# -- certificates ---------------------------------------------------------------------------------
class CertificateCreate(_In):
    name: str = Field(min_length=1, max_length=200)
    number: str = Field(default="", max_length=100)
    issued_on: date | None = None
    expires_on: date


class CertificatePublic(_Out):
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
class ContractCreate(_In):
    code: Code
    title: str = Field(min_length=1, max_length=200)
    scope: str = Field(default="", max_length=10_000)
    starts_on: date
    ends_on: date
    annual_value: Money | None = None
    response_target_h: Annotated[Number, Field(gt=0, le=8760)] | None = None
    resolution_target_h: Annotated[Number, Field(gt=0, le=8760)] | None = None


class ContractPublic(_Out):
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
class ReviewCreate(_In):
    period: Period
    score: Annotated[Number, Field(ge=0, le=100)]
    comment: str = Field(default="", max_length=5000)


class ReviewPublic(_Out):
    period: str
    score: float
    comment: str
    reviewer: str
    created_at: datetime


class ScoreRequest(_In):
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


# -- purchase orders ------------------------------------------------------------------------------
class PurchaseOrderCreate(_In):
    supplier: Code
    sku: Annotated[str, Field(min_length=1, max_length=64)]
    storeroom: Annotated[str, Field(min_length=1, max_length=64)]
    quantity: Qty
    unit_cost: Money | None = None
    expected_at: str = Field(min_length=1, max_length=40, description="ISO 8601 or epoch s")


class PurchaseOrderReceive(_In):
    quantity: Qty | None = None
    #: Close the PO even if less than ordered arrived (the rest is not coming).
    final: bool = False


class PurchaseOrderPublic(BaseModel):
    id: int
    supplier: str
    sku: str
    storeroom: str
    quantity: Decimal
    unit_cost: Decimal
    ordered_at: datetime
    expected_at: datetime
    status: PurchaseOrderStatus
    received_at: datetime | None
    quantity_received: Decimal | None
    created_by: str


class PurchaseOrdersPage(BaseModel):
    items: list[PurchaseOrderPublic]
    total: int
    limit: int
    offset: int


# -- work orders: outsourcing, labour, parts ------------------------------------------------------
class OutsourceRequest(_In):
    """``contractor`` = a qualified contractor's code, or null to take the order back in-house."""

    contractor: Code | None
    note: str = Field(default="", max_length=2000)


class LabourCreate(_In):
    hours: Annotated[
        Decimal,
        BeforeValidator(_json_number),
        Field(gt=0, le=744, max_digits=13, decimal_places=3, allow_inf_nan=False),
    ]
    worker: str | None = Field(default=None, min_length=1, max_length=64)
    hourly_rate: Money = Decimal(0)
    note: str = Field(default="", max_length=2000)


class LabourEntryPublic(_Out):
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


class PartsCreate(_In):
    sku: Annotated[str, Field(min_length=1, max_length=64)]
    storeroom: Annotated[str, Field(min_length=1, max_length=64)]
    quantity: Qty
