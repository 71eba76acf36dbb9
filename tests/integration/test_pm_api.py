"""``/api/v1/pm`` over HTTP: plans, approval, a scheduler pass, forecast, compliance, bad input."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from maintenance.assets.register import ensure_asset, ensure_site
from tests.integration._work_order_server import ApiServer, running_api

PLAN = {
    "name": "AHU filters",
    "trigger": "calendar",
    "interval": 1,
    "unit": "month",
    "anchor_local": "2026-03-31T08:00",
    "asset_codes": ["AHU-1"],
    "lead": 2,
    "estimated_labour_h": 1.5,
}


@pytest.fixture
def api(database_url: str, tmp_path: Path) -> Iterator[ApiServer]:
    with running_api(database_url, tmp_path, auto_assign=False) as server:
        yield server


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/v1/pm/plans"),
        ("POST", "/api/v1/pm/plans/1/approve"),
        ("POST", "/api/v1/pm/run"),
        ("GET", "/api/v1/pm/plans"),
        ("GET", "/api/v1/pm/forecast"),
    ],
)
def test_anonymous_requests_are_refused_with_401(api: ApiServer, method: str, path: str) -> None:
    assert httpx.request(method, f"{api.url}{path}", json={}, timeout=30).status_code == 401


def test_a_manager_plans_and_approves_and_the_scheduler_orders_the_work(api: ApiServer) -> None:
    with api.client("tech") as tech:
        assert tech.post("/api/v1/pm/plans", json=PLAN).status_code == 403
    with api.client("manager") as manager:
        created = manager.post("/api/v1/pm/plans", json=PLAN)
        assert created.status_code == 201, created.text
        plan = created.json()
        assert plan["approved_at"] is None
        api.clock.now = datetime(2026, 3, 29, 8, 0, tzinfo=UTC)
        assert manager.post("/api/v1/pm/run").json() == []  # not approved yet
        with api.client("tech") as tech:
            assert tech.post(f"/api/v1/pm/plans/{plan['id']}/approve").status_code == 403
        approved = manager.post(f"/api/v1/pm/plans/{plan['id']}/approve").json()
        assert approved["approved_by"] == "manager"
        made = manager.post("/api/v1/pm/run").json()
        assert [m["due_at"] for m in made] == ["2026-03-31T08:00:00Z"]
        assert manager.post("/api/v1/pm/run").json() == []
        order = manager.get(f"/api/v1/work-orders/{made[0]['work_order_id']}").json()
        assert order["order_type"] == "preventive"
        forecast = manager.get("/api/v1/pm/forecast", params={"weeks": 9}).json()
        assert [(f["due_at"], f["work_order_id"]) for f in forecast] == [
            ("2026-03-31T08:00:00Z", made[0]["work_order_id"]),  # upcoming, already ordered
            ("2026-04-30T08:00:00Z", None),
            ("2026-05-31T08:00:00Z", None),
        ]
        api.clock.now = datetime(2026, 4, 5, tzinfo=UTC)
        compliance = manager.get(
            "/api/v1/pm/compliance", params={"start": "2026-03-01", "end": "2026-04-01"}
        ).json()
        assert (compliance["due"], compliance["on_time"], compliance["open"]) == (1, 0, 1)
        assert compliance["ratio"] == 0


def test_compliance_per_site_counts_the_sites_assets_and_the_review_agrees(
    api: ApiServer,
) -> None:
    """AHU-1 is at ``hq``, CH-1 at ``annex``: each site sees its own occurrences only."""
    with api.sessions() as session:
        hq = ensure_site(session, code="hq", timezone="UTC")
        annex = ensure_site(session, code="annex", timezone="UTC")
        for code, site in (("AHU-1", hq), ("CH-1", annex)):
            ensure_asset(session, code=code).site_id = site.id
        session.commit()
    weekly = {**PLAN, "unit": "week", "anchor_local": "2026-03-02T08:00", "lead": 0}
    plans: dict[int, str] = {}
    with api.client("manager") as manager:
        for name, codes in (("hq weekly", ["AHU-1"]), ("annex weekly", ["CH-1"])):
            plan = manager.post(
                "/api/v1/pm/plans", json={**weekly, "name": name, "asset_codes": codes}
            )
            assert plan.status_code == 201, plan.text
            plans[plan.json()["id"]] = codes[0]
            assert manager.post(f"/api/v1/pm/plans/{plan.json()['id']}/approve").status_code == 200
        api.clock.now = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
        made = {
            plans[m["plan_id"]]: m["work_order_id"] for m in manager.post("/api/v1/pm/run").json()
        }
        assert set(made) == {"AHU-1", "CH-1"}
        with api.client("tech") as tech:  # hq's PM is done within the hour; annex's is not
            assert manager.post(
                f"/api/v1/work-orders/{made['AHU-1']}/assign", json={"assignee": "tech"}
            ).is_success
            assert tech.post(f"/api/v1/work-orders/{made['AHU-1']}/start").is_success
            api.clock.advance(hours=1)
            assert tech.post(f"/api/v1/work-orders/{made['AHU-1']}/resolve").is_success
        api.clock.now = datetime(2026, 4, 2, tzinfo=UTC)
        window = {"start": "2026-03-01T00:00:00Z", "end": "2026-03-02T09:00:00Z"}

        def figures(**extra: str) -> tuple[int, int, int]:
            body = manager.get("/api/v1/pm/compliance", params={**window, **extra}).json()
            return body["due"], body["on_time"], body["open"]

        assert figures(site="hq") == (1, 1, 0)
        assert figures(site="annex") == (1, 0, 1)
        assert figures() == (2, 1, 1)
        unknown = manager.get("/api/v1/pm/compliance", params={**window, "site": "nowhere"})
        assert unknown.status_code == 404 and "nowhere" in unknown.json()["detail"]
        review = manager.get("/api/v1/reviews/monthly", params={"site": "hq", "month": "2026-03"})
        assert review.status_code == 200, review.text
        month = manager.get(
            "/api/v1/pm/compliance",
            params={"start": "2026-03-01T00:00:00Z", "end": "2026-04-01T00:00:00Z", "site": "hq"},
        ).json()
        shown = review.json()["pm_compliance"]
        assert (shown["due"], shown["on_time"]) == (month["due"], month["on_time"])
        assert shown["due"] >= 1 and shown["on_time"] == 1


def test_plans_are_paged_and_unknown_plans_are_404(api: ApiServer) -> None:
    with api.client("admin") as admin:
        for n in range(3):
            assert admin.post("/api/v1/pm/plans", json={**PLAN, "name": f"P{n}"}).status_code == 201
        page = admin.get("/api/v1/pm/plans", params={"limit": 2, "offset": 1}).json()
        assert page["total"] == 3
        assert [p["name"] for p in page["items"]] == ["P1", "P2"]
        assert admin.get("/api/v1/pm/plans/999").status_code == 404
        assert admin.post("/api/v1/pm/plans/999/approve").status_code == 404
        assert admin.post("/api/v1/pm/plans", json={**PLAN, "name": "P0"}).status_code == 409


@pytest.mark.parametrize(
    "change",
    [
        {"interval": "1"},
        {"interval": -1},
        {"interval": True},
        {"trigger": "lunar"},
        {"unit": "fortnight"},
        {"anchor_local": "next tuesday"},
        {"anchor_local": "2026-03-31T08:00+02:00"},
        {"asset_codes": ["NOPE"]},
        {"asset_codes": "AHU-1"},
        {"name": "n" * 5000},
        {"name": ""},
        {"lead": -3},
        {"estimated_labour_h": 1e300},
        {"checklist_template_id": 2**40},
        {"site": "nowhere"},
        {"surprise": 1},
        {"trigger": "runtime", "device": None},
        {"trigger": "meter", "device": "m", "metric": "DROP TABLE"},
    ],
)
def test_hostile_plans_are_refused_with_422(api: ApiServer, change: dict[str, object]) -> None:
    with api.client("manager") as manager:
        response = manager.post("/api/v1/pm/plans", json={**PLAN, **change})
    assert response.status_code == 422, response.text
    assert response.json()["detail"]


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/api/v1/pm/forecast", {"weeks": 0}),
        ("/api/v1/pm/forecast", {"weeks": 1000}),
        ("/api/v1/pm/forecast", {"weeks": "soon"}),
        ("/api/v1/pm/compliance", {"start": "yesterday"}),
        ("/api/v1/pm/compliance", {"start": "2026-05-01", "end": "2026-04-01"}),
        ("/api/v1/pm/plans", {"limit": 100_000}),
    ],
)
def test_hostile_query_parameters_are_refused_with_422(
    api: ApiServer, path: str, query: dict[str, str | int]
) -> None:
    with api.client("tech") as tech:
        assert tech.get(path, params=query).status_code == 422
