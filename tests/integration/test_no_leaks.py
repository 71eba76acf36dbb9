"""An asset's history, figures and replacement plan show a caller only the orders they may read.

A requester's order on AHU-1 answers 404 to another requester; before the fix the same caller
read its title, status and costs in ``GET /assets/AHU-1/history`` (orders and the status change
"work order #1 started: <title>") and counted it in the figures.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration._work_order_server import ApiServer, running_api

TITLE = "Private: CEO office smells of gas"


@pytest.fixture
def api(database_url: str, tmp_path: Path) -> Iterator[ApiServer]:
    with running_api(database_url, tmp_path) as server:
        yield server


@pytest.fixture
def started_order(api: ApiServer) -> int:
    """requester's order on AHU-1, assigned to tech and started (AHU-1 goes under repair)."""
    with api.client("requester") as requester:
        created = requester.post("/api/v1/work-orders", json={"title": TITLE, "asset": "AHU-1"})
        assert created.status_code == 201, created.text
        order_id: int = created.json()["id"]
    with api.client("tech") as tech:
        started = tech.post(f"/api/v1/work-orders/{order_id}/start")
        assert started.status_code == 200, started.text
    return order_id


def test_another_requester_sees_neither_the_order_nor_its_title_in_the_history(
    api: ApiServer, started_order: int
) -> None:
    with api.client("requester2") as other:
        assert other.get(f"/api/v1/work-orders/{started_order}").status_code == 404
        response = other.get("/api/v1/assets/AHU-1/history")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["orders"] == [] and body["orders_total"] == 0
    assert TITLE not in response.text
    under_repair = [c for c in body["status_changes"] if c["to_status"] == "under_repair"]
    assert len(under_repair) == 1, "the asset's own status stays visible"
    assert under_repair[0]["work_order_id"] is None
    assert under_repair[0]["reason"] == "moved by a work order you cannot see"


def test_the_requester_who_raised_it_and_a_manager_still_see_it(
    api: ApiServer, started_order: int
) -> None:
    for name in ("requester", "manager"):
        with api.client(name) as caller:
            body = caller.get("/api/v1/assets/AHU-1/history").json()
        assert [line["work_order_id"] for line in body["orders"]] == [started_order], name
        reasons = [c["reason"] for c in body["status_changes"] if c["work_order_id"]]
        assert reasons == [f"work order #{started_order} started: {TITLE}"], name


def test_figures_and_the_replacement_plan_count_only_readable_orders(
    api: ApiServer, started_order: int
) -> None:
    with api.client("requester2") as other, api.client("manager") as manager:
        assert other.get("/api/v1/assets/AHU-1/figures").json()["order_count"] == 0
        assert manager.get("/api/v1/assets/AHU-1/figures").json()["order_count"] == 1
        plans = {
            name: {c["code"]: c for c in client.get("/api/v1/assets/replacement-plan").json()}
            for name, client in (("other", other), ("manager", manager))
        }
    assert plans["other"]["AHU-1"]["figures"]["order_count"] == 0
    assert plans["manager"]["AHU-1"]["figures"]["order_count"] == 1


def test_the_csv_export_of_another_requester_holds_only_their_own_orders(
    api: ApiServer, started_order: int
) -> None:
    with api.client("requester2") as other:
        exported = other.get("/api/v1/work-orders/export.csv")
    assert exported.status_code == 200
    assert TITLE not in exported.text
    assert exported.text.splitlines()[0].startswith("id,title,")
    assert len(exported.text.splitlines()) == 1
