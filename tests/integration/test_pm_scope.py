"""A PM plan for "every fan coil on floor 3": an asset type within places of the tree."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from maintenance.assets import lifecycle
from maintenance.assets.models import AssetLevel
from maintenance.pm import service as pm
from maintenance.pm.models import PmTriggerKind, TimeUnit
from maintenance.work_orders.models import WorkOrder
from tests.integration._pm_helpers import pm_world

T0 = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)

#: code, level, parent, asset type: two fan coils in floor 3's zones, one on floor 2, and a
#: chiller on floor 3 (another type).
TREE = (
    ("B2", AssetLevel.BUILDING, None, "building"),
    ("B2-F2", AssetLevel.FLOOR, "B2", "floor"),
    ("B2-F3", AssetLevel.FLOOR, "B2", "floor"),
    ("B2-F3-EAST", AssetLevel.ZONE, "B2-F3", "zone"),
    ("B2-F3-WEST", AssetLevel.ZONE, "B2-F3", "zone"),
    ("FCU-301", AssetLevel.EQUIPMENT, "B2-F3-EAST", "fcu"),
    ("FCU-302", AssetLevel.EQUIPMENT, "B2-F3-WEST", "fcu"),
    ("FCU-201", AssetLevel.EQUIPMENT, "B2-F2", "fcu"),
    ("CH-3", AssetLevel.EQUIPMENT, "B2-F3", "chiller"),
)


def test_an_asset_type_within_a_floor_covers_its_zones_equipment_of_that_type(
    database_url: str, tmp_path: Path
) -> None:
    with pm_world(database_url, tmp_path, t0=T0) as world, world.sessions() as s:
        for code, level, parent, kind in TREE:
            spec = lifecycle.AssetSpec(
                code=code, name=code, level=level, parent=parent, asset_type=kind, site="HQ"
            )
            lifecycle.create_asset(s, spec=spec, actor="manager", now=T0, commit=False)
        s.commit()
        plan_id = world.approve(
            s,
            name="Floor 3 fan-coil filters",
            trigger=PmTriggerKind.CALENDAR,
            interval=1,
            unit=TimeUnit.MONTH,
            anchor_local="2026-03-02T08:00",
            asset_codes=["B2-F3"],
            asset_type="fcu",
        )
        made = world.schedule(s, now=T0 + timedelta(hours=2))
        ordered = {
            s.get(WorkOrder, g.work_order_id).asset.code  # type: ignore[union-attr]
            for g in made
            if g.plan_id == plan_id
        }
        assert ordered == {"FCU-301", "FCU-302"}
        ahead = pm.forecast(s, now=T0 + timedelta(hours=2), weeks=6, readings=world.readings)
        assert {f.asset for f in ahead if f.plan_id == plan_id} == {"FCU-301", "FCU-302"}
        # a fan coil installed in the east zone later is covered from the next pass on
        spec = lifecycle.AssetSpec(
            code="FCU-303", name="FCU-303", parent="B2-F3-EAST", asset_type="fcu"
        )
        lifecycle.create_asset(s, spec=spec, actor="manager", now=T0, commit=True)
        later = world.schedule(s, now=datetime(2026, 4, 2, 9, 0, tzinfo=UTC))
        april = {
            (s.get(WorkOrder, g.work_order_id).asset.code, g.due_at)  # type: ignore[union-attr]
            for g in later
        }
        due = datetime(2026, 4, 2, 8, 0, tzinfo=UTC)  # the plan names no site: UTC
        assert april == {("FCU-301", due), ("FCU-302", due), ("FCU-303", due)}
