"""Device models: deterministic for a seed, physically plausible, and faulty when told."""

from __future__ import annotations

import random
import statistics
from datetime import UTC, datetime
from itertools import pairwise

import pytest

from simulators.devices import (
    MODELS,
    AirHandler,
    Chiller,
    Clock,
    Co2Sensor,
    DeviceModel,
    EnergyMeter,
    Pump,
    RoomSensor,
    WaterLeakSensor,
)
from simulators.runner import Simulator
from simulators.scenario import load_scenario

MONDAY = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday, midnight UTC


def run_model(
    model: DeviceModel, *, hours: float, dt: float = 60.0, start: datetime = MONDAY, seed: int = 1
) -> list[dict[str, float]]:
    rng = random.Random(seed)
    return [model.sample(Clock.at(start, i * dt), dt, rng) for i in range(int(hours * 3600 / dt))]


def payloads(scenario: str, seed: int, steps: int) -> list[bytes]:
    simulator = Simulator(load_scenario(scenario), seed=seed, start=MONDAY)
    return [m.payload for m in simulator.messages(steps)]


def test_the_same_seed_reproduces_every_message_of_the_plant_scenario() -> None:
    assert payloads("plant", 11, 150) == payloads("plant", 11, 150)


def test_another_seed_changes_the_noise_but_not_the_topics() -> None:
    a = Simulator(load_scenario("plant"), seed=1, start=MONDAY).messages(20)
    b = Simulator(load_scenario("plant"), seed=2, start=MONDAY).messages(20)
    pairs = list(zip(a, b, strict=True))
    assert all(x.topic == y.topic for x, y in pairs)
    assert any(x.payload != y.payload for x, y in pairs)


def test_energy_counter_is_monotonic_except_where_it_rolls_over_like_a_real_register() -> None:
    meter = EnergyMeter(energy_kwh=99_990.0, rollover_kwh=100_000.0)
    energy = [v["energy"] for v in run_model(meter, hours=24)]
    wraps = [(a, b) for a, b in pairwise(energy) if b < a]
    assert len(wraps) == 1, "the register passes 100,000 kWh exactly once in a day"
    for a, b in pairwise(energy):
        advance = (b - a) % 100_000.0
        assert 0.0 <= advance < 1.0  # at most ~30 kW for a minute: well under 1 kWh
    assert max(energy) < 100_000.0


def test_pump_runtime_counter_only_goes_up() -> None:
    runtime = [v["runtime_hours"] for v in run_model(Pump(), hours=6)]
    assert all(b > a for a, b in pairwise(runtime))
    assert runtime[-1] - runtime[0] == pytest.approx(6.0 - 1 / 60, abs=0.01)


def test_meter_load_follows_office_hours_and_weekdays() -> None:
    week = run_model(EnergyMeter(), hours=24 * 7, dt=300.0)
    by_slot = [(MONDAY.weekday() + i * 300 // 86400) % 7 for i in range(len(week))]
    hour = [(i * 300 % 86400) / 3600 for i in range(len(week))]
    weekday_noon = [
        v["power"] for v, d, h in zip(week, by_slot, hour, strict=True) if d < 5 and 10 <= h < 14
    ]
    night = [v["power"] for v, h in zip(week, hour, strict=True) if h < 5]
    weekend_noon = [
        v["power"] for v, d, h in zip(week, by_slot, hour, strict=True) if d >= 5 and 10 <= h < 14
    ]
    assert statistics.mean(weekday_noon) > 2.5 * statistics.mean(night)
    assert statistics.mean(weekend_noon) == pytest.approx(statistics.mean(night), rel=0.05)


def test_night_energy_leak_raises_only_the_night_load() -> None:
    healthy = run_model(EnergyMeter(), hours=24, seed=3)
    leaking = EnergyMeter()
    leaking.start_fault("energy_leak", 0.0)
    faulty = run_model(leaking, hours=24, seed=3)
    night = slice(0, 5 * 60)
    noon = slice(12 * 60, 13 * 60)
    gap_night = statistics.mean(v["power"] for v in faulty[night]) - statistics.mean(
        v["power"] for v in healthy[night]
    )
    gap_noon = statistics.mean(v["power"] for v in faulty[noon]) - statistics.mean(
        v["power"] for v in healthy[noon]
    )
    assert gap_night == pytest.approx(6000.0, rel=0.1)
    assert abs(gap_noon) < 500.0


def test_room_holds_its_setpoint_in_office_hours_and_overheats_without_cooling() -> None:
    day = run_model(RoomSensor(), hours=24)
    office = [v["temperature"] for v in day[10 * 60 : 16 * 60]]
    assert all(21.0 <= t <= 24.0 for t in office)
    assert any(v["occupancy"] == 1.0 for v in day[9 * 60 : 17 * 60])
    assert all(v["occupancy"] == 0.0 for v in day[: 6 * 60])
    broken = RoomSensor()
    broken.start_fault("cooling_failure", 0.0)
    afternoon = [v["temperature"] for v in run_model(broken, hours=16)][-60:]
    assert min(afternoon) > 27.0


def test_co2_rises_with_occupants_and_without_ventilation() -> None:
    day = run_model(Co2Sensor(), hours=14)
    assert max(v["co2"] for v in day[: 6 * 60]) < 520
    assert statistics.mean(v["co2"] for v in day[11 * 60 : 14 * 60]) > 800
    stale = Co2Sensor()
    stale.start_fault("ventilation_failure", 0.0)
    assert max(v["co2"] for v in run_model(stale, hours=14)) > 1800


def test_filter_pressure_drop_creeps_up_and_a_clog_passes_the_replacement_point() -> None:
    ahu = AirHandler()
    week = [v["filter_pressure_drop"] for v in run_model(ahu, hours=24 * 7, dt=600.0)]
    assert 15 < week[-1] - week[0] < 30  # ~3 Pa a day
    ahu.start_fault("filter_clog", 7 * 86400.0, magnitude=1800)
    later = run_model(ahu, hours=2, start=MONDAY.replace(day=12))
    assert later[-1]["filter_pressure_drop"] > 400


def test_pump_dry_running_drops_power_and_pressure_and_shakes_it() -> None:
    pump = Pump()
    healthy = run_model(pump, hours=1)[-1]
    pump.start_fault("dry_running", 3600.0)
    dry = run_model(pump, hours=1)[-1]
    assert healthy["vibration"] < 3.0 < 7.1 < dry["vibration"]
    assert dry["power"] < 0.5 * healthy["power"]
    assert dry["pressure"] < 0.2 * healthy["pressure"]


def test_chiller_power_tracks_load_and_a_trip_warms_the_chilled_water() -> None:
    chiller = Chiller()
    day = run_model(chiller, hours=24)
    assert statistics.mean(v["power"] for v in day[13 * 60 : 15 * 60]) > 2 * statistics.mean(
        v["power"] for v in day[3 * 60 : 5 * 60]
    )
    assert all(6.0 < v["supply_temperature"] < 7.5 for v in day[60:])
    chiller.start_fault("cooling_failure", 86400.0)
    tripped = run_model(chiller, hours=1)
    assert tripped[-1]["state"] == 0.0 and tripped[-1]["supply_temperature"] > 10.0


def test_stuck_sensor_repeats_its_last_values_exactly() -> None:
    room = RoomSensor()
    run_model(room, hours=1)
    room.start_fault("stuck", 3600.0)
    frozen = run_model(room, hours=1, seed=9)
    assert len({tuple(v.items()) for v in frozen}) == 1


def test_drift_adds_its_magnitude_per_hour_to_the_chosen_metric() -> None:
    clean = run_model(RoomSensor(), hours=4, seed=5)
    drifting = RoomSensor()
    drifting.start_fault("drift", 0.0, magnitude=1.5, metric="humidity")
    drifted = run_model(drifting, hours=4, seed=5)
    offset = drifted[-1]["humidity"] - clean[-1]["humidity"]
    assert offset == pytest.approx(1.5 * (4 - 1 / 60), abs=0.05)
    assert drifted[-1]["temperature"] == clean[-1]["temperature"]


def test_noisy_sensor_scatters_more_than_a_healthy_one() -> None:
    noisy = Pump()
    noisy.start_fault("noise", 0.0, metric="vibration", magnitude=2.0)
    assert statistics.stdev(v["vibration"] for v in run_model(noisy, hours=2)) > 1.0
    assert statistics.stdev(v["vibration"] for v in run_model(Pump(), hours=2)) < 0.3


def test_fault_code_is_reported_as_the_equipment_alarm() -> None:
    leak = WaterLeakSensor()
    assert "fault_code" not in run_model(leak, hours=0.1)[-1]
    leak.start_fault("fault_code", 0.0, magnitude=42)
    assert run_model(leak, hours=0.1)[-1]["fault_code"] == 42.0


def test_every_model_lists_only_faults_it_simulates() -> None:
    for name, model in MODELS.items():
        assert model().supports("stuck"), name
        assert not model.supports("meteor_strike"), name
    assert AirHandler.supports("filter_clog") and not RoomSensor.supports("filter_clog")
