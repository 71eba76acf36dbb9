"""Suppliers and contractors on a real database (SQLite and PostgreSQL): qualification, expiry
warnings with a hand clock, purchase orders, and scorecards computed from a seeded history."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from facility.core.errors import Forbidden
from maintenance.insights import scorecards
from maintenance.inventory import service as inventory
from maintenance.inventory.models import StockCategory, StockMovement
from maintenance.notifications.models import OutboxMessage
from maintenance.purchasing import service as purchasing
from maintenance.purchasing.models import PurchaseOrderStatus
from maintenance.shared.actors import Actor
from maintenance.shared.db import connect, upgrade
from maintenance.shared.vocabulary import Role
from maintenance.suppliers import service as directory
from maintenance.suppliers.models import QualificationStatus, SupplierKind, SupplierScore
from maintenance.work_orders import labour, outsourcing
from maintenance.work_orders import service as orders

Q = QualificationStatus
MANAGER = Actor("manager", Role.MANAGER)
T0 = datetime(2026, 10, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def session(database_url: str) -> Iterator[Session]:
    engine, sessions = connect(database_url)
    upgrade(engine)
    with sessions() as s:
        yield s
    engine.dispose()


def _qualified(s: Session, code: str, kind: SupplierKind) -> None:
    directory.create_supplier(s, code=code, name=f"{code} Ltd", kind=kind, actor="admin", now=T0)
    directory.change_status(s, code=code, to=Q.QUALIFIED, actor=MANAGER, now=T0)


# -- qualification --------------------------------------------------------------------------------
def test_the_qualification_machine_refuses_illegal_moves_and_keeps_its_history(
    session: Session,
) -> None:
    s = session
    directory.create_supplier(
        s, code="LIFTCO", name="Lift Co", kind=SupplierKind.CONTRACTOR, actor="admin", now=T0
    )
    with pytest.raises(directory.InvalidQualification, match="allowed: qualified, removed"):
        directory.change_status(s, code="LIFTCO", to=Q.SUSPENDED, actor=MANAGER, reason="x" * 5)
    with pytest.raises(Forbidden):
        directory.change_status(s, code="LIFTCO", to=Q.QUALIFIED, actor=Actor("t", Role.TECH))
    directory.change_status(s, code="LIFTCO", to=Q.QUALIFIED, actor=MANAGER, now=T0)
    with pytest.raises(directory.SupplierError, match="reason"):
        directory.change_status(s, code="LIFTCO", to=Q.SUSPENDED, actor=MANAGER)
    directory.change_status(
        s, code="LIFTCO", to=Q.SUSPENDED, actor=MANAGER, reason="insurance lapsed", now=T0
    )
    directory.change_status(s, code="LIFTCO", to=Q.QUALIFIED, actor=MANAGER, now=T0)
    directory.change_status(s, code="LIFTCO", to=Q.REMOVED, actor=MANAGER, reason="merged")
    with pytest.raises(directory.InvalidQualification, match="removed is final"):
        directory.change_status(s, code="LIFTCO", to=Q.QUALIFIED, actor=MANAGER)
    history = directory.status_history(s, code="LIFTCO")
    assert [(h.from_status, h.to_status) for h in history] == [
        (None, "candidate"),
        ("candidate", "qualified"),
        ("qualified", "suspended"),
        ("suspended", "qualified"),
        ("qualified", "removed"),
    ]
    assert history[2].reason == "insurance lapsed" and history[2].actor == "manager"


def test_only_qualified_suppliers_receive_purchase_orders_and_outsourced_orders(
    session: Session,
) -> None:
    s = session
    inventory.create_item(s, sku="FLT", name="Filter", category=StockCategory.SPARE_PART)
    inventory.create_storeroom(s, code="MAIN", name="Main")
    directory.create_supplier(
        s, code="PARTS", name="Parts", kind=SupplierKind.SUPPLIER, actor="admin", now=T0
    )
    order, _ = orders.create_work_order(s, title="Lift stuck", actor="manager", now=T0)
    po = {
        "supplier_code": "PARTS",
        "sku": "FLT",
        "storeroom": "MAIN",
        "quantity": Decimal(5),
        "expected_at": T0 + timedelta(days=3),
        "actor": "manager",
        "now": T0,
    }
    with pytest.raises(directory.NotQualified, match="candidate"):
        purchasing.create_purchase_order(s, **po)  # type: ignore[arg-type]
    directory.change_status(s, code="PARTS", to=Q.QUALIFIED, actor=MANAGER, now=T0)
    created = purchasing.create_purchase_order(s, **po)  # type: ignore[arg-type]
    assert created.status is PurchaseOrderStatus.OPEN
    with pytest.raises(directory.NotQualified, match="go to both or contractor"):
        outsourcing.outsource_work_order(
            s, work_order_id=order.id, supplier_code="PARTS", actor=MANAGER, now=T0
        )
    directory.change_status(s, code="PARTS", to=Q.SUSPENDED, actor=MANAGER, reason="late")
    with pytest.raises(directory.NotQualified, match="suspended"):
        purchasing.create_purchase_order(s, **po)  # type: ignore[arg-type]


def test_a_partial_receipt_books_stock_with_the_supplier_and_the_po_on_the_ledger(
    session: Session,
) -> None:
    s = session
    inventory.create_item(
        s, sku="BELT", name="V-belt", category=StockCategory.SPARE_PART, unit_cost=Decimal(12)
    )
    inventory.create_storeroom(s, code="MAIN", name="Main")
    _qualified(s, "BELTS", SupplierKind.SUPPLIER)
    po = purchasing.create_purchase_order(
        s,
        supplier_code="BELTS",
        sku="BELT",
        storeroom="MAIN",
        quantity=Decimal(10),
        expected_at=T0 + timedelta(days=5),
        actor="manager",
        now=T0,
    )
    first, move = purchasing.receive_purchase_order(
        s, purchase_order_id=po.id, quantity=Decimal(4), actor="clerk", now=T0 + timedelta(days=2)
    )
    assert first.status is PurchaseOrderStatus.OPEN and first.quantity_received == 4
    with pytest.raises(purchasing.PurchaseOrderError, match="partly delivered"):
        purchasing.cancel_purchase_order(s, purchase_order_id=po.id)
    done, _ = purchasing.receive_purchase_order(
        s, purchase_order_id=po.id, actor="clerk", now=T0 + timedelta(days=4)
    )
    assert done.status is PurchaseOrderStatus.RECEIVED and done.quantity_received == 10
    with pytest.raises(purchasing.PurchaseOrderError, match="only open ones"):
        purchasing.receive_purchase_order(s, purchase_order_id=po.id, actor="clerk")
    receipts = s.scalars(sa.select(StockMovement).order_by(StockMovement.id)).all()
    assert [(m.quantity, m.supplier_id, m.purchase_order_id) for m in receipts] == [
        (Decimal(4), po.supplier_id, po.id),
        (Decimal(6), po.supplier_id, po.id),
    ]
    assert move.kind.value == "receipt"


# -- certificate expiry ---------------------------------------------------------------------------
def _warnings(s: Session) -> list[OutboxMessage]:
    return list(
        s.scalars(
            sa.select(OutboxMessage)
            .where(OutboxMessage.event.like("certificate_%"))
            .order_by(OutboxMessage.id)
        )
    )


def test_expiry_warnings_fire_when_the_window_opens_once_per_window_and_on_expiry(
    session: Session,
) -> None:
    s = session
    _qualified(s, "HVACCO", SupplierKind.CONTRACTOR)
    expires = date(2026, 12, 1)
    cert = directory.add_certificate(s, code="HVACCO", name="F-gas licence", expires_on=expires)
    window = 30
    opens = datetime.combine(expires - timedelta(days=window), datetime.min.time(), UTC)

    day_before = opens - timedelta(seconds=1)
    assert directory.expiring_certificates(s, within_days=window, now=day_before) == []
    assert directory.warn_expiring_certificates(s, within_days=window, now=day_before) == []

    first = directory.warn_expiring_certificates(s, within_days=window, now=opens)
    assert [m.payload["certificate"]["id"] for m in first] == [cert.id]
    assert first[0].event == "certificate_expiring" and first[0].payload["days_left"] == window
    for later in (opens, opens + timedelta(hours=5), opens + timedelta(days=10)):
        assert directory.warn_expiring_certificates(s, within_days=window, now=later) == []

    # a 7-day reminder is a different window: it fires once more, and only once
    reminder_at = opens + timedelta(days=window - 7)
    assert len(directory.warn_expiring_certificates(s, within_days=7, now=reminder_at)) == 1
    assert directory.warn_expiring_certificates(s, within_days=7, now=reminder_at) == []

    # valid through its last day; expired the day after, warned once as expired
    last_day = datetime.combine(expires, datetime.min.time(), UTC) + timedelta(hours=23)
    alerts = directory.expiring_certificates(s, within_days=0, now=last_day)
    assert [(a.days_left, a.expired) for a in alerts] == [(0, False)]
    after = last_day + timedelta(hours=2)
    expired = directory.warn_expiring_certificates(s, within_days=window, now=after)
    assert [m.event for m in expired] == ["certificate_expired"]
    assert directory.warn_expiring_certificates(s, within_days=window, now=after) == []
    assert [m.event for m in _warnings(s)] == [
        "certificate_expiring",
        "certificate_expiring",
        "certificate_expired",
    ]

    # a renewed certificate is a new one to watch; a removed company's are not watched
    renewed = directory.add_certificate(
        s, code="HVACCO", name="F-gas licence", expires_on=date(2027, 12, 1)
    )
    directory.change_status(s, code="HVACCO", to=Q.REMOVED, actor=MANAGER, reason="closed")
    late = datetime(2027, 11, 15, tzinfo=UTC)
    assert directory.expiring_certificates(s, within_days=window, now=late) == []
    assert renewed.id != cert.id


# -- scorecards -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class PlannedOrder:
    on_time: bool
    reopened: bool
    rating: int | None
    hours: Decimal
    rate: Decimal


@dataclass(frozen=True)
class PlannedDelivery:
    ordered_day: int
    expected_day: int
    received_day: int
    quantity: int
    received: int
    price_factor: Decimal


CATALOGUE = Decimal(20)
CONTRACT_RESOLUTION_H = 48.0
CONTRACTORS: dict[str, list[PlannedOrder]] = {
    "ALPHA": [
        PlannedOrder(True, False, 5, Decimal(2), Decimal(50)),
        PlannedOrder(True, False, 5, Decimal(2), Decimal(50)),
        PlannedOrder(True, False, 4, Decimal(2), Decimal(50)),
        PlannedOrder(True, False, 5, Decimal(2), Decimal(50)),
    ],
    "BETA": [
        PlannedOrder(True, False, 3, Decimal(3), Decimal(60)),
        PlannedOrder(False, True, 2, Decimal(3), Decimal(60)),
        PlannedOrder(False, False, None, Decimal(3), Decimal(60)),
        PlannedOrder(True, False, None, Decimal(3), Decimal(60)),
    ],
}
SUPPLIERS: dict[str, list[PlannedDelivery]] = {
    "GAMMA": [
        PlannedDelivery(1, 5, 3, 10, 10, Decimal(1)),
        PlannedDelivery(6, 10, 8, 10, 10, Decimal(1)),
        PlannedDelivery(11, 15, 13, 10, 10, Decimal(1)),
    ],
    "DELTA": [
        PlannedDelivery(1, 6, 9, 10, 10, Decimal("1.25")),
        PlannedDelivery(1, 11, 13, 10, 8, Decimal("1.25")),
    ],
}
REVIEWS = {"GAMMA": 90.0, "DELTA": 40.0}


def _seed_history(s: Session) -> None:
    inventory.create_item(
        s, sku="FLT", name="Filter", category=StockCategory.SPARE_PART, unit_cost=CATALOGUE
    )
    inventory.create_storeroom(s, code="MAIN", name="Main")
    for code in CONTRACTORS:
        _qualified(s, code, SupplierKind.CONTRACTOR)
        directory.add_contract(
            s,
            supplier_code=code,
            code=f"{code}-2026",
            title="Maintenance",
            starts_on=date(2026, 1, 1),
            ends_on=date(2026, 12, 31),
            response_target_h=4,
            resolution_target_h=CONTRACT_RESOLUTION_H,
        )
    for code in SUPPLIERS:
        _qualified(s, code, SupplierKind.SUPPLIER)
    # a suspended contractor without any facts gets no scorecard
    _qualified(s, "IDLE", SupplierKind.CONTRACTOR)
    directory.change_status(s, code="IDLE", to=Q.SUSPENDED, actor=MANAGER, reason="no work")

    def move(order_id: int, action: str, at: datetime) -> None:
        orders.transition(
            s, work_order_id=order_id, action=action, actor="manager", role=Role.MANAGER, now=at
        )

    for c_index, (code, planned) in enumerate(CONTRACTORS.items()):
        for index, plan in enumerate(planned):
            created = T0 + timedelta(days=2 * index + c_index, hours=1)
            order, _ = orders.create_work_order(
                s, title=f"{code} job {index}", actor="manager", asset_code="AHU-1", now=created
            )
            outsourcing.outsource_work_order(
                s, work_order_id=order.id, supplier_code=code, actor=MANAGER, now=created
            )
            move(order.id, "start", created + timedelta(hours=1))
            labour.record_labour(
                s,
                work_order_id=order.id,
                actor=MANAGER,
                worker="crew",
                hours=plan.hours,
                hourly_rate=plan.rate,
                now=created + timedelta(hours=2),
            )
            late = timedelta(hours=CONTRACT_RESOLUTION_H + 24)
            resolved = created + (timedelta(hours=24) if plan.on_time else late)
            if plan.reopened:
                move(order.id, "resolve", created + timedelta(hours=6))
                move(order.id, "reopen", created + timedelta(hours=7))
                move(order.id, "start", created + timedelta(hours=8))
            move(order.id, "resolve", resolved)
            move(order.id, "verify", resolved + timedelta(hours=1))
            if plan.rating is not None:
                orders.rate_work_order(
                    s,
                    work_order_id=order.id,
                    rating=plan.rating,
                    comment="",
                    actor="manager",
                    role=Role.MANAGER,
                    now=resolved + timedelta(hours=2),
                )
    start = datetime(2026, 9, 25, 9, tzinfo=UTC)
    for code, deliveries in SUPPLIERS.items():
        for d in deliveries:
            po = purchasing.create_purchase_order(
                s,
                supplier_code=code,
                sku="FLT",
                storeroom="MAIN",
                quantity=Decimal(d.quantity),
                unit_cost=CATALOGUE * d.price_factor,
                expected_at=start + timedelta(days=d.expected_day),
                actor="manager",
                now=start + timedelta(days=d.ordered_day),
            )
            purchasing.receive_purchase_order(
                s,
                purchase_order_id=po.id,
                quantity=Decimal(d.received),
                final=True,
                actor="clerk",
                now=start + timedelta(days=d.received_day),
            )
        scorecards.record_review(
            s, supplier_code=code, period="2026-10", score=REVIEWS[code], reviewer="manager"
        )


def _expected_scores(weights: dict[str, float]) -> dict[str, float]:
    """The documented formulas, applied to the plan (not to what the database recorded)."""
    per_order_cost = {
        code: float(sum(p.hours * p.rate for p in plan)) / len(plan)
        for code, plan in CONTRACTORS.items()
    }
    cheapest = min(per_order_cost.values())
    expected: dict[str, float] = {}
    for code, plan in CONTRACTORS.items():
        ratings = [p.rating for p in plan if p.rating is not None]
        parts = {
            "sla": 100.0 * sum(p.on_time for p in plan) / len(plan),
            "first_time_fix": 100.0 * sum(not p.reopened for p in plan) / len(plan),
            "rating": (sum(ratings) / len(ratings) - 1) / 4 * 100,
            "reopen": 100.0 - 100.0 * sum(p.reopened for p in plan) / len(plan),
            "order_cost": 100.0 * cheapest / per_order_cost[code],
        }
        expected[code] = _weighted(parts, weights)
    for code, deliveries in SUPPLIERS.items():
        lead = sum(d.received_day - d.ordered_day for d in deliveries) / len(deliveries)
        paid = sum(CATALOGUE * d.price_factor * d.quantity for d in deliveries)
        listed = sum(CATALOGUE * d.quantity for d in deliveries)
        parts = {
            "on_time_delivery": 100.0
            * sum(d.received_day <= d.expected_day for d in deliveries)
            / len(deliveries),
            "lead_time": max(0.0, 100.0 * (1 - lead / 30)),
            "quantity_accuracy": 100.0
            * sum(1 - abs(d.received - d.quantity) / d.quantity for d in deliveries)
            / len(deliveries),
            "price": min(100.0, 100.0 / float(paid / listed)),
            "review": REVIEWS[code],
        }
        expected[code] = _weighted(parts, weights)
    return expected


def _weighted(parts: dict[str, float], weights: dict[str, float]) -> float:
    used = {k: weights[k] for k in parts if weights[k] > 0}
    return sum(parts[k] * w for k, w in used.items()) / sum(used.values())


NOW = datetime(2026, 11, 5, tzinfo=UTC)


def test_scorecards_from_a_seeded_history_give_the_expected_ranking_and_flags(
    session: Session,
) -> None:
    s = session
    _seed_history(s)
    expected = _expected_scores(scorecards.DEFAULT_WEIGHTS)
    ranking = sorted(expected, key=lambda code: -expected[code])
    threshold = 60.0

    cards = scorecards.compute_scorecards(s, period="2026-10", now=NOW, threshold=threshold)

    assert [c.code for c in cards] == ranking
    assert [c.rank for c in cards] == [1, 2, 3, 4]
    for card in cards:
        assert card.score == pytest.approx(expected[card.code], abs=0.01), card.code
    flagged = {c.code for c in cards if c.flagged}
    assert flagged == {code for code, value in expected.items() if value < threshold}
    assert flagged, "the seeded history should put someone below the threshold"
    assert "IDLE" not in {c.code for c in cards}
    alpha = next(c for c in cards if c.code == "ALPHA")
    assert alpha.components["on_time_delivery"]["score"] is None  # no POs: left out
    assert alpha.components["sla"]["n"] == len(CONTRACTORS["ALPHA"])

    # recomputing replaces the period's rows; the history keeps one row per company and month
    again = scorecards.compute_scorecards(s, period="2026-10", now=NOW, threshold=threshold)
    assert [(c.code, c.rank) for c in again] == [(c.code, c.rank) for c in cards]
    count = s.scalar(sa.select(sa.func.count()).select_from(SupplierScore))
    assert count == len(cards)
    history, total = scorecards.list_scores(s, supplier_code="DELTA")
    assert total == 1 and history[0][0].period == "2026-10"

    # a manager clears a flag; it stays cleared until a later run finds the company low again
    low = sorted(flagged)[0]
    assert directory.clear_flag(s, code=low, actor=MANAGER).flagged_for_review_at is None


def test_weights_change_the_ranking_and_criteria_without_data_are_left_out(
    session: Session,
) -> None:
    s = session
    _seed_history(s)
    only_reviews = {name: 0.0 for name in scorecards.CRITERIA} | {"review": 1.0}
    cards = scorecards.compute_scorecards(s, period="2026-10", now=NOW, weights=only_reviews)
    # contractors had no review: with every other weight at 0 they have nothing to be scored on
    assert [(c.code, c.score) for c in cards] == [("GAMMA", REVIEWS["GAMMA"]), ("DELTA", 40.0)]
    stored = s.scalars(sa.select(SupplierScore)).all()
    assert len(stored) == 2  # the contractors' rows of the period were replaced, not kept

    sla_heavy = dict(scorecards.DEFAULT_WEIGHTS) | {"sla": 500.0}
    expected = _expected_scores(sla_heavy)
    cards = scorecards.compute_scorecards(s, period="2026-10", now=NOW, weights=sla_heavy)
    assert [c.code for c in cards] == sorted(expected, key=lambda code: -expected[code])
    with pytest.raises(directory.SupplierError, match="unknown scorecard criterion"):
        scorecards.compute_scorecards(s, period="2026-10", now=NOW, weights={"speed": 1.0})
    with pytest.raises(directory.SupplierError, match="YYYY-MM"):
        scorecards.compute_scorecards(s, period="2026-13", now=NOW)


def test_two_checkers_racing_on_the_same_certificate_warn_once(database_url: str) -> None:
    engine, sessions = connect(database_url)
    upgrade(engine)
    try:
        with sessions() as s:
            _qualified(s, "RACE", SupplierKind.CONTRACTOR)
            directory.add_certificate(s, code="RACE", name="Licence", expires_on=date(2026, 10, 20))
        barrier = threading.Barrier(4)
        written: list[int] = []
        errors: list[BaseException] = []

        def check() -> None:
            try:
                with sessions() as s:
                    barrier.wait(timeout=10)
                    written.append(len(directory.warn_expiring_certificates(s, now=T0)))
            except BaseException as exc:  # reported below, not swallowed
                errors.append(exc)

        threads = [threading.Thread(target=check) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert errors == []
        assert sorted(written) == [0, 0, 0, 1]
        with sessions() as s:
            assert len(_warnings(s)) == 1
    finally:
        engine.dispose()
