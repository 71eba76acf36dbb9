"""What a Brick class means in our register: its tree level, asset type or canonical metric.

The tables name Brick classes by local name (``brick:`` namespace); :func:`ancestors` walks the
shipped hierarchy (:mod:`maintenance.assets.brick_classes`) so a model typed with a more specific
class than the table names still maps: ``Discharge_Air_Temperature_Sensor`` has no row, its
superclass ``Air_Temperature_Sensor`` does. The nearest row wins (breadth first), so a specific
row (``Mixed_Air_Temperature_Sensor``) beats a general one (``Temperature_Sensor``).

Metric names are the canonical ones (design.md's table and ``rules.points.AHU_POINTS``); a point
class with no row is reported, not guessed. Several G36 points are typed in Brick by a generic
class on a component (``Fan_Status`` on a ``Supply_Fan`` that is part of the AHU): the component's
class then decides the name (``supply_fan_status``), see :data:`COMPONENT_METRICS`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from maintenance.assets.brick_classes import SUPERCLASSES
from maintenance.assets.models import AssetLevel

__all__ = [
    "COMPONENT_METRICS",
    "EQUIPMENT_TYPES",
    "FEED_MEDIA",
    "METRIC_CLASSES",
    "POINT_METRICS",
    "ancestors",
    "asset_type_of",
    "is_a",
    "level_of",
    "metric_of",
]

#: point class -> canonical metric (the nearest ancestor with a row wins)
POINT_METRICS: Mapping[str, str] = {
    # air-handler points (rules.points.AHU_POINTS)
    "Supply_Air_Temperature_Sensor": "supply_air_temperature",
    "Discharge_Air_Temperature_Sensor": "supply_air_temperature",
    "Supply_Air_Temperature_Setpoint": "supply_air_temperature_setpoint",
    "Discharge_Air_Temperature_Setpoint": "supply_air_temperature_setpoint",
    "Mixed_Air_Temperature_Sensor": "mixed_air_temperature",
    "Return_Air_Temperature_Sensor": "return_air_temperature",
    "Outside_Air_Temperature_Sensor": "outdoor_air_temperature",
    "Supply_Fan_Status": "supply_fan_status",
    "Return_Fan_Status": "return_fan_status",
    "Outside_Air_Damper_Position_Command": "outdoor_air_damper",
    "Return_Air_Damper_Position_Command": "return_air_damper",
    "Exhaust_Air_Damper_Position_Command": "exhaust_air_damper",
    "Cooling_Valve_Command": "cooling_valve",
    "Heating_Valve_Command": "heating_valve",
    "Static_Pressure_Sensor": "duct_static_pressure",
    "Supply_Air_Static_Pressure_Sensor": "duct_static_pressure",
    "Static_Pressure_Setpoint": "duct_static_pressure_setpoint",
    "Supply_Air_Static_Pressure_Setpoint": "duct_static_pressure_setpoint",
    "Occupancy_Sensor": "occupancy",
    "Occupancy_Status": "occupancy",
    # zones and rooms
    "Zone_Air_Temperature_Sensor": "temperature",
    "Zone_Air_Temperature_Setpoint": "temperature_setpoint",
    "Air_Temperature_Sensor": "temperature",
    "Temperature_Sensor": "temperature",
    "Temperature_Setpoint": "temperature_setpoint",
    "Humidity_Sensor": "humidity",
    "CO2_Sensor": "co2",
    "Illuminance_Sensor": "illuminance",
    "Supply_Air_Flow_Sensor": "supply_air_flow",
    "Air_Flow_Sensor": "air_flow",
    # meters
    "Electric_Power_Sensor": "power",
    "Energy_Sensor": "energy",
    "Voltage_Sensor": "voltage",
    "Current_Sensor": "current",
    "Power_Factor_Sensor": "power_factor",
    "Frequency_Sensor": "frequency",
    "Pressure_Sensor": "pressure",
    # states and alarms
    "Leak_Alarm": "water_leak",
    "On_Off_Status": "state",
    "Start_Stop_Status": "state",
    "Run_Status": "state",
    "Fan_Status": "state",
    "Fault_Status": "fault",
    # a component's generic command with no component row (a VAV box's damper)
    "Damper_Position_Command": "damper",
    "Valve_Command": "valve",
}

#: (component class, generic point class) -> metric: what a component's generic point means
COMPONENT_METRICS: Mapping[tuple[str, str], str] = {
    ("Supply_Fan", "Fan_Status"): "supply_fan_status",
    ("Supply_Fan", "Start_Stop_Status"): "supply_fan_status",
    ("Supply_Fan", "On_Off_Status"): "supply_fan_status",
    ("Supply_Fan", "Speed_Setpoint"): "supply_fan_speed",
    ("Supply_Fan", "Speed_Command"): "supply_fan_speed",
    ("Discharge_Fan", "Fan_Status"): "supply_fan_status",
    ("Return_Fan", "Fan_Status"): "return_fan_status",
    ("Return_Fan", "Start_Stop_Status"): "return_fan_status",
    ("Return_Fan", "On_Off_Status"): "return_fan_status",
    ("Return_Fan", "Speed_Setpoint"): "return_fan_speed",
    ("Return_Fan", "Speed_Command"): "return_fan_speed",
    ("Outside_Damper", "Damper_Position_Command"): "outdoor_air_damper",
    ("Economizer_Damper", "Damper_Position_Command"): "outdoor_air_damper",
    ("Return_Damper", "Damper_Position_Command"): "return_air_damper",
    ("Exhaust_Damper", "Damper_Position_Command"): "exhaust_air_damper",
    ("Cooling_Valve", "Valve_Command"): "cooling_valve",
    ("Chilled_Water_Valve", "Valve_Command"): "cooling_valve",
    ("Heating_Valve", "Valve_Command"): "heating_valve",
    ("Hot_Water_Valve", "Valve_Command"): "heating_valve",
}

#: equipment class -> our ``asset_type`` (nearest ancestor wins; else the class in snake_case)
EQUIPMENT_TYPES: Mapping[str, str] = {
    "AHU": "ahu",
    "VAV": "vav",
    "Terminal_Unit": "terminal_unit",
    "FCU": "fcu",
    "Chiller": "chiller",
    "Boiler": "boiler",
    "Pump": "pump",
    "Fan": "fan",
    "Cooling_Tower": "cooling_tower",
    "Heat_Exchanger": "heat_exchanger",
    "Electrical_Meter": "energy_meter",
    "Meter": "meter",
    "Damper": "damper",
    "Valve": "valve",
    "Coil": "coil",
    "Filter": "filter",
    "Thermostat": "thermostat",
}

#: ``feeds`` sub-property local name -> medium of the AssetFeed row ("" = plain ``feeds``)
FEED_MEDIA: Mapping[str, str] = {
    "feeds": "",
    "feedsAir": "air",
    "feedsChilledWater": "chilled_water",
    "feedsHotWater": "hot_water",
    "feedsCondenserWater": "condenser_water",
    "feedsWater": "water",
    "feedsSteam": "steam",
    "feedsGas": "gas",
    "feedsElectricity": "electricity",
    "feedsRefrigerant": "refrigerant",
}

#: metric -> the Brick class the export types its point with (the first row naming it wins)
METRIC_CLASSES: Mapping[str, str] = {
    metric: cls for cls, metric in reversed(list(POINT_METRICS.items()))
}

_LEVEL_ROOTS = (
    ("Building", AssetLevel.BUILDING),
    ("Floor", AssetLevel.FLOOR),
    ("Location", AssetLevel.ZONE),
)


def ancestors(cls: str) -> Iterator[str]:
    """``cls`` then its superclasses, nearest first (breadth first, each once)."""
    seen = {cls}
    queue = [cls]
    while queue:
        current = queue.pop(0)
        yield current
        for parent in SUPERCLASSES.get(current, ()):
            if parent not in seen:
                seen.add(parent)
                queue.append(parent)


def is_a(classes: Iterable[str], root: str) -> bool:
    """Whether any of ``classes`` is ``root`` or one of its subclasses."""
    return any(root in ancestors(cls) for cls in classes)


def _nearest(classes: Iterable[str], table: Mapping[str, str]) -> str | None:
    best: tuple[int, str] | None = None
    for cls in sorted(classes):
        for depth, ancestor in enumerate(ancestors(cls)):
            if ancestor in table:
                if best is None or depth < best[0]:
                    best = (depth, table[ancestor])
                break
    return best[1] if best else None


def level_of(classes: Iterable[str]) -> AssetLevel | None:
    """The tree level of an entity typed ``classes``; None for points, sites and the unknown.

    ``brick:Site`` and ``brick:Region`` are not assets (the site is the tree's root).
    """
    names = list(classes)
    if is_a(names, "Equipment"):
        return AssetLevel.EQUIPMENT
    if is_a(names, "Site") or is_a(names, "Region"):
        return None
    for root, level in _LEVEL_ROOTS:
        if is_a(names, root):
            return level
    return None


def asset_type_of(classes: Iterable[str]) -> str:
    """Our asset type for an equipment class (``AHU`` → ``ahu``; unlisted → snake_case)."""
    names = sorted(classes)
    found = _nearest(names, EQUIPMENT_TYPES)
    if found is not None:
        return found
    return names[0].lower()[:64] if names else "unknown"


def metric_of(classes: Iterable[str], owner_classes: Iterable[str] = ()) -> str | None:
    """The canonical metric of a point typed ``classes`` on an owner typed ``owner_classes``.

    A component's generic point (``Fan_Status`` of a ``Supply_Fan``) is named by the component
    first; otherwise the nearest row of :data:`POINT_METRICS`; None when nothing matches.
    """
    names = sorted(classes)
    owners = sorted(owner_classes)
    for owner in owners:
        for owner_class in ancestors(owner):
            for cls in names:
                for point_class in ancestors(cls):
                    metric = COMPONENT_METRICS.get((owner_class, point_class))
                    if metric is not None:
                        return metric
    return _nearest(names, POINT_METRICS)
