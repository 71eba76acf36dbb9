"""The console's service-management pages over real HTTP: asset register and life cycle,
replacement plan, preventive maintenance, stock, suppliers and the monthly review.

The server runs on a copy of the console's seeded database with a fixed clock, and each test
seeds a small facility through the maintenance services: a chiller with a repair (labour and
parts), a pump under repair, a weekly PM plan with one order on time, one late and one open,
three stock items, two companies. Expected figures are computed here from those seeded facts,
not read back from the services the pages call.
"""

from __future__ import annotations

import re
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
import uvicorn
from babel.numbers import format_decimal
from sqlalchemy.orm import Session, sessionmaker

from console import ConsoleState, Revocations, mount_console
from console import _i18n as i18n
from console import _render as _app
from console._i18n import Localizer
from facility.core.wait import wait_until
from gateway.broker import free_port
from gateway.stores.sql import SqlReadingStore, SqlStateStore, make_engine
from maintenance.api.app import create_app
from maintenance.assets import documents as asset_documents
from maintenance.assets import lifecycle
from maintenance.assets.models import Asset, AssetLevel, AssetStatus, Criticality, DocumentKind
from maintenance.inventory import service as inventory
from maintenance.inventory.models import StockCategory, StockItem
from maintenance.people.deps import ApiContext
from maintenance.pm import service as pm
from maintenance.pm.models import PmTriggerKind, TimeUnit
from maintenance.shared.actors import Actor
from maintenance.shared.db import connect, upgrade
from maintenance.shared.vocabulary import Role
from maintenance.suppliers import service as suppliers
from maintenance.suppliers.models import QualificationStatus, SupplierKind, SupplierScore
from maintenance.work_orders import service as orders
from maintenance.work_orders.models import LabourEntry, WorkOrderType
from tests.e2e.conftest import SECRET, seed_console_data
from tests.e2e.console_client import browser, close_browsers, log_in

NOW = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
MANAGER = Actor("manager", Role.MANAGER)
EN = "en-GB,en;q=0.9"
ZH = "zh-CN,zh;q=0.9"

# -- the seeded facts the expectations are computed from ------------------------------------------
CHILLER_PURCHASE = Decimal("80000.00")
CHILLER_REPLACEMENT = Decimal("35000.00")
CHILLER_COMMISSIONED = date(2014, 4, 1)
CHILLER_LIFE = 15.0
REPAIR_OPENED = NOW - timedelta(days=30)
REPAIR_RESOLVED = REPAIR_OPENED + timedelta(hours=5)
LABOUR_HOURS, LABOUR_RATE = Decimal("3"), Decimal("50.00")
FILTER_COST, FILTER_ISSUED = Decimal("12.50"), Decimal("2")
PUMP_CREATED = NOW - timedelta(days=300)
PUMP_BROKE = NOW - timedelta(days=2)
PM_ANCHOR = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)  # a Monday, weekly
STOCK = {  # sku: (category, unit cost, reorder point, reorder qty, received, received at)
    "FILTER-1": (StockCategory.SPARE_PART, FILTER_COST, 10, 20, 15, NOW - timedelta(days=40)),
    "BELT-1": (StockCategory.CONSUMABLE, Decimal("8.00"), 5, 10, 3, NOW - timedelta(days=20)),
    "GASKET-1": (StockCategory.SPARE_PART, Decimal("2.25"), 0, 0, 4, NOW - timedelta(days=400)),
}
CERT_SOON = NOW.date() + timedelta(days=10)
CERT_LATER = NOW.date() + timedelta(days=90)
ACME_SCORE = 72.5


@dataclass
class ServiceConsole:
    url: str
    sessions: sessionmaker[Session]
    attachments: Path
    ids: dict[str, int]


def _seed(sessions: sessionmaker[Session], attachments: Path) -> dict[str, int]:
    with sessions() as s:
        spec = lifecycle.AssetSpec
        for asset in (
            spec("B1", "Main building", level=AssetLevel.BUILDING, site="hq"),
            spec("B1-F1", "Ground floor", level=AssetLevel.FLOOR, parent="B1"),
            spec("B1-PLANT", "Plant room", level=AssetLevel.ZONE, parent="B1-F1"),
            spec(
                "CH-1",
                "Chiller 1",
                parent="B1-PLANT",
                asset_type="chiller",
                manufacturer="Carrier",
                model="30XA-252",
                serial_number="SN-0042",
                installed_on=date(2014, 3, 1),
                commissioned_on=CHILLER_COMMISSIONED,
                warranty_end=date(2016, 4, 1),
                expected_life_years=CHILLER_LIFE,
                purchase_cost=CHILLER_PURCHASE,
                replacement_cost=CHILLER_REPLACEMENT,
                criticality=Criticality.A,
            ),
        ):
            lifecycle.create_asset(s, spec=asset, actor="manager", now=NOW - timedelta(days=400))
        lifecycle.create_asset(
            s,
            spec=spec(
                "P-1",
                "Pump 1",
                parent="B1-PLANT",
                asset_type="pump",
                commissioned_on=date(2022, 6, 1),
                expected_life_years=10.0,
                replacement_cost=Decimal("4000.00"),
                criticality=Criticality.C,
            ),
            actor="manager",
            now=PUMP_CREATED,
        )
        lifecycle.change_status(
            s,
            code="P-1",
            to=AssetStatus.UNDER_REPAIR,
            actor="tech",
            reason="bearing noise",
            now=PUMP_BROKE,
        )
        # stock and a supplier for the belts
        inventory.create_storeroom(s, code="MAIN", name="Main store")
        for sku, (category, cost, point, qty, received, at) in STOCK.items():
            inventory.create_item(
                s,
                sku=sku,
                name=sku.title(),
                category=category,
                unit_cost=cost,
                reorder_point=Decimal(point),
                reorder_qty=Decimal(qty),
            )
            inventory.receive(
                s, sku=sku, storeroom="MAIN", quantity=Decimal(received), actor="manager", now=at
            )
        acme = suppliers.create_supplier(
            s, code="ACME", name="Acme Parts", kind=SupplierKind.SUPPLIER, actor="manager", now=NOW
        )
        suppliers.change_status(
            s, code="ACME", to=QualificationStatus.QUALIFIED, actor=MANAGER, reason="ok", now=NOW
        )
        bolt = suppliers.create_supplier(
            s,
            code="BOLT",
            name="Bolt Services",
            kind=SupplierKind.CONTRACTOR,
            actor="manager",
            now=NOW,
        )
        suppliers.add_certificate(s, code="ACME", name="ISO 9001", expires_on=CERT_SOON, now=NOW)
        suppliers.add_certificate(s, code="BOLT", name="F-gas", expires_on=CERT_LATER, now=NOW)
        belt = s.scalars(sa.select(StockItem).where(StockItem.sku == "BELT-1")).one()
        belt.preferred_supplier_id = acme.id
        bolt.flagged_for_review_at = NOW - timedelta(days=1)
        s.add(
            SupplierScore(
                supplier_id=acme.id,
                period="2026-10",
                score=ACME_SCORE,
                rank=1,
                components={},
                computed_at=NOW,
            )
        )
        s.commit()

        # the chiller's repair: 3 h of labour at 50, two filters
        order, _ = orders.create_work_order(
            s,
            title="Chiller trips on high pressure",
            actor="manager",
            asset_code="CH-1",
            order_type=WorkOrderType.CORRECTIVE,
            create_asset=False,
            now=REPAIR_OPENED,
        )
        _act(s, order.id, "assign", REPAIR_OPENED + timedelta(minutes=10))
        _act(s, order.id, "start", REPAIR_OPENED + timedelta(minutes=20))
        inventory.issue_to_work_order(
            s,
            sku="FILTER-1",
            storeroom="MAIN",
            quantity=FILTER_ISSUED,
            work_order_id=order.id,
            actor=MANAGER,
            now=REPAIR_OPENED + timedelta(hours=1),
        )
        s.add(
            LabourEntry(
                work_order_id=order.id,
                worker="tech",
                hours=LABOUR_HOURS,
                hourly_rate=LABOUR_RATE,
                recorded_by="manager",
                recorded_at=REPAIR_OPENED + timedelta(hours=4),
            )
        )
        s.commit()
        _act(s, order.id, "resolve", REPAIR_RESOLVED)

        # weekly PM on the chiller: Nov 2 done on time, Nov 9 done late, Nov 16 still open
        plan = pm.create_plan(
            s,
            name="Chiller weekly check",
            trigger=PmTriggerKind.CALENDAR,
            interval=1,
            unit=TimeUnit.WEEK,
            anchor_local=PM_ANCHOR.strftime("%Y-%m-%dT%H:%M"),
            asset_codes=["CH-1"],
            site_code="hq",
            estimated_labour_h=1.5,
            actor="manager",
            now=PM_ANCHOR - timedelta(days=1),
        )
        pm.approve_plan(s, plan_id=plan.id, actor="manager", now=PM_ANCHOR - timedelta(days=1))
        finish_after = {0: timedelta(hours=3), 1: timedelta(days=3), 2: None}
        for week, after in finish_after.items():
            due = PM_ANCHOR + timedelta(weeks=week)
            made = pm.run_pm_scheduler(s, now=due + timedelta(minutes=5), readings=_NO_READINGS)
            assert len(made) == 1, made
            if after is not None:
                for action in ("assign", "start", "resolve"):
                    _act(s, made[0].work_order_id, action, due + after)

        chiller = s.scalars(sa.select(Asset).where(Asset.code == "CH-1")).one()
        document = asset_documents.store_document(
            s,
            root=attachments,
            asset=chiller,
            kind=DocumentKind.MANUAL,
            filename="chiller-manual.pdf",
            content=MANUAL,
            uploaded_by="manager",
            now=NOW,
            title="Operating manual",
        )
        s.commit()
        ids = {a.code: a.id for a in s.scalars(sa.select(Asset))}
        ids["document"] = document.id
        return ids


MANUAL = b"%PDF-1.4\n% a tiny manual\n%%EOF\n"


class _NoReadings:
    """Calendar plans read no telemetry; the scheduler still wants a store."""

    def query(self, **_: object) -> list[object]:
        return []


_NO_READINGS: SqlReadingStore = _NoReadings()  # type: ignore[assignment]


def _act(session: Session, order_id: int, action: str, at: datetime) -> None:
    orders.transition(
        session,
        work_order_id=order_id,
        action=action,
        actor="manager",
        role=Role.MANAGER,
        assignee="tech" if action == "assign" else None,
        now=at,
    )


@contextmanager
def _serve(
    tmp_path: Path, sessions: sessionmaker[Session], readings_url: str
) -> Iterator[ServiceConsole]:
    """Seed the facility above, then serve the API + console over ``sessions`` with a fixed
    clock and document storage under uvicorn on a free port."""
    attachments = tmp_path / "attachments"
    attachments.mkdir()
    ids = _seed(sessions, attachments)
    readings_engine = make_engine(readings_url)
    app = create_app(
        ApiContext(
            sessions=sessions,
            readings=SqlReadingStore(readings_engine),
            states=SqlStateStore(readings_engine),
            secret=SECRET,
            attachments_dir=attachments,
            auto_assign=False,
            clock=lambda: NOW,
        )
    )
    mount_console(
        app, data_dir=tmp_path, state=ConsoleState(revocations=Revocations(tmp_path / "r.json"))
    )
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, name="service-console", daemon=True)
    thread.start()
    wait_until(lambda: server.started, timeout_s=15, what="service console started")
    try:
        yield ServiceConsole(f"http://127.0.0.1:{port}", sessions, attachments, ids)
    finally:
        close_browsers()
        server.should_exit = True
        thread.join(timeout=10)
        readings_engine.dispose()
    assert not thread.is_alive(), "the console test server did not stop"


@pytest.fixture
def service_console(
    tmp_path: Path, console_template: tuple[Path, dict[str, int]]
) -> Iterator[ServiceConsole]:
    """On a copy of the console's seeded SQLite template (fast: no migration per test)."""
    template, _ = console_template
    shutil.copyfile(template, tmp_path / "facility.db")
    engine, sessions = connect(f"sqlite:///{tmp_path / 'facility.db'}")
    with _serve(tmp_path, sessions, f"sqlite:///{tmp_path / 'readings.db'}") as served:
        yield served
    engine.dispose()


@pytest.fixture
def service_console_any_db(tmp_path: Path, database_url: str) -> Iterator[ServiceConsole]:
    """On each work-order database (SQLite, and PostgreSQL when configured), from scratch."""
    engine, sessions = connect(database_url)
    upgrade(engine)
    seed_console_data(sessions)
    with _serve(tmp_path, sessions, database_url) as served:
        yield served
    engine.dispose()


def _client(console: ServiceConsole, role: str | None, language: str = EN) -> httpx.Client:
    client = browser(console.url, language)
    if role is not None:
        log_in(client, role)
    return client


def _money(value: Decimal) -> str:
    return f"{value:,.2f}"


def _one_decimal(value: float) -> str:
    return format_decimal(value, "#,##0.#", locale="en")


def _text(html: str) -> str:
    """The page's text with tags and runs of white space collapsed (for phrase checks)."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


SERVICE_PAGES = (
    "/console/assets",
    "/console/assets/replacement",
    "/console/pm",
    "/console/stock",
    "/console/suppliers",
    "/console/review",
)
TEAM_PAGES = ("/console/assets", "/console/pm")


# -- on both databases ----------------------------------------------------------------------------
def test_every_service_page_shows_the_seeded_figures_on_each_database(
    service_console_any_db: ServiceConsole,
) -> None:
    client = _client(service_console_any_db, "manager")
    pages = {path: client.get(path) for path in SERVICE_PAGES}
    assert {path: r.status_code for path, r in pages.items()} == dict.fromkeys(SERVICE_PAGES, 200)
    chiller = client.get(f"/console/assets/{service_console_any_db.ids['CH-1']}").text
    tco = CHILLER_PURCHASE + LABOUR_HOURS * LABOUR_RATE + FILTER_ISSUED * FILTER_COST
    assert f'id="tco">{_money(tco)}<' in chiller
    stock = pages["/console/stock"].text
    value = sum(
        (
            (Decimal(row[4]) - (FILTER_ISSUED if sku == "FILTER-1" else 0)) * row[1]
            for sku, row in STOCK.items()
        ),
        Decimal(0),
    )
    assert f'data-category="total">{_money(value)}<' in stock
    assert 'data-supplier="ACME"' in stock
    assert re.search(r"data-rank>1<", pages["/console/suppliers"].text)
    assert pages["/console/pm"].text.count("<tr data-plan=") >= 2
    report = re.search(
        r'<iframe id="review-frame"[^>]*src="([^"]+)"', pages["/console/review"].text
    )
    assert report and client.get(report.group(1).replace("&amp;", "&")).status_code == 200


# -- who sees what --------------------------------------------------------------------------------
def test_managers_see_every_service_page_and_requesters_none(
    service_console: ServiceConsole,
) -> None:
    manager = _client(service_console, "manager")
    tech = _client(service_console, "tech")
    requester = _client(service_console, "requester")
    anonymous = _client(service_console, None)
    for path in SERVICE_PAGES:
        assert manager.get(path).status_code == 200, path
        assert requester.get(path).status_code == 403, path
        expected = 200 if path in TEAM_PAGES else 403
        assert tech.get(path).status_code == expected, path
        refused = anonymous.get(path)
        assert refused.status_code == 303
        assert refused.headers["location"].startswith("/console/login?next=")
    nav = manager.get("/console/").text
    for path in SERVICE_PAGES:
        assert f'href="{path}"' in nav
    requester_nav = requester.get("/console/").text
    assert not any(f'href="{path}"' in requester_nav for path in SERVICE_PAGES)
    tech_nav = tech.get("/console/").text
    assert all(f'href="{p}"' in tech_nav for p in TEAM_PAGES)
    assert 'href="/console/stock"' not in tech_nav


def test_the_life_cycle_panel_and_documents_are_for_the_maintenance_team_only(
    service_console: ServiceConsole,
) -> None:
    chiller = service_console.ids["CH-1"]
    document = f"/console/assets/{chiller}/documents/{service_console.ids['document']}"
    requester = _client(service_console, "requester")
    page = requester.get(f"/console/assets/{chiller}")
    assert page.status_code == 200
    assert 'id="life-title"' not in page.text and 'id="tco"' not in page.text
    assert requester.get(document).status_code == 403
    tech = _client(service_console, "tech")
    assert 'id="life-title"' in tech.get(f"/console/assets/{chiller}").text
    download = tech.get(document)
    assert download.status_code == 200
    assert download.content == MANUAL
    assert download.headers["content-type"] == "application/pdf"
    assert "chiller-manual.pdf" in download.headers["content-disposition"]


# -- what the pages show --------------------------------------------------------------------------
def test_the_register_shows_the_tree_with_status_criticality_and_age(
    service_console: ServiceConsole,
) -> None:
    html = _client(service_console, "manager").get("/console/assets").text
    order = [html.index(f'data-asset="{code}"') for code in ("B1", "B1-F1", "B1-PLANT", "CH-1")]
    assert order == sorted(order), "the tree lists each level under its parent"
    # nested lists: the chiller sits three lists deeper than its building
    between = html[order[0] : order[3]]
    assert between.count("<ul>") == 3
    age = (NOW.date() - CHILLER_COMMISSIONED).days / 365.25
    chiller = html[order[3] : html.index("</li>", order[3])]
    assert f"{_one_decimal(age)} of {_one_decimal(CHILLER_LIFE)} years" in _text(chiller)
    assert f"({_one_decimal(100 * age / CHILLER_LIFE)} %)" in _text(chiller)
    assert 'data-status="in_service"' in chiller and "Criticality A" in _text(chiller)
    pump = html[html.index('data-asset="P-1"') :]
    assert 'data-status="under_repair"' in pump[: pump.index("</li>")]


def test_the_register_filters_by_status_and_keeps_the_ancestors(
    service_console: ServiceConsole,
) -> None:
    client = _client(service_console, "manager")
    html = client.get("/console/assets?status=under_repair").text
    assert 'data-asset="P-1"' in html
    assert 'data-asset="CH-1"' not in html and 'data-asset="AHU-1"' not in html
    assert re.search(r'<li data-asset="B1" class="muted">', html), "ancestor shown, muted"
    assert "1 assets" in _text(html)
    by_criticality = client.get("/console/assets?criticality=A").text
    assert 'data-asset="CH-1"' in by_criticality and 'data-asset="P-1"' not in by_criticality
    assert "No asset matches." in client.get("/console/assets?status=planned").text


def test_the_asset_page_shows_life_cycle_costs_and_reliability(
    service_console: ServiceConsole,
) -> None:
    client = _client(service_console, "manager")
    html = client.get(f"/console/assets/{service_console.ids['CH-1']}").text
    labour = LABOUR_HOURS * LABOUR_RATE
    parts = FILTER_ISSUED * FILTER_COST
    purchase, replacement = CHILLER_PURCHASE, CHILLER_REPLACEMENT

    def figure(name: str) -> str:
        match = re.search(rf'id="{name}">([^<]*)<', html)
        assert match, name
        return match.group(1).strip()

    assert figure("tco") == _money(purchase + labour + parts)
    assert figure("labour-cost") == _money(labour)
    assert figure("parts-cost") == _money(parts)
    assert figure("repair-12m") == _money(labour + parts)
    assert figure("replacement-cost") == _money(replacement)
    ratio = float((labour + parts) / replacement) * 100
    assert figure("repair-ratio") == f"{_one_decimal(ratio)} %"
    mttr_h = (REPAIR_RESOLVED - REPAIR_OPENED).total_seconds() / 3600
    assert figure("mttr") == f"{_one_decimal(mttr_h)} h"
    assert figure("mtbf") == "—", "one failure has no time between failures"
    assert figure("failures-12m") == "1"
    assert figure("warranty").startswith("Expired")
    text = _text(html)
    for fact in ("Carrier", "30XA-252", "SN-0042", "Operating manual"):
        assert fact in text
    assert "Chiller trips on high pressure" in text
    history_row = re.search(r'<tr data-order="\d+">.*?Chiller trips.*?</tr>', html, re.S)
    assert history_row, "the repair is in the maintenance history"
    cells = re.findall(r"<td>([^<]*)</td>", history_row.group(0))
    assert [_money(labour), _money(parts), _money(labour + parts)] == cells[-3:]
    assert 'class="chart' in html or "No readings in this period." in html, "charts kept"


def test_the_pump_page_shows_its_availability_from_the_status_history(
    service_console: ServiceConsole,
) -> None:
    html = _client(service_console, "manager").get(f"/console/assets/{service_console.ids['P-1']}")
    window = (NOW - PUMP_CREATED).total_seconds()
    down = (NOW - PUMP_BROKE).total_seconds()
    expected = 100 * (1 - down / window)
    assert re.search(rf'id="availability">{re.escape(_one_decimal(expected))} %<', html.text)
    history = html.text[html.text.index('id="status-history"') :]
    assert "In service → Under repair" in _text(history) and "bearing noise" in history
    assert 'id="asset-status">Under repair<' in html.text


def test_the_replacement_plan_ranks_by_the_documented_score(
    service_console: ServiceConsole,
) -> None:
    html = _client(service_console, "manager").get("/console/assets/replacement").text

    def score(
        age: float,
        life: float,
        repair: Decimal,
        replacement: Decimal,
        failures: int,
        criticality: float,
    ) -> float:
        parts = (
            0.35 * min(age / life, 1.5) / 1.5
            + 0.30 * min(float(repair / replacement), 1.0)
            + 0.20 * min(failures, 6) / 6
            + 0.15 * criticality
        )
        return round(100 * parts, 2)

    chiller_age = (NOW.date() - CHILLER_COMMISSIONED).days / 365.25
    pump_age = (NOW.date() - date(2022, 6, 1)).days / 365.25
    repair = LABOUR_HOURS * LABOUR_RATE + FILTER_ISSUED * FILTER_COST
    expected = {
        "CH-1": score(chiller_age, CHILLER_LIFE, repair, CHILLER_REPLACEMENT, 1, 1.0),
        "P-1": score(pump_age, 10.0, Decimal(0), Decimal("4000"), 0, 0.0),
    }
    shown = {
        code: float(value)
        for code, value in re.findall(
            r'<tr data-asset="([^"]+)">.*?data-score="([^"]+)"', html, re.S
        )
    }
    for code, value in expected.items():
        assert shown[code] == pytest.approx(value, abs=0.02), code
    ranked = [c for c in re.findall(r'<tr data-asset="([^"]+)">', html) if c in expected]
    assert ranked == sorted(expected, key=lambda c: -expected[c])
    assert "Missing data" in html, "AHU-1 has no life-cycle data and says so"


def test_the_pm_page_shows_the_forecast_plans_and_this_months_compliance(
    service_console: ServiceConsole,
) -> None:
    client = _client(service_console, "manager")
    html = client.get("/console/pm?weeks=4").text
    horizon = NOW + timedelta(weeks=4)
    due = [PM_ANCHOR + timedelta(weeks=k) for k in range(60)]
    upcoming = [d for d in due if NOW < d <= horizon]
    forecast = html[
        html.index('id="forecast"') : html.index("</table>", html.index('id="forecast"'))
    ]
    assert forecast.count("<tr data-plan=") == len(upcoming)
    assert "Chiller weekly check" in forecast and "1.5 h" in forecast
    month_due = [d for d in due if d.month == NOW.month and d < NOW]
    figures = dict(re.findall(r'data-figure="(\w+)">([^<]*)<', html))
    assert figures["due"] == str(len(month_due))
    assert (figures["on_time"], figures["late"], figures["open"]) == ("1", "1", "1")
    assert figures["ratio"] == f"{_one_decimal(100 / len(month_due))} %"
    longer = client.get("/console/pm?weeks=8").text
    assert longer.count("<tr data-plan=") > html.count("<tr data-plan=")


def _calendar_states(html: str) -> dict[str, list[str]]:
    """day -> the states of its PM entries, from the calendar's table."""
    days: dict[str, list[str]] = {}
    for day, cell in re.findall(r'<td class="[^"]*" data-day="([\d-]+)">(.*?)</td>', html, re.S):
        days[day] = re.findall(r'data-state="(\w+)"', cell)
    return days


def test_the_pm_calendar_shows_done_overdue_and_forecast_occurrences_by_day(
    service_console: ServiceConsole,
) -> None:
    client = _client(service_console, "tech")
    month = client.get("/console/pm/calendar", params={"date": "2026-11-05"})
    assert month.status_code == 200
    states = _calendar_states(month.text)
    weekly = {
        (PM_ANCHOR + timedelta(weeks=k)).date().isoformat(): (PM_ANCHOR + timedelta(weeks=k))
        for k in range(5)
    }
    for day, due in weekly.items():
        if due.month != 11:
            continue
        expected = "forecast" if due > NOW else ("overdue" if due.day == 16 else "done")
        assert states[day] == [expected], (day, states.get(day))
    assert sum(len(v) for v in states.values()) == sum(1 for d in weekly.values() if d.month == 11)
    assert "November 2026" in month.text and 'data-nav="next"' in month.text
    week = client.get("/console/pm/calendar", params={"view": "week", "date": "2026-11-18"})
    week_states = _calendar_states(week.text)
    assert len(week_states) == 7 and week_states["2026-11-16"] == ["overdue"]
    zh = _client(service_console, "tech", ZH).get(
        "/console/pm/calendar", params={"date": "2026-11-05"}
    )
    assert "2026年11月" in zh.text and "周一" in zh.text
    for bad in ({"date": "2026-13-40"}, {"date": "99999-01-01"}, {"view": "year"}):
        refused = client.get("/console/pm/calendar", params=bad)
        assert refused.status_code == 400, bad
    assert _client(service_console, None).get("/console/pm/calendar").status_code in (200, 303)


def test_the_stock_page_shows_low_stock_reorders_by_supplier_value_and_dead_stock(
    service_console: ServiceConsole,
) -> None:
    html = _client(service_console, "manager").get("/console/stock").text
    on_hand = {sku: Decimal(row[4]) for sku, row in STOCK.items()}
    on_hand["FILTER-1"] -= FILTER_ISSUED
    values: dict[str, Decimal] = {}
    for sku, (category, cost, *_rest) in STOCK.items():
        values[category.value] = values.get(category.value, Decimal(0)) + on_hand[sku] * cost
    for name, value in values.items():
        assert f'data-category="{name}">{_money(value)}<' in html
    assert f'data-category="total">{_money(sum(values.values(), Decimal(0)))}<' in html
    low = html[html.index('id="low-stock"') :]
    low = low[: low.index("</table>")]
    below = [sku for sku, row in STOCK.items() if row[2] > 0 and on_hand[sku] <= row[2]]
    assert re.findall(r'data-sku="([^"]+)"', low) == below == ["BELT-1"]
    group = html[html.index('data-supplier="ACME"') :]
    assert 'data-sku="BELT-1"' in group[: group.index("</table>")]
    _, _cost, belt_point, belt_batch, *_ = STOCK["BELT-1"]
    batches = max(1, int((belt_point - on_hand["BELT-1"]) // belt_batch) + 1)
    assert f"<td data-qty>{belt_batch * batches}</td>" in group
    dead = html[html.index('id="dead-stock"') :]
    stale = [sku for sku, row in STOCK.items() if NOW - row[5] > timedelta(days=180)]
    assert re.findall(r'data-sku="([^"]+)"', dead[: dead.index("</table>")]) == stale


def test_the_suppliers_page_shows_qualification_scores_flags_and_expiring_certificates(
    service_console: ServiceConsole,
) -> None:
    html = _client(service_console, "manager").get("/console/suppliers").text
    acme = html[html.index('<tr data-supplier="ACME"') :]
    acme = acme[: acme.index("</tr>")]
    assert "Qualified" in acme and f"{ACME_SCORE:.1f}" in acme and "2026-10" in acme
    assert re.search(r"data-rank>1<", acme)
    bolt = html[html.index('<tr data-supplier="BOLT"') :]
    bolt = bolt[: bolt.index("</tr>")]
    assert "Candidate" in bolt and "data-flagged" in bolt and "data-flagged" not in acme
    start = html.index('id="certificates"')
    certificates = html[start : html.index("</ul>", start)]
    soon = [
        n
        for n, d in (("ISO 9001", CERT_SOON), ("F-gas", CERT_LATER))
        if (d - NOW.date()).days <= 30
    ]
    assert [n for n in ("ISO 9001", "F-gas") if n in certificates] == soon
    qualified = _client(service_console, "manager").get("/console/suppliers?status=qualified")
    assert 'data-supplier="ACME"' in qualified.text
    assert 'data-supplier="BOLT"' not in qualified.text


def test_the_review_page_frames_last_months_report(service_console: ServiceConsole) -> None:
    client = _client(service_console, "manager")
    page = client.get("/console/review")
    last_month = (NOW.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    src = re.search(r'<iframe id="review-frame"[^>]*src="([^"]+)"', page.text)
    assert src, "the review is embedded"
    url = src.group(1).replace("&amp;", "&")
    assert url == f"/console/review/monthly.html?site=hq&month={last_month}"
    report = client.get(url)
    assert report.status_code == 200
    assert "frame-ancestors 'self'" in report.headers["content-security-policy"]
    assert report.headers["x-frame-options"] == "SAMEORIGIN"
    assert "Headquarters" in report.text and last_month in report.text
    assert client.get("/console/review?site=hq&month=2026-09").status_code == 200
    assert _client(service_console, "tech").get(url).status_code == 403


# -- hostile input --------------------------------------------------------------------------------
HOSTILE = [
    ("/console/pm?weeks=abc", 400),
    ("/console/pm?weeks=0", 400),
    ("/console/pm?weeks=105", 400),
    ("/console/pm?weeks=99999999999999999999999", 400),
    ("/console/pm?weeks=%00", 422),  # the API app refuses NUL in any URL
    ("/console/pm?weeks=1e3", 400),
    ("/console/pm?weeks=%EF%BC%93", 400),  # a full-width digit
    ("/console/stock?days=-1", 400),
    ("/console/stock?days=3651", 400),
    ("/console/assets?status=bogus", 400),
    ("/console/assets?criticality=%3Cscript%3Ealert(1)%3C/script%3E", 400),
    ("/console/assets/replacement?limit=0", 400),
    ("/console/assets/replacement?limit=501", 400),
    ("/console/suppliers?offset=-1", 400),
    ("/console/suppliers?status=xyz", 400),
    ("/console/suppliers?status=qualified&status=removed", 400),
    ("/console/review?month=2026-13", 400),
    ("/console/review?month=%3Csvg%3E", 400),
    ("/console/review?month=" + "9" * 500, 400),
    ("/console/review?site=nowhere", 404),
    ("/console/review?site=" + "x" * 65, 400),
    ("/console/review?site=hq%00", 422),
    ("/console/review/monthly.html?site=hq&month=abc", 400),
    ("/console/review/monthly.html?site=..%2F..%2Fetc", 404),
    ("/console/assets/1/documents/999999", 404),
    ("/console/assets/abc/documents/1", 422),
    ("/console/assets/1/documents/99999999999999", 422),
]


def test_hostile_query_parameters_get_a_clear_4xx_and_are_never_echoed_raw(
    service_console: ServiceConsole,
) -> None:
    client = _client(service_console, "manager")
    answers = {path: client.get(path) for path, _ in HOSTILE}
    wrong = {
        path: answers[path].status_code
        for path, status in HOSTILE
        if answers[path].status_code != status
    }
    assert wrong == {}, "every case answers its 4xx"
    for path, response in answers.items():
        assert "<script>alert" not in response.text and "<svg>" not in response.text, path
    assert client.get("/console/pm").status_code == 200, "the server still answers"


def test_every_service_page_renders_in_chinese_with_no_untranslated_key(
    service_console: ServiceConsole, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing: set[str] = set()
    real = i18n.localizer

    def recording(tag: str) -> Localizer:
        loc = real(tag)
        return Localizer(loc.language, loc.translations, loc.known, missing)

    monkeypatch.setattr(_app, "localizer", recording)
    client = _client(service_console, "manager", ZH)
    for path in (
        *SERVICE_PAGES,
        f"/console/assets/{service_console.ids['CH-1']}",
        f"/console/assets/{service_console.ids['P-1']}",
        "/console/pm?weeks=abc",
    ):
        response = client.get(path)
        assert response.status_code in (200, 400), path
        assert response.headers["content-language"] == "zh-Hans"
    assert "资产台账" in client.get("/console/assets").text
    assert missing == set(), f"untranslated: {sorted(missing)}"


def test_the_chinese_pages_use_the_facility_teams_own_terms(
    service_console: ServiceConsole,
) -> None:
    """As a property/facility-services reviewer asked: 工单 (not 订货量) for the order column of
    the maintenance history, 已使用年限, 设备更换计划, 月度服务报告, 立即生成到期保养工单,
    补货点 and 维修师傅."""
    manager = _client(service_console, "manager", ZH)
    chiller = manager.get(f"/console/assets/{service_console.ids['CH-1']}").text
    history = chiller.split('id="maintenance-history"')[1].split("</thead>")[0]
    assert '<th scope="col">工单</th>' in history and "订货量" not in history
    assert "<dt>已使用年限</dt>" in chiller and "役龄" not in chiller
    replacement = manager.get("/console/assets/replacement").text
    assert "<h1>设备更换计划</h1>" in replacement and "已使用年限与预期寿命之比" in replacement
    review = manager.get("/console/review").text
    assert "月度服务报告" in review and "评审" not in _text(review)
    pm_page = manager.get("/console/pm").text
    assert 'data-action="run">立即生成到期保养工单</button>' in pm_page
    assert "调度器" not in pm_page
    stock = manager.get("/console/stock").text
    assert "补货点" in stock and "再订货点" not in stock
    assert '<th scope="col">订货量</th>' in stock, "the quantity to order keeps its own word"
    tech = _client(service_console, "tech", ZH)
    assert "tech (维修师傅)" in tech.get("/console/pm").text
    english = _client(service_console, "manager").get("/console/stock").text
    assert '<th scope="col">Order</th>' in english, "English keeps one word for both"


# -- in a real browser ----------------------------------------------------------------------------
DOCS_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "console-assets.png"

#: Every element that shows text of its own: its colour against the first opaque background
#: behind it (WCAG AA asks 4.5:1 for normal text). Returns the pairs that fall short.
LOW_CONTRAST_JS = """
() => {
  function rgba(text) {
    const v = text.match(/[\\d.]+/g).map(Number);
    return v.length === 4 ? v : [...v, 1];
  }
  function lum([r, g, b]) {
    const f = v => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  }
  function background(el) {
    for (let e = el; e; e = e.parentElement) {
      const c = rgba(getComputedStyle(e).backgroundColor);
      if (c[3] > 0.5) return c;
    }
    return [255, 255, 255, 1];
  }
  const short = [];
  for (const el of document.querySelectorAll("body *")) {
    const own = Array.from(el.childNodes).some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own || !el.getClientRects().length) continue;
    const style = getComputedStyle(el);
    if (style.visibility === "hidden" || style.display === "none") continue;
    const a = lum(rgba(style.color)), b = lum(background(el));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < 4.5) {
      const text = el.textContent.trim().slice(0, 30);
      short.push(`${el.tagName}.${el.className}: ${ratio.toFixed(2)} "${text}"`);
    }
  }
  return short;
}
"""
UNLABELLED_JS = """
() => Array.from(document.querySelectorAll("input, select, textarea"))
  .filter(el => el.type !== "hidden")
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute("aria-label"))
  .map(el => el.outerHTML)
"""


def test_a_manager_opens_the_service_pages_in_chromium_without_errors(
    service_console: ServiceConsole,
) -> None:
    from playwright.sync_api import ConsoleMessage, expect, sync_playwright

    from tests.e2e.conftest import ARTIFACTS, CHROMIUM_ARGS, CONSOLE_PASSWORD, chromium_path

    executable = chromium_path()
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(f"{message.text} @ {message.location.get('url')}")

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            context = chromium.new_context(
                viewport={"width": 1280, "height": 900},
                locale="en-GB",
                extra_http_headers={"Accept-Language": "en-GB"},
            )
            page = context.new_page()
            page.on("console", on_console)
            page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
            page.goto(f"{service_console.url}/console/assets")
            page.get_by_label("User name").fill("manager")
            page.locator("#password").fill(CONSOLE_PASSWORD)
            page.locator("#password").press("Enter")
            expect(page.locator("h1")).to_have_text("Asset register")
            expect(page.locator('li[data-asset="CH-1"] > a')).to_be_visible()
            assert page.evaluate(LOW_CONTRAST_JS) == []
            assert page.evaluate(UNLABELLED_JS) == []
            DOCS_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(DOCS_SCREENSHOT), full_page=True)

            # filter through the form, then follow the tree to the chiller's life cycle
            page.get_by_label("Under repair").check()
            page.get_by_role("button", name="Filter").click()
            expect(page).to_have_url(re.compile(r"status=under_repair"))
            expect(page.locator('li[data-asset="CH-1"]')).to_have_count(0)
            page.get_by_role("link", name="Clear filters").click()
            page.locator('li[data-asset="CH-1"] > a').click()
            expect(page.locator("#life-title")).to_contain_text("Life cycle")
            assert page.evaluate(LOW_CONTRAST_JS) == []
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "console-asset-life-cycle.png"), full_page=True)

            page.get_by_role("link", name="Stock", exact=True).click()
            expect(page.locator("h1")).to_have_text("Stock")
            expect(page.locator('#low-stock tr[data-sku="BELT-1"]')).to_be_visible()
            assert page.evaluate(LOW_CONTRAST_JS) == []
            assert page.evaluate(UNLABELLED_JS) == []
            page.screenshot(path=str(ARTIFACTS / "console-stock.png"), full_page=True)

            # the monthly review shows in its sandboxed frame, under its own policy
            page.get_by_role("link", name="Monthly review").click()
            report = page.frame_locator("#review-frame")
            expect(report.locator("h1").first).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "console-review.png"), full_page=True)
            context.close()
        finally:
            chromium.close()
    assert errors == []


# -- on a phone --------------------------------------------------------------------------------
PHONE_PAGES = (
    "/console/",
    "/console/board",
    "/console/my",
    *SERVICE_PAGES,
    "/console/pm/calendar",
    "/console/report",
    "/console/requests",
)


@pytest.mark.parametrize("language", [EN, ZH])
def test_no_page_is_wider_than_a_phone_and_the_menu_folds_behind_one_button(
    service_console: ServiceConsole, language: str
) -> None:
    from playwright.sync_api import sync_playwright

    from tests.e2e.conftest import CHROMIUM_ARGS, CONSOLE_PASSWORD, chromium_path

    pages = [*PHONE_PAGES, f"/console/assets/{service_console.ids['CH-1']}"]
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        context = chromium.new_context(
            viewport={"width": 390, "height": 844},
            extra_http_headers={"Accept-Language": language},
            is_mobile=True,
            has_touch=True,
        )
        context.set_default_timeout(60_000)
        page = context.new_page()
        page.goto(f"{service_console.url}/console/login")
        page.locator("#username").fill("manager")
        page.locator("#password").fill(CONSOLE_PASSWORD)
        page.locator("#password").press("Enter")
        page.wait_for_url(f"{service_console.url}/console/")
        assert not page.locator("#main-nav").is_visible(), "the menu starts folded on a phone"
        page.locator(".menu-button").click()
        assert page.locator("#main-nav").is_visible()
        assert page.locator('#main-nav a[href="/console/stock"]').is_visible()
        widths = {}
        for path in pages:
            page.goto(f"{service_console.url}{path}")
            widths[path] = page.evaluate("document.documentElement.scrollWidth")
        chromium.close()
    assert {p: w for p, w in widths.items() if w > 390} == {}, "pages wider than the phone"
