"""The registry and heartbeat presence wired through the whole stack on a real Mosquitto."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import sqlalchemy as sa

from facility.app.stack import Stack
from facility.core.settings import Settings
from facility.core.types import Presence, Reading
from facility.core.wait import wait_until
from gateway.mqtt import MqttConnection
from gateway.stores.sql import presence_history

from .conftest import login, publish

REGISTRY = """
heartbeat_timeout_s: {default: 1.0}
sites:
  hq: {name: Head office, timezone: Europe/Berlin}
assets:
  - code: AHU-9
    name: Air handler 9
    type: air_handler
    location: {site: hq, building: B1, floor: 2, zone: west}
    devices:
      - match: "ahu-9*"
        class: hvac
        metrics:
          supply_temp: {rename: temperature, unit: degC, offset: -0.5}
      - match: ahu-9-fan
"""


def test_registry_places_devices_calibrates_readings_and_lists_unknown_devices_unassigned(
    make_stack: Callable[..., Stack],
    publisher: MqttConnection,
    settings: Settings,
    tmp_path: Path,
) -> None:
    registry = tmp_path / "registry.yaml"
    registry.write_text(REGISTRY)
    settings.registry_file = registry
    stack = make_stack()
    publish(publisher, "facility/hq/ahu-9-supply/supply_temp", b"18.0")
    publish(publisher, "facility/hq/mystery/temperature", b"20.0")
    wait_until(lambda: stack.readings.count() == 2, timeout_s=10, what="two readings stored")
    (calibrated,) = stack.readings.query(device="ahu-9-supply", limit=5).items
    assert (calibrated.metric, calibrated.value) == ("temperature", 17.5)
    assert stack.engine.asset_of("ahu-9-supply") == "AHU-9"

    client = login(stack.api_url)
    wait_until(
        lambda: {d["id"] for d in client.get("/api/v1/devices").json()} >= {"mystery"},
        timeout_s=5,
        what="the unknown device listed",
    )
    devices = {d["id"]: d for d in client.get("/api/v1/devices").json()}
    assert devices["ahu-9-supply"]["asset"] == "AHU-9"
    assert devices["ahu-9-fan"]["asset"] == "AHU-9"  # registered from the file, not yet heard
    assert devices["mystery"]["asset"] is None
    assets = {a["code"]: a for a in client.get("/api/v1/assets").json()}
    assert assets["AHU-9"]["location"] == "hq/B1/2/west"
    assert set(assets["AHU-9"]["devices"]) == {"ahu-9-fan", "ahu-9-supply"}
    site = client.get("/api/v1/sites/hq").json()
    assert (site["name"], site["timezone"], site["assets"]) == ("Head office", "Europe/Berlin", 1)


def test_a_silent_device_goes_offline_after_its_heartbeat_and_back_with_history_and_events(
    make_stack: Callable[..., Stack],
    publisher: MqttConnection,
    settings: Settings,
    tmp_path: Path,
) -> None:
    registry = tmp_path / "registry.yaml"
    registry.write_text(REGISTRY)
    settings.registry_file = registry
    stack = make_stack()
    events: list[tuple[str, bool]] = []

    def record(readings: Sequence[Reading], presences: Sequence[Presence]) -> None:
        events.extend((p.device, p.online) for p in presences)

    stack.gateway.sinks.append(record)
    publish(publisher, "facility/hq/ahu-9-fan/power", b"120")
    wait_until(lambda: stack.readings.count() == 1, timeout_s=10, what="the reading stored")
    wait_until(
        lambda: ("ahu-9-fan", False) in events, timeout_s=10, what="an offline event after 1 s"
    )
    states = {s.device: s for s in stack.states.list_states()}
    assert states["ahu-9-fan"].online is False
    publish(publisher, "facility/hq/ahu-9-fan/power", b"125")
    wait_until(lambda: ("ahu-9-fan", True) in events, timeout_s=10, what="back online")

    with stack.readings_engine.connect() as conn:
        history = conn.execute(
            sa.select(presence_history.c.online)
            .where(presence_history.c.device == "ahu-9-fan")
            .order_by(presence_history.c.id)
        ).all()
    assert [bool(row.online) for row in history][:2] == [False, True]
