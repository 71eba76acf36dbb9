"""The stock ledger on a real database: balances, costs on orders, reports, and races."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from facility.core.errors import Forbidden, WorkOrderNotFound
from maintenance.inventory import service as stock
from maintenance.inventory.models import StockBalance, StockCategory, StockMovement
from maintenance.notifications.models import OutboxMessage
from maintenance.people.models import User
from maintenance.shared.actors import Actor
from maintenance.shared.db import connect, upgrade
from maintenance.shared.vocabulary import Role
from maintenance.work_orders import service as orders
from tests.conftest import reset_postgres_schema

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
MANAGER = Actor("manager", Role.MANAGER)
TECH = Actor("tech", Role.TECH)


def _seed(sessions: sessionmaker[Session]) -> int:
    with sessions() as s:
        s.add(User(username="manager", password_hash="x", role=Role.MANAGER))
        s.add(User(username="tech", password_hash="x", role=Role.TECH))
        s.commit()
        stock.create_item(
            s,
            sku="FLT-595",
            name="Bag filter 595x595",
            category=StockCategory.SPARE_PART,
            unit_cost=Decimal("42.50"),
            reorder_point=Decimal(4),
            reorder_qty=Decimal(10),
        )
        stock.create_item(
            s,
            sku="PAPER-A4",
            name="Paper A4",
            category=StockCategory.OFFICE_SUPPLY,
            unit="box",
            unit_cost=Decimal("3.20"),
        )
        stock.create_storeroom(s, code="MAIN", name="Main store")
        stock.create_storeroom(s, code="ROOF", name="Roof plant room")
        order, _ = orders.create_work_order(
            s, title="Replace AHU-1 filters", actor="manager", now=T0
        )
        orders.transition(
            s,
            work_order_id=order.id,
            action="assign",
            actor="manager",
            role=Role.MANAGER,
            assignee="tech",
            now=T0,
        )
        return order.id


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine, factory = connect(database_url)
    upgrade(engine)
    yield factory
    engine.dispose()


def _on_hand(s: Session, sku: str, room: str) -> Decimal:
    rows, _ = stock.list_stock(s, limit=100, offset=0, sku=sku)
    return next((b.on_hand for _, r, b in rows if r.code == room), Decimal(0))


def test_issued_parts_reduce_stock_and_put_their_cost_on_the_order(
    sessions: sessionmaker[Session],
) -> None:
    order_id = _seed(sessions)
    with sessions() as s:
        stock.receive(
            s, sku="FLT-595", storeroom="MAIN", quantity=Decimal(6), actor="manager", now=T0
        )
        stock.issue_to_work_order(
            s,
            sku="FLT-595",
            storeroom="MAIN",
            quantity=Decimal(4),
            work_order_id=order_id,
            actor=TECH,
            now=T0 + timedelta(hours=1),
        )
        stock.return_from_work_order(
            s,
            sku="FLT-595",
            storeroom="MAIN",
            quantity=Decimal(1),
            work_order_id=order_id,
            actor=TECH,
            now=T0 + timedelta(hours=2),
        )
        assert _on_hand(s, "FLT-595", "MAIN") == Decimal(3)
        moves, cost = stock.work_order_parts(s, work_order_id=order_id, actor=MANAGER)
        assert cost == Decimal("127.50")  # 3 x 42.50
        assert [m.kind.value for m, _, _ in moves] == ["issue", "return"]
        events = orders.get_work_order(s, work_order_id=order_id).events
        assert [e.kind for e in events][-2:] == ["parts_issued", "parts_returned"]


def test_stock_never_goes_negative_and_the_refusal_names_what_is_there(
    sessions: sessionmaker[Session],
) -> None:
    order_id = _seed(sessions)
    with sessions() as s:
        stock.receive(s, sku="FLT-595", storeroom="MAIN", quantity=Decimal(2), actor="manager")
        with pytest.raises(
            stock.InsufficientStock, match="MAIN holds 2 pcs of FLT-595, 3 requested"
        ):
            stock.issue_to_work_order(
                s,
                sku="FLT-595",
                storeroom="MAIN",
                quantity=Decimal(3),
                work_order_id=order_id,
                actor=TECH,
            )
        with pytest.raises(stock.InsufficientStock):
            stock.issue_to_work_order(
                s,
                sku="FLT-595",
                storeroom="ROOF",
                quantity=Decimal(1),
                work_order_id=order_id,
                actor=TECH,
            )
        with pytest.raises(stock.StockError, match="cannot return"):
            stock.return_from_work_order(
                s,
                sku="FLT-595",
                storeroom="MAIN",
                quantity=Decimal(1),
                work_order_id=order_id,
                actor=TECH,
            )
        assert _on_hand(s, "FLT-595", "MAIN") == Decimal(2)


def test_adjustments_need_a_manager_and_a_reason_and_stay_in_the_ledger(
    sessions: sessionmaker[Session],
) -> None:
    _seed(sessions)
    with sessions() as s:
        stock.receive(s, sku="PAPER-A4", storeroom="MAIN", quantity=Decimal(10), actor="manager")
        with pytest.raises(Forbidden):
            stock.adjust(
                s, sku="PAPER-A4", storeroom="MAIN", delta=Decimal(-1), reason="lost", actor=TECH
            )
        with pytest.raises(stock.StockError, match="needs a reason"):
            stock.adjust(
                s, sku="PAPER-A4", storeroom="MAIN", delta=Decimal(-1), reason=" ", actor=MANAGER
            )
        with pytest.raises(stock.InsufficientStock):
            stock.adjust(
                s,
                sku="PAPER-A4",
                storeroom="MAIN",
                delta=Decimal(-11),
                reason="count",
                actor=MANAGER,
            )
        move = stock.adjust(
            s,
            sku="PAPER-A4",
            storeroom="MAIN",
            delta=Decimal(-2),
            reason="stock-take: 8 boxes",
            actor=MANAGER,
        )
        assert move.reason == "stock-take: 8 boxes"
        assert _on_hand(s, "PAPER-A4", "MAIN") == Decimal(8)
        move.reason = "rewritten"
        with pytest.raises(ValueError, match="append-only"):
            s.flush()
        s.rollback()


def test_a_transfer_moves_stock_between_storerooms_as_two_linked_ledger_lines(
    sessions: sessionmaker[Session],
) -> None:
    _seed(sessions)
    with sessions() as s:
        stock.receive(s, sku="FLT-595", storeroom="MAIN", quantity=Decimal(5), actor="manager")
        out, into = stock.transfer(
            s, sku="FLT-595", source="MAIN", target="ROOF", quantity=Decimal(2), actor="manager"
        )
        assert out.transfer_id == into.transfer_id
        assert (_on_hand(s, "FLT-595", "MAIN"), _on_hand(s, "FLT-595", "ROOF")) == (
            Decimal(3),
            Decimal(2),
        )
        with pytest.raises(stock.InsufficientStock):
            stock.transfer(
                s, sku="FLT-595", source="ROOF", target="MAIN", quantity=Decimal(3), actor="m"
            )
        for balance in s.scalars(sa.select(StockBalance)):
            assert balance.on_hand == stock.ledger_on_hand(
                s, item_id=balance.item_id, storeroom_id=balance.storeroom_id
            )


def test_low_stock_dead_stock_and_valuation_reports(sessions: sessionmaker[Session]) -> None:
    order_id = _seed(sessions)
    with sessions() as s:
        stock.receive(s, sku="FLT-595", storeroom="MAIN", quantity=Decimal(5), actor="m", now=T0)
        stock.receive(s, sku="PAPER-A4", storeroom="MAIN", quantity=Decimal(10), actor="m", now=T0)
        assert stock.low_stock(s) == []
        stock.issue_to_work_order(
            s,
            sku="FLT-595",
            storeroom="MAIN",
            quantity=Decimal(2),
            work_order_id=order_id,
            actor=TECH,
            now=T0 + timedelta(days=100),
        )
        low = stock.low_stock(s)
        assert [(r.sku, r.on_hand, r.suggested_qty, r.estimated_cost) for r in low] == [
            ("FLT-595", Decimal(3), Decimal(10), Decimal("425.00"))
        ]
        dead = stock.dead_stock(s, days=90, now=T0 + timedelta(days=101))
        assert [(d.sku, d.on_hand, d.value) for d in dead] == [
            ("PAPER-A4", Decimal(10), Decimal("32.00"))
        ]
        value = stock.valuation(s)
        assert value.by_category["spare_part"] == Decimal("127.50")
        assert value.by_category["office_supply"] == Decimal("32.00")
        assert value.total == Decimal("159.50")


def test_a_technician_cannot_issue_to_an_order_they_cannot_see(
    sessions: sessionmaker[Session],
) -> None:
    _seed(sessions)
    with sessions() as s:
        s.add(User(username="other", password_hash="x", role=Role.TECH, team="electrical"))
        s.commit()
        hidden, _ = orders.create_work_order(s, title="Lift", actor="manager", now=T0)
        orders.transition(
            s,
            work_order_id=hidden.id,
            action="assign",
            actor="manager",
            role=Role.MANAGER,
            assignee="tech",
            now=T0,
        )
        stock.receive(s, sku="FLT-595", storeroom="MAIN", quantity=Decimal(1), actor="m")
        with pytest.raises(WorkOrderNotFound):
            stock.issue_to_work_order(
                s,
                sku="FLT-595",
                storeroom="MAIN",
                quantity=Decimal(1),
                work_order_id=hidden.id,
                actor=Actor("other", Role.TECH),
            )


def test_two_threads_issuing_the_last_unit_on_postgresql_exactly_one_succeeds(
    postgres_url: str,
) -> None:
    reset_postgres_schema(postgres_url)
    engine, sessions = connect(postgres_url)
    upgrade(engine)
    try:
        order_id = _seed(sessions)
        rounds = 10
        outcomes: list[list[str]] = [[] for _ in range(rounds)]
        errors: list[BaseException] = []
        lock = threading.Lock()
        start = threading.Barrier(3, timeout=60)
        done = threading.Barrier(3, timeout=60)

        def racer() -> None:
            try:
                for round_ in range(rounds):
                    start.wait()
                    with sessions() as s:
                        try:
                            stock.issue_to_work_order(
                                s,
                                sku="FLT-595",
                                storeroom="MAIN",
                                quantity=Decimal(1),
                                work_order_id=order_id,
                                actor=TECH,
                            )
                            result = "issued"
                        except stock.InsufficientStock:
                            result = "refused"
                    with lock:
                        outcomes[round_].append(result)
                    done.wait()
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)
                start.abort()
                done.abort()

        threads = [threading.Thread(target=racer) for _ in range(2)]
        for thread in threads:
            thread.start()
        for _ in range(rounds):
            with sessions() as s:  # exactly one unit on the shelf, then both race for it
                stock.receive(s, sku="FLT-595", storeroom="MAIN", quantity=Decimal(1), actor="m")
            start.wait()
            done.wait()
        for thread in threads:
            thread.join(timeout=60)
        assert not errors, errors
        assert [sorted(pair) for pair in outcomes] == [["issued", "refused"]] * rounds
        with sessions() as s:
            assert _on_hand(s, "FLT-595", "MAIN") == Decimal(0)
            issued = s.scalar(
                sa.select(sa.func.count())
                .select_from(StockMovement)
                .where(StockMovement.work_order_id == order_id)
            )
            assert issued == rounds
    finally:
        engine.dispose()


def _low_stock_messages(s: Session) -> list[dict[str, object]]:
    query = sa.select(OutboxMessage).where(OutboxMessage.event == "stock_low")
    return [dict(m.payload) for m in s.scalars(query.order_by(OutboxMessage.id))]


def test_falling_to_the_reorder_point_tells_the_managers_once_per_crossing(
    sessions: sessionmaker[Session],
) -> None:
    """FLT-595 reorders at 4 (10 at a time): an alert when stock reaches 4 from above, none
    while it stays low, none for a transfer, and another after a restock and a new fall."""
    order_id = _seed(sessions)
    with sessions() as s:
        stock.receive(
            s, sku="FLT-595", storeroom="MAIN", quantity=Decimal(6), actor="manager", now=T0
        )

        def issue(quantity: int, hours: int) -> None:
            stock.issue_to_work_order(
                s,
                sku="FLT-595",
                storeroom="MAIN",
                quantity=Decimal(quantity),
                work_order_id=order_id,
                actor=TECH,
                now=T0 + timedelta(hours=hours),
            )

        issue(1, 1)  # 5: above the reorder point
        assert _low_stock_messages(s) == []
        issue(1, 2)  # 4: at the reorder point
        (first,) = _low_stock_messages(s)
        assert (first["sku"], first["on_hand"], first["reorder_point"]) == ("FLT-595", "4", "4")
        assert (first["quantity"], first["storeroom"], first["actor"]) == ("-1", "MAIN", "tech")
        assert first["suggested_qty"] == "10"
        issue(1, 3)  # 3: still low, nothing new
        stock.transfer(
            s, sku="FLT-595", source="MAIN", target="ROOF", quantity=Decimal(2), actor="manager"
        )
        assert len(_low_stock_messages(s)) == 1
        stock.receive(s, sku="FLT-595", storeroom="MAIN", quantity=Decimal(10), actor="manager")
        stock.adjust(
            s,
            sku="FLT-595",
            storeroom="MAIN",
            delta=Decimal(-9),
            reason="stock-take: water damage",
            actor=MANAGER,
            now=T0 + timedelta(days=1),
        )  # 13 → 4 in all storerooms: a new crossing
        second = _low_stock_messages(s)[-1]
        assert len(_low_stock_messages(s)) == 2
        assert (second["on_hand"], second["quantity"], second["actor"]) == ("4", "-9", "manager")
        message = s.scalars(
            sa.select(OutboxMessage).where(OutboxMessage.event == "stock_low")
        ).first()
        assert message is not None and message.recipients == ["role:manager"]
        # an item without a reorder point is never "low"
        stock.receive(s, sku="PAPER-A4", storeroom="MAIN", quantity=Decimal(1), actor="manager")
        stock.issue_to_work_order(
            s,
            sku="PAPER-A4",
            storeroom="MAIN",
            quantity=Decimal(1),
            work_order_id=order_id,
            actor=TECH,
            now=T0 + timedelta(days=2),
        )
        assert len(_low_stock_messages(s)) == 2
