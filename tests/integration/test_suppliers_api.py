"""Suppliers, contractors and purchase orders over HTTP: contractor scoping end to end, roles,
expiry warnings, scorecards, and hostile input (a clear 4xx, never a 500)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from maintenance.people.models import User
from maintenance.shared.vocabulary import Role
from maintenance.suppliers.models import Supplier
from maintenance.work_orders import service as orders
from tests.integration._work_order_server import ApiServer, running_api


@pytest.fixture
def api(database_url: str, tmp_path: Path) -> Iterator[ApiServer]:
    with running_api(database_url, tmp_path, auto_assign=False) as server:
        yield server


def _supplier(api: ApiServer, code: str, kind: str = "contractor", qualify: bool = True) -> None:
    with api.client("manager") as manager:
        body = {"code": code, "name": f"{code} Services", "kind": kind, "categories": ["hvac"]}
        response = manager.post("/api/v1/suppliers", json=body)
        assert response.status_code == 201, response.text
        assert response.json()["status"] == "candidate"
        if qualify:
            moved = manager.post(f"/api/v1/suppliers/{code}/status", json={"status": "qualified"})
            assert moved.status_code == 200, moved.text


def _contractor_user(api: ApiServer, username: str, company: str) -> None:
    """A contractor's staff member: role ``contractor`` with their company set."""
    with api.sessions() as s:
        admin = s.scalar(sa.select(User).where(User.username == "admin"))
        supplier = s.scalar(sa.select(Supplier).where(Supplier.code == company))
        assert admin is not None and supplier is not None
        s.add(
            User(
                username=username,
                role=Role.CONTRACTOR,
                password_hash=admin.password_hash,
                supplier_id=supplier.id,
            )
        )
        s.commit()


def _order(api: ApiServer, title: str, *, contractor: str | None) -> int:
    with api.sessions() as s:
        order, _ = orders.create_work_order(
            s, title=title, actor="manager", asset_code="AHU-1", now=api.clock.now
        )
        order_id = order.id
    with api.client("manager") as manager:
        if contractor is None:
            response = manager.post(
                f"/api/v1/work-orders/{order_id}/assign", json={"assignee": "tech"}
            )
        else:
            response = manager.post(
                f"/api/v1/work-orders/{order_id}/contractor", json={"contractor": contractor}
            )
        assert response.status_code == 200, response.text
    return order_id


@pytest.fixture
def companies(api: ApiServer) -> dict[str, int]:
    """Two contractors with a worker each, an order outsourced to each, one in-house order."""
    _supplier(api, "XCO")
    _supplier(api, "YCO")
    _contractor_user(api, "xworker", "XCO")
    _contractor_user(api, "yworker", "YCO")
    return {
        "x": _order(api, "Lift 1 stuck", contractor="XCO"),
        "y": _order(api, "Cleaning round", contractor="YCO"),
        "inhouse": _order(api, "AHU belt", contractor=None),
    }


def _stock(api: ApiServer) -> None:
    with api.client("admin") as admin:
        item = {"sku": "ROPE", "name": "Lift rope", "category": "spare_part", "unit_cost": 30}
        assert admin.post("/api/v1/inventory/items", json=item).status_code == 201
        room = {"code": "MAIN", "name": "Main store"}
        assert admin.post("/api/v1/inventory/storerooms", json=room).status_code == 201
    with api.client("manager") as manager:
        receipt = {"sku": "ROPE", "storeroom": "MAIN", "quantity": 5}
        assert manager.post("/api/v1/inventory/receipts", json=receipt).status_code == 201


# -- contractor scoping ---------------------------------------------------------------------------
def test_a_contractor_sees_and_works_only_their_own_companys_orders(
    api: ApiServer, companies: dict[str, int]
) -> None:
    _stock(api)
    x, y, inhouse = companies["x"], companies["y"], companies["inhouse"]
    with api.client("xworker") as worker:
        listed = worker.get("/api/v1/work-orders").json()
        assert [o["id"] for o in listed["items"]] == [x] and listed["total"] == 1
        for other in (y, inhouse):
            assert worker.get(f"/api/v1/work-orders/{other}").status_code == 404
            assert worker.post(f"/api/v1/work-orders/{other}/start").status_code == 404
            labour = {"hours": 1}
            assert (
                worker.post(f"/api/v1/work-orders/{other}/labour", json=labour).status_code == 404
            )
            assert worker.get(f"/api/v1/work-orders/{other}/labour").status_code == 404
        mine = worker.get(f"/api/v1/work-orders/{x}").json()
        assert mine["allowed_actions"] == ["start"]
        assert worker.post(f"/api/v1/work-orders/{x}/assign", json={}).status_code == 403
        started = worker.post(f"/api/v1/work-orders/{x}/start")
        assert started.status_code == 200, started.text
        assert set(started.json()["allowed_actions"]) == {"hold", "resolve"}
        assert worker.post(f"/api/v1/work-orders/{x}/cancel").status_code == 403

        booked = worker.post(
            f"/api/v1/work-orders/{x}/labour",
            json={"hours": 1.5, "worker": "crew-7", "hourly_rate": 80, "note": "rope check"},
        )
        assert booked.status_code == 201, booked.text
        parts = worker.post(
            f"/api/v1/work-orders/{x}/parts",
            json={"sku": "ROPE", "storeroom": "MAIN", "quantity": 1},
        )
        assert parts.status_code == 201, parts.text
        assert parts.json()["actor"] == "xworker"
        assert (
            worker.post(
                f"/api/v1/work-orders/{y}/parts",
                json={"sku": "ROPE", "storeroom": "MAIN", "quantity": 1},
            ).status_code
            == 404
        )
        assert worker.post(f"/api/v1/work-orders/{x}/hold").status_code == 200
        assert worker.post(f"/api/v1/work-orders/{x}/resume").status_code == 200
        assert worker.post(f"/api/v1/work-orders/{x}/resolve").status_code == 200
        assert worker.post(f"/api/v1/work-orders/{x}/verify").status_code == 403

        summary = worker.get(f"/api/v1/work-orders/{x}/labour").json()
        assert [(e["worker"], Decimal(e["hours"])) for e in summary["entries"]] == [
            ("crew-7", Decimal("1.5"))
        ]
        assert Decimal(summary["cost"]) == Decimal("120")
        cost = worker.get(f"/api/v1/inventory/work-orders/{x}/parts").json()["parts_cost"]
        assert Decimal(cost) == Decimal(30)

        # nothing else: no new orders, no directory, no scorecards, no purchase orders
        new = {"title": "Mine now", "location": "Roof"}
        assert worker.post("/api/v1/work-orders", json=new).status_code == 403
        assert worker.get("/api/v1/suppliers").status_code == 403
        assert worker.get("/api/v1/purchase-orders").status_code == 403
        assert worker.get("/api/v1/inventory/valuation").status_code == 403
        assert worker.get("/api/v1/inventory/movements").status_code == 403
        assert worker.get("/api/v1/inventory/items").status_code == 200
        assert worker.post("/api/v1/suppliers/scorecards?period=2026-03").status_code == 403
    with api.client("yworker") as other_company:
        assert other_company.get(f"/api/v1/work-orders/{x}").status_code == 404
        assert [o["id"] for o in other_company.get("/api/v1/work-orders").json()["items"]] == [y]
    with api.client("manager") as manager:
        shown = manager.get(f"/api/v1/work-orders/{x}").json()
        assert shown["contractor"] == "XCO"
        trail = shown["events"]
        kinds = [e["kind"] for e in trail]
        assert kinds[:3] == ["created", "outsourced", "start"]
        assert "labour" in kinds and "parts_issued" in kinds
        outsourced = trail[1]
        assert outsourced["data"]["contractor"] == "XCO" and outsourced["to_state"] == "assigned"
    with api.client("tech") as tech:  # the outsourced orders left the in-house pool
        items = tech.get("/api/v1/work-orders").json()["items"]
        seen = {o["id"] for o in items}
        assert x not in seen and y not in seen and inhouse in seen
        assert {o["contractor"] for o in items} == {None}


def test_a_contractor_moved_to_another_company_loses_the_old_orders_at_once(
    api: ApiServer, companies: dict[str, int]
) -> None:
    with api.client("xworker") as worker:
        assert worker.get(f"/api/v1/work-orders/{companies['x']}").status_code == 200
        with api.sessions() as s:
            user = s.scalar(sa.select(User).where(User.username == "xworker"))
            assert user is not None
            user.supplier_id = None
            s.commit()
        assert worker.get(f"/api/v1/work-orders/{companies['x']}").status_code == 404
        assert worker.get("/api/v1/work-orders").json()["total"] == 0


def test_outsourcing_needs_a_manager_and_a_qualified_contractor_and_applies_contract_targets(
    api: ApiServer,
) -> None:
    _supplier(api, "LIFTS")
    _supplier(api, "NEWCO", qualify=False)
    _supplier(api, "PARTSCO", kind="supplier")
    with api.client("manager") as manager:
        contract = {
            "code": "LIFTS-2026",
            "title": "Lift maintenance",
            "scope": "all lifts",
            "starts_on": "2026-01-01",
            "ends_on": "2026-12-31",
            "annual_value": 12000,
            "response_target_h": 2,
            "resolution_target_h": 8,
        }
        assert manager.post("/api/v1/suppliers/LIFTS/contracts", json=contract).status_code == 201
        assert manager.post("/api/v1/suppliers/LIFTS/contracts", json=contract).status_code == 409
    with api.sessions() as s:
        order, _ = orders.create_work_order(
            s, title="Lift 2", actor="manager", location="Core B", now=api.clock.now
        )
    path = f"/api/v1/work-orders/{order.id}/contractor"
    with api.client("tech") as tech:
        assert tech.post(path, json={"contractor": "LIFTS"}).status_code == 403
    with api.client("manager") as manager:
        assert manager.post(path, json={"contractor": "NEWCO"}).status_code == 409
        assert manager.post(path, json={"contractor": "PARTSCO"}).status_code == 409
        assert manager.post(path, json={"contractor": "NOPE"}).status_code == 404
        assert manager.post(path, json={"contractor": "LIFTS", "x": 1}).status_code == 422
        assert (
            manager.post(
                "/api/v1/work-orders/999999/contractor", json={"contractor": "LIFTS"}
            ).status_code
            == 404
        )
        response = manager.post(path, json={"contractor": "LIFTS", "note": "lift specialist"})
        assert response.status_code == 200, response.text
        sla = response.json()["sla"]
        created = datetime.fromisoformat(response.json()["created_at"])
        assert datetime.fromisoformat(sla["resolution_due_at"]) == created + timedelta(hours=8)
        assert datetime.fromisoformat(sla["response_due_at"]) == created + timedelta(hours=2)
        back = manager.post(path, json={"contractor": None})
        assert back.status_code == 200
        assert [e["kind"] for e in back.json()["events"]][-2:] == ["outsourced", "insourced"]


# -- directory, certificates, purchase orders -----------------------------------------------------
@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/suppliers",
        "/api/v1/suppliers/ACME/status",
        "/api/v1/suppliers/ACME/certificates",
        "/api/v1/suppliers/ACME/contracts",
        "/api/v1/suppliers/scorecards?period=2026-01",
        "/api/v1/suppliers/certificates/warnings",
        "/api/v1/purchase-orders",
        "/api/v1/purchase-orders/1/receive",
        "/api/v1/work-orders/1/labour",
        "/api/v1/work-orders/1/contractor",
    ],
)
def test_anonymous_writes_are_refused_with_401(api: ApiServer, path: str) -> None:
    assert httpx.post(f"{api.url}{path}", json={}, timeout=30).status_code == 401


def test_the_directory_guards_qualification_and_lists_with_filters(api: ApiServer) -> None:
    _supplier(api, "ACME", kind="both")
    _supplier(api, "BOLT", kind="supplier", qualify=False)
    with api.client("manager") as manager:
        again = {"code": "ACME", "name": "Again", "kind": "supplier"}
        assert manager.post("/api/v1/suppliers", json=again).status_code == 409
        refused = manager.post("/api/v1/suppliers/BOLT/status", json={"status": "suspended"})
        assert refused.status_code == 409
        assert "allowed: qualified, removed" in refused.json()["detail"]
        no_reason = manager.post("/api/v1/suppliers/ACME/status", json={"status": "suspended"})
        assert no_reason.status_code == 422
        moved = manager.post(
            "/api/v1/suppliers/ACME/status", json={"status": "suspended", "reason": "audit"}
        )
        assert moved.json()["status"] == "suspended"
        history = manager.get("/api/v1/suppliers/ACME/status-history").json()
        assert [h["to_status"] for h in history] == ["candidate", "qualified", "suspended"]
        patched = manager.patch(
            "/api/v1/suppliers/BOLT", json={"phone": "+44 1", "categories": ["fasteners"]}
        )
        assert patched.status_code == 200 and patched.json()["categories"] == ["fasteners"]
        page = manager.get("/api/v1/suppliers", params={"kind": "supplier"}).json()
        assert [s["code"] for s in page["items"]] == ["ACME", "BOLT"]  # both counts as either
        page = manager.get("/api/v1/suppliers", params={"status": "candidate"}).json()
        assert [s["code"] for s in page["items"]] == ["BOLT"]
        page = manager.get("/api/v1/suppliers", params={"category": "fasteners"}).json()
        assert page["total"] == 1
        page = manager.get("/api/v1/suppliers", params={"limit": 1, "offset": 1}).json()
        assert page["total"] == 2 and [s["code"] for s in page["items"]] == ["BOLT"]
    with api.client("tech") as tech:
        assert tech.get("/api/v1/suppliers/ACME").status_code == 200
        assert (
            tech.post("/api/v1/suppliers/BOLT/status", json={"status": "qualified"}).status_code
            == 403
        )
    with api.client("requester") as requester:
        assert requester.get("/api/v1/suppliers").status_code == 403


HOSTILE: list[tuple[str, str, Any]] = [
    ("post", "/api/v1/suppliers", {"code": "a/b", "name": "x", "kind": "supplier"}),
    ("post", "/api/v1/suppliers", {"code": "x" * 65, "name": "x", "kind": "supplier"}),
    ("post", "/api/v1/suppliers", {"code": "scorecards", "name": "x", "kind": "supplier"}),
    ("post", "/api/v1/suppliers", {"code": "OK", "name": "x" * 201, "kind": "supplier"}),
    ("post", "/api/v1/suppliers", {"code": "OK", "name": "x", "kind": "wizard"}),
    ("post", "/api/v1/suppliers", {"code": "OK", "name": "x", "kind": "supplier", "admin": 1}),
    ("post", "/api/v1/suppliers", {"code": "OK", "name": "x", "kind": "supplier", "email": "no"}),
    ("post", "/api/v1/suppliers", ["not", "an", "object"]),
    ("patch", "/api/v1/suppliers/ACME", {"name": None}),
    ("patch", "/api/v1/suppliers/ACME", {"status": "qualified"}),
    ("post", "/api/v1/suppliers/ACME/status", {"status": "royal"}),
    ("post", "/api/v1/suppliers/ACME/certificates", {"name": "x", "expires_on": "soon"}),
    (
        "post",
        "/api/v1/suppliers/ACME/certificates",
        {"name": "x", "issued_on": "2027-01-01", "expires_on": "2026-01-01"},
    ),
    (
        "post",
        "/api/v1/suppliers/ACME/contracts",
        {"code": "C", "title": "t", "starts_on": "2026-02-01", "ends_on": "2026-01-01"},
    ),
    (
        "post",
        "/api/v1/suppliers/ACME/contracts",
        {
            "code": "C",
            "title": "t",
            "starts_on": "2026-01-01",
            "ends_on": "2026-02-01",
            "resolution_target_h": "8",
        },
    ),
    ("put", "/api/v1/suppliers/ACME/reviews", {"period": "2026-13", "score": 50}),
    ("put", "/api/v1/suppliers/ACME/reviews", {"period": "2026-01", "score": 101}),
    ("put", "/api/v1/suppliers/ACME/reviews", {"period": "2026-01", "score": "50"}),
    ("post", "/api/v1/suppliers/scorecards?period=2026-1", None),
    ("post", "/api/v1/suppliers/scorecards?period=2026-01", {"weights": {"speed": 1}}),
    ("post", "/api/v1/suppliers/scorecards?period=2026-01", {"weights": {"sla": "high"}}),
    ("post", "/api/v1/suppliers/scorecards?period=2026-01", {"weights": {"sla": -1}}),
    ("post", "/api/v1/suppliers/scorecards?period=2026-01", {"threshold": 1e308}),
    ("get", "/api/v1/suppliers?limit=0", None),
    ("get", "/api/v1/suppliers?limit=100000", None),
    ("get", "/api/v1/suppliers/certificates/expiring?days=-1", None),
    ("get", "/api/v1/suppliers/certificates/expiring?days=abc", None),
    ("get", "/api/v1/suppliers/scorecards/history?supplier=..%2F..", None),
    (
        "post",
        "/api/v1/purchase-orders",
        {
            "supplier": "ACME",
            "sku": "X",
            "storeroom": "M",
            "quantity": "5",
            "expected_at": "2026-04-01",
        },
    ),
    (
        "post",
        "/api/v1/purchase-orders",
        {
            "supplier": "ACME",
            "sku": "X",
            "storeroom": "M",
            "quantity": 5,
            "expected_at": "next week",
        },
    ),
    (
        "post",
        "/api/v1/purchase-orders",
        {
            "supplier": "ACME",
            "sku": "X",
            "storeroom": "M",
            "quantity": -5,
            "expected_at": "2026-04-01",
        },
    ),
    ("post", "/api/v1/purchase-orders/99999999999/receive", {}),
    ("post", "/api/v1/purchase-orders/1/receive", {"quantity": 1e12}),
    ("post", "/api/v1/work-orders/1/labour", {"hours": "2"}),
    ("post", "/api/v1/work-orders/1/labour", {"hours": 0}),
    ("post", "/api/v1/work-orders/1/labour", {"hours": 10_000}),
    ("post", "/api/v1/work-orders/1/labour", {"hours": 1, "hourly_rate": -3}),
    ("post", "/api/v1/work-orders/1/labour", {"hours": 1, "worker": ""}),
    ("post", "/api/v1/work-orders/1/contractor", {"contractor": "'; DROP TABLE suppliers;--"}),
]


@pytest.mark.parametrize(("method", "path", "body"), HOSTILE)
def test_hostile_input_gets_a_clear_4xx_and_changes_nothing(
    api: ApiServer, method: str, path: str, body: Any
) -> None:
    _supplier(api, "ACME", kind="both")
    with api.client("manager") as manager:
        before = manager.get("/api/v1/suppliers").json()
        kwargs: dict[str, Any] = {} if body is None else {"json": body}
        response = manager.request(method.upper(), path, **kwargs)
        assert 400 <= response.status_code < 500, (response.status_code, response.text)
        assert isinstance(response.json()["detail"], str | list)
        assert manager.get("/api/v1/suppliers").json() == before


def test_malformed_and_oversized_bodies_are_refused(api: ApiServer) -> None:
    with api.client("manager") as manager:
        raw = manager.post(
            "/api/v1/suppliers",
            content=b'{"code": NaN',
            headers={"Content-Type": "application/json"},
        )
        assert raw.status_code == 422
        huge = {"code": "BIG", "name": "x", "kind": "supplier", "notes": "x" * (2 * 1024 * 1024)}
        assert manager.post("/api/v1/suppliers", json=huge).status_code == 413
        assert manager.get("/api/v1/suppliers").json()["total"] == 0


def test_purchase_orders_are_received_into_stock_partially_then_in_full(api: ApiServer) -> None:
    _stock(api)
    _supplier(api, "ROPES", kind="supplier")
    _supplier(api, "LATE", kind="supplier", qualify=False)
    expected = (api.clock.now + timedelta(days=3)).isoformat()
    body = {
        "supplier": "ROPES",
        "sku": "ROPE",
        "storeroom": "MAIN",
        "quantity": 10,
        "expected_at": expected,
        "unit_cost": 28.5,
    }
    with api.client("tech") as tech:
        assert tech.post("/api/v1/purchase-orders", json=body).status_code == 403
    with api.client("manager") as manager:
        assert (
            manager.post("/api/v1/purchase-orders", json=body | {"supplier": "LATE"}).status_code
            == 409
        )
        assert (
            manager.post("/api/v1/purchase-orders", json=body | {"sku": "NOPE"}).status_code == 422
        )
        past = body | {"expected_at": (api.clock.now - timedelta(days=1)).isoformat()}
        assert manager.post("/api/v1/purchase-orders", json=past).status_code == 422
        created = manager.post("/api/v1/purchase-orders", json=body)
        assert created.status_code == 201, created.text
        po = created.json()
        assert po["status"] == "open" and Decimal(po["unit_cost"]) == Decimal("28.5")
        api.clock.advance(days=1)
        part = manager.post(f"/api/v1/purchase-orders/{po['id']}/receive", json={"quantity": 4})
        assert part.status_code == 200 and part.json()["status"] == "open"
        assert manager.post(f"/api/v1/purchase-orders/{po['id']}/cancel").status_code == 422
        rest = manager.post(f"/api/v1/purchase-orders/{po['id']}/receive")
        assert rest.json()["status"] == "received"
        assert Decimal(rest.json()["quantity_received"]) == 10
        assert manager.post(f"/api/v1/purchase-orders/{po['id']}/receive").status_code == 422
        stock = manager.get("/api/v1/inventory/stock", params={"sku": "ROPE"}).json()
        assert [Decimal(i["on_hand"]) for i in stock["items"]] == [15]
        listed = manager.get(
            "/api/v1/purchase-orders", params={"supplier": "ROPES", "status": "received"}
        )
        assert [p["id"] for p in listed.json()["items"]] == [po["id"]]
        second = manager.post("/api/v1/purchase-orders", json=body).json()
        cancelled = manager.post(f"/api/v1/purchase-orders/{second['id']}/cancel")
        assert cancelled.json()["status"] == "cancelled"


def test_expiry_warnings_over_http_fire_once_per_window(api: ApiServer) -> None:
    _supplier(api, "HVACCO")
    expires = (api.clock.now + timedelta(days=40)).date()
    with api.client("manager") as manager:
        cert = {"name": "F-gas", "number": "FG-1", "expires_on": expires.isoformat()}
        assert manager.post("/api/v1/suppliers/HVACCO/certificates", json=cert).status_code == 201
        assert manager.get("/api/v1/suppliers/certificates/expiring?days=30").json() == []
        assert (
            manager.post("/api/v1/suppliers/certificates/warnings?days=30").json()["warned"] == []
        )
        api.clock.now = datetime.combine(expires - timedelta(days=30), datetime.min.time(), UTC)
        listed = manager.get("/api/v1/suppliers/certificates/expiring?days=30").json()
        assert [(a["supplier"], a["days_left"]) for a in listed] == [("HVACCO", 30)]
        first = manager.post("/api/v1/suppliers/certificates/warnings?days=30").json()
        assert [a["certificate"]["number"] for a in first["warned"]] == ["FG-1"]
        api.clock.advance(hours=6)
        assert (
            manager.post("/api/v1/suppliers/certificates/warnings?days=30").json()["warned"] == []
        )


def test_scorecards_over_http_rank_flag_and_keep_history(api: ApiServer) -> None:
    _supplier(api, "GOOD", kind="supplier")
    _supplier(api, "POOR", kind="supplier")
    with api.client("manager") as manager:
        for code, score in (("GOOD", 85), ("POOR", 35)):
            review = {"period": "2026-02", "score": score, "comment": "monthly review"}
            assert manager.put(f"/api/v1/suppliers/{code}/reviews", json=review).status_code == 200
        cards = manager.post("/api/v1/suppliers/scorecards?period=2026-02", json={"threshold": 50})
        assert cards.status_code == 200, cards.text
        assert [(c["supplier"], c["rank"], c["flagged"]) for c in cards.json()] == [
            ("GOOD", 1, False),
            ("POOR", 2, True),
        ]
        flagged = manager.get("/api/v1/suppliers", params={"flagged": True}).json()
        assert [s["code"] for s in flagged["items"]] == ["POOR"]
        assert manager.delete("/api/v1/suppliers/POOR/flag").json()["flagged_for_review_at"] is None
        ranking = manager.get("/api/v1/suppliers/scorecards", params={"period": "2026-02"}).json()
        assert [c["supplier"] for c in ranking["items"]] == ["GOOD", "POOR"]
        history = manager.get("/api/v1/suppliers/scorecards/history", params={"supplier": "POOR"})
        assert [(c["period"], c["score"]) for c in history.json()["items"]] == [("2026-02", 35.0)]
        assert manager.get("/api/v1/suppliers/scorecards/history?supplier=NOPE").status_code == 404
    with api.client("tech") as tech:
        assert tech.post("/api/v1/suppliers/scorecards?period=2026-02").status_code == 403
        assert tech.get("/api/v1/suppliers/scorecards").status_code == 403
