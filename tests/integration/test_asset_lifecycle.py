"""The asset life cycle on SQLite and PostgreSQL: tree, status machine, figures, CSV, plan."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from statistics import fmean

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from maintenance.assets import lifecycle as lc
from maintenance.assets import register_csv as asset_csv
from maintenance.assets.models import Asset, AssetLevel, AssetStatus, AssetStatusChange, Criticality
from maintenance.insights import asset_figures as af
from maintenance.insights.kpis import KpiFilter, compute_kpis
from maintenance.inventory import service as inventory
from maintenance.inventory.models import StockCategory, StockMovement, StockMovementKind
from maintenance.shared.actors import Actor
from maintenance.shared.db import connect, upgrade
from maintenance.shared.vocabulary import Role
from maintenance.work_orders.models import (
    LabourEntry,
    WorkOrder,
    WorkOrderSource,
    WorkOrderStatus,
    WorkOrderType,
)

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)
S = AssetStatus


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine, factory = connect(database_url)
    upgrade(engine)
    yield factory
    engine.dispose()


def _spec(code: str, **fields: object) -> lc.AssetSpec:
    return lc.AssetSpec(code=code, name=f"{code} name", **fields)  # type: ignore[arg-type]


# -- tree and fields ------------------------------------------------------------------------------
def test_the_tree_is_built_with_levels_and_the_site_flows_down(
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as s:
        lc.create_asset(
            s, spec=_spec("B1", level=AssetLevel.BUILDING, site="HQ"), actor="m", now=NOW
        )
        lc.create_asset(
            s, spec=_spec("F1", level=AssetLevel.FLOOR, parent="B1"), actor="m", now=NOW
        )
        lc.create_asset(s, spec=_spec("Z1", level=AssetLevel.ZONE, parent="F1"), actor="m", now=NOW)
        pump = lc.create_asset(
            s,
            spec=_spec(
                "P1",
                parent="Z1",
                manufacturer="Grundfos",
                serial_number="SN-1",
                installed_on=date(2019, 5, 1),
                purchase_cost=Decimal("4200.00"),
                criticality=Criticality.A,
            ),
            actor="m",
            now=NOW,
        )
        assert pump.site is not None and pump.site.code == "HQ"
        tree = lc.asset_tree(s)
        assert [n["code"] for n in tree] == ["B1"]
        chain = tree[0]
        for code in ("F1", "Z1", "P1"):
            chain = chain["children"][0]
            assert chain["code"] == code
        assert lc.asset_tree(s, root="Z1")[0]["children"][0]["code"] == "P1"
        assert lc.asset_tree(s, site="ELSEWHERE") == []
        lc.create_asset(
            s, spec=_spec("B2", level=AssetLevel.BUILDING, site="LAB"), actor="m", now=NOW
        )
        moved = lc.update_asset(s, code="P1", changes={"parent": "B2"}, actor="m", now=NOW)
        s.refresh(moved)
        assert moved.site is not None and moved.site.code == "LAB"  # a move takes the new site
        with pytest.raises(lc.AssetError, match="different sites"):
            lc.update_asset(
                s, code="P1", changes={"parent": "Z1", "site": "LAB"}, actor="m", now=NOW
            )


def test_cycles_unknown_parents_bad_levels_and_duplicates_are_refused(
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as s:
        lc.create_asset(s, spec=_spec("B1", level=AssetLevel.BUILDING), actor="m", now=NOW)
        lc.create_asset(
            s, spec=_spec("F1", level=AssetLevel.FLOOR, parent="B1"), actor="m", now=NOW
        )
        lc.create_asset(s, spec=_spec("E1", parent="F1"), actor="m", now=NOW)
        with pytest.raises(lc.AssetError, match="cycle"):
            lc.update_asset(s, code="B1", changes={"parent": "E1"}, actor="m", now=NOW)
        s.rollback()
        with pytest.raises(lc.AssetError, match="cycle"):
            lc.update_asset(s, code="E1", changes={"parent": "E1"}, actor="m", now=NOW)
        s.rollback()
        with pytest.raises(lc.AssetError, match="does not exist"):
            lc.create_asset(s, spec=_spec("E2", parent="NOPE"), actor="m", now=NOW)
        s.rollback()
        with pytest.raises(lc.AssetError, match="cannot sit inside"):
            lc.create_asset(
                s, spec=_spec("B2", level=AssetLevel.BUILDING, parent="F1"), actor="m", now=NOW
            )
        s.rollback()
        with pytest.raises(lc.AssetConflict):
            lc.create_asset(s, spec=_spec("E1"), actor="m", now=NOW)
        s.rollback()
        lc.create_asset(s, spec=_spec("Z1", level=AssetLevel.ZONE, parent="F1"), actor="m", now=NOW)
        with pytest.raises(lc.AssetError, match="child 'Z1'"):
            lc.update_asset(
                s, code="F1", changes={"level": AssetLevel.EQUIPMENT}, actor="m", now=NOW
            )
        s.rollback()
        parents = {r[0]: r[1] for r in s.execute(sa.select(Asset.code, Asset.parent_id))}
        assert parents["B1"] is None and parents["E1"] is not None


# -- status machine -------------------------------------------------------------------------------
def test_status_changes_are_guarded_and_recorded_with_who_when_why(
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as s:
        lc.create_asset(s, spec=_spec("CH1", status=S.PLANNED), actor="manager", now=NOW)
        with pytest.raises(lc.InvalidAssetTransition):
            lc.change_status(s, code="CH1", to=S.UNDER_REPAIR, actor="m", reason="x", now=NOW)
        steps = [
            (S.IN_SERVICE, "commissioned"),
            (S.UNDER_REPAIR, "compressor"),
            (S.IN_SERVICE, "fixed"),
            (S.DECOMMISSIONED, "scrapped"),
        ]
        for days, (to, why) in enumerate(steps, start=1):
            lc.change_status(
                s, code="CH1", to=to, actor="manager", reason=why, now=NOW + days * DAY
            )
        with pytest.raises(lc.InvalidAssetTransition, match="decommissioned is final"):
            lc.change_status(
                s, code="CH1", to=S.IN_SERVICE, actor="m", reason="x", now=NOW + 9 * DAY
            )
        asset = lc.get_asset(s, code="CH1")
        history = lc.status_history(s, asset_id=asset.id)
        assert [(c.from_status, c.to_status, c.reason) for c in history] == [
            (None, S.PLANNED, "created"),
            (S.PLANNED, S.IN_SERVICE, "commissioned"),
            (S.IN_SERVICE, S.UNDER_REPAIR, "compressor"),
            (S.UNDER_REPAIR, S.IN_SERVICE, "fixed"),
            (S.IN_SERVICE, S.DECOMMISSIONED, "scrapped"),
        ]
        assert all(c.actor == "manager" for c in history)
        assert asset.status is S.DECOMMISSIONED and asset.status_since == NOW + 4 * DAY


def test_a_status_change_needs_a_reason_and_cannot_go_back_in_time(
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as s:
        lc.create_asset(s, spec=_spec("P1"), actor="m", now=NOW)
        with pytest.raises(lc.AssetError, match="reason"):
            lc.change_status(s, code="P1", to=S.STANDBY, actor="m", reason="  ", now=NOW + DAY)
        with pytest.raises(lc.AssetError, match="append-only"):
            lc.change_status(s, code="P1", to=S.STANDBY, actor="m", reason="r", now=NOW - DAY)
        with pytest.raises(lc.AssetNotFound):
            lc.change_status(s, code="NOPE", to=S.STANDBY, actor="m", reason="r", now=NOW)
        count = s.scalar(sa.select(sa.func.count()).select_from(AssetStatusChange))
        assert count == 1


# -- derived figures ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Seeded:
    order: str
    order_type: WorkOrderType
    status: WorkOrderStatus
    detected: datetime
    repair_h: float | None


ORDERS = [
    Seeded("old", WorkOrderType.CORRECTIVE, WorkOrderStatus.CLOSED, NOW - 500 * DAY, 2),
    Seeded("first", WorkOrderType.CORRECTIVE, WorkOrderStatus.CLOSED, NOW - 300 * DAY, 4),
    Seeded("pm", WorkOrderType.PREVENTIVE, WorkOrderStatus.CLOSED, NOW - 50 * DAY, None),
    Seeded("second", WorkOrderType.CORRECTIVE, WorkOrderStatus.CLOSED, NOW - 100 * DAY, 10),
    Seeded("void", WorkOrderType.CORRECTIVE, WorkOrderStatus.CANCELLED, NOW - 20 * DAY, None),
]
#: (order, hours, rate, days before NOW it was booked)
LABOUR = [
    ("old", "3", "50", 499),
    ("first", "2.5", "60", 299),
    ("first", "1", "80", 298),
    ("second", "6", "55", 99),
    ("pm", "1.5", "45", 49),
]
#: (order, signed quantity, unit cost, days before NOW)
MOVES = [
    ("old", "-3", "10", 499),
    ("first", "-2", "42.50", 299),
    ("first", "1", "42.50", 298),
    ("second", "-1", "300", 99),
    ("pm", "-4", "12.25", 49),
]


def _seed_history(s: Session) -> tuple[Asset, dict[str, int]]:
    asset = lc.create_asset(
        s,
        spec=_spec(
            "AHU-7",
            commissioned_on=date(2014, 3, 2),
            installed_on=date(2014, 1, 15),
            expected_life_years=15,
            purchase_cost=Decimal("18000.00"),
            replacement_cost=Decimal("25000.00"),
            warranty_end=date(2016, 3, 2),
            criticality=Criticality.A,
        ),
        actor="m",
        now=NOW - 600 * DAY,
    )
    ids = {}
    for seeded in ORDERS:
        order = WorkOrder(
            title=seeded.order,
            # the fleet MTBF counts rule orders: make exactly the real failures rule orders
            source=WorkOrderSource.RULE if seeded.repair_h else WorkOrderSource.API,
            order_type=seeded.order_type,
            status=seeded.status,
            asset_id=asset.id,
            created_at=seeded.detected + timedelta(minutes=5),
            detected_at=seeded.detected,
            resolved_at=seeded.detected + timedelta(hours=seeded.repair_h)
            if seeded.repair_h is not None
            else None,
        )
        s.add(order)
        s.flush()
        ids[seeded.order] = order.id
    item = inventory.create_item(s, sku="V-BELT", name="belt", category=StockCategory.SPARE_PART)
    room = inventory.create_storeroom(s, code="MAIN", name="Main")
    for name, hours, rate, days in LABOUR:
        s.add(
            LabourEntry(
                work_order_id=ids[name],
                worker="tech",
                hours=Decimal(hours),
                hourly_rate=Decimal(rate),
                recorded_by="tech",
                recorded_at=NOW - days * DAY,
            )
        )
    for name, qty, cost, days in MOVES:
        s.add(
            StockMovement(
                ts=NOW - days * DAY,
                kind=StockMovementKind.ISSUE if qty.startswith("-") else StockMovementKind.RETURN,
                item_id=item.id,
                storeroom_id=room.id,
                quantity=Decimal(qty),
                unit_cost=Decimal(cost),
                work_order_id=ids[name],
                actor="tech",
            )
        )
    s.commit()
    return asset, ids


def test_costs_age_and_ratios_follow_from_the_seeded_orders_labour_and_parts(
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as s:
        asset, ids = _seed_history(s)
        figures = af.asset_figures(s, asset_id=asset.id, now=NOW)
        labour = sum(Decimal(h) * Decimal(r) for _, h, r, _ in LABOUR)
        parts = sum(-Decimal(q) * Decimal(c) for _, q, c, _ in MOVES)
        assert figures.labour_cost == labour
        assert figures.labour_hours == sum(Decimal(h) for _, h, _, _ in LABOUR)
        assert figures.parts_cost == parts
        assert figures.tco == Decimal("18000.00") + labour + parts
        corrective = {o.order for o in ORDERS if o.order_type is WorkOrderType.CORRECTIVE}
        recent = sum(
            Decimal(h) * Decimal(r) for n, h, r, d in LABOUR if n in corrective and d <= 365
        ) + sum(-Decimal(q) * Decimal(c) for n, q, c, d in MOVES if n in corrective and d <= 365)
        assert figures.repair_cost_12m == recent
        assert figures.repair_replacement_ratio == pytest.approx(float(recent / 25000), abs=1e-4)
        age = (NOW.date() - date(2014, 3, 2)).days / 365.25
        assert figures.age_years == pytest.approx(age, abs=1e-3)
        assert figures.life_used_ratio == pytest.approx(age / 15, abs=1e-3)
        assert (figures.warranty_state, figures.warranty_days_left) == (
            "expired",
            (date(2016, 3, 2) - NOW.date()).days,
        )
        # the parts figure is what the inventory service charges each order
        per_order = [
            inventory.work_order_parts(s, work_order_id=i, actor=Actor("admin", Role.ADMIN))[1]
            for i in ids.values()
        ]
        assert figures.parts_cost == sum(per_order)
        assert figures.order_count == len(ORDERS)


def test_mtbf_and_mttr_use_the_fleet_definitions_over_the_assets_failures(
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as s:
        asset, _ = _seed_history(s)
        figures = af.asset_figures(s, asset_id=asset.id, now=NOW)
        failures = sorted(
            (o for o in ORDERS if o.order_type is WorkOrderType.CORRECTIVE and o.repair_h),
            key=lambda o: o.detected,
        )
        assert figures.failures_total == len(failures)
        assert figures.failures_12m == sum(1 for o in failures if NOW - o.detected <= 365 * DAY)
        assert figures.mttr_s == pytest.approx(fmean(o.repair_h * 3600 for o in failures))  # type: ignore[operator]
        gaps = [
            (nxt.detected - (prev.detected + timedelta(hours=prev.repair_h or 0))).total_seconds()
            for prev, nxt in pairwise(failures)
        ]
        assert figures.mtbf_s == pytest.approx(fmean(gaps))
        # the fleet KPI report over the same orders agrees (its MTBF counts rule orders)
        kpis = compute_kpis(s, where=KpiFilter(start=NOW - 1000 * DAY, end=NOW), now=NOW)
        assert kpis["mtbf_s_by_asset"]["AHU-7"] == pytest.approx(figures.mtbf_s)
        assert kpis["mttr_s"] == pytest.approx(figures.mttr_s)


def test_availability_is_the_share_of_time_not_under_repair_on_a_hand_clock(
    sessions: sessionmaker[Session],
) -> None:
    t0 = NOW - 30 * DAY
    moves = [(10, S.UNDER_REPAIR), (12, S.IN_SERVICE), (20, S.UNDER_REPAIR)]
    with sessions() as s:
        asset = lc.create_asset(s, spec=_spec("PUMP-3"), actor="m", now=t0)
        for day, to in moves:
            lc.change_status(s, code="PUMP-3", to=to, actor="m", reason="r", now=t0 + day * DAY)
        under = (12 - 10) + (30 - 20)  # days, until NOW = t0 + 30 days
        figures = af.asset_figures(s, asset_id=asset.id, now=NOW)
        assert figures.availability_from == t0  # clipped to creation
        assert figures.availability == pytest.approx(1 - under / 30, abs=1e-6)
        assert figures.under_repair_s == pytest.approx(under * 86400)
        later = af.asset_figures(s, asset_id=asset.id, now=NOW, window_start=t0 + 15 * DAY)
        assert later.availability == pytest.approx(1 - 10 / 15, abs=1e-6)
        earlier = af.asset_figures(s, asset_id=asset.id, now=t0 + 11 * DAY)
        assert earlier.availability == pytest.approx(1 - 1 / 11, abs=1e-6)
        with pytest.raises(lc.AssetError, match="earlier start"):
            af.asset_figures(s, asset_id=asset.id, now=NOW, window_start=NOW)


def test_an_asset_without_history_or_data_has_honest_empty_figures(
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as s:
        asset = lc.create_asset(s, spec=_spec("NEW-1"), actor="m", now=NOW - DAY)
        figures = af.asset_figures(s, asset_id=asset.id, now=NOW)
        assert (figures.age_years, figures.life_used_ratio, figures.mttr_s, figures.mtbf_s) == (
            None,
            None,
            None,
            None,
        )
        assert figures.availability == 1.0 and figures.tco == 0
        assert figures.warranty_state == "unknown"


def test_maintenance_history_lists_orders_newest_first_with_their_costs(
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as s:
        asset, ids = _seed_history(s)
        lines, total = af.maintenance_history(s, asset_id=asset.id, now=NOW, limit=2)
        assert total == len(ORDERS)
        newest = sorted(ORDERS, key=lambda o: o.detected, reverse=True)
        assert [line.title for line in lines] == [o.order for o in newest[:2]]
        pm_line = next(line for line in lines if line.title == "pm")
        assert pm_line.labour_hours == Decimal("1.5")
        assert pm_line.labour_cost == Decimal("1.5") * 45
        assert pm_line.parts_cost == 4 * Decimal("12.25")
        assert pm_line.work_order_id == ids["pm"]


# -- replacement plan -----------------------------------------------------------------------------
def test_the_replacement_plan_ranks_worn_failing_critical_equipment_first(
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as s:
        _seed_history(s)  # AHU-7: 12 years of 15, two failures, criticality A
        lc.create_asset(
            s,
            spec=_spec(
                "FAN-2",
                commissioned_on=date(2024, 1, 1),
                expected_life_years=20,
                replacement_cost=Decimal("900"),
            ),
            actor="m",
            now=NOW,
        )
        lc.create_asset(
            s,
            spec=_spec("OLD-9", commissioned_on=date(1990, 1, 1), expected_life_years=10),
            actor="m",
            now=NOW,
        )
        lc.change_status(s, code="OLD-9", to=S.DECOMMISSIONED, actor="m", reason="gone", now=NOW)
        lc.create_asset(s, spec=_spec("B1", level=AssetLevel.BUILDING), actor="m", now=NOW)
        plan = af.replacement_plan(s, now=NOW)
        assert [c.code for c in plan] == ["AHU-7", "FAN-2"]
        assert [c.rank for c in plan] == [1, 2]
        top = plan[0]
        expected, _ = af.replacement_score(
            life_used_ratio=top.figures.life_used_ratio,
            repair_ratio=top.figures.repair_replacement_ratio,
            failures_12m=top.figures.failures_12m,
            criticality=Criticality.A,
        )
        assert top.score == expected
        assert plan[1].missing == []
        assert af.replacement_plan(s, now=NOW, limit=1)[0].code == "AHU-7"
        assert af.replacement_plan(s, now=NOW, site="NOWHERE") == []


# -- CSV ------------------------------------------------------------------------------------------
def _count(s: Session) -> int:
    return s.scalar(sa.select(sa.func.count()).select_from(Asset)) or 0


def test_a_csv_with_one_bad_row_writes_nothing_and_a_good_one_upserts_by_code(
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as s:
        lc.create_asset(s, spec=_spec("P1", manufacturer="Old"), actor="m", now=NOW)
        bad = (
            b"code,name,level,parent,manufacturer,status\n"
            b"B1,Building,building,,,\n"
            b"P1,Pump,equipment,B1,New,standby\n"
            b"X1,Broken,equipment,NOPE,,\n"
        )
        with pytest.raises(asset_csv.AssetImportRejected) as caught:
            asset_csv.import_assets(s, data=bad, actor="importer", now=NOW + DAY)
        assert [(e.line, e.column) for e in caught.value.errors] == [(4, "parent")]
        s.rollback()
        assert _count(s) == 1
        assert lc.get_asset(s, code="P1").manufacturer == "Old"
        good = bad.rsplit(b"\n", 2)[0] + b"\n"
        result = asset_csv.import_assets(s, data=good, actor="importer", now=NOW + DAY)
        assert (result.created, result.updated, result.status_changes) == (1, 1, 1)
        pump = lc.get_asset(s, code="P1")
        assert (pump.manufacturer, pump.status) == ("New", S.STANDBY)
        assert pump.parent_id == lc.get_asset(s, code="B1").id
        last = lc.status_history(s, asset_id=pump.id)[-1]
        assert (last.actor, last.reason) == ("importer", "CSV import, line 3")


def test_an_export_defuses_formulas_and_re_imports_to_the_same_register(
    sessions: sessionmaker[Session],
) -> None:
    formula = "=cmd|' /C calc'!A0"
    with sessions() as s:
        lc.create_asset(
            s,
            spec=_spec(
                "P1", manufacturer=formula, model="@SUM(1+1)", purchase_cost=Decimal("12.50")
            ),
            actor="m",
            now=NOW,
        )
        text = "".join(asset_csv.export_assets(s))
        assert formula not in text.replace("'" + formula, "")
        assert "'=cmd|" in text and "'@SUM(1+1)" in text
        result = asset_csv.import_assets(s, data=text.encode(), actor="m", now=NOW)
        assert (result.created, result.updated) == (0, 1)
        assert lc.get_asset(s, code="P1").manufacturer == formula
        assert "".join(asset_csv.export_assets(s)) == text
