"""What the work-order life cycle tells other domains, through hooks.

``order_opened_by_rule`` is published once a rule's alert has opened a new order (PM may open
a condition plan's order for it); ``order_moved`` before an order's status changes (inventory
consumes or releases the parts reserved for it on resolve or cancel). Both run inside the
transaction of the change; see :mod:`maintenance.shared.hooks`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from maintenance.shared.hooks import Hook

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from maintenance.work_orders.models import WorkOrder

__all__ = ["OrderMoved", "OrderOpened", "order_moved", "order_opened_by_rule"]


@dataclass(frozen=True, slots=True)
class OrderOpened:
    """A new order, flushed but not yet committed."""

    session: Session
    order: WorkOrder
    now: datetime


@dataclass(frozen=True, slots=True)
class OrderMoved:
    """An order about to take ``action`` (``resolve``, ``cancel``, ...) by ``actor``."""

    session: Session
    order: WorkOrder
    action: str
    actor: str
    now: datetime


order_opened_by_rule: Hook[OrderOpened] = Hook("order_opened_by_rule")
order_moved: Hook[OrderMoved] = Hook("order_moved")
