"""Parts for planned work: reserved when the PM order is generated, issued when it is resolved,
released when it is cancelled; and the reorder suggestions that count the reservations."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from facility.core.errors import InvalidTransition
from gateway.stores.sql import SqlReadingStore, make_engine
from maintenance.assets.register import ensure_asset
from maintenance.inventory import service as stock
from maintenance.inventory.cli import stock_app
from maintenance.inventory.models import (
    ReservationStatus,
    StockBalance,
    StockCategory,
    StockItem,
    StockMovement,
    StockReservation,
)
from maintenance.people.models import User
from maintenance.pm import service as pm
from maintenance.pm.models import PmTriggerKind, TimeUnit
from maintenance.shared.db import connect, upgrade
from maintenance.shared.vocabulary import Role
from maintenance.sites.models import Site
from maintenance.suppliers.models import Supplier, SupplierKind
from maintenance.work_orders import service as orders
from maintenance.work_orders.models import WorkOrder, WorkOrderEvent
from tests.conftest import reset_postgres_schema
from tests.integration._work_order_server import ApiServer, running_api

T0 = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
FILTER = {"sku": "FLT-595", "unit_cost": Decimal("42.50")}
BELT = {"sku": "BELT-A42", "unit_cost": Decimal("18.20")}


@dataclass
class World:
    sessions: sessionmaker[Session]
    readings: SqlReadingStore


def _seed(sessions: sessionmaker[Session], *, filters_on_hand: int, belts_on_hand: int) -> None:
    with sessions() as s:
        site = Site(code="HQ", name="Head office", timezone="Europe/Berlin")
        s.add(site)
        s.flush()
        ensure_asset(s, code="AHU-1", asset_type="ahu", site=site)
        s.add(User(username="manager", password_hash="x", role=Role.MANAGER))
        s.commit()
        for spec, name in ((FILTER, "Bag filter 595x595"), (BELT, "V-belt A42")):
            stock.create_item(
                s,
                sku=str(spec["sku"]),
                name=name,
                category=StockCategory.SPARE_PART,
                unit_cost=Decimal(spec["unit_cost"]),
                reorder_point=Decimal(1),
                reorder_qty=Decimal(5),
            )
        stock.create_storeroom(s, code="MAIN", name="Main store")
        for sku, quantity in (("FLT-595", filters_on_hand), ("BELT-A42", belts_on_hand)):
            if quantity:
                stock.receive(
                    s, sku=sku, storeroom="MAIN", quantity=Decimal(quantity), actor="m", now=T0
                )
        plan = pm.create_plan(
            s,
            name="AHU-1 quarterly service",
            trigger=PmTriggerKind.CALENDAR,
            interval=3,
            unit=TimeUnit.MONTH,
            anchor_local="2026-03-02T08:00",
            asset_codes=["AHU-1"],
            site_code="HQ",
            parts=[
                {"sku": "FLT-595", "quantity": 4, "storeroom": "MAIN"},
                {"sku": "BELT-A42", "quantity": "2", "storeroom": "MAIN"},
            ],
            actor="manager",
            now=T0,
        )
        pm.approve_plan(s, plan_id=plan.id, actor="manager", now=T0)


def _generate(world: World) -> int:
    with world.sessions() as s:
        made = pm.run_pm_scheduler(s, now=T0 + timedelta(hours=1), readings=world.readings)
        assert len(made) == 1
        return made[0].work_order_id


def _move(sessions: sessionmaker[Session], order_id: int, *actions: str) -> None:
    for action in actions:
        with sessions() as s:
            orders.transition(
                s,
                work_order_id=order_id,
                action=action,
                actor="manager",
                role=Role.MANAGER,
                assignee="manager" if action == "assign" else None,
                now=T0 + timedelta(hours=2),
            )


def _balance(s: Session, sku: str) -> StockBalance:
    balance = s.scalar(
        sa.select(StockBalance)
        .join(StockItem, StockItem.id == StockBalance.item_id)
        .where(StockItem.sku == sku)
        .execution_options(populate_existing=True)
    )
    assert balance is not None
    return balance


def _available(s: Session, sku: str) -> Decimal:
    line = next(
        (line for group in stock.reorder_suggestions(s) for line in group.lines if line.sku == sku),
        None,
    )
    balance = _balance(s, sku)
    if line is not None:
        assert line.available == line.on_hand - line.reserved
    return balance.on_hand - balance.reserved


@contextmanager
def _world(database_url: str, tmp_path: Path, **stocked: int) -> Iterator[World]:
    engine, sessions = connect(database_url)
    upgrade(engine)
    _seed(sessions, **stocked)
    readings_engine = make_engine(f"sqlite:///{tmp_path / 'readings.db'}")
    yield World(sessions, SqlReadingStore(readings_engine))
    readings_engine.dispose()
    engine.dispose()


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[World]:
    with _world(database_url, tmp_path, filters_on_hand=10, belts_on_hand=1) as made:
        yield made


def test_a_generated_pm_order_reserves_its_parts_and_available_stock_drops(world: World) -> None:
    order_id = _generate(world)
    with world.sessions() as s:
        reservations = stock.reserved_parts(s, work_order_id=order_id)
        assert sorted((sku, r.quantity, r.status) for r, sku in reservations) == [
            ("BELT-A42", Decimal(2), ReservationStatus.RESERVED),
            ("FLT-595", Decimal(4), ReservationStatus.RESERVED),
        ]
        filters, belts = _balance(s, "FLT-595"), _balance(s, "BELT-A42")
        assert (filters.on_hand, filters.reserved) == (Decimal(10), Decimal(4))
        assert _available(s, "FLT-595") == Decimal(6)
        # a reservation may exceed the shelf: one belt on hand, two reserved
        assert (belts.on_hand, belts.reserved) == (Decimal(1), Decimal(2))
        assert _available(s, "BELT-A42") == Decimal(-1)
        events = [e.kind for e in orders.get_work_order(s, work_order_id=order_id).events]
        assert events.count("parts_reserved") == 2
        # reserving moves no stock: the ledger has only the receipts
        kinds = set(s.scalars(sa.select(StockMovement.kind)))
        assert {k.value for k in kinds} == {"receipt"}


def test_resolving_consumes_the_reservation_and_charges_the_order_and_its_asset(
    world: World,
) -> None:
    order_id = _generate(world)
    _move(world.sessions, order_id, "assign", "start", "resolve")
    with world.sessions() as s:
        order = orders.get_work_order(s, work_order_id=order_id)
        assert order.status.value == "resolved"
        filters, belts = _balance(s, "FLT-595"), _balance(s, "BELT-A42")
        assert (filters.on_hand, filters.reserved) == (Decimal(6), Decimal(0))
        # only one belt was there: it is issued, the missing one is in the audit trail
        assert (belts.on_hand, belts.reserved) == (Decimal(0), Decimal(0))
        shortfall = [e for e in order.events if e.kind == "parts_shortfall"]
        assert len(shortfall) == 1
        assert shortfall[0].data == {"sku": "BELT-A42", "storeroom": "MAIN", "short": "1.000"}
        statuses = {r.status for r, _ in stock.reserved_parts(s, work_order_id=order_id)}
        assert statuses == {ReservationStatus.CONSUMED}
        rows, cost = stock.work_order_parts(
            s, work_order_id=order_id, actor=orders.Actor("manager", Role.MANAGER)
        )
        expected = 4 * Decimal(FILTER["unit_cost"]) + 1 * Decimal(BELT["unit_cost"])
        assert cost == expected
        assert {m.kind.value for m, _, _ in rows} == {"issue"}
        asset_cost = s.scalar(
            sa.select(sa.func.sum(-StockMovement.quantity * StockMovement.unit_cost))
            .join(WorkOrder, WorkOrder.id == StockMovement.work_order_id)
            .where(WorkOrder.asset_id == order.asset_id)
        )
        assert Decimal(asset_cost).quantize(Decimal("0.01")) == expected
        for sku in ("FLT-595", "BELT-A42"):
            item = s.scalar(sa.select(StockItem).where(StockItem.sku == sku))
            assert item is not None
            assert stock.ledger_on_hand(
                s, item_id=item.id, storeroom_id=_balance(s, sku).storeroom_id
            ) == (_balance(s, sku).on_hand)


def test_reopening_and_resolving_again_does_not_consume_twice(world: World) -> None:
    order_id = _generate(world)
    _move(world.sessions, order_id, "assign", "start", "resolve", "reopen", "start", "resolve")
    with world.sessions() as s:
        issued = s.scalar(
            sa.select(sa.func.count())
            .select_from(StockMovement)
            .where(StockMovement.work_order_id == order_id)
        )
        assert issued == 2  # one issue per reserved part, from the first resolve only


def test_cancelling_releases_the_reservation_and_moves_no_stock(world: World) -> None:
    order_id = _generate(world)
    _move(world.sessions, order_id, "cancel")
    with world.sessions() as s:
        for sku, on_hand in (("FLT-595", 10), ("BELT-A42", 1)):
            balance = _balance(s, sku)
            assert (balance.on_hand, balance.reserved) == (Decimal(on_hand), Decimal(0))
        statuses = {r.status for r, _ in stock.reserved_parts(s, work_order_id=order_id)}
        assert statuses == {ReservationStatus.RELEASED}
        released = s.scalar(
            sa.select(sa.func.count())
            .select_from(WorkOrderEvent)
            .where(
                WorkOrderEvent.work_order_id == order_id, WorkOrderEvent.kind == "parts_released"
            )
        )
        assert released == 2
        assert (
            s.scalar(
                sa.select(sa.func.count())
                .select_from(StockMovement)
                .where(StockMovement.work_order_id == order_id)
            )
            == 0
        )


def test_a_plan_with_unknown_or_malformed_parts_is_refused_with_the_reason(world: World) -> None:
    with world.sessions() as s:
        for parts, fragment in (
            ([{"sku": "NOPE", "quantity": 1, "storeroom": "MAIN"}], "'NOPE' does not exist"),
            ([{"sku": "FLT-595", "quantity": 1, "storeroom": "ATTIC"}], "'ATTIC' does not"),
            ([{"sku": "FLT-595", "quantity": -1, "storeroom": "MAIN"}], "quantity must be"),
            ([{"sku": "FLT-595", "quantity": "lots", "storeroom": "MAIN"}], "not a positive"),
            ([{"sku": "FLT-595", "quantity": True, "storeroom": "MAIN"}], "quantity must be"),
            ([{"sku": "FLT-595", "qty": 1, "storeroom": "MAIN"}], "must be {sku"),
        ):
            with pytest.raises(pm.PlanError, match="parts") as caught:
                pm.create_plan(
                    s,
                    name="bad parts",
                    trigger=PmTriggerKind.CALENDAR,
                    interval=1,
                    unit=TimeUnit.MONTH,
                    anchor_local="2026-03-02T08:00",
                    asset_codes=["AHU-1"],
                    parts=parts,
                    actor="manager",
                    now=T0,
                )
            assert fragment in str(caught.value)


def test_reorder_suggestions_group_by_preferred_supplier_and_count_reservations(
    world: World,
) -> None:
    with world.sessions() as s:
        supplier = Supplier(code="FILTRA", name="Filtra GmbH", kind=SupplierKind.SUPPLIER)
        s.add(supplier)
        s.flush()
        filters = s.scalar(sa.select(StockItem).where(StockItem.sku == "FLT-595"))
        assert filters is not None
        filters.preferred_supplier_id = supplier.id
        filters.reorder_point = Decimal(7)
        filters.max_stock = Decimal(20)
        s.commit()
        # 10 filters on hand is above the reorder point of 7: no filters to buy yet
        assert "FLT-595" not in [line.sku for g in stock.reorder_suggestions(s) for line in g.lines]
    order_id = _generate(world)  # reserves 4 filters and 2 belts (1 belt on hand)
    with world.sessions() as s:
        groups = stock.reorder_suggestions(s)
        assert [(g.supplier_code, g.supplier_name) for g in groups] == [
            ("FILTRA", "Filtra GmbH"),
            (None, "no preferred supplier"),
        ]
        filters_line = groups[0].lines[0]
        # available 10 - 4 = 6 <= 7: fill up to max_stock 20
        assert (filters_line.available, filters_line.suggested_qty) == (Decimal(6), Decimal(14))
        assert filters_line.line_value == Decimal(14) * Decimal(FILTER["unit_cost"])
        assert groups[0].total_value == filters_line.line_value
        belt_line = groups[1].lines[0]
        # available 1 - 2 = -1; reorder quantity 5 lifts it to 4, above the reorder point 1
        assert (belt_line.reserved, belt_line.available) == (Decimal(2), Decimal(-1))
        assert belt_line.suggested_qty == Decimal(5)
        assert belt_line.unit_cost == Decimal(BELT["unit_cost"])
    assert order_id > 0


def test_reorder_covers_a_large_shortfall_in_whole_reorder_quantities(
    database_url: str, tmp_path: Path
) -> None:
    with _world(database_url, tmp_path, filters_on_hand=0, belts_on_hand=0) as world:
        with world.sessions() as s:
            belts = s.scalar(sa.select(StockItem).where(StockItem.sku == "BELT-A42"))
            assert belts is not None
            belts.reorder_qty = Decimal(3)
            s.commit()
        _generate(world)
        with world.sessions() as s:
            lines = {line.sku: line for g in stock.reorder_suggestions(s) for line in g.lines}
            # filters: need 4 reserved + 1 reorder point; batches of 5 → 10 (not 5: 5 - 4 = 1)
            assert lines["FLT-595"].available == Decimal(-4)
            assert lines["FLT-595"].suggested_qty == Decimal(10)
            assert lines["BELT-A42"].available + lines["BELT-A42"].suggested_qty > 1
            assert lines["BELT-A42"].suggested_qty % 3 == 0


def test_two_concurrent_resolves_on_postgresql_consume_the_parts_once(
    postgres_url: str, tmp_path: Path
) -> None:
    reset_postgres_schema(postgres_url)
    with _world(postgres_url, tmp_path, filters_on_hand=10, belts_on_hand=5) as world:
        order_id = _generate(world)
        _move(world.sessions, order_id, "assign", "start")
        barrier = threading.Barrier(2, timeout=30)
        outcomes: list[str] = []
        lock = threading.Lock()

        def resolve() -> None:
            barrier.wait()
            with world.sessions() as s:
                try:
                    orders.transition(
                        s,
                        work_order_id=order_id,
                        action="resolve",
                        actor="manager",
                        role=Role.MANAGER,
                        now=T0 + timedelta(hours=3),
                    )
                    result = "resolved"
                except InvalidTransition:
                    result = "refused"
            with lock:
                outcomes.append(result)

        threads = [threading.Thread(target=resolve) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert sorted(outcomes) == ["refused", "resolved"]
        with world.sessions() as s:
            moved = s.scalars(
                sa.select(StockMovement.quantity).where(StockMovement.work_order_id == order_id)
            ).all()
            assert sorted(moved) == [Decimal(-4), Decimal(-2)]
            assert (_balance(s, "FLT-595").on_hand, _balance(s, "FLT-595").reserved) == (
                Decimal(6),
                Decimal(0),
            )
            consumed = s.scalar(
                sa.select(sa.func.count())
                .select_from(StockReservation)
                .where(StockReservation.status == ReservationStatus.CONSUMED)
            )
            assert consumed == 2


# -- the API and the CLI --------------------------------------------------------------------------
@pytest.fixture
def api(database_url: str, tmp_path: Path) -> Iterator[ApiServer]:
    with running_api(database_url, tmp_path, auto_assign=False) as server:
        yield server


def test_the_reorder_endpoint_lists_groups_and_needs_a_signed_in_user(api: ApiServer) -> None:
    with api.client("admin") as admin:
        item = {
            "sku": "FLT-595",
            "name": "Bag filter",
            "category": "spare_part",
            "unit_cost": 42.5,
            "reorder_point": 2,
            "reorder_qty": 10,
        }
        assert admin.post("/api/v1/inventory/items", json=item).status_code == 201
        room = {"code": "MAIN", "name": "Main store"}
        assert admin.post("/api/v1/inventory/storerooms", json=room).status_code == 201
    with api.client("manager") as manager:
        receipt = {"sku": "FLT-595", "storeroom": "MAIN", "quantity": 1}
        assert manager.post("/api/v1/inventory/receipts", json=receipt).status_code == 201
    with api.client("tech") as tech:
        response = tech.get("/api/v1/inventory/reorder")
        assert response.status_code == 200, response.text
        groups = response.json()
    assert [g["supplier_name"] for g in groups] == ["no preferred supplier"]
    line = groups[0]["lines"][0]
    assert (line["sku"], Decimal(line["available"]), Decimal(line["suggested_qty"])) == (
        "FLT-595",
        Decimal(1),
        Decimal(10),
    )
    assert Decimal(groups[0]["total_value"]) == Decimal("425.00")
    anonymous = httpx.get(f"{api.url}/api/v1/inventory/reorder", timeout=10)
    assert anonymous.status_code == 401
    with api.client("tech") as tech:  # unknown parameters are ignored; NUL bytes are refused
        for query, expected in (("?limit=abc", 200), ("?x=" + "A" * 5000, 200), ("?s=%00", 422)):
            assert tech.get("/api/v1/inventory/reorder" + query).status_code == expected


def test_a_plan_with_parts_over_the_api_rejects_malformed_parts_with_422(api: ApiServer) -> None:
    base = {
        "name": "Filters",
        "trigger": "calendar",
        "interval": 1,
        "unit": "month",
        "anchor_local": "2026-03-02T08:00",
        "asset_codes": ["AHU-1"],
    }
    with api.client("manager") as manager:
        for parts in (
            [{"sku": "NOPE", "quantity": 1, "storeroom": "MAIN"}],
            [{"sku": "FLT-595", "quantity": "1", "storeroom": "MAIN"}],
            [{"sku": "FLT-595", "quantity": 0, "storeroom": "MAIN"}],
            [{"sku": "FLT-595", "quantity": 1e12, "storeroom": "MAIN"}],
            [{"sku": "x" * 500, "quantity": 1, "storeroom": "MAIN"}],
            [{"sku": "FLT-595", "quantity": 1, "storeroom": "MAIN", "evil": 1}],
            [{"sku": "FLT-595", "quantity": 1, "storeroom": "MAIN"}] * 101,
            "FLT-595",
        ):
            response = manager.post("/api/v1/pm/plans", json={**base, "parts": parts})
            assert response.status_code == 422, (parts, response.text)
            assert "detail" in response.json()


def test_stock_reorder_cli_prints_one_json_line_per_supplier_group(
    settings_env: dict[str, str],
) -> None:
    runner = CliRunner()
    result = runner.invoke(stock_app, ["reorder"], env=settings_env)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == ""  # an empty database has nothing to reorder
    engine, sessions = connect(settings_env["FACILITY_DATABASE_URL"])
    try:
        with sessions() as s:
            stock.create_item(
                s,
                sku="FLT-595",
                name="Bag filter",
                category=StockCategory.SPARE_PART,
                unit_cost=Decimal("42.50"),
                reorder_point=Decimal(2),
                reorder_qty=Decimal(10),
            )
    finally:
        engine.dispose()
    result = runner.invoke(stock_app, ["reorder"], env=settings_env)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["supplier_name"], [ln["sku"] for ln in r["lines"]]) for r in rows] == [
        ("no preferred supplier", ["FLT-595"])
    ]
    assert Decimal(rows[0]["lines"][0]["suggested_qty"]) == 10
    result = runner.invoke(stock_app, ["reorder", "--evil"], env=settings_env)
    assert result.exit_code != 0


@pytest.fixture
def settings_env(tmp_path: Path) -> dict[str, str]:
    return {
        "FACILITY_DATA_DIR": str(tmp_path),
        "FACILITY_DATABASE_URL": f"sqlite:///{tmp_path / 'facility.db'}",
    }
