"""Pydantic schemas of the inventory API (``/api/v1/inventory``) and parts booked on orders."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, Field

from maintenance.inventory.models import StockCategory, StockMovementKind
from maintenance.shared.base import InputModel, OutputModel
from maintenance.shared.fields import MAX_AMOUNT, Id, Qty, json_number
from maintenance.shared.fields import RecordCode as Code

__all__ = [
    "AdjustmentCreate",
    "DeadStockPublic",
    "IssueCreate",
    "LowStockPublic",
    "MovementPublic",
    "MovementsPage",
    "PartsCreate",
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


class PartsCreate(InputModel):
    sku: Annotated[str, Field(min_length=1, max_length=64)]
    storeroom: Annotated[str, Field(min_length=1, max_length=64)]
    quantity: Qty


# -- inventory ------------------------------------------------------------------------------------
class StockItemCreate(InputModel):
    sku: Code
    name: str = Field(min_length=1, max_length=200)
    unit: str = Field(default="pcs", min_length=1, max_length=16)
    category: StockCategory
    unit_cost: Annotated[
        Decimal,
        BeforeValidator(json_number),
        Field(ge=0, le=MAX_AMOUNT, max_digits=14, decimal_places=4, allow_inf_nan=False),
    ] = Decimal(0)
    reorder_point: Annotated[
        Decimal,
        BeforeValidator(json_number),
        Field(ge=0, le=MAX_AMOUNT, decimal_places=3, allow_inf_nan=False),
    ] = Decimal(0)
    reorder_qty: Annotated[
        Decimal,
        BeforeValidator(json_number),
        Field(ge=0, le=MAX_AMOUNT, decimal_places=3, allow_inf_nan=False),
    ] = Decimal(0)


class StockItemPublic(OutputModel):
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


class StoreroomCreate(InputModel):
    code: Code
    name: str = Field(min_length=1, max_length=200)


class StoreroomPublic(OutputModel):
    id: int
    code: str
    name: str


class ReceiptCreate(InputModel):
    sku: Code
    storeroom: Code
    quantity: Qty
    reason: str = Field(default="", max_length=500)


class IssueCreate(InputModel):
    """Parts to (issue) or back from (return) a work order."""

    sku: Code
    storeroom: Code
    quantity: Qty
    work_order_id: Id


class AdjustmentCreate(InputModel):
    sku: Code
    storeroom: Code
    delta: Annotated[
        Decimal,
        BeforeValidator(json_number),
        Field(ge=-MAX_AMOUNT, le=MAX_AMOUNT, max_digits=13, decimal_places=3, allow_inf_nan=False),
    ]
    reason: str = Field(min_length=3, max_length=500)


class TransferCreate(InputModel):
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


class LowStockPublic(OutputModel):
    sku: str
    name: str
    unit: str
    on_hand: Decimal
    reorder_point: Decimal
    suggested_qty: Decimal
    estimated_cost: Decimal


class ReorderLinePublic(OutputModel):
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


class ReorderGroupPublic(OutputModel):
    """What to order from one supplier (``supplier_id`` null: no preferred supplier)."""

    supplier_id: int | None
    supplier_code: str | None
    supplier_name: str
    lines: list[ReorderLinePublic]
    total_value: Decimal


class DeadStockPublic(OutputModel):
    sku: str
    name: str
    on_hand: Decimal
    value: Decimal
    last_movement_at: datetime | None


class ValuationPublic(OutputModel):
    by_category: dict[str, Decimal]
    total: Decimal


class WorkOrderPartsPublic(BaseModel):
    work_order_id: int
    movements: list[MovementPublic]
    parts_cost: Decimal
