"""Spare parts and supplies: an append-only stock ledger whose balance never goes negative.

Every movement is one transaction that (1) locks the (item, storeroom) balance row with
``SELECT ... FOR UPDATE`` (PostgreSQL; SQLite transactions already hold the write lock from
``BEGIN IMMEDIATE``), (2) checks the new balance is not negative, (3) updates the balance and
(4) appends the :class:`StockMovement`. Two technicians issuing the last filter at the same
instant queue up on that row lock: the first takes it, the second sees zero and gets
:class:`InsufficientStock`. The balance's CHECK constraint backs this up in the database.

Stock on hand is the sum of the ledger; the balance row is that sum kept current in the same
transaction (``ledger_on_hand`` recomputes it for audits). Valuation is at each item's current
unit cost; an issue charges the order the unit cost at the time of the issue.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_CEILING, Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from facility.core.errors import Conflict, Forbidden, Invalid
from maintenance.inventory.models import (
    ReservationStatus,
    StockBalance,
    StockCategory,
    StockItem,
    StockMovement,
    StockMovementKind,
    StockReservation,
    Storeroom,
)
from maintenance.notifications.models import OutboxMessage
from maintenance.shared.actors import Actor
from maintenance.shared.vocabulary import Role
from maintenance.suppliers.models import Supplier
from maintenance.work_orders.events import OrderMoved
from maintenance.work_orders.models import OPEN_STATES, WorkOrder
from maintenance.work_orders.service import get_work_order, record_event, team_of

__all__ = [
    "DeadStock",
    "InsufficientStock",
    "LowStock",
    "ReorderGroup",
    "ReorderLine",
    "StockError",
    "Valuation",
    "adjust",
    "create_item",
    "create_storeroom",
    "dead_stock",
    "issue_to_work_order",
    "ledger_on_hand",
    "list_items",
    "list_movements",
    "list_stock",
    "low_stock",
    "on_order_moved",
    "receive",
    "reorder_suggestions",
    "reserve_parts",
    "reserved_parts",
    "return_from_work_order",
    "settle_reservations",
    "transfer",
    "validate_parts",
    "valuation",
    "work_order_parts",
]

log = logging.getLogger(__name__)

_MANAGERS = frozenset({Role.ADMIN, Role.MANAGER})
_MAX_QTY = Decimal("1e9")
_CENT = Decimal("0.01")


def _money(value: Decimal) -> Decimal:
    """Report money to the cent (the ledger keeps four places)."""
    return Decimal(value).quantize(_CENT)


class StockError(Invalid):
    """A stock request is malformed or refers to something unknown."""


class StockConflict(StockError, Conflict):
    """An item or storeroom with that code exists already."""


class InsufficientStock(StockError, Conflict):
    """The storeroom holds less than the movement takes out."""


# -- master data ----------------------------------------------------------------------------------
def create_item(
    session: Session,
    *,
    sku: str,
    name: str,
    category: StockCategory,
    unit: str = "pcs",
    unit_cost: Decimal = Decimal(0),
    reorder_point: Decimal = Decimal(0),
    reorder_qty: Decimal = Decimal(0),
) -> StockItem:
    for label, value in (
        ("unit_cost", unit_cost),
        ("reorder_point", reorder_point),
        ("reorder_qty", reorder_qty),
    ):
        if value < 0:
            raise StockError(f"{label} must not be negative, got {value}")
    item = StockItem(
        sku=sku,
        name=name,
        category=category,
        unit=unit,
        unit_cost=unit_cost,
        reorder_point=reorder_point,
        reorder_qty=reorder_qty,
    )
    session.add(item)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise StockConflict(f"an item with SKU {sku[:64]!r} exists") from None
    return item


def create_storeroom(session: Session, *, code: str, name: str) -> Storeroom:
    room = Storeroom(code=code, name=name)
    session.add(room)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise StockConflict(f"a storeroom with code {code[:64]!r} exists") from None
    return room


def list_items(session: Session, *, limit: int, offset: int) -> tuple[list[StockItem], int]:
    total = session.scalar(sa.select(sa.func.count()).select_from(StockItem)) or 0
    items = session.scalars(
        sa.select(StockItem).order_by(StockItem.sku).limit(limit).offset(offset)
    )
    return list(items), total


def _item(session: Session, sku: str) -> StockItem:
    item = session.scalar(sa.select(StockItem).where(StockItem.sku == sku))
    if item is None:
        raise StockError(
            f"item {sku[:64]!r} does not exist; GET /api/v1/inventory/items lists them"
        )
    return item


def _room(session: Session, code: str) -> Storeroom:
    room = session.scalar(sa.select(Storeroom).where(Storeroom.code == code))
    if room is None:
        raise StockError(f"storeroom {code[:64]!r} does not exist")
    return room


# -- the ledger -----------------------------------------------------------------------------------
def _locked_balance(session: Session, item: StockItem, room: Storeroom) -> StockBalance:
    """The balance row, created if missing, locked for the rest of the transaction."""
    key = {"item_id": item.id, "storeroom_id": room.id}
    query = (
        sa.select(StockBalance)
        .filter_by(**key)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    balance = session.scalar(query)
    if balance is None:
        try:
            with session.begin_nested():
                session.add(StockBalance(on_hand=Decimal(0), **key))
                session.flush()
        except IntegrityError:
            pass  # a racing movement created it first; lock theirs
        balance = session.scalar(query)
        assert balance is not None
    return balance


def _move(
    session: Session,
    *,
    kind: StockMovementKind,
    item: StockItem,
    room: Storeroom,
    delta: Decimal,
    actor: str,
    now: datetime,
    work_order_id: int | None = None,
    reason: str = "",
    transfer_id: str | None = None,
    supplier_id: int | None = None,
    purchase_order_id: int | None = None,
) -> StockMovement:
    """Apply one signed movement in the caller's transaction (the caller commits).

    A movement that takes the item's total stock from above its reorder point to at or below
    it queues one ``stock_low`` notification in the same transaction (transfers move stock
    between storerooms and never do). The item row is locked first for such movements, so two
    concurrent issues of the last units cannot both miss, or both send, the crossing.
    """
    watch = delta < 0 and item.reorder_point > 0 and kind is not StockMovementKind.TRANSFER_OUT
    if watch:
        session.scalar(sa.select(StockItem.id).where(StockItem.id == item.id).with_for_update())
    balance = _locked_balance(session, item, room)
    new = balance.on_hand + delta
    if new < 0:
        raise InsufficientStock(
            f"{room.code} holds {balance.on_hand.normalize():f} {item.unit} of {item.sku}, "
            f"{(-delta).normalize():f} requested; receive or transfer stock first"
        )
    balance.on_hand = new
    balance.last_movement_at = now
    movement = StockMovement(
        ts=now,
        kind=kind,
        item_id=item.id,
        storeroom_id=room.id,
        quantity=delta,
        unit_cost=item.unit_cost,
        work_order_id=work_order_id,
        reason=reason,
        transfer_id=transfer_id,
        actor=actor,
        supplier_id=supplier_id,
        purchase_order_id=purchase_order_id,
    )
    session.add(movement)
    session.flush()
    if watch:
        _warn_if_low(session, item=item, room=room, delta=delta, actor=actor, now=now)
    return movement


def _warn_if_low(
    session: Session,
    *,
    item: StockItem,
    room: Storeroom,
    delta: Decimal,
    actor: str,
    now: datetime,
) -> None:
    """Queue ``stock_low`` for the managers when this movement crossed the reorder point."""
    total = session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(StockBalance.on_hand), 0)).where(
            StockBalance.item_id == item.id
        )
    )
    after = Decimal(str(total or 0))  # SQLite's SUM may come back as a float
    before = after - delta
    if not (after <= item.reorder_point < before):
        return
    supplier = (
        session.get(Supplier, item.preferred_supplier_id) if item.preferred_supplier_id else None
    )
    payload = {
        "event": "stock_low",
        "key": f"stock_low:{item.id}:{now.isoformat()}",
        "ts": now.isoformat(),
        "sku": item.sku,
        "name": item.name,
        "unit": item.unit,
        "on_hand": f"{after.normalize():f}",
        "reorder_point": f"{item.reorder_point.normalize():f}",
        "quantity": f"{delta.normalize():f}",
        "storeroom": room.code,
        "actor": actor,
        "suggested_qty": f"{_suggested(item, after).normalize():f}",
        "supplier": supplier.code if supplier is not None else "no preferred supplier",
    }
    session.add(
        OutboxMessage(
            created_at=now,
            event="stock_low",
            work_order_id=None,
            recipients=[f"role:{Role.MANAGER.value}"],
            payload=payload,
        )
    )
    log.info("stock of %s fell to %s (reorder point %s)", item.sku, after, item.reorder_point)


def _positive(quantity: Decimal) -> Decimal:
    if not quantity.is_finite() or quantity <= 0 or quantity > _MAX_QTY:
        raise StockError(f"quantity must be a positive number up to {_MAX_QTY:f}, got {quantity}")
    return quantity


def _commit(session: Session) -> None:
    try:
        session.commit()
    except Exception:
        session.rollback()
        raise


def receive(
    session: Session,
    *,
    sku: str,
    storeroom: str,
    quantity: Decimal,
    actor: str,
    reason: str = "",
    now: datetime | None = None,
    supplier_id: int | None = None,
    purchase_order_id: int | None = None,
) -> StockMovement:
    """Goods in (a delivery), optionally from a supplier against a purchase order."""
    try:
        move = _move(
            session,
            kind=StockMovementKind.RECEIPT,
            item=_item(session, sku),
            room=_room(session, storeroom),
            delta=_positive(quantity),
            actor=actor,
            now=now or datetime.now(UTC),
            reason=reason,
            supplier_id=supplier_id,
            purchase_order_id=purchase_order_id,
        )
    except Exception:
        session.rollback()
        raise
    _commit(session)
    return move


def _order_for(session: Session, *, work_order_id: int, actor: Actor) -> WorkOrder:
    """An open order the caller may book parts on: a technician only on their own or their
    team's orders (not the unassigned pool they can see), a contractor's staff on their
    company's orders (the only ones ``get_work_order`` shows them), managers on any."""
    order = get_work_order(session, work_order_id=work_order_id, actor=actor)
    if actor.role is Role.CONTRACTOR:
        if order.contractor_id is None:
            raise Forbidden(f"work order {work_order_id} is not outsourced to you")
    elif actor.role is Role.TECH:
        team = team_of(session, actor)
        if order.assignee != actor.username and (team is None or order.team != team):
            raise Forbidden(
                f"work order {work_order_id} is not assigned to you or your team; "
                "ask a manager to assign it first"
            )
    elif actor.role not in _MANAGERS:
        raise Forbidden("booking parts on orders needs the tech, contractor, manager or admin role")
    if order.status not in OPEN_STATES:
        raise StockError(
            f"work order {work_order_id} is {order.status.value}; parts go to open orders"
        )
    return order


def issue_to_work_order(
    session: Session,
    *,
    sku: str,
    storeroom: str,
    quantity: Decimal,
    work_order_id: int,
    actor: Actor,
    now: datetime | None = None,
) -> StockMovement:
    """Parts out to an order the caller can see; their cost lands on the order."""
    now = now or datetime.now(UTC)
    try:
        order = _order_for(session, work_order_id=work_order_id, actor=actor)
        item = _item(session, sku)
        move = _move(
            session,
            kind=StockMovementKind.ISSUE,
            item=item,
            room=_room(session, storeroom),
            delta=-_positive(quantity),
            actor=actor.username,
            now=now,
            work_order_id=order.id,
        )
        record_event(
            order,
            actor=actor.username,
            kind="parts_issued",
            now=now,
            note=f"{quantity.normalize():f} {item.unit} {item.sku} from {storeroom}",
            data={"sku": item.sku, "quantity": str(quantity), "unit_cost": str(item.unit_cost)},
        )
    except Exception:
        session.rollback()
        raise
    _commit(session)
    return move


def return_from_work_order(
    session: Session,
    *,
    sku: str,
    storeroom: str,
    quantity: Decimal,
    work_order_id: int,
    actor: Actor,
    now: datetime | None = None,
) -> StockMovement:
    """Unused parts back to stock, at most what the order was issued (net) of this item."""
    now = now or datetime.now(UTC)
    try:
        order = _order_for(session, work_order_id=work_order_id, actor=actor)
        item = _item(session, sku)
        net_issued = -(
            session.scalar(
                sa.select(sa.func.coalesce(sa.func.sum(StockMovement.quantity), 0)).where(
                    StockMovement.work_order_id == order.id, StockMovement.item_id == item.id
                )
            )
            or Decimal(0)
        )
        if _positive(quantity) > net_issued:
            raise StockError(
                f"work order {order.id} was issued {Decimal(net_issued).normalize():f} "
                f"{item.unit} of {item.sku}; cannot return {quantity.normalize():f}"
            )
        move = _move(
            session,
            kind=StockMovementKind.RETURN,
            item=item,
            room=_room(session, storeroom),
            delta=quantity,
            actor=actor.username,
            now=now,
            work_order_id=order.id,
        )
        record_event(
            order,
            actor=actor.username,
            kind="parts_returned",
            now=now,
            note=f"{quantity.normalize():f} {item.unit} {item.sku} to {storeroom}",
        )
    except Exception:
        session.rollback()
        raise
    _commit(session)
    return move


def adjust(
    session: Session,
    *,
    sku: str,
    storeroom: str,
    delta: Decimal,
    reason: str,
    actor: Actor,
    now: datetime | None = None,
) -> StockMovement:
    """A stock-take correction: managers and admins only, with a reason, never below zero."""
    if actor.role not in _MANAGERS:
        raise Forbidden("stock adjustments need the manager or admin role")
    if len(reason.strip()) < 3:
        raise StockError("an adjustment needs a reason (what the stock-take found)")
    if delta == 0 or not delta.is_finite() or abs(delta) > _MAX_QTY:
        raise StockError(f"delta must be a non-zero number up to +/-{_MAX_QTY:f}, got {delta}")
    try:
        move = _move(
            session,
            kind=StockMovementKind.ADJUSTMENT,
            item=_item(session, sku),
            room=_room(session, storeroom),
            delta=delta,
            actor=actor.username,
            now=now or datetime.now(UTC),
            reason=reason.strip(),
        )
    except Exception:
        session.rollback()
        raise
    _commit(session)
    return move


def transfer(
    session: Session,
    *,
    sku: str,
    source: str,
    target: str,
    quantity: Decimal,
    actor: str,
    now: datetime | None = None,
) -> tuple[StockMovement, StockMovement]:
    """Move stock between storerooms: two ledger lines sharing a transfer id, one transaction."""
    if source == target:
        raise StockError("source and target storeroom are the same")
    now = now or datetime.now(UTC)
    transfer_id = str(uuid.uuid4())
    try:
        item = _item(session, sku)
        rooms = sorted([_room(session, source), _room(session, target)], key=lambda r: r.id)
        for room in rooms:  # lock in id order: two opposite transfers cannot deadlock
            _locked_balance(session, item, room)
        out = _move(
            session,
            kind=StockMovementKind.TRANSFER_OUT,
            item=item,
            room=_room(session, source),
            delta=-_positive(quantity),
            actor=actor,
            now=now,
            transfer_id=transfer_id,
        )
        into = _move(
            session,
            kind=StockMovementKind.TRANSFER_IN,
            item=item,
            room=_room(session, target),
            delta=quantity,
            actor=actor,
            now=now,
            transfer_id=transfer_id,
        )
    except Exception:
        session.rollback()
        raise
    _commit(session)
    return out, into


# -- reading --------------------------------------------------------------------------------------
def ledger_on_hand(session: Session, *, item_id: int, storeroom_id: int) -> Decimal:
    """Stock on hand recomputed from the ledger (the balance row must always equal it)."""
    total = session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(StockMovement.quantity), 0)).where(
            StockMovement.item_id == item_id, StockMovement.storeroom_id == storeroom_id
        )
    )
    return Decimal(total or 0)


def list_stock(
    session: Session, *, limit: int, offset: int, sku: str | None = None
) -> tuple[list[tuple[StockItem, Storeroom, StockBalance]], int]:
    query = (
        sa.select(StockItem, Storeroom, StockBalance)
        .join(StockBalance, StockBalance.item_id == StockItem.id)
        .join(Storeroom, Storeroom.id == StockBalance.storeroom_id)
    )
    if sku is not None:
        query = query.where(StockItem.sku == sku)
    total = session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    rows = session.execute(
        query.order_by(StockItem.sku, Storeroom.code).limit(limit).offset(offset)
    )
    return [(row[0], row[1], row[2]) for row in rows], total


def list_movements(
    session: Session,
    *,
    limit: int,
    offset: int,
    sku: str | None = None,
    work_order_id: int | None = None,
) -> tuple[list[tuple[StockMovement, str, str]], int]:
    query = (
        sa.select(StockMovement, StockItem.sku, Storeroom.code)
        .join(StockItem, StockItem.id == StockMovement.item_id)
        .join(Storeroom, Storeroom.id == StockMovement.storeroom_id)
    )
    if sku is not None:
        query = query.where(StockItem.sku == sku)
    if work_order_id is not None:
        query = query.where(StockMovement.work_order_id == work_order_id)
    total = session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    rows = session.execute(query.order_by(StockMovement.id).limit(limit).offset(offset))
    return [(row[0], row[1], row[2]) for row in rows], total


def _on_hand_by_item(session: Session) -> dict[int, Decimal]:
    rows = session.execute(
        sa.select(StockBalance.item_id, sa.func.sum(StockBalance.on_hand)).group_by(
            StockBalance.item_id
        )
    )
    return {item_id: Decimal(total or 0) for item_id, total in rows}


@dataclass(frozen=True, slots=True)
class LowStock:
    """An item at or below its reorder point, and how much to order."""

    sku: str
    name: str
    unit: str
    on_hand: Decimal
    reorder_point: Decimal
    suggested_qty: Decimal
    estimated_cost: Decimal


def low_stock(session: Session) -> list[LowStock]:
    """Items whose total on hand (all storerooms) is at or below the reorder point.

    The suggestion is the smallest multiple of the reorder quantity that lifts stock above the
    reorder point (at least one reorder quantity). Items with reorder point 0 are not tracked.
    """
    on_hand = _on_hand_by_item(session)
    result: list[LowStock] = []
    for item in session.scalars(
        sa.select(StockItem).where(StockItem.reorder_point > 0).order_by(StockItem.sku)
    ):
        have = on_hand.get(item.id, Decimal(0))
        if have > item.reorder_point:
            continue
        batch = item.reorder_qty if item.reorder_qty > 0 else item.reorder_point
        batches = max(1, int((item.reorder_point - have) // batch) + 1)
        qty = batch * batches
        result.append(
            LowStock(
                item.sku,
                item.name,
                item.unit,
                have,
                item.reorder_point,
                qty,
                _money(qty * item.unit_cost),
            )
        )
    return result


@dataclass(frozen=True, slots=True)
class DeadStock:
    sku: str
    name: str
    on_hand: Decimal
    value: Decimal
    last_movement_at: datetime | None


def dead_stock(session: Session, *, days: int, now: datetime) -> list[DeadStock]:
    """Items in stock whose last movement (any kind, any storeroom) is older than ``days``."""
    cutoff = now - timedelta(days=days)
    rows = session.execute(
        sa.select(
            StockItem, sa.func.sum(StockBalance.on_hand), sa.func.max(StockBalance.last_movement_at)
        )
        .join(StockBalance, StockBalance.item_id == StockItem.id)
        .group_by(StockItem.id)
        .order_by(StockItem.sku)
    )
    result = []
    for item, total, last in rows:
        have = Decimal(total or 0)
        last_at = _as_utc(last)
        if have > 0 and (last_at is None or last_at < cutoff):
            result.append(
                DeadStock(item.sku, item.name, have, _money(have * item.unit_cost), last_at)
            )
    return result


def _as_utc(value: datetime | str | None) -> datetime | None:
    # max() over a UTC column comes back as text on SQLite, bypassing the column type
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Valuation:
    by_category: dict[str, Decimal]
    total: Decimal


def valuation(session: Session) -> Valuation:
    """Stock on hand x current unit cost, per category and in total."""
    on_hand = _on_hand_by_item(session)
    by_category: dict[str, Decimal] = {c.value: Decimal(0) for c in StockCategory}
    for item in session.scalars(sa.select(StockItem)):
        by_category[item.category.value] += on_hand.get(item.id, Decimal(0)) * item.unit_cost
    total = sum(by_category.values(), Decimal(0))
    return Valuation({k: _money(v) for k, v in by_category.items()}, _money(total))


def work_order_parts(
    session: Session, *, work_order_id: int, actor: Actor
) -> tuple[list[tuple[StockMovement, str, str]], Decimal]:
    """An order's issues and returns, and their net cost (issues minus returns)."""
    get_work_order(session, work_order_id=work_order_id, actor=actor)
    rows = [
        (row[0], row[1], row[2])
        for row in session.execute(
            sa.select(StockMovement, StockItem.sku, Storeroom.code)
            .join(StockItem, StockItem.id == StockMovement.item_id)
            .join(Storeroom, Storeroom.id == StockMovement.storeroom_id)
            .where(StockMovement.work_order_id == work_order_id)
            .order_by(StockMovement.id)
        )
    ]
    cost = sum((-m.quantity * m.unit_cost for m, _, _ in rows), Decimal(0))
    return rows, _money(cost)


# -- reservations for planned work ----------------------------------------------------------------


def validate_parts(session: Session, parts: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """A plan's parts list checked against the item and storeroom masters, normalised to
    ``[{"sku", "quantity" (decimal text), "storeroom"}]``, one line per (item, storeroom)."""
    merged: dict[tuple[str, str], Decimal] = {}
    if len(parts) > 100:
        raise StockError(f"a plan lists at most 100 parts, got {len(parts)}")
    for position, part in enumerate(parts, 1):
        if not isinstance(part, Mapping) or set(part) - {"sku", "quantity", "storeroom"}:
            raise StockError(
                f"part {position} must be {{sku, quantity, storeroom}}, got {part!r:.80}"
            )
        sku, room, raw = part.get("sku"), part.get("storeroom"), part.get("quantity")
        if not isinstance(sku, str) or not isinstance(room, str):
            raise StockError(f"part {position} needs sku and storeroom as text")
        try:
            quantity = _positive(Decimal(str(raw)) if not isinstance(raw, bool) else Decimal("nan"))
        except (InvalidOperation, ValueError):
            raise StockError(
                f"part {position}: quantity {str(raw)[:20]!r} is not a positive number"
            ) from None
        _item(session, sku)
        _room(session, room)
        merged[(sku, room)] = merged.get((sku, room), Decimal(0)) + quantity
    return [
        {"sku": sku, "quantity": f"{qty.normalize():f}", "storeroom": room}
        for (sku, room), qty in merged.items()
    ]


def reserve_parts(
    session: Session,
    *,
    order: WorkOrder,
    parts: Sequence[Mapping[str, Any]],
    actor: str,
    now: datetime,
) -> list[StockReservation]:
    """Hold a planned order's parts, in the caller's transaction (the caller commits).

    ``reserved`` moves under the same balance row lock as ``on_hand`` (locked in item and
    storeroom order, so two planners cannot deadlock). A reservation may exceed what is on
    hand: the planned work is not blocked, and the shortfall shows in
    :func:`reorder_suggestions`. A part whose item or storeroom has since been removed is
    noted in the order's audit trail and skipped.
    """
    lines: list[tuple[StockItem, Storeroom, Decimal]] = []
    for part in parts:
        try:
            item = _item(session, str(part["sku"]))
            room = _room(session, str(part["storeroom"]))
            quantity = _positive(Decimal(str(part["quantity"])))
        except (StockError, KeyError, InvalidOperation) as exc:
            record_event(
                order,
                actor=actor,
                kind="parts_not_reserved",
                now=now,
                note=f"part {dict(part)!r:.120} skipped: {exc}",
            )
            continue
        lines.append((item, room, quantity))
    made: list[StockReservation] = []
    for item, room, quantity in sorted(lines, key=lambda line: (line[0].id, line[1].id)):
        balance = _locked_balance(session, item, room)
        balance.reserved = (balance.reserved or Decimal(0)) + quantity
        reservation = StockReservation(
            work_order_id=order.id,
            item_id=item.id,
            storeroom_id=room.id,
            quantity=quantity,
            status=ReservationStatus.RESERVED,
            created_at=now,
        )
        session.add(reservation)
        made.append(reservation)
        short = quantity - max(balance.on_hand - (balance.reserved - quantity), Decimal(0))
        record_event(
            order,
            actor=actor,
            kind="parts_reserved",
            now=now,
            note=f"{quantity.normalize():f} {item.unit} {item.sku} in {room.code}"
            + (f" ({short.normalize():f} short: reorder)" if short > 0 else ""),
            data={"sku": item.sku, "storeroom": room.code, "quantity": str(quantity)},
        )
    session.flush()
    return made


def settle_reservations(
    session: Session, *, order: WorkOrder, outcome: str, actor: str, now: datetime
) -> None:
    """Settle an order's open reservations in the caller's transaction (``transition`` commits).

    ``outcome="resolve"`` consumes them: each reserved quantity is issued to the order as a
    normal issue movement (so its cost lands on the order and its asset). If the shelf holds
    less at that moment, what is there is issued and the shortfall is written to the order's
    audit trail; the resolve itself never fails for want of a part. ``outcome="cancel"``
    releases them. The reservation rows are locked, so a settled reservation is never settled
    twice even if two transactions reach here (``transition`` also locks the order first).
    """
    if outcome not in ("resolve", "cancel"):
        return
    open_reservations = list(
        session.scalars(
            sa.select(StockReservation)
            .where(
                StockReservation.work_order_id == order.id,
                StockReservation.status == ReservationStatus.RESERVED,
            )
            .order_by(StockReservation.item_id, StockReservation.storeroom_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )
    for reservation in open_reservations:
        item = session.get(StockItem, reservation.item_id)
        room = session.get(Storeroom, reservation.storeroom_id)
        assert item is not None  # foreign keys
        assert room is not None
        balance = _locked_balance(session, item, room)
        balance.reserved = max(balance.reserved - reservation.quantity, Decimal(0))
        reservation.settled_at = now
        if outcome == "cancel":
            reservation.status = ReservationStatus.RELEASED
            record_event(
                order,
                actor=actor,
                kind="parts_released",
                now=now,
                note=f"{reservation.quantity.normalize():f} {item.unit} {item.sku} back to "
                f"{room.code}'s available stock",
            )
            continue
        reservation.status = ReservationStatus.CONSUMED
        take = min(reservation.quantity, balance.on_hand)
        if take > 0:
            move = _move(
                session,
                kind=StockMovementKind.ISSUE,
                item=item,
                room=room,
                delta=-take,
                actor=actor,
                now=now,
                work_order_id=order.id,
                reason="reserved for planned maintenance",
            )
            reservation.movement_id = move.id
            record_event(
                order,
                actor=actor,
                kind="parts_issued",
                now=now,
                note=f"{take.normalize():f} {item.unit} {item.sku} from {room.code} (reserved)",
                data={"sku": item.sku, "quantity": str(take), "unit_cost": str(item.unit_cost)},
            )
        short = reservation.quantity - take
        if short > 0:
            log.warning("work order %s resolved %s %s short", order.id, short, item.sku)
            record_event(
                order,
                actor=actor,
                kind="parts_shortfall",
                now=now,
                note=f"{short.normalize():f} {item.unit} {item.sku} reserved but not in "
                f"{room.code} at resolve; book them with an issue when they arrive",
                data={"sku": item.sku, "storeroom": room.code, "short": str(short)},
            )
    session.flush()


def reserved_parts(session: Session, *, work_order_id: int) -> list[tuple[StockReservation, str]]:
    """An order's reservations (any status) with their SKUs, oldest first."""
    rows = session.execute(
        sa.select(StockReservation, StockItem.sku)
        .join(StockItem, StockItem.id == StockReservation.item_id)
        .where(StockReservation.work_order_id == work_order_id)
        .order_by(StockReservation.id)
    )
    return [(row[0], row[1]) for row in rows]


# -- reorder suggestions --------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ReorderLine:
    """One item to order: what is there, what is promised, and how much to buy."""

    sku: str
    name: str
    unit: str
    on_hand: Decimal
    reserved: Decimal
    #: on hand minus reserved (negative when planned work needs more than the shelves hold).
    available: Decimal
    reorder_point: Decimal
    max_stock: Decimal
    suggested_qty: Decimal
    unit_cost: Decimal
    line_value: Decimal


@dataclass(frozen=True, slots=True)
class ReorderGroup:
    """The lines to order from one supplier (``supplier_id`` None: no preferred supplier)."""

    supplier_id: int | None
    supplier_code: str | None
    supplier_name: str
    lines: tuple[ReorderLine, ...]
    total_value: Decimal


def _suggested(item: StockItem, available: Decimal) -> Decimal:
    """Min/max: fill up to ``max_stock`` when set; else whole reorder quantities (the reorder
    point's worth when none is set, one unit at a time when neither is) until the available
    stock is back above the reorder point, which covers any reserved shortfall too."""
    need = item.reorder_point - available  # what it takes to reach the reorder point
    if item.max_stock > 0 and item.max_stock - available > need:
        return item.max_stock - available
    batch = item.reorder_qty if item.reorder_qty > 0 else item.reorder_point
    if batch <= 0:  # no reorder point: only a reserved shortfall brings it here
        return need.to_integral_value(rounding=ROUND_CEILING)
    return batch * max(1, int(need // batch) + 1)


def reorder_suggestions(session: Session) -> list[ReorderGroup]:
    """What to buy, grouped by each item's preferred supplier.

    An item is listed when its available stock (on hand minus reserved, all storerooms) is at
    or below its reorder point, or below zero (reserved for planned work beyond the shelves)
    for items without a reorder point. Groups come in supplier-code order, the items without
    a preferred supplier last.
    """
    totals = {
        item_id: (Decimal(on_hand or 0), Decimal(reserved or 0))
        for item_id, on_hand, reserved in session.execute(
            sa.select(
                StockBalance.item_id,
                sa.func.sum(StockBalance.on_hand),
                sa.func.sum(StockBalance.reserved),
            ).group_by(StockBalance.item_id)
        )
    }
    suppliers = {
        supplier.id: supplier
        for supplier in session.scalars(
            sa.select(Supplier).where(
                Supplier.id.in_(
                    sa.select(StockItem.preferred_supplier_id).where(
                        StockItem.preferred_supplier_id.is_not(None)
                    )
                )
            )
        )
    }
    groups: dict[int | None, list[ReorderLine]] = {}
    for item in session.scalars(sa.select(StockItem).order_by(StockItem.sku)):
        on_hand, reserved = totals.get(item.id, (Decimal(0), Decimal(0)))
        available = on_hand - reserved
        tracked = item.reorder_point > 0 and available <= item.reorder_point
        if not tracked and available >= 0:
            continue
        qty = _suggested(item, available)
        groups.setdefault(item.preferred_supplier_id, []).append(
            ReorderLine(
                item.sku,
                item.name,
                item.unit,
                on_hand,
                reserved,
                available,
                item.reorder_point,
                item.max_stock,
                qty,
                _money(item.unit_cost),
                _money(qty * item.unit_cost),
            )
        )

    def order_key(supplier_id: int | None) -> tuple[int, str]:
        supplier = suppliers.get(supplier_id) if supplier_id is not None else None
        return (1, "") if supplier is None else (0, supplier.code)

    result: list[ReorderGroup] = []
    for supplier_id in sorted(groups, key=order_key):
        supplier = suppliers.get(supplier_id) if supplier_id is not None else None
        lines = tuple(groups[supplier_id])
        result.append(
            ReorderGroup(
                supplier.id if supplier else None,
                supplier.code if supplier else None,
                supplier.name if supplier else "no preferred supplier",
                lines,
                _money(sum((line.line_value for line in lines), Decimal(0))),
            )
        )
    return result


def on_order_moved(event: OrderMoved) -> None:
    """Hook handler: consume (resolve) or release (cancel) the parts reserved for the order."""
    settle_reservations(
        event.session, order=event.order, outcome=event.action, actor=event.actor, now=event.now
    )
