"""The demo's seed data: a believable site that a restart does not duplicate."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from facility.app.demo_seed import seed_demo_data
from gateway.stores.sql import SqlReadingStore, make_engine
from maintenance.assets.models import Asset, AssetLevel
from maintenance.assets.register import ensure_asset, ensure_site, link_device
from maintenance.inventory import service as inventory
from maintenance.inventory.models import StockMovement
from maintenance.pm import service as pm
from maintenance.pm.models import PmPlan, PmTriggerKind
from maintenance.shared.base import Base
from maintenance.shared.db import connect, upgrade
from maintenance.suppliers.models import Certificate, QualificationStatus, Supplier
from maintenance.work_orders.models import ChecklistTemplate
from simulators.scenario import Scenario, load_scenario

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


@pytest.fixture
def sessions(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    engine, factory = connect(f"sqlite:///{tmp_path / 'facility.db'}")
    upgrade(engine)
    yield factory
    engine.dispose()


def _scenario_assets(sessions: sessionmaker[Session], scenario: Scenario) -> None:
    """What ``facility.app.demo.seed`` creates from the scenario before the demo seed runs."""
    with sessions() as s:
        site = ensure_site(s, code=scenario.site, name=f"Demo site {scenario.site}")
        for spec in scenario.devices:
            asset = ensure_asset(
                s, code=spec.asset, asset_type=spec.asset_type, site=site, location=spec.location
            )
            link_device(s, device=spec.id, asset=asset, kind=spec.model)
        s.commit()


def _counts(s: Session) -> dict[str, int]:
    return {
        table.name: int(s.scalar(sa.select(sa.func.count()).select_from(table)) or 0)
        for table in Base.metadata.sorted_tables
    }


def test_the_demo_seed_runs_twice_without_duplicating_anything(
    sessions: sessionmaker[Session],
) -> None:
    scenario = load_scenario("office")
    _scenario_assets(sessions, scenario)
    first = seed_demo_data(sessions, scenario=scenario, now=NOW)
    assert first.assets > 0 and first.plans > 0 and first.items > 0 and first.suppliers > 0
    with sessions() as s:
        before = _counts(s)
    again = seed_demo_data(sessions, scenario=scenario, now=NOW + timedelta(hours=1))
    assert (again.assets, again.plans, again.items, again.suppliers) == (0, 0, 0, 0)
    with sessions() as s:
        assert _counts(s) == before
        assert before["stock_movements"] == s.scalar(
            sa.select(sa.func.count()).select_from(StockMovement)
        )


def test_the_seed_builds_a_tree_over_the_scenarios_own_assets_with_life_cycle_records(
    sessions: sessionmaker[Session],
) -> None:
    scenario = load_scenario("office")
    _scenario_assets(sessions, scenario)
    seed_demo_data(sessions, scenario=scenario, now=NOW)
    with sessions() as s:
        assets = {a.code: a for a in s.scalars(sa.select(Asset))}
        by_id = {a.id: a for a in assets.values()}

        def path(code: str) -> list[str]:
            node, chain = assets[code], []
            while node.parent_id is not None:
                node = by_id[node.parent_id]
                chain.append(node.level.value)
            return chain

        # every simulated asset is in the tree, under a building
        for spec in scenario.devices:
            assert path(spec.asset)[-1] == "building", spec.asset
        assert path("AHU-1") == ["zone", "floor", "building"]
        equipment = [a for a in assets.values() if a.level is AssetLevel.EQUIPMENT]
        assert {"AHU-1", "CH-1", "P-1", "P-2", "LIFT-1", "Main-Meter"} <= {
            a.code for a in equipment
        }
        for asset in equipment:
            assert asset.manufacturer and asset.model and asset.serial_number, asset.code
            assert asset.installed_on is not None and asset.installed_on < NOW.date()
            assert asset.warranty_end is not None and asset.replacement_cost is not None
        ahu = assets["AHU-1"]
        assert ahu.asset_type == "air_handler"  # the scenario's type is kept


def test_the_seeded_plans_suppliers_and_stock_are_what_the_demo_shows(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    scenario = load_scenario("office")
    _scenario_assets(sessions, scenario)
    seed_demo_data(sessions, scenario=scenario, now=NOW)
    readings_engine = make_engine(f"sqlite:///{tmp_path / 'readings.db'}")
    readings = SqlReadingStore(readings_engine)
    try:
        with sessions() as s:
            plans = list(s.scalars(sa.select(PmPlan)))
            assert {p.trigger for p in plans} >= {
                PmTriggerKind.CALENDAR,
                PmTriggerKind.RUNTIME,
                PmTriggerKind.METER,
                PmTriggerKind.CRON,
            }
            assert all(p.approved_at is not None for p in plans)
            devices = {spec.id for spec in scenario.devices}
            for plan in plans:
                if plan.device is not None:
                    assert plan.device in devices, plan.name  # telemetry the demo publishes
            runtime = next(p for p in plans if p.trigger is PmTriggerKind.RUNTIME)
            assert (runtime.device, runtime.metric) == ("ahu-1", "fan")
            # nothing is due when the demo starts: its first order stays the scripted fault
            assert pm.run_pm_scheduler(s, now=NOW, readings=readings) == []
            ahead = pm.forecast(s, now=NOW, weeks=8, readings=readings)
            assert {i.trigger for i in ahead} >= {PmTriggerKind.CALENDAR, PmTriggerKind.CRON}
            template = s.scalar(sa.select(ChecklistTemplate))
            assert template is not None

            suppliers = {x.code: x for x in s.scalars(sa.select(Supplier))}
            statuses = {x.status for x in suppliers.values()}
            assert {QualificationStatus.QUALIFIED, QualificationStatus.CANDIDATE} <= statuses
            soon = s.scalars(
                sa.select(Certificate).where(
                    Certificate.expires_on <= NOW.date() + timedelta(days=30)
                )
            ).all()
            assert len(soon) == 1

            low = {row.sku for row in inventory.low_stock(s)}
            assert low, "some items start below their reorder point"
            groups = inventory.reorder_suggestions(s)
            assert any(g.supplier_code == "FILTRA" for g in groups)
            assert {line.sku for g in groups for line in g.lines} >= low
    finally:
        readings_engine.dispose()
