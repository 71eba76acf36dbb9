"""Simulated devices, so nobody needs a chiller to try Facility, test a rule or load-test it.

``devices`` holds the physics and the faults, ``scenario`` the YAML facility descriptions,
``formats`` the native and vendor payloads, ``runner`` the stepping and publishing, ``replay``
the broker-less path through codecs and rules, ``command`` what ``facility simulate`` does.
"""

from simulators.devices import GENERIC_FAULTS, MODELS, Clock, DeviceModel
from simulators.formats import ENCODERS, SimulatedMessage, availability, encode
from simulators.replay import ReplayResult, replay
from simulators.runner import RunStats, Simulator
from simulators.scenario import (
    FORMATS,
    SCENARIO_DIR,
    DeviceSpec,
    ExpectedAlert,
    FaultSpec,
    Scenario,
    load_scenario,
)

__all__ = [
    "ENCODERS",
    "FORMATS",
    "GENERIC_FAULTS",
    "MODELS",
    "SCENARIO_DIR",
    "Clock",
    "DeviceModel",
    "DeviceSpec",
    "ExpectedAlert",
    "FaultSpec",
    "ReplayResult",
    "RunStats",
    "Scenario",
    "SimulatedMessage",
    "Simulator",
    "availability",
    "encode",
    "load_scenario",
    "replay",
]
