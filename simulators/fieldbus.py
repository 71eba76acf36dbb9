"""What the field-bus simulations share: a scenario cut to some devices, and one step of it.

:class:`~simulators.bacnet_server.BacnetSimulation` and
:class:`~simulators.modbus_simulation.ModbusSimulation` serve the simulator's physics over a
field bus instead of MQTT; both step a :class:`~simulators.runner.Simulator` one interval at a
time and write the values into their devices.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from simulators.scenario import Scenario

__all__ = ["sample_once", "split_scenario"]


def split_scenario(
    scenario: Scenario, device_ids: Iterable[str]
) -> tuple[Scenario, Scenario | None]:
    """``(served, rest)``: the scenario with only ``device_ids`` (and their faults), and with
    every other device (None when there is none). Expected alerts stay with neither: they are
    the whole scenario's.

    Raises:
        ValueError: a device id is not in the scenario.
    """
    ids = set(device_ids)
    unknown = sorted(ids - {d.id for d in scenario.devices})
    if unknown:
        raise ValueError(f"devices {unknown} are not in scenario {scenario.name!r}")
    data = scenario.model_dump(exclude={"generate"})

    def part(keep: bool) -> Scenario:
        cut = dict(data)
        cut["devices"] = [d for d in data["devices"] if (d["id"] in ids) is keep]
        cut["faults"] = [f for f in data["faults"] if (f["device"] in ids) is keep]
        cut["expect"] = []
        return Scenario.model_validate(cut)

    rest = part(False) if any(d.id not in ids for d in scenario.devices) else None
    return part(True), rest


def sample_once(simulator: Any) -> dict[str, dict[str, float]]:
    """One interval of every device of ``simulator``: ``{device: {metric: value}}``."""
    values: dict[str, dict[str, float]] = {}
    for message in simulator.messages(1):
        for reading in message.readings:
            values.setdefault(reading.device, {})[reading.metric] = reading.value
    return values
