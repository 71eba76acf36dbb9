"""Pydantic schemas of purchase orders (``/api/v1/purchase-orders``)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, Field

from maintenance.purchasing.models import PurchaseOrderStatus
from maintenance.shared.base import InputModel
from maintenance.shared.fields import Code, Money, Qty

__all__ = [
    "PurchaseOrderCreate",
    "PurchaseOrderPublic",
    "PurchaseOrderReceive",
    "PurchaseOrdersPage",
]


# -- purchase orders ------------------------------------------------------------------------------
class PurchaseOrderCreate(InputModel):
    supplier: Code
    sku: Annotated[str, Field(min_length=1, max_length=64)]
    storeroom: Annotated[str, Field(min_length=1, max_length=64)]
    quantity: Qty
    unit_cost: Money | None = None
    expected_at: str = Field(min_length=1, max_length=40, description="ISO 8601 or epoch s")


class PurchaseOrderReceive(InputModel):
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
