"""Simulators are deterministic for a seed and physically plausible."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import pairwise

import pytest

from facility.core.errors import ConfigError
from gateway.codecs import decode
from simulators.runner import Simulator
from simulators.scenario import load_scenario

START = datetime(2026, 1, 5, tzinfo=UTC)


def run(seed: int, steps: int = 50) -> list[bytes]:
    return [
        m.payload
        for m in Simulator(load_scenario("office"), seed=seed, start=START).messages(steps)
    ]


def test_same_seed_gives_the_same_messages() -> None:
    assert run(7) == run(7)


def test_different_seeds_give_different_noise() -> None:
    assert run(7) != run(8)


def test_energy_counter_never_goes_down() -> None:
    simulator = Simulator(load_scenario("office"), seed=1, start=START)
    energy = [r.value for m in simulator.messages(500) for r in m.readings if r.metric == "energy"]
    assert len(energy) == 500
    assert all(b >= a for a, b in pairwise(energy))


def test_cooling_failure_drives_supply_air_past_the_demo_threshold() -> None:
    simulator = Simulator(load_scenario("office"), seed=1, start=START)
    supply = [
        r.value
        for m in simulator.messages(30)
        for r in m.readings
        if r.metric == "supply_temperature"
    ]
    assert max(supply[:5]) < 14.0  # before the fault at 10 s
    assert min(supply[-10:]) > 16.0  # and well after it


def test_simulated_messages_decode_through_the_gateway_codec() -> None:
    for message in Simulator(load_scenario("office"), seed=3, start=START).messages(3):
        decoded = decode(message.topic, message.payload, received=START)
        assert {(r.device, r.metric, r.value) for r in decoded} == {
            (r.device, r.metric, r.value) for r in message.readings
        }


def test_unknown_scenario_names_the_shipped_ones() -> None:
    with pytest.raises(ConfigError, match="office"):
        load_scenario("no-such-scenario")
