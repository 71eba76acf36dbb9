"""Cron and condition triggers on a real database: orders, forecast, and the API's refusals."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from facility.core.types import Alert, AlertState, Severity
from maintenance.inventory import service as stock
from maintenance.inventory.models import StockBalance, StockCategory
from maintenance.pm import service as pm
from maintenance.pm.models import PmOccurrence, PmTriggerKind
from maintenance.work_orders import service as orders
from maintenance.work_orders.models import ChecklistTemplate, WorkOrder, WorkOrderType
from tests.integration._pm_helpers import World, draft_plan, pm_world
from tests.integration._work_order_server import ApiServer, running_api

BERLIN = ZoneInfo("Europe/Berlin")
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)  # a Sunday


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[World]:
    with pm_world(database_url, tmp_path, t0=T0) as world:
        yield world


# -- cron -----------------------------------------------------------------------------------------
def test_a_cron_plan_orders_each_run_once_lead_days_ahead_in_the_sites_zone(world: World) -> None:
    with world.sessions() as s:
        plan_id = world.approve(
            s,
            name="Monday AHU round",
            trigger=PmTriggerKind.CRON,
            cron="0 6 * * 1",
            asset_type="ahu",
            site_code="HQ",
            lead=1,
        )
        monday = datetime(2026, 3, 2, 6, 0, tzinfo=BERLIN).astimezone(UTC)
        opens = monday - timedelta(days=1)
        early = world.schedule(s, opens - timedelta(minutes=1))
        assert early == []
        made = world.schedule(s, opens)
        assert [(g.plan_id, g.due_at) for g in made] == [(plan_id, monday)] * 2
        assert world.schedule(s, monday) == []
        # the next Monday, a week later, on the same wall time
        later = world.schedule(s, opens + timedelta(days=7))
        assert [g.due_at for g in later] == [monday + timedelta(days=7)] * 2
        keys = set(s.scalars(sa.select(PmOccurrence.occurrence_key)))
        assert len(keys) == 4
        types = set(s.scalars(sa.select(WorkOrder.order_type)))
        assert types == {WorkOrderType.PREVENTIVE}


def test_a_new_cron_plan_does_not_order_runs_from_before_it_existed(world: World) -> None:
    with world.sessions() as s:
        world.approve(
            s,
            name="Daily round",
            trigger=PmTriggerKind.CRON,
            cron="0 8 * * *",
            asset_codes=["CH-1"],
            site_code="HQ",
        )
        # created at 12:00 UTC; today's 08:00 run was before the plan
        assert world.schedule(s, T0 + timedelta(hours=1)) == []
        tomorrow = datetime(2026, 3, 2, 8, 0, tzinfo=BERLIN).astimezone(UTC)
        made = world.schedule(s, tomorrow)
        assert [g.due_at for g in made] == [tomorrow]


def test_the_forecast_lists_cron_runs_across_the_dst_change(world: World) -> None:
    with world.sessions() as s:
        world.approve(
            s,
            name="Nightly 02:30 check",
            trigger=PmTriggerKind.CRON,
            cron="30 2 * * *",
            asset_codes=["CH-1"],
            site_code="HQ",
            estimated_labour_h=0.5,
        )
        now = datetime(2026, 3, 27, 12, tzinfo=UTC)
        items = [i for i in pm.forecast(s, now=now, weeks=1, readings=world.readings)]
    assert all(i.trigger is PmTriggerKind.CRON and i.asset == "CH-1" for i in items)
    assert len(items) == 7
    local = [i.due_at.astimezone(BERLIN).strftime("%d %H:%M") for i in items]
    assert local[:3] == ["28 02:30", "29 03:30", "30 02:30"]
    assert [i.estimated_labour_h for i in items] == [0.5] * 7


def test_a_cron_plan_needs_a_valid_expression_and_assets(world: World) -> None:
    with world.sessions() as s:
        for fields, fragment in (
            ({"cron": None, "asset_codes": ["CH-1"]}, "needs cron"),
            ({"cron": "0 6 * *", "asset_codes": ["CH-1"]}, "five fields"),
            ({"cron": "0 99 * * *", "asset_codes": ["CH-1"]}, "not a valid"),
            ({"cron": "0 6 * * 1"}, "names asset_codes"),
        ):
            with pytest.raises(pm.PlanError, match=fragment):
                draft_plan(s, name="bad cron", trigger=PmTriggerKind.CRON, now=T0, **fields)


# -- condition ------------------------------------------------------------------------------------
def _alert(asset: str, state: AlertState = AlertState.FIRING, minute: int = 0) -> Alert:
    return Alert(
        rule="filter_dp_high",
        device=f"{asset.lower()}/dp",
        asset=asset,
        state=state,
        severity=Severity.MINOR,
        ts=T0 + timedelta(minutes=minute),
        value=310.0,
        message=f"filter pressure drop high on {asset}",
    )


def _condition_world(world: World, s: Session) -> int:
    s.add(
        ChecklistTemplate(
            name="Filter change",
            order_type="preventive",
            asset_type="filter-bank",  # matches no asset: only the plan brings it
            items=[
                {"label": "Old filter removed", "kind": "check"},
                {"label": "Pressure drop after change (Pa)", "kind": "number", "max": 150},
            ],
        )
    )
    s.add(
        ChecklistTemplate(
            name="Fault triage",
            order_type="corrective",
            items=[{"label": "Cause found", "kind": "check"}],
        )
    )
    s.commit()
    template_id = s.scalar(
        sa.select(ChecklistTemplate.id).where(ChecklistTemplate.name == "Filter change")
    )
    stock.create_item(
        s,
        sku="FLT-595",
        name="Bag filter",
        category=StockCategory.SPARE_PART,
        unit_cost=Decimal(40),
    )
    stock.create_storeroom(s, code="MAIN", name="Main store")
    stock.receive(s, sku="FLT-595", storeroom="MAIN", quantity=Decimal(8), actor="m", now=T0)
    return world.approve(
        s,
        name="Filter change on condition",
        trigger=PmTriggerKind.CONDITION,
        rule="filter_dp_high",
        asset_type="ahu",
        site_code="HQ",
        checklist_template_id=template_id,
        parts=[{"sku": "FLT-595", "quantity": 4, "storeroom": "MAIN"}],
    )


def test_a_condition_plans_rule_opens_its_preventive_order_with_checklist_and_parts(
    world: World,
) -> None:
    with world.sessions() as s:
        plan_id = _condition_world(world, s)
        outcome = orders.apply_alert(s, alert=_alert("AHU-1"), now=T0)
        assert outcome.action == "created"
        assert outcome.work_order_id is not None
        order = orders.get_work_order(s, work_order_id=outcome.work_order_id)
        assert order.order_type is WorkOrderType.PREVENTIVE
        assert order.title.startswith("PM: Filter change on condition")
        assert order.rule == "filter_dp_high"
        assert [i.template for i in order.checklist] == ["Filter change", "Filter change"]
        assert [e.kind for e in order.events].count("parts_reserved") == 1
        balance = s.scalar(sa.select(StockBalance))
        assert balance is not None
        assert (balance.on_hand, balance.reserved) == (Decimal(8), Decimal(4))
        occurrence = s.scalar(sa.select(PmOccurrence).where(PmOccurrence.plan_id == plan_id))
        assert occurrence is not None
        assert occurrence.work_order_id == order.id
        # the rule keeps firing: still one open order per (rule, asset), nothing reserved twice
        again = orders.apply_alert(s, alert=_alert("AHU-1", minute=5), now=T0)
        assert (again.action, again.work_order_id) == ("folded", order.id)
        s.expire_all()
        balance = s.scalar(sa.select(StockBalance))
        assert balance is not None
        assert balance.reserved == Decimal(4)
        # the scheduler never orders a condition plan by the clock
        assert world.schedule(s, T0 + timedelta(days=30)) == []
        forecast = pm.forecast(s, now=T0, weeks=4, readings=world.readings)
        assert [f for f in forecast if f.plan_id == plan_id] == []


def test_the_same_rule_on_an_asset_the_plan_does_not_cover_opens_a_corrective_order(
    world: World,
) -> None:
    with world.sessions() as s:
        _condition_world(world, s)
        outcome = orders.apply_alert(s, alert=_alert("CH-1"), now=T0)
        assert outcome.work_order_id is not None
        order = orders.get_work_order(s, work_order_id=outcome.work_order_id)
        assert order.order_type is WorkOrderType.CORRECTIVE
        assert [i.template for i in order.checklist] == ["Fault triage"]
        assert s.scalar(sa.select(StockBalance.reserved)) == Decimal(0)


def test_an_unapproved_condition_plan_changes_nothing(world: World) -> None:
    with world.sessions() as s:
        draft_plan(s, name="Draft", trigger=PmTriggerKind.CONDITION, rule="filter_dp_high", now=T0)
        outcome = orders.apply_alert(s, alert=_alert("AHU-2"), now=T0)
        assert outcome.work_order_id is not None
        order = orders.get_work_order(s, work_order_id=outcome.work_order_id)
        assert order.order_type is WorkOrderType.CORRECTIVE


# -- over HTTP ------------------------------------------------------------------------------------
@pytest.fixture
def api(database_url: str, tmp_path: Path) -> Iterator[ApiServer]:
    with running_api(database_url, tmp_path, auto_assign=False) as server:
        yield server


def test_cron_and_condition_plans_over_the_api_and_their_refusals(api: ApiServer) -> None:
    with api.client("manager") as manager:
        good = {
            "name": "Weekly",
            "trigger": "cron",
            "cron": "0 6 * * 1",
            "asset_codes": ["AHU-1"],
            "lead": 1,
        }
        created = manager.post("/api/v1/pm/plans", json=good)
        assert created.status_code == 201, created.text
        assert (created.json()["cron"], created.json()["trigger"]) == ("0 6 * * 1", "cron")
        condition = {"name": "On dp", "trigger": "condition", "rule": "filter_dp_high"}
        made = manager.post("/api/v1/pm/plans", json=condition)
        assert made.status_code == 201, made.text
        assert made.json()["rule"] == "filter_dp_high"
        for body, fragment in (
            ({**good, "name": "a", "cron": "0 6 * *  "}, "five fields"),
            ({**good, "name": "b", "cron": "99 99 99 99 99"}, "not a valid"),
            ({**good, "name": "c", "cron": "0 6 * * 1 2027"}, "five fields"),
            ({**good, "name": "d", "cron": None}, "needs cron"),
            ({**good, "name": "e", "cron": 5}, "string"),
            ({**good, "name": "f", "cron": "* " * 100}, "120"),
            ({**condition, "name": "g", "rule": None}, "needs rule"),
            ({**condition, "name": "h", "rule": "r" * 101}, "100"),
        ):
            response = manager.post("/api/v1/pm/plans", json=body)
            assert response.status_code == 422, (body, response.text)
            assert fragment in response.text, response.text
