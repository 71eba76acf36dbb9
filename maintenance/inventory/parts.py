"""Parts booked on a work order by the people who did the work.

Who may book parts on which order is who may book time on it
(:mod:`maintenance.work_orders.labour`); the parts themselves go through the stock ledger
(:func:`maintenance.inventory.service.issue_to_work_order`), which records the booking as an
event in the order's audit trail. This lives with the inventory, above the work orders, because
it moves stock.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from maintenance.inventory import service as inventory
from maintenance.inventory.models import StockMovement
from maintenance.shared.actors import Actor
from maintenance.work_orders.labour import _bookable

__all__ = ["issue_parts"]


def issue_parts(
    session: Session,
    *,
    work_order_id: int,
    actor: Actor,
    sku: str,
    storeroom: str,
    quantity: Decimal,
    now: datetime | None = None,
) -> StockMovement:
    """Issue parts from stock to an order, contractors included (the ledger checks that the
    order is outsourced to the contractor's company, as it checks a technician's assignment)."""
    try:
        _bookable(session, work_order_id=work_order_id, actor=actor)
    except Exception:
        session.rollback()
        raise
    return inventory.issue_to_work_order(
        session,
        sku=sku,
        storeroom=storeroom,
        quantity=quantity,
        work_order_id=work_order_id,
        actor=actor,
        now=now,
    )
