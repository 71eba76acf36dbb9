"""The whole path on a real Mosquitto: an air handler's readings over MQTT, the G36 library in
the rules engine, and two fault conditions ending as one diagnosed work order for the asset."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa

from facility.app.stack import Stack
from facility.core.settings import Settings
from facility.core.wait import wait_until
from gateway.mqtt import MqttConnection
from maintenance.assets.models import Asset
from maintenance.work_orders import fdd
from maintenance.work_orders.models import OPEN_STATES, WorkOrder

from .conftest import publish

LIBRARY = Path(__file__).resolve().parents[2] / "rules" / "library" / "ahu-g36.yaml"
FC1 = "ahu-g36-fc1-duct-static-low"
FC2 = "ahu-g36-fc2-mixed-air-too-low"
REGISTRY = """
assets:
  - code: AHU-7
    type: air_handler
    devices: [{match: ahu-7}]
"""
#: Free cooling (OS2) that no fault condition objects to, fan running.
HEALTHY = {
    "outdoor_air_temperature": 12.0,
    "return_air_temperature": 22.0,
    "mixed_air_temperature": 12.2,
    "supply_air_temperature": 13.0,
    "supply_air_temperature_setpoint": 13.0,
    "heating_valve": 0.0,
    "cooling_valve": 0.0,
    "outdoor_air_damper": 90.0,
    "supply_fan_status": 1.0,
    "supply_fan_speed": 80.0,
    "duct_static_pressure": 250.0,
    "duct_static_pressure_setpoint": 250.0,
}
#: FC2 from the start (mixed air colder than return and outdoor air), FC1 from minute 40
#: (the fan at full speed cannot hold duct static pressure).
MAT_LOW = {"mixed_air_temperature": 5.0, "supply_air_temperature": 6.0}
DSP_LOW = {"duct_static_pressure": 150.0, "supply_fan_speed": 100.0}


def _orders(stack: Stack) -> list[tuple[str, list[dict[str, Any]], list[str]]]:
    """AHU-7's open orders as (title, faults, checklist templates), read in one session."""
    with stack.sessions() as session:
        orders = session.scalars(
            sa.select(WorkOrder)
            .join(Asset, WorkOrder.asset_id == Asset.id)
            .where(Asset.code == "AHU-7", WorkOrder.status.in_(OPEN_STATES))
        ).all()
        return [(o.title, fdd.faults_of(o), [i.template for i in o.checklist]) for o in orders]


def test_two_fault_conditions_of_an_air_handler_become_one_diagnosed_order(
    make_stack: Callable[..., Stack],
    publisher: MqttConnection,
    settings: Settings,
    tmp_path: Path,
) -> None:
    (tmp_path / "registry.yaml").write_text(REGISTRY)
    settings.registry_file = tmp_path / "registry.yaml"
    stack = make_stack(rules_file=LIBRARY)
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=80)
    for minute in range(80):
        values = {**HEALTHY, **MAT_LOW, **(DSP_LOW if minute >= 40 else {})}
        body = {**values, "ts": (start + timedelta(minutes=minute)).isoformat()}
        publish(publisher, "facility/hq/ahu-7", orjson.dumps(body))

    def folded() -> bool:
        orders = _orders(stack)
        return len(orders) == 1 and len(orders[0][1]) == 2

    wait_until(folded, timeout_s=60, what="FC2 and FC1 folded into one AHU-7 order")
    ((title, faults, templates),) = _orders(stack)
    assert [f["rule"] for f in faults] == [FC2, FC1]
    assert title == (
        "AHU-7: the mixed-air temperature reads too low (FC2);"
        " the fan cannot hold duct static pressure (FC1)"
    )
    assert "fdd:mixed-air-sensor" in templates and "fdd:supply-fan" in templates
    proved = {p["point"]: p["value"] for p in faults[0]["points"] if p["value"] is not None}
    assert proved, "the order shows the readings that proved FC2"
    expected = {**HEALTHY, **MAT_LOW}
    assert all(expected[point] == value for point, value in proved.items())
