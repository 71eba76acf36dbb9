"""The monthly review over a seeded month, on SQLite and PostgreSQL, through the real API.

The site keeps Berlin time and the month is October 2026, when the clocks go back: an order
raised at 00:30 on 1 October local time (22:30 UTC on 30 September) belongs to October, one
raised at 00:30 on 1 November (23:30 UTC on 31 October) does not. The review's KPI figures
must be exactly those of ``GET /api/v1/kpis`` for the same instants.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from facility.core.types import Alert, AlertState, Reading, ReadingStore, Severity
from maintenance.assets.models import Asset
from maintenance.assets.register import ensure_asset, ensure_site, link_device
from maintenance.insights.kpis import KpiFilter, compute_kpis
from maintenance.insights.schemas import KpiReport
from maintenance.review.service import month_bounds, monthly_review
from maintenance.shared.vocabulary import Priority, Role
from maintenance.suppliers.models import Supplier, SupplierKind, SupplierScore
from maintenance.work_orders import service
from maintenance.work_orders.models import WorkOrder
from tests.integration._work_order_server import ApiServer, running_api

BERLIN_OCT_START = datetime(2026, 9, 30, 22, tzinfo=UTC)
BERLIN_OCT_END = datetime(2026, 10, 31, 23, tzinfo=UTC)
NOW = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)
M = timedelta(minutes=1)


@dataclass
class Facts:
    """What the seed did, to check the review against independently of the code under test."""

    october: list[int] = field(default_factory=list)  # order ids created in October at hq
    late_order: int = 0
    untouched: int = 0
    assigned_to_tech: int = 0


def _alert(rule: str, asset: str, ts: datetime) -> Alert:
    return Alert(
        rule=rule,
        device=f"{asset.lower()}/probe",
        asset=asset,
        state=AlertState.FIRING,
        severity=Severity.MAJOR,
        ts=ts,
        value=1.0,
    )


def seed_month(sessions: sessionmaker[Session], readings: ReadingStore) -> Facts:
    """Site ``hq`` (Europe/Berlin) with AHU-1 and CH-1, site ``annex`` with FAN-9; orders in
    September, October (including both boundaries) and November; energy meter readings."""
    facts = Facts()
    with sessions() as s:
        hq = ensure_site(s, code="hq", name="Head office", timezone="Europe/Berlin")
        annex = ensure_site(s, code="annex", name="Annex", timezone="Europe/Berlin")
        for code in ("AHU-1", "CH-1"):
            ensure_asset(s, code=code).site_id = hq.id
        ahu = s.scalar(sa.select(Asset).where(Asset.code == "AHU-1"))
        assert ahu is not None
        ensure_asset(s, code="FAN-9", asset_type="fan", site=annex)
        link_device(s, device="ahu-1/meter", asset=ahu, kind="energy_meter")
        s.commit()

        def move(order_id: int, action: str, at: datetime, who: str = "manager") -> None:
            service.transition(
                s,
                work_order_id=order_id,
                action=action,
                actor=who,
                role=Role.TECH if who.startswith("tech") else Role.MANAGER,
                assignee="tech" if action == "assign" else None,
                now=at,
            )

        def repaired(order_id: int, at: datetime, hours: float, rating: int | None) -> None:
            """Assigned, started 20 min later, resolved, verified, rated, closed."""
            move(order_id, "assign", at)
            move(order_id, "start", at + 20 * M, "tech")
            move(order_id, "resolve", at + hours * H, "tech")
            move(order_id, "verify", at + hours * H + 10 * M)
            if rating is not None:
                service.rate_work_order(
                    s,
                    work_order_id=order_id,
                    rating=rating,
                    comment="",
                    actor="manager",
                    role=Role.MANAGER,
                    now=at + hours * H + 15 * M,
                )
            move(order_id, "close", at + hours * H + 20 * M)

        # September (the previous month): one fault, repaired in two hours
        sept = datetime(2026, 9, 15, 8, tzinfo=UTC)
        september = service.apply_alert(s, alert=_alert("too-warm", "AHU-1", sept), now=sept)
        assert september.work_order_id is not None
        repaired(september.work_order_id, sept, 2, rating=3)

        # October: the first minutes of the month (local time), a repeat fault, a late repair
        first = BERLIN_OCT_START + 30 * M
        boundary = service.apply_alert(s, alert=_alert("too-warm", "AHU-1", first), now=first)
        assert boundary.work_order_id is not None
        repaired(boundary.work_order_id, first, 1, rating=5)
        again = datetime(2026, 10, 10, 8, tzinfo=UTC)
        repeat = service.apply_alert(s, alert=_alert("too-warm", "AHU-1", again), now=again)
        assert repeat.work_order_id is not None
        repaired(repeat.work_order_id, again, 72, rating=2)  # three days: past any SLA
        noisy = datetime(2026, 10, 12, 9, tzinfo=UTC)
        chiller = service.apply_alert(
            s, alert=_alert("chiller-noise", "CH-1", noisy), now=noisy
        ).work_order_id
        assert chiller is not None
        manual, _ = service.create_work_order(
            s,
            title="Door <script>alert(1)</script> sticks",
            actor="manager",
            asset_code="CH-1",
            priority=Priority.P2,
            now=datetime(2026, 10, 20, 7, tzinfo=UTC),
        )
        repaired(manual.id, datetime(2026, 10, 20, 7, tzinfo=UTC), 3, rating=None)
        facts.october = [boundary.work_order_id, repeat.work_order_id, chiller, manual.id]
        facts.late_order = repeat.work_order_id
        facts.untouched = chiller
        facts.assigned_to_tech = 3

        # not this site, and not this month (00:30 on 1 November, Berlin)
        service.apply_alert(s, alert=_alert("too-warm", "FAN-9", again), now=again)
        last = BERLIN_OCT_END + 30 * M
        service.create_work_order(s, title="late", actor="manager", asset_code="CH-1", now=last)
        service.check_breaches(s, now=NOW)

    readings.write(
        [
            Reading("ahu-1/meter", "energy", v, "kWh", ts)
            for v, ts in [
                (1000.0, datetime(2026, 9, 2, tzinfo=UTC)),
                (1100.0, datetime(2026, 9, 30, 12, tzinfo=UTC)),  # the baseline of October
                (1150.0, datetime(2026, 10, 8, tzinfo=UTC)),
                (0.0, datetime(2026, 10, 9, tzinfo=UTC)),  # the meter was replaced
                (30.0, datetime(2026, 10, 30, tzinfo=UTC)),
            ]
        ]
    )
    return facts


@pytest.fixture
def api(database_url: str, tmp_path: Path) -> Iterator[ApiServer]:
    with running_api(database_url, tmp_path, auto_assign=False) as server:
        server.clock.now = NOW
        yield server


def _kpi_json(api: ApiServer, start: datetime, end: datetime) -> dict[str, Any]:
    with api.client("manager") as manager:
        response = manager.get(
            "/api/v1/kpis", params={"from": start.isoformat(), "to": end.isoformat(), "site": "hq"}
        )
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


def test_the_review_figures_equal_the_kpi_api_for_the_sites_month(api: ApiServer) -> None:
    facts = seed_month(api.sessions, api.context.readings)
    with api.client("manager") as manager:
        response = manager.get("/api/v1/reviews/monthly", params={"site": "hq", "month": "2026-10"})
    assert response.status_code == 200, response.text
    review = response.json()

    assert (review["start"], review["end"]) == ("2026-09-30T22:00:00Z", "2026-10-31T23:00:00Z")
    assert review["kpis"]["current"] == _kpi_json(api, BERLIN_OCT_START, BERLIN_OCT_END)
    september = month_bounds("2026-09", ZoneInfo("Europe/Berlin"))
    assert review["kpis"]["previous"] == _kpi_json(api, *september)
    assert review["kpis"]["current"]["total"] == len(facts.october)

    with api.sessions() as s:
        direct = monthly_review(
            s, site="hq", month="2026-10", now=NOW, readings=api.context.readings
        )
        kpis = compute_kpis(
            s, where=KpiFilter(start=BERLIN_OCT_START, end=BERLIN_OCT_END, site="hq"), now=NOW
        )
        late = s.get(WorkOrder, facts.late_order)
        assert late is not None and late.resolved_at and late.resolution_due_at
        overrun = (late.resolved_at - late.resolution_due_at).total_seconds()
    assert direct.kpis.current == KpiReport.model_validate(kpis)
    lines = {line["key"]: line for line in review["lines"]}
    assert lines["orders"]["current"] == len(facts.october) and lines["orders"]["previous"] == 1
    assert lines["response_s"]["current"] == kpis["mean_time_to_respond_s"]
    assert lines["sla_resolution_pct"]["current"] == kpis["sla_resolution_compliance_pct"]
    assert lines["rating_mean"]["current"] == pytest.approx((5 + 2) / 2)
    assert lines["rating_mean"]["delta"] == pytest.approx((5 + 2) / 2 - 3)

    assert review["top_faults_by_asset"][0] == {
        "asset": "AHU-1",
        "name": "AHU-1",
        "orders": 2,
        "automatic": 2,
    }
    assert {(f["rule"], f["orders"]) for f in review["top_faults_by_rule"]} == {
        ("too-warm", 2),
        ("chiller-noise", 1),
    }
    # the chiller order was never started: still open three weeks on, it is the worst
    breaches = {b["work_order_id"]: b for b in review["worst_breaches"]}
    assert [b["work_order_id"] for b in review["worst_breaches"]] == [
        facts.untouched,
        facts.late_order,
    ]
    assert breaches[facts.late_order]["overrun_s"] == pytest.approx(overrun)
    assert breaches[facts.untouched]["resolved_at"] is None
    assert sum(d["orders"] for d in review["orders_per_day"]) == len(facts.october)
    assert review["orders_per_day"][0] == {"day": "2026-10-01", "orders": 1}
    assert len(review["orders_per_day"]) == 31

    assert review["energy"]["source"] == "energy"
    assert review["energy"]["current_kwh"] == pytest.approx(50 + 30)
    assert review["energy"]["previous_kwh"] == pytest.approx(100)
    assert review["energy"]["change_pct"] == pytest.approx(-20.0)

    tech = {t["technician"]: t for t in review["technicians"]}
    assert tech["tech"]["orders"] == facts.assigned_to_tech
    assert review["suppliers"] == []
    assert any("No supplier scorecards" in note for note in review["notes"])


def test_technicians_can_be_left_out_and_suppliers_come_from_their_table(
    api: ApiServer,
) -> None:
    seed_month(api.sessions, api.context.readings)
    with api.sessions() as s:
        supplier = Supplier(code="ACME", name="Acme <HVAC>", kind=SupplierKind.CONTRACTOR)
        s.add(supplier)
        s.flush()
        s.add(
            SupplierScore(
                supplier_id=supplier.id, period="2026-10", score=87.5, rank=1, components={}
            )
        )
        s.add(
            SupplierScore(
                supplier_id=supplier.id, period="2026-09", score=50.0, rank=1, components={}
            )
        )
        s.commit()
    with api.client("admin") as admin:
        review = admin.get(
            "/api/v1/reviews/monthly",
            params={"site": "hq", "month": "2026-10", "technicians": "false"},
        ).json()
        html = admin.get(
            "/api/v1/reviews/monthly.html",
            params={"site": "hq", "month": "2026-10", "technicians": "false"},
        )
    assert review["technicians_included"] is False and review["technicians"] == []
    assert [(s["supplier"], s["score"]) for s in review["suppliers"]] == [("ACME", 87.5)]
    assert html.headers["content-type"].startswith("text/html")
    assert 'id="technicians"' not in html.text
    assert "Acme &lt;HVAC&gt;" in html.text and "<HVAC>" not in html.text
    assert "<script>alert(1)</script>" not in html.text


def test_actions_decided_last_month_are_tracked_in_this_months_review(api: ApiServer) -> None:
    seed_month(api.sessions, api.context.readings)
    api.clock.now = datetime(2026, 9, 30, 10, tzinfo=UTC)
    with api.client("manager") as manager:

        def add(period: str, title: str, due: date) -> int:
            response = manager.post(
                "/api/v1/improvement-actions",
                json={
                    "site": "hq",
                    "period": period,
                    "title": title,
                    "owner": "tech",
                    "due_on": due.isoformat(),
                },
            )
            assert response.status_code == 201, response.text
            action_id: int = response.json()["id"]
            return action_id

        early = add("2026-09", "Clean AHU-1 coil", date(2026, 10, 15))
        late = add("2026-09", "Retrain night shift", date(2026, 10, 5))
        pending = add("2026-09", "Replace CH-1 bearing", date(2026, 10, 20))
        dropped = add("2026-09", "Buy a drone", date(2026, 10, 30))
        api.clock.now = datetime(2026, 10, 10, 12, tzinfo=UTC)
        for action_id, state in ((early, "done"), (late, "done"), (dropped, "dropped")):
            closed = manager.patch(
                f"/api/v1/improvement-actions/{action_id}",
                json={"status": state, "outcome": "coil cleaned"},
            )
            assert closed.status_code == 200, closed.text
            assert closed.json()["closed_at"] == "2026-10-10T12:00:00Z"
        api.clock.now = datetime(2026, 10, 31, 9, tzinfo=UTC)
        fresh = add("2026-10", "Survey the roof units", date(2026, 11, 20))
        api.clock.now = NOW
        review = manager.get(
            "/api/v1/reviews/monthly", params={"site": "hq", "month": "2026-10"}
        ).json()
        listed = manager.get(
            "/api/v1/improvement-actions", params={"site": "hq", "period": "2026-09"}
        ).json()
        done = manager.get("/api/v1/improvement-actions", params={"status": "done"}).json()
        november = manager.get(
            "/api/v1/reviews/monthly", params={"site": "hq", "month": "2026-11"}
        ).json()

    states = {line["action"]["id"]: line["state"] for line in review["actions"]["from_previous"]}
    assert states == {
        early: "done on time",
        late: "done late",
        pending: "overdue",
        dropped: "dropped",
    }
    assert {line["action"]["id"] for line in review["actions"]["due_this_month"]} == {
        early,
        late,
        pending,
        dropped,
    }
    assert [line["action"]["id"] for line in review["actions"]["recorded_this_month"]] == [fresh]
    assert listed["total"] == 4 and done["total"] == 2
    assert [line["action"]["id"] for line in november["actions"]["from_previous"]] == [fresh]
    assert november["actions"]["from_previous"][0]["state"] == "open"


def test_survey_results_appear_in_the_review(api: ApiServer) -> None:
    seed_month(api.sessions, api.context.readings)
    api.clock.now = datetime(2026, 10, 1, 8, tzinfo=UTC)
    questions = [
        {"key": "comfort", "text": "How comfortable is your office?", "kind": "rating"},
        {
            "key": "channel",
            "text": "How do you report?",
            "kind": "choice",
            "choices": ["app", "phone"],
        },
        {"key": "comment", "text": "Anything else?", "kind": "text"},
    ]
    with api.client("manager") as manager:

        def survey(anonymous: bool) -> int:
            created = manager.post(
                "/api/v1/surveys",
                json={
                    "site": "hq",
                    "title": "October comfort" + (" (anonymous)" if anonymous else ""),
                    "questions": questions,
                    "opens_on": "2026-10-01",
                    "closes_on": "2026-10-31",
                    "anonymous": anonymous,
                },
            )
            assert created.status_code == 201, created.text
            survey_id: int = created.json()["id"]
            return survey_id

        named, anonymous = survey(False), survey(True)
    answers = {
        "requester": {"comfort": 4, "channel": "app", "comment": "Too <b>cold</b> at 8"},
        "requester2": {"comfort": 2, "channel": "phone"},
    }
    for user, answer in answers.items():
        with api.client(user) as client:
            first = client.post(f"/api/v1/surveys/{named}/responses", json={"answers": answer})
            again = client.post(f"/api/v1/surveys/{named}/responses", json={"answers": answer})
            open_one = client.post(
                f"/api/v1/surveys/{anonymous}/responses", json={"answers": answer}
            )
            open_two = client.post(
                f"/api/v1/surveys/{anonymous}/responses", json={"answers": answer}
            )
            listed = client.get("/api/v1/surveys", params={"site": "hq"})
            forbidden = client.get(f"/api/v1/surveys/{named}/results")
        assert first.status_code == 201 and first.json()["anonymous"] is False
        assert again.status_code == 409 and "already answered" in again.json()["detail"]
        # anonymous surveys store no name, so a second answer is not recognised (documented)
        assert open_one.status_code == open_two.status_code == 201
        assert open_one.json()["anonymous"] is True
        assert listed.json()["total"] == 2
        assert forbidden.status_code == 403
    api.clock.now = datetime(2026, 11, 1, 8, tzinfo=UTC)
    with api.client("requester") as late:
        closed = late.post(
            f"/api/v1/surveys/{anonymous}/responses", json={"answers": {"comfort": 5}}
        )
    assert closed.status_code == 409 and "2026-10-31" in closed.json()["detail"]
    with api.sessions() as s:
        respondents = set(
            s.scalars(
                sa.text("SELECT respondent FROM survey_responses WHERE survey_id = :id"),
                {"id": anonymous},
            )
        )
    assert respondents == {None}

    api.clock.now = NOW
    with api.client("manager") as manager:
        results = manager.get(f"/api/v1/surveys/{named}/results").json()
        review = manager.get(
            "/api/v1/reviews/monthly", params={"site": "hq", "month": "2026-10"}
        ).json()
        html = manager.get(
            "/api/v1/reviews/monthly.html", params={"site": "hq", "month": "2026-10"}
        ).text
    comfort = {q["key"]: q for q in results["questions"]}["comfort"]
    ratings = [a["comfort"] for a in answers.values()]
    assert comfort["count"] == len(ratings) and comfort["mean"] == sum(ratings) / len(ratings)
    assert comfort["distribution"]["4"] == 1 and comfort["distribution"]["2"] == 1
    by_id = {s["survey_id"]: s for s in review["surveys"]}
    assert by_id[named] == results
    assert by_id[anonymous]["responses"] == 2 * len(answers)
    assert "Too &lt;b&gt;cold&lt;/b&gt; at 8" in html


HOSTILE_TEXT = "'; DROP TABLE surveys; --\x00"


HOSTILE: list[tuple[str, str, object, set[int]]] = [
    ("GET", "/api/v1/reviews/monthly?site=hq&month=2026-13", None, {422}),
    ("GET", "/api/v1/reviews/monthly?site=hq&month=october", None, {422}),
    ("GET", "/api/v1/reviews/monthly?site=hq&month=1999-12", None, {422}),
    ("GET", "/api/v1/reviews/monthly?site=nowhere&month=2026-10", None, {404}),
    ("GET", "/api/v1/reviews/monthly?month=2026-10", None, {422}),
    ("GET", "/api/v1/reviews/monthly?site=" + "x" * 500 + "&month=2026-10", None, {422}),
    ("GET", "/api/v1/reviews/monthly?site=hq&month=2026-10&technicians=maybe", None, {422}),
    ("GET", "/api/v1/reviews/monthly.html?site=hq&month=%00%00%00", None, {400, 422}),
    ("GET", "/api/v1/reviews/monthly.html?site=%27%3B--&month=2026-10", None, {404}),
    ("POST", "/api/v1/improvement-actions", {"title": "x"}, {422}),
    (
        "POST",
        "/api/v1/improvement-actions",
        {"period": "2026-10", "title": "x", "owner": "o", "due_on": "tomorrow"},
        {422},
    ),
    (
        "POST",
        "/api/v1/improvement-actions",
        {"period": "2026-10", "title": "x" * 201, "owner": "o", "due_on": "2026-11-01"},
        {422},
    ),
    (
        "POST",
        "/api/v1/improvement-actions",
        {
            "site": "nowhere",
            "period": "2026-10",
            "title": "x",
            "owner": "o",
            "due_on": "2026-11-01",
        },
        {422},
    ),
    (
        "POST",
        "/api/v1/improvement-actions",
        {"period": "2026-10", "title": "   ", "owner": "o", "due_on": "2026-11-01"},
        {422},
    ),
    (
        "POST",
        "/api/v1/improvement-actions",
        {"period": "2026-10", "title": "x", "owner": "o", "due_on": "2026-11-01", "id": 5},
        {422},
    ),
    ("POST", "/api/v1/improvement-actions", [1, 2, 3], {422}),
    ("PATCH", "/api/v1/improvement-actions/999999", {"status": "done"}, {404}),
    ("PATCH", "/api/v1/improvement-actions/0", {"status": "done"}, {422}),
    ("PATCH", "/api/v1/improvement-actions/abc", {"status": "done"}, {422}),
    ("PATCH", "/api/v1/improvement-actions/99999999999999", {}, {422}),
    ("GET", "/api/v1/improvement-actions?status=finished", None, {422}),
    ("GET", "/api/v1/improvement-actions?period=2026-99", None, {422}),
    ("GET", "/api/v1/improvement-actions?limit=100000", None, {422}),
    ("GET", "/api/v1/improvement-actions/1", None, {404}),
    ("POST", "/api/v1/surveys", {"title": "t", "questions": []}, {422}),
    (
        "POST",
        "/api/v1/surveys",
        {
            "title": "t",
            "questions": [{"key": "a", "text": HOSTILE_TEXT, "kind": "rating"}],
            "opens_on": "2026-10-01",
            "closes_on": "2026-10-31",
        },
        {422},
    ),
    (
        "POST",
        "/api/v1/surveys",
        {
            "title": "t",
            "questions": [{"key": "a", "text": "ok", "kind": "rating"}],
            "opens_on": "2026-10-31",
            "closes_on": "2026-10-01",
        },
        {422},
    ),
    (
        "POST",
        "/api/v1/surveys",
        {
            "title": "t",
            "questions": [{"key": f"q{i}", "text": "ok", "kind": "rating"} for i in range(21)],
            "opens_on": "2026-10-01",
            "closes_on": "2026-10-31",
        },
        {422},
    ),
    (
        "POST",
        "/api/v1/surveys",
        {"title": "t", "questions": "rate us", "opens_on": "x", "closes_on": "y"},
        {422},
    ),
    ("POST", "/api/v1/surveys/999999/responses", {"answers": {"a": 1}}, {404}),
    ("POST", "/api/v1/surveys/1/responses", {"answers": "five"}, {422}),
    ("GET", "/api/v1/surveys/999999/results", None, {404}),
    ("GET", "/api/v1/surveys/-1", None, {422}),
    ("GET", "/api/v1/surveys?limit=0", None, {422}),
]


def test_hostile_input_gets_a_clear_4xx_and_changes_nothing(api: ApiServer) -> None:
    with api.sessions() as s:
        ensure_site(s, code="hq", timezone="Europe/Berlin")
        s.commit()
    wrong = []
    with api.client("manager") as manager:
        for method, path, payload, expected in HOSTILE:
            response = manager.request(method, path, json=payload)
            if response.status_code not in expected or not response.json().get("detail"):
                wrong.append((method, path[:80], response.status_code, response.text[:200]))
        actions = manager.get("/api/v1/improvement-actions").json()["total"]
        surveys = manager.get("/api/v1/surveys").json()["total"]
    assert wrong == []
    assert actions == 0 and surveys == 0


def test_roles_guard_every_endpoint(api: ApiServer) -> None:
    import httpx

    review = "/api/v1/reviews/monthly?site=hq&month=2026-10"
    with httpx.Client(base_url=api.url, timeout=60) as anonymous:
        for method, path in [
            ("GET", review),
            ("GET", "/api/v1/reviews/monthly.html?site=hq&month=2026-10"),
            ("POST", "/api/v1/improvement-actions"),
            ("GET", "/api/v1/improvement-actions"),
            ("PATCH", "/api/v1/improvement-actions/1"),
            ("POST", "/api/v1/surveys"),
            ("GET", "/api/v1/surveys"),
            ("POST", "/api/v1/surveys/1/responses"),
            ("GET", "/api/v1/surveys/1/results"),
        ]:
            assert anonymous.request(method, path, json={}).status_code == 401, path
    for user in ("tech", "requester"):
        with api.client(user) as client:
            assert client.get(review).status_code == 403
            assert client.post("/api/v1/improvement-actions", json={}).status_code == 403
            assert client.post("/api/v1/surveys", json={}).status_code == 403
            assert client.get("/api/v1/improvement-actions").status_code == 403
