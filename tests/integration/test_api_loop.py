"""The whole service loop through HTTP with real tokens, and every role on every transition."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from maintenance.shared.vocabulary import Priority, Role
from maintenance.work_orders import service
from maintenance.work_orders.models import WorkOrderSource, WorkOrderStatus, WorkOrderType
from tests.integration._work_order_server import USERS, ApiServer, running_api

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def api(database_url: str, tmp_path: Path) -> Iterator[ApiServer]:
    with running_api(database_url, tmp_path) as server:
        yield server


def test_a_request_runs_the_whole_loop_from_report_to_rating_and_close(api: ApiServer) -> None:
    with api.client("manager") as manager:
        sop = manager.post(
            "/api/v1/checklists",
            json={
                "name": "AHU filter replacement",
                "asset_type": "ahu",
                "items": [
                    {"label": "isolate unit", "kind": "pass_fail"},
                    {"label": "pressure drop", "kind": "number", "min": 20, "max": 250},
                    {"label": "remarks", "kind": "text", "required": False},
                ],
            },
        )
        assert sop.status_code == 201, sop.text

    with api.client("requester") as requester:
        created = requester.post(
            "/api/v1/work-orders",
            json={"title": "Meeting room is hot", "asset": "AHU-1", "description": "28 degC"},
        )
        assert created.status_code == 201, created.text
        order = created.json()
        order_id = order["id"]
        photo = requester.post(
            f"/api/v1/work-orders/{order_id}/attachments",
            files={"file": ("thermometer.png", PNG, "image/png")},
        )
        assert photo.status_code == 201, photo.text
        downloaded = requester.get(
            f"/api/v1/work-orders/{order_id}/attachments/{photo.json()['id']}"
        )

    assert downloaded.content == PNG
    assert order["order_type"] == "request" and order["source"] == "request"
    assert order["status"] == "assigned"
    assert order["assignee"] == "tech"  # the only technician skilled in air handlers
    assert "skilled in asset type 'ahu'" in order["assignment_reason"]
    assert order["sla"]["resolution_due_at"] is not None
    assert [i["label"] for i in order["checklist"]] == ["isolate unit", "pressure drop", "remarks"]

    with api.client("tech") as tech:
        assert tech.post(f"/api/v1/work-orders/{order_id}/start").status_code == 200
        early = tech.post(f"/api/v1/work-orders/{order_id}/resolve")
        assert early.status_code == 422
        assert "isolate unit" in early.json()["detail"]
        items = {
            i["label"]: i["id"]
            for i in tech.get(f"/api/v1/work-orders/{order_id}").json()["checklist"]
        }
        base = f"/api/v1/work-orders/{order_id}/checklist"
        assert (
            tech.post(f"{base}/{items['isolate unit']}", json={"value": "pass"}).status_code == 200
        )
        recorded = tech.post(f"{base}/{items['pressure drop']}", json={"value": 180.5})
        assert recorded.status_code == 200
        resolved = tech.post(
            f"/api/v1/work-orders/{order_id}/resolve", json={"note": "filter swapped"}
        )
        assert resolved.status_code == 200, resolved.text

    with api.client("requester") as requester:
        rejected = requester.post(
            f"/api/v1/work-orders/{order_id}/reopen", json={"note": "still 27 degC"}
        )
        assert rejected.json()["status"] == "reopened"
        assert rejected.json()["reopen_count"] == 1
    with api.client("tech") as tech:
        assert tech.post(f"/api/v1/work-orders/{order_id}/start").json()["status"] == "in_progress"
        assert tech.post(f"/api/v1/work-orders/{order_id}/resolve").json()["status"] == "resolved"
    with api.client("requester") as requester:
        assert (
            requester.post(f"/api/v1/work-orders/{order_id}/verify").json()["status"] == "verified"
        )
        rated = requester.post(
            f"/api/v1/work-orders/{order_id}/rating", json={"rating": 4, "comment": "cool again"}
        )
        assert rated.status_code == 200, rated.text
        again = requester.post(f"/api/v1/work-orders/{order_id}/rating", json={"rating": 5})
        assert again.status_code == 409
    with api.client("manager") as manager:
        closed = manager.post(f"/api/v1/work-orders/{order_id}/close").json()

    assert closed["status"] == "closed"
    assert closed["rating"] == 4 and closed["rating_comment"] == "cool again"
    assert [a["filename"] for a in closed["attachments"]] == ["thermometer.png"]
    transitions = [(e["kind"], e["actor"]) for e in closed["events"] if e["to_state"]]
    assert transitions == [
        ("created", "requester"),
        ("assign", "dispatch"),
        ("start", "tech"),
        ("resolve", "tech"),
        ("reopen", "requester"),
        ("start", "tech"),
        ("resolve", "tech"),
        ("verify", "requester"),
        ("close", "manager"),
    ]
    checklist = {e["note"]: e["actor"] for e in closed["events"] if e["kind"] == "checklist"}
    assert checklist == {"isolate unit": "tech", "pressure drop": "tech"}


def test_a_failed_inspection_item_opens_a_linked_corrective_order(api: ApiServer) -> None:
    with api.client("manager") as manager:
        manager.post(
            "/api/v1/checklists",
            json={
                "name": "chiller inspection",
                "order_type": "inspection",
                "items": [{"label": "condenser pressure", "kind": "number", "max": 1500}],
            },
        ).raise_for_status()
        order = manager.post(
            "/api/v1/work-orders",
            json={"title": "Quarterly chiller check", "asset": "CH-1", "order_type": "inspection"},
        ).json()
        assert order["assignee"] == "tech2"
        manager.post(f"/api/v1/work-orders/{order['id']}/start").raise_for_status()
        item = order["checklist"][0]["id"]
        after = manager.post(
            f"/api/v1/work-orders/{order['id']}/checklist/{item}", json={"value": 1720}
        ).json()
        followup_id = after["checklist"][0]["followup_id"]
        followup = manager.get(f"/api/v1/work-orders/{followup_id}").json()

    assert after["checklist"][0]["outcome"] == "fail"
    assert followup["parent_id"] == order["id"]
    assert followup["asset"] == "CH-1" and followup["order_type"] == "corrective"
    assert followup["events"][0]["data"]["value"] == "1720.0"


def test_a_retried_create_with_the_same_idempotency_key_returns_the_first_order(
    api: ApiServer,
) -> None:
    with api.client("manager") as manager:
        body = {"title": "Replace lamp", "location": "Corridor 2"}
        first = manager.post("/api/v1/work-orders", json=body, headers={"Idempotency-Key": "k-1"})
        retry = manager.post("/api/v1/work-orders", json=body, headers={"Idempotency-Key": "k-1"})
        total = manager.get("/api/v1/work-orders").json()["total"]
    assert (first.status_code, retry.status_code) == (201, 200)
    assert first.json()["id"] == retry.json()["id"]
    assert total == 1


# -- each role on each transition ----------------------------------------------------------------
_SETUP = {
    WorkOrderStatus.NEW: [],
    WorkOrderStatus.ASSIGNED: ["assign"],
    WorkOrderStatus.IN_PROGRESS: ["assign", "start"],
    WorkOrderStatus.ON_HOLD: ["assign", "start", "hold"],
    WorkOrderStatus.RESOLVED: ["assign", "start", "resolve"],
    WorkOrderStatus.VERIFIED: ["assign", "start", "resolve", "verify"],
    WorkOrderStatus.REOPENED: ["assign", "start", "resolve", "reopen"],
}
_WORK = {"admin": 200, "manager": 200, "tech": 200, "tech2": 200, "outsider": 404, "requester": 403}
_ACCEPT = {"admin": 200, "manager": 200, "requester": 200, "requester2": 404, "tech": 403}
CASES: list[tuple[str, WorkOrderStatus, dict[str, int]]] = [
    (
        "assign",
        WorkOrderStatus.ASSIGNED,
        {"admin": 200, "manager": 200, "tech": 403, "requester": 403, "outsider": 404},
    ),
    ("start", WorkOrderStatus.ASSIGNED, _WORK),
    ("start", WorkOrderStatus.REOPENED, _WORK),
    ("hold", WorkOrderStatus.IN_PROGRESS, _WORK),
    ("resume", WorkOrderStatus.ON_HOLD, _WORK),
    ("resolve", WorkOrderStatus.IN_PROGRESS, _WORK),
    ("verify", WorkOrderStatus.RESOLVED, _ACCEPT),
    ("reopen", WorkOrderStatus.RESOLVED, _ACCEPT),
    (
        "close",
        WorkOrderStatus.VERIFIED,
        {"admin": 200, "manager": 200, "tech": 403, "requester": 403, "requester2": 404},
    ),
    (
        "cancel",
        WorkOrderStatus.NEW,
        {"admin": 200, "manager": 200, "requester": 200, "requester2": 404, "tech": 403},
    ),
    (
        "cancel",
        WorkOrderStatus.ASSIGNED,
        {"admin": 200, "manager": 200, "requester": 403, "tech": 403},
    ),
]


def _order_in(sessions: sessionmaker[Session], state: WorkOrderStatus) -> int:
    """A request by ``requester`` on AHU-1, moved by the admin into ``state``."""
    with sessions() as session:
        order, _ = service.create_work_order(
            session,
            title=f"order in {state.value}",
            actor="requester",
            asset_code="AHU-1",
            order_type=WorkOrderType.REQUEST,
            source=WorkOrderSource.REQUEST,
            priority=Priority.P3,
        )
        for action in _SETUP[state]:
            service.transition(
                session,
                work_order_id=order.id,
                action=action,
                actor="admin",
                role=Role.ADMIN,
                assignee="tech" if action == "assign" else None,
            )
        return order.id


def test_each_role_may_take_exactly_the_transitions_its_permissions_allow(api: ApiServer) -> None:
    clients = {name: api.client(name) for name in USERS}
    mismatches = []
    try:
        for action, state, expected in CASES:
            for username, status in expected.items():
                order_id = _order_in(api.sessions, state)
                body = {"assignee": "tech2"} if action == "assign" else {}
                response = clients[username].post(
                    f"/api/v1/work-orders/{order_id}/{action}", json=body
                )
                if response.status_code != status:
                    mismatches.append(
                        (action, state.value, username, response.status_code, response.text[:120])
                    )
                elif status == 200:
                    assert response.json()["status"] == service.ACTIONS[action].target.value
                    assert response.json()["events"][-1]["actor"] == username
    finally:
        for client in clients.values():
            client.close()
    assert mismatches == []


def test_every_action_from_a_state_that_does_not_allow_it_is_409(api: ApiServer) -> None:
    wrong = []
    with api.client("admin") as admin:
        for state in _SETUP:
            order_id = _order_in(api.sessions, state)
            for action, spec in service.ACTIONS.items():
                if state in spec.sources:
                    continue
                response = admin.post(f"/api/v1/work-orders/{order_id}/{action}")
                allowed = service.allowed_actions(state)
                if response.status_code != 409 or (
                    allowed and ", ".join(allowed) not in response.json()["detail"]
                ):
                    wrong.append((state.value, action, response.status_code, response.text[:100]))
    assert wrong == []


def test_technicians_see_their_own_and_unassigned_orders_and_requesters_only_their_own(
    api: ApiServer,
) -> None:
    mine = _order_in(api.sessions, WorkOrderStatus.ASSIGNED)
    with api.sessions() as session:
        other, _ = service.create_work_order(
            session, title="someone else's", actor="requester2", location="Lobby"
        )
    views: dict[str, set[int]] = {}
    for username in ("tech", "outsider", "requester", "requester2", "manager"):
        with api.client(username) as client:
            views[username] = {o["id"] for o in client.get("/api/v1/work-orders").json()["items"]}
            if username == "outsider":
                assert client.get(f"/api/v1/work-orders/{mine}").status_code == 404
    # technicians see theirs, their team's and the unassigned pool; never another team's
    assert views["tech"] == {mine, other.id}
    assert views["outsider"] == {other.id}
    assert views["requester"] == {mine}
    assert views["requester2"] == {other.id}
    assert views["manager"] == {mine, other.id}


def test_assign_without_a_name_dispatches_by_skill_and_workload_and_says_why(
    api: ApiServer,
) -> None:
    with api.client("manager") as manager:
        first = manager.post(
            "/api/v1/work-orders", json={"title": "noise", "location": "Hall"}
        ).json()
        second = manager.post(
            "/api/v1/work-orders", json={"title": "smell", "location": "Hall"}
        ).json()
        reassigned = manager.post(
            f"/api/v1/work-orders/{second['id']}/assign", json={"assignee": "outsider"}
        ).json()
    # no asset type: every technician is a candidate; the least loaded goes first, ties by name
    assert first["assignee"] == "outsider"
    assert second["assignee"] == "tech"
    assert "lowest workload" in second["assignment_reason"]
    assert (
        reassigned["assignee"] == "outsider"
        and reassigned["assignment_reason"] == "assigned by hand"
    )
    assigns = [e for e in reassigned["events"] if e["kind"] == "assign"]
    assert [e["data"]["assignee"] for e in assigns] == ["tech", "outsider"]  # history kept


def test_list_endpoint_filters_sorts_and_pages(api: ApiServer) -> None:
    with api.client("manager") as manager:
        for n, priority in enumerate(["P1", "P3", "P2", "P3", "P4"]):
            manager.post(
                "/api/v1/work-orders",
                json={"title": f"job {n}", "location": "L", "priority": priority},
            ).raise_for_status()
        p3 = manager.get("/api/v1/work-orders", params={"priority": "P3"}).json()
        by_priority = manager.get("/api/v1/work-orders", params={"sort": "priority"}).json()
        page = manager.get(
            "/api/v1/work-orders", params={"limit": 2, "offset": 2, "sort": "id"}
        ).json()
        search = manager.get("/api/v1/work-orders", params={"q": "job 4"}).json()
    assert p3["total"] == 2 and {o["title"] for o in p3["items"]} == {"job 1", "job 3"}
    assert [o["priority"] for o in by_priority["items"]] == ["P1", "P2", "P3", "P3", "P4"]
    assert [o["title"] for o in page["items"]] == ["job 2", "job 3"] and page["total"] == 5
    assert [o["title"] for o in search["items"]] == ["job 4"]


def test_nothing_that_changes_data_answers_an_anonymous_request_with_anything_but_401(
    api: ApiServer,
) -> None:
    schema = httpx.get(f"{api.url}/openapi.json", timeout=60).json()
    answered = {}
    for path, methods in schema["paths"].items():
        for method in methods:
            if method in ("post", "put", "patch", "delete") and path != "/api/v1/auth/token":
                url = api.url + path.replace("{work_order_id}", "1").replace(
                    "{item_id}", "1"
                ).replace("{action}", "start")
                response = httpx.request(method, url, json={}, timeout=60)
                answered[(method, path)] = response.status_code
    assert answered and set(answered.values()) == {401}, answered
