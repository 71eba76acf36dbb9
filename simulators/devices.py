"""Device models with plausible physics, stepped in simulated time.

Each model keeps its own state and returns its metrics for one simulated instant, described by a
:class:`Clock` (seconds since the scenario started, local hour, weekday, outdoor air). Randomness
comes only from the ``random.Random`` handed in, so a seed reproduces a run exactly.

Faults are switched on by the runner (from the scenario's schedule or a random rate) with
:meth:`DeviceModel.start_fault`. Two families:

* physical faults that a model understands (``cooling_failure``, ``filter_clog``,
  ``dry_running``, ``energy_leak``, ...; each model lists its own in ``FAULTS``);
* sensor faults that any model can suffer, applied on top of the physics by
  :meth:`DeviceModel.sample`: ``stuck`` (values frozen), ``drift`` (a slow offset on one metric,
  ``magnitude`` units per hour), ``noise`` (gaussian, ``magnitude`` = sigma), ``fault_code``
  (the equipment reports alarm ``magnitude``), and ``offline`` (the runner stops publishing and
  sends the device's last will).

Booleans are returned as 0.0/1.0 so every value is a float; the format encoders turn them into
``ON``/``true``/... as each vendor does.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import ClassVar

__all__ = [
    "DAY_S",
    "GENERIC_FAULTS",
    "MODELS",
    "ActiveFault",
    "AirHandler",
    "Boiler",
    "Chiller",
    "Clock",
    "Co2Sensor",
    "DeviceModel",
    "DoorContact",
    "EnergyMeter",
    "Pump",
    "RoomSensor",
    "ScheduledAirHandler",
    "WaterLeakSensor",
    "outdoor_temperature",
]

DAY_S = 86400.0

#: Sensor faults every model can suffer (see the module docstring).
GENERIC_FAULTS = frozenset({"stuck", "drift", "noise", "fault_code", "offline"})


def outdoor_temperature(hour: float) -> float:
    """Outdoor air: 18 degC mean, 6 K daily swing, coolest before dawn, warmest mid-afternoon."""
    return 18.0 + 6.0 * math.sin(2 * math.pi * (hour / 24.0 - 0.375))


@dataclass(frozen=True, slots=True)
class Clock:
    """One simulated instant, computed once per sweep and shared by every device."""

    t: float
    hour: float
    weekday: int
    outdoor: float

    @classmethod
    def at(cls, start: datetime, t: float) -> Clock:
        now = start + timedelta(seconds=t)
        hour = now.hour + now.minute / 60.0 + now.second / 3600.0
        return cls(t=t, hour=hour, weekday=now.weekday(), outdoor=outdoor_temperature(hour))

    @property
    def occupied(self) -> bool:
        """Office hours: weekdays 07:00-19:00."""
        return self.weekday < 5 and 7.0 <= self.hour < 19.0


@dataclass(slots=True)
class ActiveFault:
    """A fault in progress: when it started and its optional size and target metric."""

    started: float
    magnitude: float | None = None
    metric: str | None = None


@dataclass
class DeviceModel:
    """Base of the models: fault bookkeeping and the sensor faults shared by all of them."""

    #: Physical faults this model understands (besides :data:`GENERIC_FAULTS`).
    FAULTS: ClassVar[frozenset[str]] = frozenset()

    faults: dict[str, ActiveFault] = field(default_factory=dict)
    _frozen: dict[str, float] | None = field(default=None, repr=False)

    @classmethod
    def supports(cls, fault: str) -> bool:
        return fault in cls.FAULTS or fault in GENERIC_FAULTS

    def start_fault(
        self, name: str, t: float, *, magnitude: float | None = None, metric: str | None = None
    ) -> None:
        """Switch a fault on at simulated second ``t`` (a second start keeps the first)."""
        if name not in self.faults:
            self.faults[name] = ActiveFault(started=t, magnitude=magnitude, metric=metric)

    def stop_fault(self, name: str) -> None:
        """Repair: the fault ends (a stuck sensor unfreezes, a drift is recalibrated)."""
        self.faults.pop(name, None)
        if name == "stuck":
            self._frozen = None

    @property
    def offline(self) -> bool:
        return "offline" in self.faults

    def step(self, clock: Clock, dt: float, rng: random.Random) -> dict[str, float]:
        """The physics: advance the state by ``dt`` seconds and return the true values."""
        raise NotImplementedError

    def sample(self, clock: Clock, dt: float, rng: random.Random) -> dict[str, float]:
        """What the device reports: the physics seen through its (possibly faulty) sensors."""
        values = self.step(clock, dt, rng)
        if not self.faults:
            return values
        if "stuck" in self.faults:
            if self._frozen is None:
                self._frozen = dict(values)
            values = dict(self._frozen)
        drift = self.faults.get("drift")
        if drift is not None:
            metric = drift.metric or next(iter(values))
            if metric in values:
                per_hour = drift.magnitude if drift.magnitude is not None else 0.5
                values[metric] = round(
                    values[metric] + per_hour * (clock.t - drift.started) / 3600, 3
                )
        noise = self.faults.get("noise")
        if noise is not None:
            sigma = noise.magnitude if noise.magnitude is not None else 1.0
            for metric in [noise.metric] if noise.metric else list(values):
                if metric in values and metric not in _BOOLEAN:
                    values[metric] = round(values[metric] + rng.gauss(0, sigma), 3)
        code = self.faults.get("fault_code")
        if code is not None:
            values["fault_code"] = code.magnitude if code.magnitude is not None else 1.0
        return values


_BOOLEAN = frozenset(
    {
        "state",
        "fan",
        "contact",
        "water_leak",
        "occupancy",
        "supply_fan_status",
        "return_fan_status",
    }
)


def _relax(value: float, target: float, dt: float, tau_s: float) -> float:
    """First-order lag: move ``value`` toward ``target`` with time constant ``tau_s``."""
    return value + (target - value) * min(1.0, dt / tau_s)


@dataclass
class RoomSensor(DeviceModel):
    """Room temperature/humidity following the HVAC set-point, occupancy and the outdoor air.

    Occupied hours hold the set-point (people add half a degree); at night the HVAC sets back
    and the room floats toward the outdoor air. ``cooling_failure`` lets the room heat toward
    outdoor + 8 K (sun and internal gains with no cooling).
    """

    FAULTS: ClassVar[frozenset[str]] = frozenset({"cooling_failure"})

    setpoint: float = 22.0
    temperature: float = 22.0
    humidity: float = 45.0

    def step(self, clock: Clock, dt: float, rng: random.Random) -> dict[str, float]:
        occupied = clock.occupied
        if "cooling_failure" in self.faults:
            target = clock.outdoor + 8.0
        elif occupied:
            target = self.setpoint + 0.5 + 0.15 * (clock.outdoor - self.setpoint)
        else:
            target = self.setpoint + 0.4 * (clock.outdoor - self.setpoint)
        self.temperature = _relax(self.temperature, target, dt, 900.0)
        self.humidity = _relax(self.humidity, 45.0, dt, 1800.0) + rng.gauss(0, 0.2)
        present = occupied and rng.random() < 0.7
        return {
            "temperature": round(self.temperature + rng.gauss(0, 0.05), 2),
            "humidity": round(min(100.0, max(0.0, self.humidity)), 1),
            "occupancy": 1.0 if present else 0.0,
        }


@dataclass
class Co2Sensor(DeviceModel):
    """CO2 rising with occupants and flushed by ventilation; ``ventilation_failure`` stops it."""

    FAULTS: ClassVar[frozenset[str]] = frozenset({"ventilation_failure"})

    co2: float = 450.0

    def step(self, clock: Clock, dt: float, rng: random.Random) -> dict[str, float]:
        people = 0.6 + 0.4 * rng.random() if clock.occupied else 0.0
        if "ventilation_failure" in self.faults:
            target, tau = 2400.0 if clock.occupied else 1200.0, 1800.0
        else:
            target, tau = 420.0 + 550.0 * people, 600.0
        self.co2 = _relax(self.co2, target, dt, tau)
        return {"co2": round(self.co2 + rng.gauss(0, 8.0))}


#: Physical faults of the air handler (docs/fdd.md says which G36 condition should see each).
AHU_FAULTS = frozenset(
    {
        "cooling_failure",
        "filter_clog",
        "oa_damper_stuck",
        "cooling_valve_leak",
        "cooling_valve_stuck",
        "heating_valve_leak",
        "sat_sensor_bias",
        "mat_sensor_bias",
        "fan_capacity_loss",
        "simultaneous_heating_cooling",
        "hunting",
        "oa_damper_slipped",
    }
)


def _clamp(value: float, low: float, high: float) -> float:
    return low if value < low else high if value > high else value


@dataclass
class AirHandler(DeviceModel):
    """Air-handling unit with an economizer, heating and cooling coils and a VAV supply fan.

    Control, in the spirit of ASHRAE Guideline 36: one supply-air loop signal ``s`` sequences
    heating valve (``s`` -100..0), outdoor-air damper from minimum to 100 % (0..100, when the
    economizer is enabled: outdoor air cooler than return air and below 24 degC) and cooling
    valve (100..200); the loop is a feed-forward from the mixing and coil models plus an
    integral trim on the measured supply air, so a fault the model does not know about winds the
    trim up as a real PI loop would. The supply fan speed is an integral loop on duct static
    pressure, ramping at most 20 %/min from a start. Reported dampers and valves are the
    *commands*; the physics uses the actual positions, which faults can make differ.

    ``scheduled`` runs the fan in office hours only (weekdays 07:00-19:00) and resets the
    supply-air set-point with the outdoor air (18 degC below 15.6 degC outdoor, 12.8 degC above
    21.1 degC); unscheduled (the default, as in the existing scenarios) the fan runs all day and
    the set-point stays ``supply_setpoint``. ``outdoor_shift`` moves the outdoor air (a cold or a
    hot day). Besides the canonical G36 points (:data:`rules.points.AHU_POINTS`, by name) it
    reports the older ``supply_temperature``, ``return_temperature``, ``fan`` and
    ``filter_pressure_drop``.

    Faults (``magnitude`` in brackets, default after the colon): ``cooling_failure`` (the coil
    stops cooling and the dampers hold 30 % outdoor air; supply drifts to the mixed air with
    ``failure_tau_s``), ``filter_clog``
    (time constant s: 4 h), ``oa_damper_stuck`` (position %: 0), ``cooling_valve_leak``
    (leak %: 40), ``cooling_valve_stuck`` (position %: 0), ``heating_valve_leak`` (leak %: 30),
    ``sat_sensor_bias`` / ``mat_sensor_bias`` (K: +4), ``fan_capacity_loss`` (share of the
    pressure the fan still makes: 0.5), ``simultaneous_heating_cooling`` (the heating valve is
    commanded to a fixed %: 40, and cooling fights it), ``hunting`` (the supply-air loop's gain
    multiplied: 12, an over-tuned loop that swings between heating, economizer and cooling),
    ``oa_damper_slipped`` (the damper's linkage slipped and the blade sits that many % further
    open than commanded: 40, so far too much outdoor air at minimum position).

    Air path (blow-through): mixed air, supply fan (``fan_heat``), heating coil, cooling coil,
    duct; the coils' leaving-air temperatures are reported, so the heating coil enters at mixed
    air plus fan heat and the cooling coil at the heating coil's leaving air. Supply airflow is
    ``design_airflow`` at full speed (less with a fan that has lost capacity), and the minimum
    outdoor airflow set-point is ``min_outdoor_air`` % of the airflow at the duct-static set-point.

    ``effective`` says, after each step, whether an active fault changed what the unit does
    this minute (an actuator away from its command, a sensor off, the fan short of pressure, a
    loop hunting); the benchmark uses it to tell days on which a fault could be seen at all.
    """

    FAULTS: ClassVar[frozenset[str]] = AHU_FAULTS

    supply_setpoint: float = 13.0
    supply: float = 13.0
    failure_tau_s: float = 10.0
    filter_dp: float = 120.0
    scheduled: bool = False
    outdoor_shift: float = 0.0
    min_outdoor_air: float = 20.0
    duct_static_setpoint: float = 250.0
    fan_heat: float = 0.8
    heating_gain: float = 25.0  # K of rise at a fully open heating valve
    cooling_effectiveness: float = 0.9
    chilled_water: float = 7.0
    temperature_noise: float = 0.05
    design_airflow: float = 10000.0  # m3/h at full fan speed
    # state
    fan_speed: float = -1.0  # -1: not started yet (unscheduled units start at steady state)
    trim: float = 0.0
    heating: float = 0.0  # actual positions, %
    cooling: float = 0.0
    damper: float = 20.0
    mixed: float = 20.0
    plenum: float = 22.0
    heating_leaving: float = 20.0
    cooling_leaving: float = 20.0
    effective: bool = False
    _noise: random.Random | None = field(default=None, repr=False, compare=False)

    def _setpoint(self, outdoor: float) -> float:
        if not self.scheduled:
            return self.supply_setpoint
        return 18.0 - (18.0 - 12.8) * _clamp((outdoor - 15.6) / (21.1 - 15.6), 0.0, 1.0)

    def _mix(self, damper: float, outdoor: float, ret: float) -> float:
        share = damper / 100.0
        return share * outdoor + (1.0 - share) * ret

    def _feed_forward(self, setpoint: float, outdoor: float, ret: float, economize: bool) -> float:
        """The loop signal a healthy unit needs for ``setpoint`` (see the class docstring)."""
        need = setpoint - self.fan_heat
        at_minimum = self._mix(self.min_outdoor_air, outdoor, ret)
        if at_minimum < need:
            return -100.0 * _clamp((need - at_minimum) / self.heating_gain, 0.0, 1.0)
        if economize and outdoor <= need:
            share = (need - ret) / (outdoor - ret) if outdoor != ret else 1.0
            damper = _clamp(share * 100.0, self.min_outdoor_air, 100.0)
            return 100.0 * (damper - self.min_outdoor_air) / (100.0 - self.min_outdoor_air)
        mixed = self._mix(100.0 if economize else self.min_outdoor_air, outdoor, ret)
        entering = mixed + self.fan_heat
        drop = self.cooling_effectiveness * max(0.1, entering - self.chilled_water)
        return 100.0 + 100.0 * _clamp((entering - setpoint) / drop, 0.0, 1.0)

    def _commands(self, signal: float, economize: bool) -> tuple[float, float, float]:
        """(heating %, outdoor damper %, cooling %) for a loop signal of -100..200."""
        if signal < 0:
            return -signal, self.min_outdoor_air, 0.0
        if signal <= 100:
            span = 100.0 - self.min_outdoor_air
            damper = (
                self.min_outdoor_air + span * signal / 100.0 if economize else self.min_outdoor_air
            )
            return 0.0, damper, 0.0
        return 0.0, 100.0 if economize else self.min_outdoor_air, signal - 100.0

    def _magnitude(self, fault: str, default: float) -> float:
        found = self.faults.get(fault)
        if found is None or found.magnitude is None:
            return default
        return found.magnitude

    def step(self, clock: Clock, dt: float, rng: random.Random) -> dict[str, float]:
        faults = self.faults
        outdoor = clock.outdoor + self.outdoor_shift
        running = clock.occupied or not self.scheduled
        ret_true = 23.0 if not self.scheduled else 22.5 + 0.1 * (outdoor - 20.0)
        if not running:
            ret_true = _relax(self.plenum, 0.3 * outdoor + 0.7 * 22.0, dt, 3600.0)
        self.plenum = ret_true
        setpoint = self._setpoint(outdoor)
        economize = outdoor < min(ret_true, 24.0)
        sat_bias = self._magnitude("sat_sensor_bias", 4.0) if "sat_sensor_bias" in faults else 0.0
        mat_bias = self._magnitude("mat_sensor_bias", 4.0) if "mat_sensor_bias" in faults else 0.0
        capacity = (
            self._magnitude("fan_capacity_loss", 0.5) if "fan_capacity_loss" in faults else 1.0
        )

        if self.fan_speed < 0:  # first step: an unscheduled unit is already running steadily
            self.fan_speed = (
                100.0 * math.sqrt(self.duct_static_setpoint / 400.0) if running else 0.0
            )
            self.trim = 0.0
            heating, damper, cooling = self._commands(
                self._feed_forward(setpoint, outdoor, ret_true, economize), economize
            )
            self.heating, self.damper, self.cooling = heating, damper, cooling
            self.mixed = self._mix(damper, outdoor, ret_true)

        if running:
            # duct static: integral loop on the fan, gain bounded so long steps stay stable
            pressure = 400.0 * capacity * (self.fan_speed / 100.0) ** 2
            gain = min(0.05 * dt / 60.0, 0.12)
            wanted = self.fan_speed + gain * (self.duct_static_setpoint - pressure)
            ramp = 20.0 * dt / 60.0
            self.fan_speed = _clamp(wanted, max(15.0, self.fan_speed - ramp), self.fan_speed + ramp)
            self.fan_speed = _clamp(self.fan_speed, 15.0, 100.0)
            # supply air: feed-forward plus integral trim on the measured supply air
            measured = self.supply + sat_bias
            loop_gain = min(3.0 * dt / 60.0, 30.0)
            if "hunting" in faults:
                loop_gain *= self._magnitude("hunting", 12.0)
            self.trim = _clamp(self.trim + loop_gain * (measured - setpoint), -300.0, 300.0)
            signal = _clamp(
                self._feed_forward(setpoint, outdoor, ret_true, economize) + self.trim,
                -100.0,
                200.0,
            )
            heating_cmd, damper_cmd, cooling_cmd = self._commands(signal, economize)
            if "simultaneous_heating_cooling" in faults:
                heating_cmd = self._magnitude("simultaneous_heating_cooling", 40.0)
        else:
            self.fan_speed, self.trim = 0.0, 0.0
            heating_cmd = damper_cmd = cooling_cmd = 0.0

        # actuators follow their commands unless a fault holds them
        self.damper = _relax(self.damper, damper_cmd, dt, 30.0)
        self.heating = _relax(self.heating, heating_cmd, dt, 30.0)
        self.cooling = _relax(self.cooling, cooling_cmd, dt, 30.0)
        damper = self.damper
        if "oa_damper_slipped" in faults:
            damper = _clamp(damper + self._magnitude("oa_damper_slipped", 40.0), 0.0, 100.0)
        if "oa_damper_stuck" in faults:
            damper = self._magnitude("oa_damper_stuck", 0.0)
        heating = self.heating
        if "heating_valve_leak" in faults:
            heating = max(heating, self._magnitude("heating_valve_leak", 30.0))
        cooling = self.cooling
        if "cooling_valve_leak" in faults:
            cooling = max(cooling, self._magnitude("cooling_valve_leak", 40.0))
        if "cooling_valve_stuck" in faults:
            cooling = self._magnitude("cooling_valve_stuck", 0.0)
        if "cooling_failure" in faults:  # the older fault: no cooling, dampers at 30 % OA
            cooling, damper = 0.0, 30.0

        if running:
            mixed = self._mix(damper, outdoor, ret_true)
            if "cooling_failure" in faults:  # the older fault, as its scenarios expect: no lag
                self.mixed = mixed
            else:
                self.mixed = _relax(self.mixed, mixed, dt, 60.0)
            warmed = self.mixed + self.fan_heat + self.heating_gain * heating / 100.0
            target = warmed - self.cooling_effectiveness * cooling / 100.0 * max(
                0.0, warmed - self.chilled_water
            )
            self.heating_leaving = _relax(self.heating_leaving, warmed, dt, 60.0)
            self.cooling_leaving = _relax(self.cooling_leaving, target, dt, 60.0)
            tau = self.failure_tau_s if "cooling_failure" in faults else 90.0
            pressure = 400.0 * capacity * (self.fan_speed / 100.0) ** 2
        else:
            self.mixed = _relax(self.mixed, ret_true, dt, 1800.0)
            target, tau, pressure = ret_true, 1800.0, 0.0
            self.heating_leaving = _relax(self.heating_leaving, ret_true, dt, 1800.0)
            self.cooling_leaving = _relax(self.cooling_leaving, ret_true, dt, 1800.0)
        self.supply = _relax(self.supply, target, dt, tau)

        clog = self.faults.get("filter_clog")
        if clog is not None:
            clog_tau = clog.magnitude if clog.magnitude is not None else 4 * 3600.0
            self.filter_dp = _relax(self.filter_dp, 450.0, dt, clog_tau)
        else:
            self.filter_dp += 3.0 * dt / DAY_S

        self.effective = (
            running
            and bool(faults)
            and self._acts(
                faults, heating_cmd, cooling_cmd, damper_cmd, heating, cooling, damper, pressure
            )
        )
        noise = self.temperature_noise
        if self._noise is None:
            # the points added for FC6/FC14/FC15 draw their noise from their own generator,
            # seeded from the run's without consuming it, so the values every other device
            # and point draw (and the tests and scenarios built on them) stay as they were
            # (from the Mersenne state's integers: ``hash`` of the whole state tuple is not
            # stable across processes, because ``hash(None)`` is the object's address on 3.11)
            self._noise = random.Random(",".join(map(str, rng.getstate()[1][:16])))
        extra = self._noise
        airflow = self.design_airflow * self.fan_speed / 100.0 * math.sqrt(capacity)
        minimum_oa = self.design_airflow * math.sqrt(self.duct_static_setpoint / 400.0)
        minimum_oa *= self.min_outdoor_air / 100.0
        sat = round(self.supply + sat_bias + rng.gauss(0, noise), 2)
        rat = round(ret_true + rng.gauss(0, 2 * noise), 2)
        fan_on = 1.0 if running else 0.0
        return {
            "supply_temperature": sat,
            "return_temperature": rat,
            "fan": fan_on,
            "filter_pressure_drop": round(self.filter_dp + rng.gauss(0, 1.0), 1),
            "supply_air_temperature": sat,
            "supply_air_temperature_setpoint": round(setpoint, 2),
            "mixed_air_temperature": round(self.mixed + mat_bias + rng.gauss(0, 2 * noise), 2),
            "return_air_temperature": rat,
            "outdoor_air_temperature": round(outdoor + rng.gauss(0, 2 * noise), 2),
            "supply_fan_status": fan_on,
            "return_fan_status": fan_on,
            "supply_fan_speed": round(self.fan_speed, 1),
            "return_fan_speed": round(max(0.0, self.fan_speed - 10.0) * fan_on, 1),
            "outdoor_air_damper": round(damper_cmd, 1),
            "return_air_damper": round(100.0 - damper_cmd, 1) if running else 0.0,
            "exhaust_air_damper": round(damper_cmd, 1),
            "cooling_valve": round(cooling_cmd, 1),
            "heating_valve": round(heating_cmd, 1),
            "duct_static_pressure": round(max(0.0, pressure + rng.gauss(0, 2.0)), 1),
            "duct_static_pressure_setpoint": self.duct_static_setpoint if running else 0.0,
            "occupancy": 1.0 if clock.occupied else 0.0,
            "supply_airflow": round(max(0.0, airflow * (1.0 + extra.gauss(0, 0.02))), 0),
            "minimum_outdoor_airflow_setpoint": round(minimum_oa, 0) if running else 0.0,
            "heating_coil_leaving_air_temperature": round(
                self.heating_leaving + extra.gauss(0, noise), 2
            ),
            "cooling_coil_leaving_air_temperature": round(
                self.cooling_leaving + extra.gauss(0, noise), 2
            ),
        }

    def _acts(
        self,
        faults: dict[str, ActiveFault],
        heating_cmd: float,
        cooling_cmd: float,
        damper_cmd: float,
        heating: float,
        cooling: float,
        damper: float,
        pressure: float,
    ) -> bool:
        """Whether the active faults change the unit's behaviour now (see ``effective``)."""
        if faults.keys() & {"sat_sensor_bias", "mat_sensor_bias", "hunting", "cooling_failure"}:
            return True
        if "fan_capacity_loss" in faults and pressure < self.duct_static_setpoint - 25.0:
            return True
        if "simultaneous_heating_cooling" in faults and cooling_cmd > 1.0:
            return True
        return (
            abs(heating - heating_cmd) > 5.0
            or abs(cooling - cooling_cmd) > 5.0
            or abs(damper - damper_cmd) > 5.0
        )


@dataclass
class ScheduledAirHandler(AirHandler):
    """The air handler on an occupancy schedule with supply-air reset (the G36 test bench)."""

    scheduled: bool = True
    temperature_noise: float = 0.1


@dataclass
class Chiller(DeviceModel):
    """Chiller: chilled water held at 6.7 degC, electric power tied to the cooling load.

    Load follows the outdoor air and occupancy; power = load x capacity / COP, and the return
    water is warmer by a temperature difference proportional to the load. On
    ``cooling_failure`` the compressor trips: power falls to the controls' share and the
    chilled-water loop warms toward the spaces it serves (20 degC, time constant 20 min).
    """

    FAULTS: ClassVar[frozenset[str]] = frozenset({"cooling_failure"})

    capacity_kw: float = 500.0
    cop: float = 4.5
    supply: float = 6.7

    def step(self, clock: Clock, dt: float, rng: random.Random) -> dict[str, float]:
        load = min(1.0, max(0.1, (clock.outdoor - 12.0) / 18.0 + (0.25 if clock.occupied else 0)))
        if "cooling_failure" in self.faults:
            # Nothing removes heat: the loop warms toward the spaces it serves.
            self.supply = _relax(self.supply, 20.0, dt, 1200.0)
            running, power, delta = 0.0, 2500.0, 1.0 * load
        else:
            self.supply = _relax(self.supply, 6.7, dt, 120.0)
            running, power = 1.0, load * self.capacity_kw * 1000.0 / self.cop
            delta = 5.0 * load
        ret = self.supply + delta
        return {
            "supply_temperature": round(self.supply + rng.gauss(0, 0.05), 2),
            "return_temperature": round(ret + rng.gauss(0, 0.05), 2),
            "state": running,
            "power": round(power * (1 + rng.gauss(0, 0.01)), 1),
        }


@dataclass
class Boiler(DeviceModel):
    """Boiler: heating water at 70 degC when it is cold outside; ``burner_failure`` stops it."""

    FAULTS: ClassVar[frozenset[str]] = frozenset({"burner_failure"})

    supply: float = 70.0

    def step(self, clock: Clock, dt: float, rng: random.Random) -> dict[str, float]:
        demand = clock.outdoor < 16.0 or clock.occupied
        burning = demand and "burner_failure" not in self.faults
        self.supply = _relax(
            self.supply, 70.0 if burning else 25.0, dt, 900.0 if burning else 3600.0
        )
        return {
            "supply_temperature": round(self.supply + rng.gauss(0, 0.1), 2),
            "return_temperature": round(max(20.0, self.supply - 15.0) + rng.gauss(0, 0.1), 2),
            "state": 1.0 if burning else 0.0,
        }


@dataclass
class Pump(DeviceModel):
    """Circulation pump: power, differential pressure, runtime counter and vibration.

    ``dry_running`` (no water at the impeller) drops the power and the pressure and shakes the
    pump: vibration climbs from about 2 to above 9 mm/s.
    """

    FAULTS: ClassVar[frozenset[str]] = frozenset({"dry_running"})

    rated_w: float = 1500.0
    runtime_h: float = 12000.0
    vibration: float = 2.0

    def step(self, clock: Clock, dt: float, rng: random.Random) -> dict[str, float]:
        self.runtime_h += dt / 3600.0
        if "dry_running" in self.faults:
            power, pressure = 0.4 * self.rated_w, 15000.0
            self.vibration = _relax(self.vibration, 9.5, dt, 120.0)
        else:
            power, pressure = self.rated_w * (0.85 + 0.1 * clock.occupied), 150000.0
            self.vibration = _relax(self.vibration, 2.0, dt, 600.0)
        return {
            "state": 1.0,
            "power": round(power * (1 + rng.gauss(0, 0.01)), 1),
            "pressure": round(pressure * (1 + rng.gauss(0, 0.005))),
            "runtime_hours": round(self.runtime_h, 3),
            "vibration": round(max(0.0, self.vibration + rng.gauss(0, 0.1)), 2),
        }


@dataclass
class EnergyMeter(DeviceModel):
    """Main meter: load by hour and weekday, a cumulative kWh register that rolls over.

    Like a real register with a fixed number of digits, ``energy`` wraps to zero at
    ``rollover_kwh``; between two readings it otherwise never goes down. ``energy_leak`` adds
    ``magnitude`` W (default 6 kW) outside office hours: equipment left running at night.
    """

    FAULTS: ClassVar[frozenset[str]] = frozenset({"energy_leak"})

    base_load_w: float = 8000.0
    peak_load_w: float = 30000.0
    energy_kwh: float = 125000.0
    rollover_kwh: float = 1_000_000.0

    def step(self, clock: Clock, dt: float, rng: random.Random) -> dict[str, float]:
        if clock.occupied:
            load = self.base_load_w + 0.8 * (self.peak_load_w - self.base_load_w)
        elif clock.weekday < 5 and (6.0 <= clock.hour < 7.0 or 19.0 <= clock.hour < 20.0):
            load = self.base_load_w + 0.3 * (self.peak_load_w - self.base_load_w)
        else:
            load = self.base_load_w
        leak = self.faults.get("energy_leak")
        if leak is not None and not clock.occupied:
            load += leak.magnitude if leak.magnitude is not None else 6000.0
        power = max(0.0, load * (1 + rng.gauss(0, 0.02)))
        self.energy_kwh = (self.energy_kwh + power * dt / 3_600_000.0) % self.rollover_kwh
        voltage = 230.0 + rng.gauss(0, 1.0)
        return {
            "power": round(power, 1),
            "energy": round(self.energy_kwh, 4),
            "voltage": round(voltage, 1),
            "current": round(power / (3 * voltage * 0.95), 2),
            "power_factor": 0.95,
        }


@dataclass
class DoorContact(DeviceModel):
    """Door contact (1 = closed): opened now and then in office hours; ``held_open`` jams it."""

    FAULTS: ClassVar[frozenset[str]] = frozenset({"held_open"})

    closed: float = 1.0
    battery: float = 100.0

    def step(self, clock: Clock, dt: float, rng: random.Random) -> dict[str, float]:
        jammed = "held_open" in self.faults
        if jammed or (self.closed and clock.occupied and rng.random() < min(1.0, dt / 1800.0)):
            self.closed = 0.0
        elif not self.closed and rng.random() < min(1.0, dt / 30.0):
            self.closed = 1.0
        self.battery = max(0.0, self.battery - dt / (2 * 365 * DAY_S) * 100.0)
        return {"contact": self.closed, "battery": round(self.battery, 1)}


@dataclass
class WaterLeakSensor(DeviceModel):
    """Water-leak probe under a plant or a sink: dry until ``leak``."""

    FAULTS: ClassVar[frozenset[str]] = frozenset({"leak"})

    battery: float = 100.0

    def step(self, clock: Clock, dt: float, rng: random.Random) -> dict[str, float]:
        self.battery = max(0.0, self.battery - dt / (3 * 365 * DAY_S) * 100.0)
        return {
            "water_leak": 1.0 if "leak" in self.faults else 0.0,
            "battery": round(self.battery, 1),
        }


MODELS: dict[str, type[DeviceModel]] = {
    "room_sensor": RoomSensor,
    "co2_sensor": Co2Sensor,
    "air_handler": AirHandler,
    "air_handler_g36": ScheduledAirHandler,
    "chiller": Chiller,
    "boiler": Boiler,
    "pump": Pump,
    "energy_meter": EnergyMeter,
    "door_contact": DoorContact,
    "water_leak": WaterLeakSensor,
}
