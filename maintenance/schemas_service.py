"""Pydantic schemas of the PM and inventory API (``/api/v1/pm``, ``/api/v1/inventory``).

Input models forbid unknown fields and take numbers only as JSON numbers (``"5"`` and ``true``
are refused with 422, not coerced): a quantity sent as text is more likely a client bug than a
wish. Quantities and money are decimals and are returned as JSON strings, so no cent is lost
to binary floating point on the way.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
)

from maintenance.models_service import (
    PmTriggerKind,
    ScheduleMode,
    StockCategory,
    StockMovementKind,
    TimeUnit,
)

__all__ = [
    "AdjustmentCreate",
    "CompliancePublic",
    "DeadStockPublic",
    "ForecastItemPublic",
    "GeneratedOrderPublic",
    "IssueCreate",
    "LowStockPublic",
    "MovementPublic",
    "MovementsPage",
    "PlanPart",
    "PmPlanCreate",
    "PmPlanPublic",
    "PmPlansPage",
    "ReceiptCreate",
    "ReorderGroupPublic",
    "ReorderLinePublic",
    "StockItemCreate",
    "StockItemPublic",
    "StockItemsPage",
    "StockLevelPublic",
    "StockLevelsPage",
    "StoreroomCreate",
    "StoreroomPublic",
    "TransferCreate",
    "ValuationPublic",
    "WorkOrderPartsPublic",
]

_MAX = Decimal("1e9")
_CODE = r"^[A-Za-z0-9][A-Za-z0-9._/:-]{0,63}$"


def _json_number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValueError("must be a JSON number")
    return value


Number = Annotated[StrictFloat | StrictInt, Field(allow_inf_nan=False)]
Qty = Annotated[
    Decimal,
    BeforeValidator(_json_number),
    Field(gt=0, le=_MAX, max_digits=13, decimal_places=3, allow_inf_nan=False),
]
Code = Annotated[str, Field(min_length=1, max_length=64, pattern=_CODE)]
Id = Annotated[StrictInt, Field(ge=1, le=2**31 - 1)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# -- PM -------------------------------------------------------------------------------------------
class PlanPart(_In):
    """A part each of the plan's orders needs, reserved when the order is generated."""

    sku: Code
    quantity: Qty
    storeroom: Code


class PmPlanCreate(_In):
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


class PmPlanPublic(_Out):
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


class ForecastItemPublic(_Out):
    plan_id: int
    plan: str
    trigger: PmTriggerKind
    asset: str | None
    due_at: datetime
    estimated: bool
    estimated_labour_h: float
    work_order_id: int | None


class GeneratedOrderPublic(_Out):
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


# -- inventory ------------------------------------------------------------------------------------
class StockItemCreate(_In):
    sku: Code
    name: str = Field(min_length=1, max_length=200)
    unit: str = Field(default="pcs", min_length=1, max_length=16)
    category: StockCategory
    unit_cost: Annotated[
        Decimal,
        BeforeValidator(_json_number),
        Field(ge=0, le=_MAX, max_digits=14, decimal_places=4, allow_inf_nan=False),
    ] = Decimal(0)
    reorder_point: Annotated[
        Decimal,
        BeforeValidator(_json_number),
        Field(ge=0, le=_MAX, decimal_places=3, allow_inf_nan=False),
    ] = Decimal(0)
    reorder_qty: Annotated[
        Decimal,
        BeforeValidator(_json_number),
        Field(ge=0, le=_MAX, decimal_places=3, allow_inf_nan=False),
    ] = Decimal(0)


class StockItemPublic(_Out):
    id: int
    sku: str
    name: str
    unit: str
    category: StockCategory
    unit_cost: Decimal
    reorder_point: Decimal
    reorder_qty: Decimal


class StockItemsPage(BaseModel):
    items: list[StockItemPublic]
    total: int
    limit: int
    offset: int


class StoreroomCreate(_In):
    code: Code
    name: str = Field(min_length=1, max_length=200)


class StoreroomPublic(_Out):
    id: int
    code: str
    name: str


class ReceiptCreate(_In):
    sku: Code
    storeroom: Code
    quantity: Qty
    reason: str = Field(default="", max_length=500)


class IssueCreate(_In):
    """Parts to (issue) or back from (return) a work order."""

    sku: Code
    storeroom: Code
    quantity: Qty
    work_order_id: Id


class AdjustmentCreate(_In):
    sku: Code
    storeroom: Code
    delta: Annotated[
        Decimal,
        BeforeValidator(_json_number),
        Field(ge=-_MAX, le=_MAX, max_digits=13, decimal_places=3, allow_inf_nan=False),
    ]
    reason: str = Field(min_length=3, max_length=500)


class TransferCreate(_In):
    sku: Code
    source: Code
    target: Code
    quantity: Qty


class MovementPublic(BaseModel):
    id: int
    ts: datetime
    kind: StockMovementKind
    sku: str
    storeroom: str
    quantity: Decimal
    unit_cost: Decimal
    work_order_id: int | None
    reason: str
    transfer_id: str | None
    actor: str


class MovementsPage(BaseModel):
    items: list[MovementPublic]
    total: int
    limit: int
    offset: int


class StockLevelPublic(BaseModel):
    sku: str
    name: str
    storeroom: str
    on_hand: Decimal
    unit: str
    last_movement_at: datetime | None


class StockLevelsPage(BaseModel):
    items: list[StockLevelPublic]
    total: int
    limit: int
    offset: int


class LowStockPublic(_Out):
    sku: str
    name: str
    unit: str
    on_hand: Decimal
    reorder_point: Decimal
    suggested_qty: Decimal
    estimated_cost: Decimal


class ReorderLinePublic(_Out):
    sku: str
    name: str
    unit: str
    on_hand: Decimal
    reserved: Decimal
    available: Decimal
    reorder_point: Decimal
    max_stock: Decimal
    suggested_qty: Decimal
    unit_cost: Decimal
    line_value: Decimal


class ReorderGroupPublic(_Out):
    """What to order from one supplier (``supplier_id`` null: no preferred supplier)."""

    supplier_id: int | None
    supplier_code: str | None
    supplier_name: str
    lines: list[ReorderLinePublic]
    total_value: Decimal


class DeadStockPublic(_Out):
    sku: str
    name: str
    on_hand: Decimal
    value: Decimal
    last_movement_at: datetime | None


class ValuationPublic(_Out):
    by_category: dict[str, Decimal]
    total: Decimal


class WorkOrderPartsPublic(BaseModel):
    work_order_id: int
    movements: list[MovementPublic]
    parts_cost: Decimal
