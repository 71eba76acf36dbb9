"""Device models with plausible physics, stepped in simulated time.

Each model keeps its own state and returns its metrics for simulated instant ``t`` (seconds since
the scenario started). Randomness comes only from the ``random.Random`` handed in, so a seed
reproduces a run exactly.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

__all__ = ["MODELS", "AirHandler", "DeviceModel", "EnergyMeter", "RoomSensor"]

DAY_S = 86400.0


@dataclass
class DeviceModel:
    """Base of the models; ``faults`` holds the names of the faults active now."""

    faults: set[str] = field(default_factory=set)
    fault_started: dict[str, float] = field(default_factory=dict)

    def start_fault(self, name: str, t: float) -> None:
        self.faults.add(name)
        self.fault_started.setdefault(name, t)

    def step(self, t: float, dt: float, rng: random.Random) -> dict[str, float]:
        raise NotImplementedError


def _outdoor(t: float) -> float:
    """Outdoor air: 18 degC mean, 6 K daily swing peaking mid-afternoon."""
    return 18.0 + 6.0 * math.sin(2 * math.pi * (t / DAY_S - 0.375))


@dataclass
class RoomSensor(DeviceModel):
    """Room temperature relaxing toward the HVAC set-point, nudged by the outdoor air."""

    setpoint: float = 22.0
    temperature: float = 22.0
    humidity: float = 45.0

    def step(self, t: float, dt: float, rng: random.Random) -> dict[str, float]:
        target = self.setpoint + 0.15 * (_outdoor(t) - self.setpoint)
        if "cooling_failure" in self.faults:
            target = _outdoor(t) + 8.0
        self.temperature += (target - self.temperature) * min(1.0, dt / 900.0)
        self.humidity += (45.0 - self.humidity) * min(1.0, dt / 1800.0) + rng.gauss(0, 0.2)
        return {
            "temperature": round(self.temperature + rng.gauss(0, 0.05), 2),
            "humidity": round(min(100.0, max(0.0, self.humidity)), 1),
        }


@dataclass
class AirHandler(DeviceModel):
    """Air-handling unit: supply air held at 13 degC by the cooling coil while the fan runs.

    A ``cooling_failure`` makes the supply air drift toward the mixed-air temperature
    (time constant ``failure_tau_s``): the classic "fan on, supply warm" fault.
    """

    supply_setpoint: float = 13.0
    supply: float = 13.0
    failure_tau_s: float = 10.0

    def step(self, t: float, dt: float, rng: random.Random) -> dict[str, float]:
        mixed_air = 0.7 * 23.0 + 0.3 * _outdoor(t)
        if "cooling_failure" in self.faults:
            self.supply += (mixed_air - self.supply) * min(1.0, dt / self.failure_tau_s)
        else:
            self.supply += (self.supply_setpoint - self.supply) * min(1.0, dt / 60.0)
        return_air = 23.0 + rng.gauss(0, 0.1)
        return {
            "supply_temperature": round(self.supply + rng.gauss(0, 0.05), 2),
            "return_temperature": round(return_air, 2),
            "fan": 1.0,
        }


@dataclass
class EnergyMeter(DeviceModel):
    """Main meter: load curve by hour of day, cumulative kWh counter that never goes down."""

    base_load_w: float = 8000.0
    peak_load_w: float = 30000.0
    energy_kwh: float = 125000.0

    def step(self, t: float, dt: float, rng: random.Random) -> dict[str, float]:
        hour = (t % DAY_S) / 3600.0
        occupied = 1.0 if 7.0 <= hour < 19.0 else 0.0
        load = self.base_load_w + occupied * (self.peak_load_w - self.base_load_w) * 0.8
        if "energy_leak" in self.faults and not occupied:
            load += 6000.0
        power = max(0.0, load * (1 + rng.gauss(0, 0.02)))
        self.energy_kwh += power * dt / 3_600_000.0
        return {"power": round(power, 1), "energy": round(self.energy_kwh, 4)}


MODELS: dict[str, type[DeviceModel]] = {
    "room_sensor": RoomSensor,
    "air_handler": AirHandler,
    "energy_meter": EnergyMeter,
}
