"""Keep an asset's status in step with the repair work done on it.

Availability (the share of time an asset is not ``under_repair``) is only worth reporting if the
status follows the work without anyone remembering to flip it. So when a corrective, inspection
or request order on a piece of equipment is *started*, the asset goes ``under_repair`` (from
``in_service`` or ``standby``), and when the last such order on it is *resolved* or *cancelled*,
it returns to the status it had before. Each move is an ordinary, attributed entry in the
asset's status history that names the order. It lives with the work orders, which call it: it is
their bridge to the register, reading orders and moving assets through
:func:`maintenance.assets.lifecycle.record_status`.

What it leaves alone, on purpose:

* preventive orders: planned servicing is usually done while the equipment runs, and a plan
  that needs it stopped says so in its checklist;
* an asset someone put ``under_repair`` by hand (no order on the history entry): a person
  decided, so a person decides when it is back;
* buildings, floors and zones: a leaking ceiling in a zone is not the zone out of service;
* planned or decommissioned assets, and a clock earlier than the asset's last recorded change
  (history stays in time order; the move is skipped, not faked).
"""

from __future__ import annotations

import logging
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from maintenance.assets.lifecycle import record_status
from maintenance.assets.models import Asset, AssetLevel, AssetStatus, AssetStatusChange
from maintenance.work_orders.models import WorkOrder, WorkOrderStatus, WorkOrderType

__all__ = ["follow_work_order"]

log = logging.getLogger(__name__)

#: Statuses an asset may be taken out of when repair work starts on it.
_RUNNING = (AssetStatus.IN_SERVICE, AssetStatus.STANDBY)
#: Order states in which repair work is under way.
_WORKING = (WorkOrderStatus.IN_PROGRESS, WorkOrderStatus.ON_HOLD)


def follow_work_order(
    session: Session, *, order: WorkOrder, action: str, actor: str, now: datetime
) -> AssetStatusChange | None:
    """Move ``order``'s asset for a ``start``, ``resolve`` or ``cancel``; the change, or None.

    Call it in the transaction of the order's transition, before the order's new status is set.
    """
    if order.asset_id is None or order.order_type is WorkOrderType.PREVENTIVE:
        return None
    asset = session.get(Asset, order.asset_id)
    if asset is None or asset.level is not AssetLevel.EQUIPMENT:
        return None
    last = session.scalar(
        sa.select(AssetStatusChange)
        .where(AssetStatusChange.asset_id == asset.id)
        .order_by(AssetStatusChange.ts.desc(), AssetStatusChange.id.desc())
        .limit(1)
    )
    if last is not None and now < last.ts:
        log.warning(
            "asset %s: not following work order %d, its clock is before the last status change",
            asset.code,
            order.id,
        )
        return None
    if action == "start" and asset.status in _RUNNING:
        return record_status(
            session,
            asset,
            to=AssetStatus.UNDER_REPAIR,
            actor=actor,
            reason=f"work order #{order.id} started: {order.title}"[:500],
            now=now,
            from_status=asset.status,
            work_order_id=order.id,
        )
    if action in ("resolve", "cancel") and asset.status is AssetStatus.UNDER_REPAIR:
        if last is None or last.work_order_id is None or last.to_status is not asset.status:
            return None  # put under repair by hand: a person brings it back
        if _other_work_under_way(session, asset_id=asset.id, order_id=order.id):
            return None  # the last order to finish returns it
        back = last.from_status if last.from_status in _RUNNING else AssetStatus.IN_SERVICE
        verb = "resolved" if action == "resolve" else "cancelled"
        return record_status(
            session,
            asset,
            to=back,
            actor=actor,
            reason=f"work order #{order.id} {verb}"[:500],
            now=now,
            from_status=asset.status,
            work_order_id=order.id,
        )
    return None


def _other_work_under_way(session: Session, *, asset_id: int, order_id: int) -> bool:
    return (
        session.scalar(
            sa.select(WorkOrder.id)
            .where(
                WorkOrder.asset_id == asset_id,
                WorkOrder.id != order_id,
                WorkOrder.status.in_(_WORKING),
                WorkOrder.order_type != WorkOrderType.PREVENTIVE,
            )
            .limit(1)
        )
        is not None
    )
