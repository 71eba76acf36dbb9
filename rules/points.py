"""Canonical air-handler points and the G36 operating state derived from their commands.

The names are what a site's gateway mapping should normalise an AHU's points to (docs/fdd.md
lists them with units); an expression rule may use them directly or map its own names to
metrics with ``points``. Booleans (fan status, occupancy) arrive as 0.0/1.0.

Operating states follow ASHRAE Guideline 36 (5.16.14), from the controller's *commands*:

====  ===========================================  =========  =========  ==============
OS    meaning                                      heating    cooling    outdoor damper
====  ===========================================  =========  =========  ==============
OS1   heating                                      > 0        0          at minimum
OS2   free cooling, outdoor air modulating         0          0          minimum..100 %
OS3   mechanical cooling with 100 % outdoor air    0          > 0        100 %
OS4   mechanical cooling at minimum outdoor air    0          > 0        at minimum
OS5   anything else (e.g. heating and cooling)     -          -          -
====  ===========================================  =========  =========  ==============
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

__all__ = [
    "AHU_POINTS",
    "BOOLEAN_POINTS",
    "OPERATING_STATES",
    "STATE_POINTS",
    "OperatingState",
    "operating_state",
    "state_classifier",
]

#: point name -> unit (the canonical AHU point set; see docs/fdd.md)
AHU_POINTS: dict[str, str] = {
    "supply_air_temperature": "degC",
    "supply_air_temperature_setpoint": "degC",
    "mixed_air_temperature": "degC",
    "return_air_temperature": "degC",
    "outdoor_air_temperature": "degC",
    "supply_fan_status": "bool",
    "return_fan_status": "bool",
    "supply_fan_speed": "%",
    "return_fan_speed": "%",
    "outdoor_air_damper": "%",
    "return_air_damper": "%",
    "exhaust_air_damper": "%",
    "cooling_valve": "%",
    "heating_valve": "%",
    "duct_static_pressure": "Pa",
    "duct_static_pressure_setpoint": "Pa",
    "occupancy": "bool",
    # where present (G36 FC6, FC14, FC15): airflow, its minimum outdoor-air share, coil leaving air
    "supply_airflow": "m3/h",
    "minimum_outdoor_airflow_setpoint": "m3/h",
    "heating_coil_leaving_air_temperature": "degC",
    "cooling_coil_leaving_air_temperature": "degC",
}

#: metrics read as true/false in an expression (``value >= 0.5``)
BOOLEAN_POINTS = frozenset(
    {name for name, unit in AHU_POINTS.items() if unit == "bool"}
    | {"state", "contact", "water_leak", "fan"}
)

OperatingState = Literal["OS1", "OS2", "OS3", "OS4", "OS5"]
OPERATING_STATES: tuple[OperatingState, ...] = ("OS1", "OS2", "OS3", "OS4", "OS5")

#: the commands the operating state is derived from (canonical names)
STATE_POINTS = ("heating_valve", "cooling_valve", "outdoor_air_damper")


def state_classifier(
    *, min_outdoor_air_damper: float, damper_tolerance: float, valve_deadband: float
) -> Callable[[float, float, float], OperatingState]:
    """``(heating %, cooling %, outdoor damper %) -> OS`` for one set of limits.

    The limits are bound once, so the rules engine (which derives the state on every reading
    of a state-gated rule) pays three comparisons, not a keyword call.
    """
    at_minimum_limit = min_outdoor_air_damper + damper_tolerance
    fully_open_limit = 100.0 - damper_tolerance

    def classify(
        heating_valve: float, cooling_valve: float, outdoor_air_damper: float
    ) -> OperatingState:
        heating = heating_valve > valve_deadband
        cooling = cooling_valve > valve_deadband
        at_minimum = outdoor_air_damper <= at_minimum_limit
        if heating and not cooling and at_minimum:
            return "OS1"
        if not heating and not cooling:
            return "OS2"
        if cooling and not heating:
            if outdoor_air_damper >= fully_open_limit:
                return "OS3"
            if at_minimum:
                return "OS4"
        return "OS5"

    return classify


def operating_state(
    heating_valve: float,
    cooling_valve: float,
    outdoor_air_damper: float,
    *,
    min_outdoor_air_damper: float,
    damper_tolerance: float,
    valve_deadband: float,
) -> OperatingState:
    """The G36 operating state of the commands (percent open); see the module docstring."""
    classify = state_classifier(
        min_outdoor_air_damper=min_outdoor_air_damper,
        damper_tolerance=damper_tolerance,
        valve_deadband=valve_deadband,
    )
    return classify(heating_valve, cooling_valve, outdoor_air_damper)
