"""KPIs and the CSV export over a known history, driven by a hand clock."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from facility.core.types import Alert, AlertState, Severity
from maintenance.shared.vocabulary import Priority, Role
from maintenance.work_orders import service
from tests.integration._work_order_server import ApiServer, running_api


@pytest.fixture
def api(database_url: str, tmp_path: Path) -> Iterator[ApiServer]:
    with running_api(database_url, tmp_path) as server:
        yield server


def _alert(ts: datetime) -> Alert:
    return Alert(
        rule="supply-air-too-warm",
        device="ahu-1/supply",
        asset="AHU-1",
        state=AlertState.FIRING,
        severity=Severity.MAJOR,
        ts=ts,
        value=24.0,
    )


def _history(api: ApiServer) -> datetime:
    """Four orders with known timings (see the expected numbers in the test)."""
    t0 = api.clock.now
    h = timedelta(hours=1)
    m = timedelta(minutes=1)
    with api.sessions() as s:

        def move(order_id: int, action: str, at: datetime, who: str = "manager") -> None:
            role = Role.TECH if who.startswith("tech") else Role.MANAGER
            service.transition(
                s,
                work_order_id=order_id,
                action=action,
                actor=who,
                role=role,
                assignee="tech" if action == "assign" else None,
                now=at,
            )

        a = service.apply_alert(s, alert=_alert(t0 - 10 * m), now=t0).work_order_id
        assert a is not None
        move(a, "assign", t0)
        move(a, "start", t0 + 20 * m, "tech")
        move(a, "resolve", t0 + 60 * m, "tech")
        move(a, "verify", t0 + 70 * m)
        service.rate_work_order(
            s, work_order_id=a, rating=5, comment="", actor="manager", role=Role.MANAGER
        )
        move(a, "close", t0 + 80 * m)

        b = service.apply_alert(s, alert=_alert(t0 + 5 * h), now=t0 + 5 * h).work_order_id
        assert b is not None and b != a
        move(b, "assign", t0 + 5 * h)
        move(b, "start", t0 + 5 * h + 30 * m, "tech")
        move(b, "resolve", t0 + 7 * h, "tech")

        service.create_work_order(
            s, title="door sticks", actor="requester", location="Lobby", now=t0 + h
        )

        d, _ = service.create_work_order(
            s,
            title="chiller noise",
            actor="manager",
            asset_code="CH-1",
            priority=Priority.P2,
            now=t0,
        )
        move(d.id, "assign", t0)
        move(d.id, "start", t0 + 10 * m, "tech")
        move(d.id, "resolve", t0 + 2 * h, "tech")
        move(d.id, "reopen", t0 + 3 * h)
        move(d.id, "start", t0 + 3 * h + 10 * m, "tech")
        service.check_breaches(s, now=t0 + 8 * h + 30 * m, policy=api.context.policy)
        move(d.id, "resolve", t0 + 9 * h, "tech")
    api.clock.now = t0 + 10 * h
    return t0


def test_kpis_report_the_known_history(api: ApiServer) -> None:
    t0 = _history(api)
    window = {
        "from": (t0 - timedelta(hours=1)).isoformat(),
        "to": (t0 + timedelta(hours=12)).isoformat(),
    }
    with api.client("manager") as manager:
        report = manager.get("/api/v1/kpis", params=window).json()
        ahu = manager.get("/api/v1/kpis", params={**window, "asset_type": "ahu"}).json()
        chiller = manager.get("/api/v1/kpis", params={**window, "asset_type": "chiller"}).json()
        elsewhere = manager.get("/api/v1/kpis", params={**window, "site": "nowhere"}).json()

    assert report["total"] == 4
    assert report["by_status"] == {"closed": 1, "new": 1, "resolved": 2}
    assert report["by_priority"] == {"P2": 3, "P3": 1}
    assert report["mean_time_to_respond_s"] == pytest.approx((1800 + 1800 + 600) / 3)
    assert report["mttr_s"] == pytest.approx((4200 + 7200 + 32400) / 3)
    assert report["mtbf_s_by_asset"] == {"AHU-1": 4 * 3600}
    assert report["sla_resolution_compliance_pct"] == pytest.approx(66.67)
    assert report["sla_response_compliance_pct"] == 100.0
    assert report["first_time_fix_pct"] == pytest.approx(66.67)
    assert report["backlog"] == {"count": 1, "mean_age_s": 9 * 3600, "max_age_s": 9 * 3600}
    assert report["rating"] == {"count": 1, "mean": 5.0}
    assert report["automatic_pct"] == 50.0 and report["manual_pct"] == 50.0
    assert ahu["total"] == 2 and chiller["total"] == 1 and elsewhere["total"] == 0
    assert chiller["first_time_fix_pct"] == 0.0


def test_an_empty_period_has_no_made_up_numbers(api: ApiServer) -> None:
    with api.client("admin") as admin:
        report = admin.get("/api/v1/kpis").json()
    assert report["total"] == 0
    assert report["mttr_s"] is None and report["sla_resolution_compliance_pct"] is None


def test_csv_export_defuses_formulas_and_lists_what_the_caller_may_see(api: ApiServer) -> None:
    hostile = ['=HYPERLINK("http://evil.test","x")', "+1+1", "-2", "@SUM(A1)", "\tTab", "plain"]
    with api.client("requester") as requester:
        for title in hostile:
            requester.post(
                "/api/v1/work-orders", json={"title": title, "location": "=cmd|'/c calc'!A0"}
            ).raise_for_status()
        mine = requester.get("/api/v1/work-orders/export.csv")
    with api.client("requester2") as other:
        theirs = other.get("/api/v1/work-orders/export.csv")

    assert mine.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(mine.text)))
    assert [r["title"] for r in rows] == ["'" + t if t[0] in "=+-@\t" else t for t in hostile]
    assert {r["location"] for r in rows} == {"'=cmd|'/c calc'!A0"}
    assert list(csv.reader(io.StringIO(theirs.text)))[1:] == []
