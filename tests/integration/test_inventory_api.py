"""``/api/v1/inventory`` over HTTP: roles, the ledger's rules, reports and hostile input."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from maintenance.shared.vocabulary import Role
from maintenance.work_orders import service as orders
from tests.integration._work_order_server import ApiServer, running_api

ITEM = {
    "sku": "FLT-595",
    "name": "Bag filter 595x595",
    "category": "spare_part",
    "unit_cost": 42.5,
    "reorder_point": 2,
    "reorder_qty": 10,
}


@pytest.fixture
def api(database_url: str, tmp_path: Path) -> Iterator[ApiServer]:
    with running_api(database_url, tmp_path, auto_assign=False) as server:
        yield server


def _order_for_tech(api: ApiServer) -> int:
    with api.sessions() as s:
        order, _ = orders.create_work_order(
            s, title="Replace filters", actor="manager", asset_code="AHU-1", now=api.clock.now
        )
        orders.transition(
            s,
            work_order_id=order.id,
            action="assign",
            actor="manager",
            role=Role.MANAGER,
            assignee="tech",
            now=api.clock.now,
        )
        return order.id


def _stocked(api: ApiServer, quantity: int = 5) -> None:
    with api.client("admin") as admin:
        assert admin.post("/api/v1/inventory/items", json=ITEM).status_code == 201
        room = {"code": "MAIN", "name": "Main store"}
        assert admin.post("/api/v1/inventory/storerooms", json=room).status_code == 201
    with api.client("manager") as manager:
        receipt = {"sku": "FLT-595", "storeroom": "MAIN", "quantity": quantity}
        assert manager.post("/api/v1/inventory/receipts", json=receipt).status_code == 201


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/inventory/items",
        "/api/v1/inventory/storerooms",
        "/api/v1/inventory/receipts",
        "/api/v1/inventory/issues",
        "/api/v1/inventory/returns",
        "/api/v1/inventory/adjustments",
        "/api/v1/inventory/transfers",
    ],
)
def test_anonymous_writes_are_refused_with_401(api: ApiServer, path: str) -> None:
    response = httpx.post(f"{api.url}{path}", json={}, timeout=30)
    assert response.status_code == 401


def test_a_technician_issues_parts_to_their_order_and_the_cost_lands_on_it(api: ApiServer) -> None:
    _stocked(api)
    order_id = _order_for_tech(api)
    issue = {"sku": "FLT-595", "storeroom": "MAIN", "quantity": 2, "work_order_id": order_id}
    with api.client("tech") as tech:
        response = tech.post("/api/v1/inventory/issues", json=issue)
        assert response.status_code == 201, response.text
        assert Decimal(response.json()["quantity"]) == -2
        parts = tech.get(f"/api/v1/inventory/work-orders/{order_id}/parts").json()
        assert Decimal(parts["parts_cost"]) == Decimal("85")
        assert [m["storeroom"] for m in parts["movements"]] == ["MAIN"]
        stock = tech.get("/api/v1/inventory/stock", params={"sku": "FLT-595"}).json()
        assert [Decimal(i["on_hand"]) for i in stock["items"]] == [3]
    with api.client("outsider") as outsider:  # another team's technician cannot see the order
        assert outsider.post("/api/v1/inventory/issues", json=issue).status_code == 404
    with api.client("requester") as requester:
        assert requester.post("/api/v1/inventory/issues", json=issue).status_code == 403


def test_issuing_more_than_is_on_hand_is_a_409_that_says_what_is_there(api: ApiServer) -> None:
    _stocked(api, quantity=1)
    order_id = _order_for_tech(api)
    issue = {"sku": "FLT-595", "storeroom": "MAIN", "quantity": 2, "work_order_id": order_id}
    with api.client("tech") as tech:
        response = tech.post("/api/v1/inventory/issues", json=issue)
    assert response.status_code == 409
    assert "MAIN holds 1 pcs of FLT-595" in response.json()["detail"]


def test_only_managers_adjust_and_only_with_a_reason(api: ApiServer) -> None:
    _stocked(api)
    adjustment = {"sku": "FLT-595", "storeroom": "MAIN", "delta": -1, "reason": "stock-take"}
    with api.client("tech") as tech:
        assert tech.post("/api/v1/inventory/adjustments", json=adjustment).status_code == 403
    with api.client("manager") as manager:
        no_reason = {k: v for k, v in adjustment.items() if k != "reason"}
        assert manager.post("/api/v1/inventory/adjustments", json=no_reason).status_code == 422
        response = manager.post("/api/v1/inventory/adjustments", json=adjustment)
        assert response.status_code == 201
        assert response.json()["reason"] == "stock-take"
        ledger = manager.get("/api/v1/inventory/movements", params={"sku": "FLT-595"}).json()
        assert [m["kind"] for m in ledger["items"]] == ["receipt", "adjustment"]


def test_only_admins_configure_items_and_storerooms(api: ApiServer) -> None:
    with api.client("manager") as manager:
        assert manager.post("/api/v1/inventory/items", json=ITEM).status_code == 403
    with api.client("admin") as admin:
        assert admin.post("/api/v1/inventory/items", json=ITEM).status_code == 201
        duplicate = admin.post("/api/v1/inventory/items", json=ITEM)
        assert duplicate.status_code == 409
        assert "exists" in duplicate.json()["detail"]


def test_reports_list_low_stock_valuation_and_dead_stock(api: ApiServer) -> None:
    _stocked(api, quantity=2)
    with api.client("tech") as tech:
        low = tech.get("/api/v1/inventory/low-stock").json()
        assert [(r["sku"], Decimal(r["suggested_qty"])) for r in low] == [("FLT-595", Decimal(10))]
        value = tech.get("/api/v1/inventory/valuation").json()
        assert Decimal(value["total"]) == Decimal("85")
        assert tech.get("/api/v1/inventory/dead-stock", params={"days": 30}).json() == []
    api.clock.advance(days=31)
    with api.client("tech") as tech:
        dead = tech.get("/api/v1/inventory/dead-stock", params={"days": 30}).json()
        assert [d["sku"] for d in dead] == ["FLT-595"]


def test_item_lists_are_paged(api: ApiServer) -> None:
    with api.client("admin") as admin:
        for n in range(5):
            item = {**ITEM, "sku": f"SKU-{n}"}
            assert admin.post("/api/v1/inventory/items", json=item).status_code == 201
        page = admin.get("/api/v1/inventory/items", params={"limit": 2, "offset": 2}).json()
    assert page["total"] == 5
    assert [i["sku"] for i in page["items"]] == ["SKU-2", "SKU-3"]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/inventory/receipts", {"sku": "FLT-595", "storeroom": "MAIN", "quantity": -1}),
        ("/api/v1/inventory/receipts", {"sku": "FLT-595", "storeroom": "MAIN", "quantity": 0}),
        ("/api/v1/inventory/receipts", {"sku": "FLT-595", "storeroom": "MAIN", "quantity": "1"}),
        ("/api/v1/inventory/receipts", {"sku": "FLT-595", "storeroom": "MAIN", "quantity": True}),
        ("/api/v1/inventory/receipts", {"sku": "FLT-595", "storeroom": "MAIN", "quantity": 1e12}),
        ("/api/v1/inventory/receipts", {"sku": "FLT-595", "storeroom": "MAIN", "quantity": 0.0001}),
        (
            "/api/v1/inventory/receipts",
            {"sku": "FLT-595", "storeroom": "MAIN", "quantity": 1, "x": 1},
        ),
        ("/api/v1/inventory/receipts", {"sku": "X" * 10_000, "storeroom": "MAIN", "quantity": 1}),
        ("/api/v1/inventory/receipts", {"sku": "NOPE", "storeroom": "MAIN", "quantity": 1}),
        ("/api/v1/inventory/receipts", {"sku": "../etc", "storeroom": "MAIN", "quantity": 1}),
        ("/api/v1/inventory/receipts", [1, 2, 3]),
        (
            "/api/v1/inventory/adjustments",
            {"sku": "FLT-595", "storeroom": "MAIN", "delta": "x", "reason": "abc"},
        ),
        (
            "/api/v1/inventory/transfers",
            {"sku": "FLT-595", "source": "MAIN", "target": "MAIN", "quantity": 1},
        ),
        ("/api/v1/inventory/items", {**ITEM, "sku": "NEW", "unit_cost": -1}),
        ("/api/v1/inventory/items", {**ITEM, "sku": "NEW", "category": "weapons"}),
        ("/api/v1/inventory/items", {**ITEM, "sku": "NEW", "name": "n" * 100_000}),
        (
            "/api/v1/inventory/issues",
            {"sku": "FLT-595", "storeroom": "MAIN", "quantity": 1, "work_order_id": 2**40},
        ),
    ],
)
def test_hostile_bodies_are_refused_with_422(api: ApiServer, path: str, body: object) -> None:
    _stocked(api)
    with api.client("admin") as admin:
        response = admin.post(path, json=body)
    assert response.status_code == 422, response.text
    assert response.json()["detail"]


def test_malformed_json_and_oversized_bodies_get_clear_errors(api: ApiServer) -> None:
    with api.client("admin") as admin:
        broken = admin.post(
            "/api/v1/inventory/receipts",
            content=b'{"sku": "A", "quantity": NaN',
            headers={"Content-Type": "application/json"},
        )
        assert broken.status_code == 422
        huge = admin.post("/api/v1/inventory/items", json={**ITEM, "name": "n" * 2_000_000})
        assert huge.status_code == 413


@pytest.mark.parametrize(
    "query",
    [{"limit": 0}, {"limit": 10_000}, {"offset": -1}, {"limit": "many"}, {"sku": "x" * 1000}],
)
def test_hostile_query_parameters_are_refused_with_422(
    api: ApiServer, query: dict[str, str | int]
) -> None:
    with api.client("tech") as tech:
        assert tech.get("/api/v1/inventory/stock", params=query).status_code == 422


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/inventory/movements",
        "/api/v1/inventory/low-stock",
        "/api/v1/inventory/reorder",
        "/api/v1/inventory/dead-stock",
        "/api/v1/inventory/valuation",
    ],
)
def test_costs_and_buying_plans_are_for_staff_only(api: ApiServer, path: str) -> None:
    _stocked(api)
    with api.client("requester") as requester:
        refused = requester.get(path)
        assert refused.status_code == 403
        assert "admin, manager, tech" in refused.json()["detail"]
    with api.client("tech") as tech:
        assert tech.get(path).status_code == 200


def test_requesters_cannot_browse_the_storeroom(api: ApiServer) -> None:
    _stocked(api)
    with api.client("requester") as requester:
        assert requester.get("/api/v1/inventory/items").status_code == 403
        assert requester.get("/api/v1/inventory/stock").status_code == 403
    with api.client("tech") as tech:
        skus = [i["sku"] for i in tech.get("/api/v1/inventory/items").json()["items"]]
        assert skus == [ITEM["sku"]]
